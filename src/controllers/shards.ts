// Where each Service and preview of an Environment sits among its load balancers (shards), for the one operator
// that leads. The informer cache holds the placements persisted in status; a placement made since, and not yet
// seen there, is held here, so workers placing several workloads at once never fill a shard past its capacity
// (placing is synchronous: one decision at a time). A persisted placement is dropped from here once the cache
// shows it, and a pending one once its object is gone.
//
// The Environment's pass places the workloads still waiting (placeWaiting), with the same decision a workload makes
// for itself (choosePlacement), and plans their shards and callback URLs with them; each workload writes its own
// placement to its status at the start of its pass, as before. The Environment remembers what its last pass
// planned with (markPlanned), so a workload's write of a placement it already planned for does not wake it again:
// in a burst of new workloads the Environment passes once for their arrival instead of once per few placements.
import type { Environment, PreviewDeployment, Service } from '../api/index.js';
import type { AwsClients } from '../aws/clients.js';
import {
  loadBalancerLimits,
  regionalLoadBalancers,
  type LoadBalancerLimits,
  type RegionalLoadBalancers,
} from '../aws/load-balancer-limits.js';
import { loadBalancerQuotaMessage } from '../outcome/load-balancer-quota.js';
import { gateEnabled, MAX_CALLBACK_URLS, MAX_SHARDS, shardLoadBalancerName } from '../planner/environment.js';
import { choosePlacement, planShards, type PlacementInput, type RegionRoom } from '../planner/shards.js';
import { isBeingDeleted } from '../runtime/index.js';
import { runnablePreviews } from './preview-hosts.js';
import type { OperatorDeps } from './shared.js';
import { BY_ENVIRONMENT, environmentKey } from './workload.js';

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
  /** What each Environment's last pass planned with, by memberKey (markPlanned). */
  private readonly planned = new Map<string, ReadonlyMap<string, number>>();

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
    return countsOf(this.placed(envKey), except);
  }

  /**
   * Members not placed yet that their own pass would place (a Service not being deleted; a preview as
   * runnablePreviews says): the ones the Environment makes room for and places.
   */
  waitingMembers(env: Environment): Member[] {
    const envKey = environmentKey(env);
    const placed = this.placed(envKey);
    const { services, previews } = this.runnable(env);
    return [
      ...services.filter((obj) => !isBeingDeleted(obj)).map((obj) => ({ kind: 'Service' as const, obj })),
      ...previews.map((obj) => ({ kind: 'PreviewDeployment' as const, obj })),
    ].filter((m) => !placed.has(memberKey(m.kind, m.obj.metadata.name)));
  }

  waiting(env: Environment): number {
    return this.waitingMembers(env).length;
  }

  /** The Environment's Services, and the previews their own pass would run (runnablePreviews). */
  private runnable(env: Environment): { services: Service[]; previews: PreviewDeployment[] } {
    const envKey = environmentKey(env);
    const services = this.deps.services.byIndex(BY_ENVIRONMENT, envKey);
    const names = new Set(services.map((s) => s.metadata.name));
    return { services, previews: runnablePreviews(env, this.deps.previews.byIndex(BY_ENVIRONMENT, envKey), names) };
  }

  /** Records a decision until the member's status shows it. */
  place(envKey: string, key: string, shard: number): void {
    let pending = this.pending.get(envKey);
    if (!pending) this.pending.set(envKey, (pending = new Map()));
    pending.set(key, shard);
  }

  /**
   * Places the members still waiting, each as its own pass would (choosePlacement with the Environment's shards
   * as just planned): those asking for a shard first, then the oldest first. A member that does not fit (an
   * existing listener full, shards the quota withholds, a requested shard full) stays unplaced; its own pass
   * then says why. Answers the shards placed on.
   */
  placeWaiting(
    env: Environment,
    input: Pick<PlacementInput, 'capacity' | 'shards' | 'existingListener' | 'noNewShards'>,
  ): number[] {
    const envKey = environmentKey(env);
    const requested = (m: Member) => (m.kind === 'Service' ? m.obj.spec.loadBalancer?.shard : undefined);
    const created = (m: Member) => String(m.obj.metadata.creationTimestamp ?? '');
    const waiting = this.waitingMembers(env).sort(
      (a, b) =>
        Number(requested(a) === undefined) - Number(requested(b) === undefined) ||
        created(a).localeCompare(created(b)) ||
        memberKey(a.kind, a.obj.metadata.name).localeCompare(memberKey(b.kind, b.obj.metadata.name)),
    );
    // Counted once and kept up to date here: with thousands of workloads, recounting per member is quadratic.
    const counts = this.counts(envKey);
    const placedOn: number[] = [];
    for (const m of waiting) {
      const shard = requested(m);
      const decision = choosePlacement({ ...input, counts, ...(shard !== undefined ? { requested: shard } : {}) });
      if ('refused' in decision) continue;
      this.place(envKey, memberKey(m.kind, m.obj.metadata.name), decision.shard);
      counts.set(decision.shard, (counts.get(decision.shard) ?? 0) + 1);
      placedOn.push(decision.shard);
    }
    return placedOn;
  }

  /**
   * Drops a placement not yet persisted of a preview its own pass would no longer run (an older preview took its
   * previews.maxActive slot since the Environment placed it): a Blocked preview holds no place on a shard.
   */
  releaseUnrunnable(env: Environment): void {
    const envKey = environmentKey(env);
    const pending = this.pending.get(envKey);
    if (!pending) return;
    const runnable = new Set(this.runnable(env).previews.map((p) => p.metadata.name));
    for (const p of this.deps.previews.byIndex(BY_ENVIRONMENT, envKey)) {
      const key = memberKey('PreviewDeployment', p.metadata.name);
      if (pending.has(key) && !runnable.has(p.metadata.name) && persistedShard(p) === undefined) pending.delete(key);
    }
  }

  /** Remembers the placements the Environment's pass plans with (its shards, and each shard's callback URLs). */
  markPlanned(envKey: string, placed: ReadonlyMap<string, number>): void {
    this.planned.set(envKey, new Map(placed));
  }

  /** Whether the Environment's last pass planned with this member on this shard: its write then changes nothing there. */
  plannedWith(envKey: string, key: string, shard: number | undefined): boolean {
    return shard !== undefined && this.planned.get(envKey)?.get(key) === shard;
  }

  /** Forgets what an Environment planned with (it is being deleted, or its pass stopped before applying). */
  forget(envKey: string): void {
    this.planned.delete(envKey);
  }
}

