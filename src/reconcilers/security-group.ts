// ec2.SecurityGroup — identity: the group name within the VPC. attrs: `id`.
// Slipway manages ingress rules of one shape only: TCP on a single port from an IPv4 CIDR. Other ingress rules
// (other protocols, port ranges, IPv6, group references) and all egress rules belong to someone else: they are
// neither diffed nor revoked. The description is immutable in EC2, so it is set at create and not diffed.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  paginateDescribeSecurityGroups,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { errorName, isNotFound, unlessNotFound } from '../aws/errors.js';
import { advancingPages } from '../aws/pages.js';
import type { SecurityGroupProps } from '../planner/plan.js';
import type { Change, Desired, KindReconciler, Observed, ReconcileContext } from './contract.js';
import { diffProps, type DiffOptions } from './diff.js';
import { invalidateListing, ownerFilters, ownerListing, setEc2Tags } from './ec2-network-shared.js';

const KIND = 'ec2.SecurityGroup';

type Ingress = SecurityGroupProps['ingress'][number];
type IngressRange = NonNullable<SecurityGroupProps['ingressRanges']>[number];

export const securityGroupDiffOptions: DiffOptions = {
  unordered: ['ingress', 'ingressRanges'],
  ignore: ['description'],
};

/** The TCP single-port IPv4 rules of a group, one entry per (port, CIDR), sorted. */
export function managedIngress(permissions: readonly IpPermission[] | undefined): Ingress[] {
  const out: Ingress[] = [];
  for (const p of permissions ?? []) {
    if (p.IpProtocol !== 'tcp' || p.FromPort === undefined || p.FromPort !== p.ToPort) continue;
    for (const r of p.IpRanges ?? []) if (r.CidrIp) out.push({ port: p.FromPort, cidr: r.CidrIp });
  }
  return out.sort((a, b) => a.port - b.port || a.cidr.localeCompare(b.cidr));
}

/**
 * The TCP port-range IPv4 rules of a group (FromPort below ToPort), sorted: managed only for a group whose plan
 * has ingressRanges (a created network's task group); elsewhere they belong to someone else.
 */
export function managedRanges(permissions: readonly IpPermission[] | undefined): IngressRange[] {
  const out: IngressRange[] = [];
  for (const p of permissions ?? []) {
    if (p.IpProtocol !== 'tcp' || p.FromPort === undefined || p.ToPort === undefined || p.FromPort === p.ToPort)
      continue;
    for (const r of p.IpRanges ?? [])
      if (r.CidrIp) out.push({ fromPort: p.FromPort, toPort: p.ToPort, cidr: r.CidrIp });
  }
  return out.sort((a, b) => a.fromPort - b.fromPort || a.toPort - b.toPort || a.cidr.localeCompare(b.cidr));
}

function rangePermissions(rules: readonly IngressRange[]): IpPermission[] {
  return rules.map((r) => ({
    IpProtocol: 'tcp',
    FromPort: r.fromPort,
    ToPort: r.toPort,
    IpRanges: [{ CidrIp: r.cidr }],
  }));
}

/** Rules grouped by port into the permission shape Authorize/Revoke take. */
export function toPermissions(rules: readonly Ingress[]): IpPermission[] {
  const byPort = new Map<number, string[]>();
  for (const r of rules) byPort.set(r.port, [...(byPort.get(r.port) ?? []), r.cidr]);
  return [...byPort].map(([port, cidrs]) => ({
    IpProtocol: 'tcp',
    FromPort: port,
    ToPort: port,
    IpRanges: cidrs.map((CidrIp) => ({ CidrIp })),
  }));
}

/**
 * What a failed DeleteSecurityGroup becomes: nothing when the group is already gone; for DependencyViolation (still
 * attached to a load balancer or to tasks that are draining) an ordinary, retryable error, so the controller backs
 * off and tries again once they are gone; anything else as it came.
 */
export function deleteError(err: unknown, groupId: string): unknown {
  if (isNotFound(err)) return undefined;
  if (errorName(err) === 'DependencyViolation') {
    return new Error(
      `security group ${groupId} is still in use (by a load balancer or tasks shutting down); retrying`,
      { cause: err },
    );
  }
  return err;
}

const key = (r: Ingress): string => `${r.port}/${r.cidr}`;
const rangeKey = (r: IngressRange): string => `${r.fromPort}-${r.toPort}/${r.cidr}`;

function toObserved(g: SecurityGroup): Observed<'ec2.SecurityGroup'> {
  const id = g.GroupId ?? '';
  return {
    identifier: id,
    props: {
      name: g.GroupName ?? '',
      description: g.Description ?? '',
      vpcId: g.VpcId ?? '',
      ingress: managedIngress(g.IpPermissions),
      ingressRanges: managedRanges(g.IpPermissions),
    },
    tags: Object.fromEntries((g.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    attrs: { id },
  };
}

async function describeById(ctx: ReconcileContext, id: string): Promise<Observed<'ec2.SecurityGroup'> | undefined> {
  const g = (await unlessNotFound(() => ctx.aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }))))
    ?.SecurityGroups?.[0];
  return g ? toObserved(g) : undefined;
}

