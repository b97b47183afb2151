// Where each Service and preview of an Environment sits among its load balancers (shards), for the one operator
// that leads. The informer cache holds the placements persisted in status; a placement made since, and not yet
// seen there, is held here, so workers placing several workloads at once never fill a shard past its capacity
// (placing is synchronous: one decision at a time). A persisted placement is dropped from here once the cache
// shows it, and a pending one once its object is gone.
import type { Environment, PreviewDeployment, Service } from '../api/index.js';
import type { AwsClients } from '../aws/clients.js';
import { loadBalancerLimits, regionalLoadBalancers } from '../aws/load-balancer-limits.js';
import { loadBalancerQuotaMessage } from '../outcome/load-balancer-quota.js';
import { gateEnabled, MAX_CALLBACK_URLS, MAX_SHARDS, shardLoadBalancerName } from '../planner/environment.js';
import { planShards, type RegionRoom } from '../planner/shards.js';
import { isBeingDeleted } from '../runtime/index.js';
import { previewIsLive } from './preview-hosts.js';
import type { OperatorDeps } from './shared.js';
import { BY_ENVIRONMENT } from './workload.js';

export type Member =
  | { readonly kind: 'Service'; readonly obj: Service }
  | { readonly kind: 'PreviewDeployment'; readonly obj: PreviewDeployment };

/** `Kind/name` of a member: unique within its Environment's namespace. */
export const memberKey = (kind: Member['kind'], name: string): string => `${kind}/${name}`;

/** The shard a status records; a workload placed before shards existed and holding resources is on shard 0. */
export function persistedShard(obj: Service | PreviewDeployment): number | undefined {
  const shard = obj.status?.loadBalancerShard;
  if (shard !== undefined) return shard;
  return (obj.status?.resources ?? []).length > 0 ? 0 : undefined;
}

export class Placements {
  private readonly pending = new Map<string, Map<string, number>>();

  constructor(private readonly deps: Pick<OperatorDeps, 'services' | 'previews'>) {}

  members(envKey: string): Member[] {
    return [
      ...this.deps.services.byIndex(BY_ENVIRONMENT, envKey).map((obj) => ({ kind: 'Service' as const, obj })),
      ...this.deps.previews.byIndex(BY_ENVIRONMENT, envKey).map((obj) => ({ kind: 'PreviewDeployment' as const, obj })),
    ];
  }

  /** The shard of every placed member of the Environment, by memberKey. */
  placed(envKey: string): Map<string, number> {
    const pending = this.pending.get(envKey);
    const out = new Map<string, number>();
    const seen = new Set<string>();
    for (const m of this.members(envKey)) {
      const key = memberKey(m.kind, m.obj.metadata.name);
      seen.add(key);
      const persisted = persistedShard(m.obj);
      const held = pending?.get(key);
      if (held !== undefined && held === persisted) pending!.delete(key);
      const shard = held ?? persisted;
      if (shard !== undefined) out.set(key, shard);
    }
    for (const key of pending?.keys() ?? []) if (!seen.has(key)) pending!.delete(key);
    if (pending?.size === 0) this.pending.delete(envKey);
    return out;
  }

  /** Members per shard, `except` one (the member being placed). */
  counts(envKey: string, except?: string): Map<number, number> {
    const counts = new Map<number, number>();
    for (const [key, shard] of this.placed(envKey)) {
      if (key !== except) counts.set(shard, (counts.get(shard) ?? 0) + 1);
    }
    return counts;
  }

  /** Live members not placed yet: the ones the Environment makes room for. */
  waiting(envKey: string): number {
    const placed = this.placed(envKey);
    return this.members(envKey).filter(
      (m) =>
        !placed.has(memberKey(m.kind, m.obj.metadata.name)) &&
        !isBeingDeleted(m.obj) &&
        (m.kind === 'Service' || previewIsLive(m.obj)),
    ).length;
  }

  /** Records a decision until the member's status shows it. */
  place(envKey: string, key: string, shard: number): void {
    let pending = this.pending.get(envKey);
    if (!pending) this.pending.set(envKey, (pending = new Map()));
    pending.set(key, shard);
  }
}