/** Workloads per shard, from placements by memberKey, `except` one. */
export function countsOf(placed: ReadonlyMap<string, number>, except?: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const [key, shard] of placed) if (key !== except) counts.set(shard, (counts.get(shard) ?? 0) + 1);
  return counts;
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

/** The region's load balancers and the account's quotas, read at most once however often they are asked for. */
export function regionReads(aws: AwsClients): () => Promise<readonly [RegionalLoadBalancers, LoadBalancerLimits]> {
  let read: Promise<readonly [RegionalLoadBalancers, LoadBalancerLimits]> | undefined;
  return () =>
    (read ??= Promise.all([regionalLoadBalancers(aws), loadBalancerLimits(aws, Date.now(), QUOTA_RECHECK_MS)]));
}

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
  /** Shared by the plans of one pass (before and after it places the waiting workloads): one listing at most. */
  readRegion = regionReads(aws),
): Promise<PlannedShards> {
  const existing = !!env.spec.loadBalancer.existingListenerArn;
  const wanted = planShards(counts, waiting, capacity, existing);
  const recorded = new Set((env.status?.shards ?? []).filter((s) => s.loadBalancerArn).map((s) => s.index));
  if (existing || wanted.shards.every((s) => s === 0 || recorded.has(s))) {
    return { shards: wanted.shards, overflow: wanted.overflow };
  }
  const [region, limits] = await readRegion();
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
