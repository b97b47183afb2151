// ec2.VpcEndpoint — a created network's VPC endpoint: an interface endpoint (network interfaces in the private
// subnets behind the endpoint security group, private DNS on) or a gateway endpoint (a prefix-list route in the
// private route tables). Identity: its ownership tags; CreateVpcEndpoint is made idempotent with a ClientToken
// derived from the plan (clientToken). Managed: VPC, service and type (immutable: reported, never changed in place),
// and subnets, security groups, route tables and private DNS, changed in place with ModifyVpcEndpoint. An endpoint
// being deleted, deleted, failed, rejected or expired is not the resource (EC2 lists them for a while). attrs: `id`.
import { tokenPages } from '../aws/pages.js';
import {
  CreateVpcEndpointCommand,
  DeleteVpcEndpointsCommand,
  DescribeVpcEndpointsCommand,
  ModifyVpcEndpointCommand,
  type VpcEndpoint,
} from '@aws-sdk/client-ec2';
import { unlessNotFound } from '../aws/errors.js';
import { TAG_LOGICAL_ID, TAG_OWNER } from '../planner/naming.js';
import type { KindReconciler, Observed, ReconcileContext } from './contract.js';
import { diffProps } from './diff.js';
import {
  clientToken,
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

const KIND = 'ec2.VpcEndpoint';
const GONE = ['deleting', 'deleted', 'failed', 'rejected', 'expired'];
const FIXED = ['vpcId', 'serviceName', 'type'] as const;

const isGone = (e: VpcEndpoint) => GONE.includes((e.State ?? '').toLowerCase());

function toObserved(e: VpcEndpoint): Observed<'ec2.VpcEndpoint'> {
  const id = e.VpcEndpointId ?? '';
  const type = (e.VpcEndpointType ?? '').toLowerCase() === 'gateway' ? 'Gateway' : 'Interface';
  return {
    identifier: id,
    props: {
      vpcId: e.VpcId ?? '',
      serviceName: e.ServiceName ?? '',
      type,
      subnetIds: [...(e.SubnetIds ?? [])].sort(),
      securityGroupIds: (e.Groups ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : [])).sort(),
      privateDnsEnabled: e.PrivateDnsEnabled ?? false,
      routeTableIds: [...(e.RouteTableIds ?? [])].sort(),
    },
    tags: tagsFromEc2(e.Tags),
    attrs: { id },
  };
}

/** Everything the owner has, live or gone (the ids of gone ones go into the next ClientToken). */
function listing(ctx: ReconcileContext, tags: Readonly<Record<string, string>>) {
  return ownerListing(ctx, KIND, tags, async () => {
    const out: { readonly endpoint: VpcEndpoint; readonly tags: Record<string, string> }[] = [];
    const pages = tokenPages((NextToken) =>
      ctx.aws.ec2.send(new DescribeVpcEndpointsCommand({ Filters: ownerFilters(tags), NextToken })),
    );
    for await (const page of pages) {
      out.push(...(page.VpcEndpoints ?? []).map((endpoint) => ({ endpoint, tags: tagsFromEc2(endpoint.Tags) })));
    }
    return out;
  });
}

async function describe(ctx: ReconcileContext, id: string): Promise<Observed<'ec2.VpcEndpoint'> | undefined> {
  const e = (await unlessNotFound(() => ctx.aws.ec2.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [id] }))))
    ?.VpcEndpoints?.[0];
  return e && !isGone(e) ? toObserved(e) : undefined;
}

/** What to add and remove to turn `have` into `want` (undefined `want`: not managed, nothing). */
function delta(want: readonly string[] | undefined, have: readonly string[] | undefined) {
  if (!want) return { add: [], remove: [] };
  return { add: want.filter((x) => !have?.includes(x)), remove: (have ?? []).filter((x) => !want.includes(x)) };
}