export const securityGroupReconciler: KindReconciler<'ec2.SecurityGroup'> = {
  kind: 'ec2.SecurityGroup',

  async observe(ctx, desired) {
    const { name, vpcId } = desired.props;
    // The owner's groups, listed once per pass: an Environment's pass observes one per load-balancer shard, and one
    // listing by its tags answers for all of them instead of one DescribeSecurityGroups each.
    const owned = await ownerListing(ctx, KIND, desired.tags, async () => {
      const out: Observed<'ec2.SecurityGroup'>[] = [];
      const pages = paginateDescribeSecurityGroups({ client: ctx.aws.ec2 }, { Filters: ownerFilters(desired.tags) });
      for await (const page of advancingPages(pages, (p) => p.NextToken, 'DescribeSecurityGroups')) {
        for (const g of page.SecurityGroups ?? []) out.push(toObserved(g));
      }
      return out;
    });
    const mine = owned.find((g) => g.props.name === name && g.props.vpcId === vpcId);
    if (mine) return mine;
    // None of the owner's has the name: by name, which finds a group someone else holds it with (a conflict).
    const res = await ctx.aws.ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [
          { Name: 'group-name', Values: [name] },
          { Name: 'vpc-id', Values: [vpcId] },
        ],
      }),
    );
    const g = res.SecurityGroups?.[0];
    return g ? toObserved(g) : undefined;
  },

  observeByIdentifier: describeById,

  diff: diffProps(securityGroupDiffOptions),

  async create(ctx, desired) {
    const p = desired.props;
    const res = await ctx.aws.ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: p.name,
        Description: p.description,
        VpcId: p.vpcId,
        TagSpecifications: [
          {
            ResourceType: 'security-group',
            Tags: Object.entries(desired.tags).map(([Key, Value]) => ({ Key, Value })),
          },
        ],
      }),
    );
    invalidateListing(ctx, KIND);
    const id = res.GroupId;
    if (!id) throw new Error(`CreateSecurityGroup ${p.name} returned no group id`);
    const permissions = [...toPermissions(p.ingress), ...rangePermissions(p.ingressRanges ?? [])];
    if (permissions.length > 0) {
      await ctx.aws.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: permissions }));
    }
    return {
      identifier: id,
      props: { ...p, ingress: [...p.ingress], ingressRanges: [...(p.ingressRanges ?? [])] },
      tags: { ...desired.tags },
      attrs: { id },
    };
  },

  async update(ctx, desired: Desired<'ec2.SecurityGroup'>, observed, _changes: readonly Change[]) {
    const want = new Set(desired.props.ingress.map(key));
    const have = new Set(observed.props.ingress.map(key));
    const missing = desired.props.ingress.filter((r) => !have.has(key(r)));
    const extra = observed.props.ingress.filter((r) => !want.has(key(r)));
    const GroupId = observed.identifier;
    // Dropped even when a write fails: one before it may have changed the group.
    try {
      if (missing.length > 0)
        await ctx.aws.ec2.send(
          new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions: toPermissions(missing) }),
        );
      if (extra.length > 0)
        await ctx.aws.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId, IpPermissions: toPermissions(extra) }));
      if (desired.props.ingressRanges) {
        const wantRanges = new Set(desired.props.ingressRanges.map(rangeKey));
        const haveRanges = new Set((observed.props.ingressRanges ?? []).map(rangeKey));
        const add = desired.props.ingressRanges.filter((r) => !haveRanges.has(rangeKey(r)));
        const drop = (observed.props.ingressRanges ?? []).filter((r) => !wantRanges.has(rangeKey(r)));
        if (add.length > 0)
          await ctx.aws.ec2.send(
            new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions: rangePermissions(add) }),
          );
        if (drop.length > 0)
          await ctx.aws.ec2.send(
            new RevokeSecurityGroupIngressCommand({ GroupId, IpPermissions: rangePermissions(drop) }),
          );
      }
    } finally {
      invalidateListing(ctx, KIND);
    }
    return (await describeById(ctx, GroupId)) ?? observed;
  },

  async delete(ctx, observed) {
    try {
      await ctx.aws.ec2.send(new DeleteSecurityGroupCommand({ GroupId: observed.identifier }));
    } catch (err) {
      const surfaced = deleteError(err, observed.identifier);
      if (surfaced) throw surfaced;
    } finally {
      invalidateListing(ctx, KIND);
    }
  },

  tagging: 'tags',

  setTags: (ctx, o, s, r) => setEc2Tags(ctx, KIND, o.identifier, s, r),
};
