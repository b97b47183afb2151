// Where each Service and preview of an Environment sits among its load balancers (shards), for the one operator
// that leads. The informer cache holds the placements persisted in status; a placement made since, and not yet
// seen there, is held here, so workers placing several workloads at once never fill a shard past its capacity
// (placing is synchronous: one decision at a time). A persisted placement is dropped from here once the cache
// shows it, and a pending one once its object is gone.
import type { Environment, PreviewDeployment, Service } from '../api/index.js';
import type { AwsClients } from '../aws/clients.js';
import { loadBalancerLimits } from '../aws/load-balancer-limits.js';
import { gateEnabled, MAX_CALLBACK_URLS } from '../planner/environment.js';
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
