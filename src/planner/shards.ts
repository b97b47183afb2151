// Load-balancer shards: where a workload goes, and which shards an Environment plans. Pure.
//
// A workload (a Service or a preview) takes one listener rule and one target group on its shard, and, when gated,
// one callback URL on the shard's app client: `capacity` workloads fit on a shard. A workload is placed once and
// stays; it moves only when its spec asks. An Environment plans shard 0 always, every shard with workloads placed,
// and new shards for the workloads still waiting once the others are full. An existing listener cannot grow.
import { MAX_SHARDS } from './environment.js';

export interface PlacementInput {
  /** Where the workload is placed already (its status, or a placement not yet persisted). */
  readonly current?: number;
  /** spec.loadBalancer.shard: where the workload asks to be. */
  readonly requested?: number;
  /** Workloads placed per shard, this one excluded. */
  readonly counts: ReadonlyMap<number, number>;
  /** Workloads one shard holds. */
  readonly capacity: number;
  /** Shards the Environment's status lists (created, or being created). */
  readonly shards: readonly number[];
  /** The Environment routes through spec.loadBalancer.existingListenerArn: shard 0 only, and it cannot grow. */
  readonly existingListener: boolean;
}

export type Placement =
  { readonly shard: number } | { readonly refused: { readonly reason: string; readonly message: string } };

const FULL_FIX =
  'remove spec.loadBalancer.existingListenerArn and set spec.loadBalancer.certificateArn so Slipway creates load ' +
  'balancers it can add to, raise the quotas "Rules per Application Load Balancer" and "Target groups per ' +
  'Application Load Balancer" in Service Quotas, or move some Services to another Environment';

/** The message of an Environment whose existing listener is full, naming the field and the fix. */
export function existingListenerFullMessage(placed: number, waiting: number, capacity: number): string {
  return (
    `spec.loadBalancer.existingListenerArn: the existing listener holds ${placed} of at most ${capacity} Services and ` +
    `previews (status.shardCapacity)${waiting > 0 ? ` and ${waiting} more wait for room` : ''}; a listener made ` +
    `elsewhere cannot grow into more load balancers: ${FULL_FIX}`
  );
}

const count = (counts: ReadonlyMap<number, number>, shard: number): number => counts.get(shard) ?? 0;

export function choosePlacement(input: PlacementInput): Placement {
  const { current, requested, counts, capacity, existingListener } = input;
  if (requested !== undefined && requested !== current) {
    if (existingListener && requested !== 0) {
      return {
        refused: {
          reason: 'ShardUnavailable',
          message:
            `spec.loadBalancer.shard: ${requested} is asked for, but the Environment routes through ` +
            'spec.loadBalancer.existingListenerArn, which is shard 0 only: remove spec.loadBalancer.shard or set it to 0',
        },
      };
    }
    if (count(counts, requested) >= capacity) {
      return {
        refused: {
          reason: 'ShardFull',
          message:
            `spec.loadBalancer.shard: shard ${requested} already holds ${count(counts, requested)} of at most ` +
            `${capacity} Services and previews; ${current === undefined ? 'the Service is not placed' : `the Service stays on shard ${current}`}` +
            ' until there is room: pick another shard, or remove spec.loadBalancer.shard',
        },
      };
    }
    return { shard: requested };
  }
  if (current !== undefined) return { shard: current };
  // Fill the shards that exist (or are being created) from the lowest; then open the next one.
  const known = [...new Set([0, ...input.shards, ...counts.keys()])].sort((a, b) => a - b);
  const open = known.find((s) => count(counts, s) < capacity && (!existingListener || s === 0));
  if (open !== undefined) return { shard: open };
  if (existingListener) {
    const placed = count(counts, 0);
    return { refused: { reason: 'LoadBalancerFull', message: existingListenerFullMessage(placed, 1, capacity) } };
  }
  for (let s = 1; s < MAX_SHARDS; s++) if (!known.includes(s)) return { shard: s };
  return {
    refused: {
      reason: 'LoadBalancerFull',
      message:
        `spec.environmentRef.name: all ${MAX_SHARDS} load balancers of the Environment hold ${capacity} Services and ` +
        'previews each; move some Services to another Environment',
    },
  };
}

export interface ShardPlan {
  /** Shards to plan, sorted: 0, every shard with workloads placed, and new ones for the waiting. */
  readonly shards: readonly number[];
  /** Workloads that do not fit (an existing listener only: it cannot grow). */
  readonly overflow: number;
}

/**
 * The shards an Environment plans. `waiting` counts the live workloads not placed yet: when the planned shards have
 * less room than that, new shards are added (the lowest free numbers) so they exist by the time those are placed.
 */
export function planShards(
  counts: ReadonlyMap<number, number>,
  waiting: number,
  capacity: number,
  existingListener: boolean,
): ShardPlan {
  if (existingListener) {
    const free = Math.max(0, capacity - count(counts, 0));
    return { shards: [0], overflow: Math.max(0, waiting - free) };
  }
  const shards = new Set([0, ...[...counts].filter(([, n]) => n > 0).map(([s]) => s)]);
  let missing = waiting - [...shards].reduce((room, s) => room + Math.max(0, capacity - count(counts, s)), 0);
  for (let s = 1; s < MAX_SHARDS && missing > 0; s++) {
    if (shards.has(s)) continue;
    shards.add(s);
    missing -= capacity;
  }
  return { shards: [...shards].sort((a, b) => a - b), overflow: Math.max(0, missing) };
}
