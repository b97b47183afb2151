// elbv2.LoadBalancer — identity: the name (at most 32 characters, given in props). attrs: `arn`, `dnsName`,
// `canonicalHostedZoneId`, `name`.
// An application load balancer on IPv4. Managed: scheme (immutable: reported, never changed in place), subnets,
// security groups and the idle timeout attribute.
import {
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  ModifyLoadBalancerAttributesCommand,
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { unlessNotFound } from '../aws/errors.js';
import { loadBalancersOfRegion } from '../aws/load-balancer-limits.js';
import { takenAsPlanned, type Desired, type KindReconciler, type Observed, type ReconcileContext } from './contract.js';
import { diffProps, type DiffOptions } from './diff.js';
import { elbv2TagApi, recordToTags, tagsOf, UserActionRequired } from './elbv2-shared.js';
import { writeTags } from './tags.js';

const IDLE_TIMEOUT = 'idle_timeout.timeout_seconds';
/** AWS's default idle timeout; DescribeLoadBalancerAttributes may omit the key when it was never set. */
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 60;

export const loadBalancerDiffOptions: DiffOptions = { unordered: ['subnetIds', 'securityGroupIds'] };
const diffLoadBalancer = diffProps(loadBalancerDiffOptions);

export function idleTimeoutOf(
  attributes: readonly { readonly Key?: string; readonly Value?: string }[] | undefined,
): number {
  const v = attributes?.find((a) => a.Key === IDLE_TIMEOUT)?.Value;
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : DEFAULT_IDLE_TIMEOUT_SECONDS;
}

/** Writes the one attribute Slipway manages, at create and on drift alike. */
async function setIdleTimeout(ctx: ReconcileContext, LoadBalancerArn: string, seconds: number): Promise<void> {
  await ctx.aws.elbv2.send(
    new ModifyLoadBalancerAttributesCommand({
      LoadBalancerArn,
      Attributes: [{ Key: IDLE_TIMEOUT, Value: String(seconds) }],
    }),
  );
}

async function toObserved(
  ctx: ReconcileContext,
  lb: LoadBalancer,
  planned?: Desired<'elbv2.LoadBalancer'>,
): Promise<Observed<'elbv2.LoadBalancer'>> {
  const arn = lb.LoadBalancerArn ?? '';
  const [tags, idleTimeoutSeconds] = planned
    ? [{ ...planned.tags }, planned.props.idleTimeoutSeconds]
    : await Promise.all([
        tagsOf(ctx, arn),
        ctx.aws.elbv2
          .send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: arn }))
          .then((a) => idleTimeoutOf(a.Attributes)),
      ]);
  return {
    identifier: arn,
    props: {
      name: lb.LoadBalancerName ?? '',
      scheme: lb.Scheme === 'internal' ? 'internal' : 'internet-facing',
      subnetIds: (lb.AvailabilityZones ?? []).flatMap((z) => (z.SubnetId ? [z.SubnetId] : [])).sort(),
      securityGroupIds: [...(lb.SecurityGroups ?? [])].sort(),
      idleTimeoutSeconds,
    },
    tags,
    attrs: {
      arn,
      dnsName: lb.DNSName ?? '',
      canonicalHostedZoneId: lb.CanonicalHostedZoneId ?? '',
      name: lb.LoadBalancerName ?? '',
    },
    ...(planned ? { assumed: true } : {}),
  };
}

async function describe(
  ctx: ReconcileContext,
  by: { Names: string[] } | { LoadBalancerArns: string[] },
): Promise<Observed<'elbv2.LoadBalancer'> | undefined> {
  const lb = (await unlessNotFound(() => ctx.aws.elbv2.send(new DescribeLoadBalancersCommand(by))))?.LoadBalancers?.[0];
  return lb ? toObserved(ctx, lb) : undefined;
}

const LISTING_KEY = 'elbv2:load-balancers';

/**
 * Every load balancer of the account and region by name, 400 a page, read once per pass (ctx.memo) and dropped after
 * any write to one: an Environment's pass observes the load balancer of each of its shards, and one listing answers
 * for all of them (a region holds at most 50 Application Load Balancers by default: one page) instead of one
 * DescribeLoadBalancers per shard.
 */
