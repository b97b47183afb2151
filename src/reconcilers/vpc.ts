// ec2.Vpc — a created network's VPC (spec.network.create). Identity: its ownership tags (VPCs have no unique name;
// see ec2-network-shared.ts). Managed: the CIDR (immutable: a difference is reported, never changed in place) and
// DNS support and hostnames (interface endpoints with private DNS need both). attrs: `id`, `cidr`.
import {
  CreateVpcCommand,
  DeleteVpcCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  ModifyVpcAttributeCommand,
  type Vpc,
} from '@aws-sdk/client-ec2';
import { unlessNotFound } from '../aws/errors.js';
import type { VpcProps } from '../planner/plan.js';
import type { KindReconciler, Observed, ReconcileContext } from './contract.js';
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

const KIND = 'ec2.Vpc';

async function dnsOf(
  ctx: ReconcileContext,
  VpcId: string,
): Promise<Pick<VpcProps, 'enableDnsSupport' | 'enableDnsHostnames'>> {
  const [support, hostnames] = await Promise.all([
    ctx.aws.ec2.send(new DescribeVpcAttributeCommand({ VpcId, Attribute: 'enableDnsSupport' })),
    ctx.aws.ec2.send(new DescribeVpcAttributeCommand({ VpcId, Attribute: 'enableDnsHostnames' })),
  ]);
  return {
    enableDnsSupport: support.EnableDnsSupport?.Value ?? false,
    enableDnsHostnames: hostnames.EnableDnsHostnames?.Value ?? false,
  };
}

function toObserved(v: Vpc, dns: Pick<VpcProps, 'enableDnsSupport' | 'enableDnsHostnames'>): Observed<'ec2.Vpc'> {
  const id = v.VpcId ?? '';
  const cidr = v.CidrBlock ?? '';
  return { identifier: id, props: { cidr, ...dns }, tags: tagsFromEc2(v.Tags), attrs: { id, cidr } };
}

/** The DNS attributes are read for the one VPC a pass uses (two calls), not for the whole listing. */
async function withDns(ctx: ReconcileContext, v: Vpc): Promise<Observed<'ec2.Vpc'>> {
  return toObserved(v, await dnsOf(ctx, v.VpcId ?? ''));
}

async function setDns(ctx: ReconcileContext, VpcId: string, p: VpcProps, current?: VpcProps): Promise<void> {
  // One attribute per call (EC2's rule for ModifyVpcAttribute).
  if (p.enableDnsSupport !== current?.enableDnsSupport)
    await ctx.aws.ec2.send(new ModifyVpcAttributeCommand({ VpcId, EnableDnsSupport: { Value: p.enableDnsSupport } }));
  if (p.enableDnsHostnames !== current?.enableDnsHostnames)
    await ctx.aws.ec2.send(
      new ModifyVpcAttributeCommand({ VpcId, EnableDnsHostnames: { Value: p.enableDnsHostnames } }),
    );
}

export const vpcReconciler: KindReconciler<'ec2.Vpc'> = {
  kind: KIND,

  async observe(ctx, desired) {
    const all = await ownerListing(ctx, KIND, desired.tags, async () => {
      const out = await ctx.aws.ec2.send(new DescribeVpcsCommand({ Filters: ownerFilters(desired.tags) }));
      return (out.Vpcs ?? []).map((v) => toObserved(v, { enableDnsSupport: false, enableDnsHostnames: false }));
    });
    const found = pickOwned(all, desired.id);
    if (!found) return undefined;
    const dns = await dnsOf(ctx, found.identifier);
    return { ...found, props: { ...found.props, ...dns } };
  },

  async observeByIdentifier(ctx, id) {
    const v = (await unlessNotFound(() => ctx.aws.ec2.send(new DescribeVpcsCommand({ VpcIds: [id] }))))?.Vpcs?.[0];
    return v ? withDns(ctx, v) : undefined;
  },

  diff: diffProps(),

  async create(ctx, desired) {
    const out = await ctx.aws.ec2.send(
      new CreateVpcCommand({
        CidrBlock: desired.props.cidr,
        TagSpecifications: tagSpecifications('vpc', desired.tags),
      }),
    );
    invalidateListing(ctx, KIND);
    const id = out.Vpc?.VpcId;
    if (!id) throw new Error(`CreateVpc ${desired.props.cidr} returned no VPC id`);
    // A new VPC has DNS support on and hostnames off.
    await setDns(ctx, id, desired.props, { ...desired.props, enableDnsSupport: true, enableDnsHostnames: false });
    return {
      identifier: id,
      props: { ...desired.props },
      tags: { ...desired.tags },
      attrs: { id, cidr: desired.props.cidr },
    };
  },

  async update(ctx, desired, observed, changes) {
    if (changes.some((c) => c.path === 'cidr')) {
      throw new UserActionRequired(
        `spec.network.create.cidr: VPC ${observed.identifier} has ${observed.props.cidr}, the spec asks for ${desired.props.cidr}; a VPC's CIDR cannot change: set it back, or create a new Environment for the other range`,
        'NetworkImmutableField',
      );
    }
    await setDns(ctx, observed.identifier, desired.props, observed.props);
    return { ...observed, props: { ...observed.props, ...desired.props } };
  },

  async delete(ctx, observed) {
    try {
      await unlessNotFound(() => ctx.aws.ec2.send(new DeleteVpcCommand({ VpcId: observed.identifier })));
    } catch (err) {
      throw stillInUse(err, `VPC ${observed.identifier}`);
    } finally {
      invalidateListing(ctx, KIND);
    }
  },

  tagging: 'tags',

  setTags: (ctx, observed, set, remove) => setEc2Tags(ctx, KIND, observed.identifier, set, remove),
};
