// ec2.Subnet — a created network's public or private subnet. Identity: its ownership tags. Managed: VPC, CIDR and
// zone (immutable: reported, never changed in place) and whether it maps public IPs on launch (always off). attrs: `id`.
import {
  CreateSubnetCommand,
  DeleteSubnetCommand,
  DescribeSubnetsCommand,
  ModifySubnetAttributeCommand,
  type Subnet,
} from '@aws-sdk/client-ec2';
import { unlessNotFound } from '../aws/errors.js';
import type { KindReconciler, Observed } from './contract.js';
import { diffProps } from './diff.js';
import {
  invalidateListing,
  ownerFilters,
  ownerListing,
  pickOwned,
  setEc2Tags,
  stillInUse,
  tagSpecifications,
  tagsFromEc2,
} from './ec2-network-shared.js';
import { UserActionRequired } from './elbv2-shared.js';

const KIND = 'ec2.Subnet';
const FIXED = ['vpcId', 'cidr', 'availabilityZone'] as const;

function toObserved(s: Subnet): Observed<'ec2.Subnet'> {
  const id = s.SubnetId ?? '';
  return {
    identifier: id,
    props: {
      vpcId: s.VpcId ?? '',
      cidr: s.CidrBlock ?? '',
      availabilityZone: s.AvailabilityZone ?? '',
      mapPublicIpOnLaunch: s.MapPublicIpOnLaunch ?? false,
    },
    tags: tagsFromEc2(s.Tags),
    attrs: { id },
  };
}

export const subnetReconciler: KindReconciler<'ec2.Subnet'> = {
  kind: KIND,

  async observe(ctx, desired) {
    const all = await ownerListing(ctx, KIND, desired.tags, async () => {
      const out = await ctx.aws.ec2.send(new DescribeSubnetsCommand({ Filters: ownerFilters(desired.tags) }));
      return (out.Subnets ?? []).map(toObserved);
    });
    return pickOwned(all, desired.id);
  },

  async observeByIdentifier(ctx, id) {
    const s = (await unlessNotFound(() => ctx.aws.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [id] }))))
      ?.Subnets?.[0];
    return s ? toObserved(s) : undefined;
  },

  diff: diffProps(),

  async create(ctx, desired) {
    const p = desired.props;
    const out = await ctx.aws.ec2.send(
      new CreateSubnetCommand({
        VpcId: p.vpcId,
        CidrBlock: p.cidr,
        AvailabilityZone: p.availabilityZone,
        TagSpecifications: tagSpecifications('subnet', desired.tags),
      }),
    );
    invalidateListing(ctx, KIND);
    const id = out.Subnet?.SubnetId;
    if (!id) throw new Error(`CreateSubnet ${p.cidr} returned no subnet id`);
    if (p.mapPublicIpOnLaunch)
      await ctx.aws.ec2.send(new ModifySubnetAttributeCommand({ SubnetId: id, MapPublicIpOnLaunch: { Value: true } }));
    return { identifier: id, props: { ...p }, tags: { ...desired.tags }, attrs: { id } };
  },

  async update(ctx, desired, observed, changes) {
    const fixed = FIXED.filter((f) => changes.some((c) => c.path === f));
    if (fixed.length > 0) {
      throw new UserActionRequired(
        `subnet ${observed.identifier}: ${fixed.map((f) => `${f} is ${observed.props[f]}, the plan asks for ${desired.props[f]}`).join('; ')}; a subnet cannot change these: delete it so Slipway recreates it`,
        'NetworkImmutableField',
      );
    }
    await ctx.aws.ec2.send(
      new ModifySubnetAttributeCommand({
        SubnetId: observed.identifier,
        MapPublicIpOnLaunch: { Value: desired.props.mapPublicIpOnLaunch },
      }),
    );
    invalidateListing(ctx, KIND);
    return { ...observed, props: { ...observed.props, mapPublicIpOnLaunch: desired.props.mapPublicIpOnLaunch } };
  },

  async delete(ctx, observed) {
    try {
      await unlessNotFound(() => ctx.aws.ec2.send(new DeleteSubnetCommand({ SubnetId: observed.identifier })));
    } catch (err) {
      throw stillInUse(err, `subnet ${observed.identifier}`);
    } finally {
      invalidateListing(ctx, KIND);
    }
  },

  tagging: 'tags',

  setTags: (ctx, observed, set, remove) => setEc2Tags(ctx, KIND, observed.identifier, set, remove),
};