function loadBalancersByName(ctx: ReconcileContext): Promise<ReadonlyMap<string, LoadBalancer>> {
  return ctx.memo(LISTING_KEY, async () => {
    const out = new Map<string, LoadBalancer>();
    for (const lb of await loadBalancersOfRegion(ctx.aws)) if (lb.LoadBalancerName) out.set(lb.LoadBalancerName, lb);
    return out;
  });
}

export const loadBalancerReconciler: KindReconciler<'elbv2.LoadBalancer'> = {
  kind: 'elbv2.LoadBalancer',

  // The listing shows scheme, subnets and security groups. The tags and the idle timeout are read in the shard's
  // turn (ctx.readEach by the load balancer's ARN, with drift events on: their AddTags, RemoveTags and
  // ModifyLoadBalancerAttributes events reconcile the Environment within seconds); otherwise, for the load balancer
  // the inventory records, they are taken as planned (marked: one listed with a field that differs from its plan is
  // read again, fresh, before it is changed, applier.ts observeOwned).
  async observe(ctx, desired, recorded) {
    const lb = (await loadBalancersByName(ctx)).get(desired.props.name);
    if (!lb) return undefined;
    const arn = lb.LoadBalancerArn;
    return toObserved(ctx, lb, arn && takenAsPlanned(ctx, recorded, arn, { each: arn }) ? desired : undefined);
  },
  observeByIdentifier: (ctx, arn) => describe(ctx, { LoadBalancerArns: [arn] }),

  diff: diffLoadBalancer,

  async create(ctx, desired) {
    const p = desired.props;
    const res = await ctx.aws.elbv2.send(
      new CreateLoadBalancerCommand({
        Name: p.name,
        Type: 'application',
        IpAddressType: 'ipv4',
        Scheme: p.scheme,
        Subnets: [...p.subnetIds],
        SecurityGroups: [...p.securityGroupIds],
        Tags: recordToTags(desired.tags),
      }),
    );
    ctx.invalidate(LISTING_KEY);
    const lb = res.LoadBalancers?.[0];
    if (!lb?.LoadBalancerArn) throw new Error(`CreateLoadBalancer ${p.name} returned no load balancer`);
    await setIdleTimeout(ctx, lb.LoadBalancerArn, p.idleTimeoutSeconds);
    return toObserved(ctx, lb);
  },

  async update(ctx, desired, observed, changes) {
    const LoadBalancerArn = observed.identifier;
    const changed = new Set(changes.map((c) => c.path));
    if (changed.has('scheme')) {
      throw new UserActionRequired(
        `load balancer ${desired.props.name} is ${observed.props.scheme} but the spec asks for ${desired.props.scheme}; ` +
          'the scheme of a load balancer cannot be changed, it must be replaced: delete the load balancer ' +
          `(aws elbv2 delete-load-balancer --load-balancer-arn ${LoadBalancerArn}) and Slipway will create it again ` +
          `with the new scheme, or set the scheme back to ${observed.props.scheme}`,
        'LoadBalancerSchemeImmutable',
      );
    }
    // Dropped even when a write fails: one before it may have changed the load balancer.
    try {
      if (changed.has('subnetIds')) {
        await ctx.aws.elbv2.send(new SetSubnetsCommand({ LoadBalancerArn, Subnets: [...desired.props.subnetIds] }));
      }
      if (changed.has('securityGroupIds')) {
        await ctx.aws.elbv2.send(
          new SetSecurityGroupsCommand({ LoadBalancerArn, SecurityGroups: [...desired.props.securityGroupIds] }),
        );
      }
      if (changed.has('idleTimeoutSeconds'))
        await setIdleTimeout(ctx, LoadBalancerArn, desired.props.idleTimeoutSeconds);
    } finally {
      ctx.invalidate(LISTING_KEY);
    }
    return (await describe(ctx, { LoadBalancerArns: [LoadBalancerArn] })) ?? observed;
  },

  async delete(ctx, observed) {
    await unlessNotFound(() =>
      ctx.aws.elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: observed.identifier })),
    );
    ctx.invalidate(`elbv2:listeners:${observed.identifier}`);
    ctx.invalidate(LISTING_KEY);
  },

  tagging: 'tags',

  setTags: (ctx, observed, set, remove) => writeTags(elbv2TagApi(ctx, observed.identifier), set, remove),
};