export const vpcEndpointReconciler: KindReconciler<'ec2.VpcEndpoint'> = {
  kind: KIND,

  async observe(ctx, desired) {
    const all = await listing(ctx, desired.tags);
    return pickOwned(
      all.filter((e) => !isGone(e.endpoint)).map((e) => toObserved(e.endpoint)),
      desired.id,
    );
  },

  observeByIdentifier: describe,

  diff: diffProps({ unordered: ['subnetIds', 'securityGroupIds', 'routeTableIds'] }),

  async create(ctx, desired) {
    const p = desired.props;
    const gone = (await listing(ctx, desired.tags))
      .filter((e) => isGone(e.endpoint) && e.tags[TAG_LOGICAL_ID] === desired.id)
      .map((e) => e.endpoint.VpcEndpointId ?? '');
    const out = await ctx.aws.ec2.send(
      new CreateVpcEndpointCommand({
        VpcId: p.vpcId,
        ServiceName: p.serviceName,
        VpcEndpointType: p.type,
        ...(p.type === 'Interface'
          ? {
              SubnetIds: [...(p.subnetIds ?? [])],
              SecurityGroupIds: [...(p.securityGroupIds ?? [])],
              PrivateDnsEnabled: p.privateDnsEnabled ?? true,
            }
          : { RouteTableIds: [...(p.routeTableIds ?? [])] }),
        ClientToken: clientToken([desired.tags[TAG_OWNER] ?? '', desired.id, p.vpcId, p.serviceName], gone),
        TagSpecifications: tagSpecifications('vpc-endpoint', desired.tags),
      }),
    );
    invalidateListing(ctx, KIND);
    if (!out.VpcEndpoint?.VpcEndpointId) throw new Error(`CreateVpcEndpoint ${p.serviceName} returned no endpoint`);
    return { ...toObserved(out.VpcEndpoint), tags: { ...desired.tags } };
  },

  async update(ctx, desired, observed, changes) {
    const fixed = FIXED.filter((f) => changes.some((c) => c.path === f));
    if (fixed.length > 0) {
      throw new UserActionRequired(
        `VPC endpoint ${observed.identifier}: ${fixed.map((f) => `${f} is ${observed.props[f]}, the plan asks for ${desired.props[f]}`).join('; ')}; an endpoint cannot change these: delete it so Slipway recreates it`,
        'NetworkImmutableField',
      );
    }
    const d = desired.props;
    const o = observed.props;
    const subnets = delta(d.subnetIds, o.subnetIds);
    const groups = delta(d.securityGroupIds, o.securityGroupIds);
    const tables = delta(d.routeTableIds, o.routeTableIds);
    const dns = d.privateDnsEnabled !== undefined && d.privateDnsEnabled !== o.privateDnsEnabled;
    try {
      await ctx.aws.ec2.send(
        new ModifyVpcEndpointCommand({
          VpcEndpointId: observed.identifier,
          ...(subnets.add.length > 0 ? { AddSubnetIds: subnets.add } : {}),
          ...(subnets.remove.length > 0 ? { RemoveSubnetIds: subnets.remove } : {}),
          ...(groups.add.length > 0 ? { AddSecurityGroupIds: groups.add } : {}),
          ...(groups.remove.length > 0 ? { RemoveSecurityGroupIds: groups.remove } : {}),
          ...(tables.add.length > 0 ? { AddRouteTableIds: tables.add } : {}),
          ...(tables.remove.length > 0 ? { RemoveRouteTableIds: tables.remove } : {}),
          ...(dns ? { PrivateDnsEnabled: d.privateDnsEnabled } : {}),
        }),
      );
    } finally {
      invalidateListing(ctx, KIND);
    }
    return (await describe(ctx, observed.identifier)) ?? observed;
  },

  async delete(ctx, observed) {
    try {
      const out = await unlessNotFound(() =>
        ctx.aws.ec2.send(new DeleteVpcEndpointsCommand({ VpcEndpointIds: [observed.identifier] })),
      );
      // A refusal comes back in the answer, not as an error.
      const refused = out?.Unsuccessful?.find((u) => u.Error && !/NotFound/.test(u.Error.Code ?? ''));
      if (refused)
        throw new Error(`DeleteVpcEndpoints ${observed.identifier}: ${refused.Error?.Code}: ${refused.Error?.Message}`);
    } catch (err) {
      throw stillInUse(err, `VPC endpoint ${observed.identifier}`);
    } finally {
      invalidateListing(ctx, KIND);
    }
  },

  tagging: 'tags',

  setTags: (ctx, observed, set, remove) => setEc2Tags(ctx, KIND, observed.identifier, set, remove),
};