const registries = new WeakMap<object, Placements>();

/** The operator's one placement registry (per set of informers). */
export function placementsOf(deps: Pick<OperatorDeps, 'services' | 'previews'>): Placements {
  let found = registries.get(deps.services);
  if (!found) registries.set(deps.services, (found = new Placements(deps)));
  return found;
}

/**
 * Workloads one load balancer holds: the account's listener-rule and target-group quotas per ALB, at most
 * MAX_CALLBACK_URLS while the Environment has a gate of its own, and at most the operator's setting.
 */
export async function shardCapacity(env: Environment, aws: AwsClients, maxSetting: number | undefined) {
  const limits = await loadBalancerLimits(aws);
  const gated = gateEnabled(env) || !!env.spec.access?.cognito?.userPoolId;
  return Math.max(
    1,
    Math.min(
      limits.rulesPerLoadBalancer,
      limits.targetGroupsPerLoadBalancer,
      gated ? MAX_CALLBACK_URLS : Infinity,
      maxSetting ?? Infinity,
    ),
  );
}

/** The shards an Environment plans, and those the region's quota of load balancers leaves out. */
export interface PlannedShards {
  readonly shards: readonly number[];
  /** Workloads that do not fit (an existing listener, which cannot grow, or shards the quota withholds). */
  readonly overflow: number;
  /** Shards wanted that the regional quota of load balancers has no room for, and the condition's message. */
  readonly withheld?: { readonly shards: readonly number[]; readonly message: string };
}

/**
 * How old the account's quotas may be in a pass that needs another load balancer: a raise in Service Quotas is
 * seen within this, not within the hour the quotas are otherwise kept.
 */
const QUOTA_RECHECK_MS = 300_000;

/**
 * Which shards to plan, from the placements and the workloads still waiting for one. A shard k >= 1 whose load
 * balancer status does not record is a load balancer to create: only then are the region's load balancers listed
 * and counted against the quota (`quotaSetting`, SLIPWAY_LOAD_BALANCER_QUOTA, else the account's). Shard 0 is
 * always planned; its create, refused, says so through the error. The operator and `slipway plan` both plan so.
 */
export async function plannedShards(
  env: Environment,
  aws: AwsClients,
  counts: ReadonlyMap<number, number>,
  waiting: number,
  capacity: number,
  quotaSetting: number | undefined,
): Promise<PlannedShards> {
  const existing = !!env.spec.loadBalancer.existingListenerArn;
  const wanted = planShards(counts, waiting, capacity, existing);
  const recorded = new Set((env.status?.shards ?? []).filter((s) => s.loadBalancerArn).map((s) => s.index));
  if (existing || wanted.shards.every((s) => s === 0 || recorded.has(s))) {
    return { shards: wanted.shards, overflow: wanted.overflow };
  }
  const [region, limits] = await Promise.all([
    regionalLoadBalancers(aws),
    loadBalancerLimits(aws, Date.now(), QUOTA_RECHECK_MS),
  ]);
  const exists = new Set(
    wanted.shards.filter((s) => recorded.has(s) || region.names.has(shardLoadBalancerName(env, s))),
  );
  const quota = quotaSetting ?? limits.loadBalancersPerRegion;
  const room: RegionRoom = { existing: exists, free: quota - region.count };
  const plan = planShards(counts, waiting, capacity, false, room);
  if (plan.withheld.length === 0) return { shards: plan.shards, overflow: plan.overflow };
  const source =
    quotaSetting !== undefined
      ? ('setting' as const)
      : limits.loadBalancersPerRegionFromAccount
        ? ('account' as const)
        : ('default' as const);
  const ours = new Set(Array.from({ length: MAX_SHARDS }, (_, s) => shardLoadBalancerName(env, s)));
  const ownCount = [...region.names].filter((n) => ours.has(n)).length;
  const message = loadBalancerQuotaMessage(
    { region: env.spec.region, quota, source, count: region.count, own: ownCount },
    plan.withheld.length,
    plan.overflow,
  );
  return { shards: plan.shards, overflow: plan.overflow, withheld: { shards: plan.withheld, message } };
}
