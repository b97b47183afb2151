// Load-balancer shards: where a workload goes, and which shards an Environment plans. Pure.
//
// A workload (a Service or a preview) takes one listener rule and one target group on its shard, and, when gated,
// one callback URL on the shard's app client: `capacity` workloads fit on a shard. A workload is placed once and
// stays; it moves only when its spec asks. An Environment plans shard 0 always, every shard with workloads placed,
// and new shards for the workloads still waiting once the others are full. An existing listener cannot grow.
//
// New shards are new Application Load Balancers, and the account's regional quota of those is shared with
// everything else in the account: a shard whose load balancer does not exist yet is planned only while the quota
// leaves room (the lowest numbers first). The others are withheld and their workloads wait, Blocked, until there
// is room; nothing is created that the quota refuses.
import { MAX_SHARDS } from './environment.js';
import { LOAD_BALANCER_QUOTA_REASON, noNewShardMessage } from '../outcome/load-balancer-quota.js';

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
  /**
   * Set when the Environment may open no more shards (the account's regional quota of load balancers is used up):
   * the message of its LoadBalancerCapacity condition. Only the shards it lists are then filled.
   */
  readonly noNewShards?: string;
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
  const quota = input.noNewShards;
  // Under the quota, a placement on a shard the Environment does not list (withheld: its load balancer was never
  // made, so nothing of the workload's is on it) holds nothing: it takes room on a listed shard when there is some.
  const withheld =
    quota !== undefined &&
    requested === undefined &&
    current !== undefined &&
    current !== 0 &&
    !input.shards.includes(current);
  if (current !== undefined && !withheld) return { shard: current };
  // Fill the shards that exist (or are being created) from the lowest; then open the next one. Under the quota,
  // a shard others are placed on but the Environment does not list is one it withholds: not filled.
  const known = [...new Set([0, ...input.shards, ...(quota === undefined ? counts.keys() : [])])].sort((a, b) => a - b);
  const open = known.find((s) => count(counts, s) < capacity && (!existingListener || s === 0));
  if (open !== undefined) return { shard: open };
  if (quota !== undefined && !existingListener) {
    return { refused: { reason: LOAD_BALANCER_QUOTA_REASON, message: noNewShardMessage(quota) } };
  }
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
  /** Workloads that do not fit (an existing listener, which cannot grow, or shards the quota withholds). */
  readonly overflow: number;
  /** Shards wanted whose load balancer the account's regional quota leaves no room for: not planned. */
  readonly withheld: readonly number[];
}

/** What the region allows: which shards' load balancers exist, and how many more the account may create. */
export interface RegionRoom {
  readonly existing: ReadonlySet<number>;
  /** The regional quota of Application Load Balancers minus those the account has (may be negative). */
  readonly free: number;
}

const roomIn = (shards: Iterable<number>, counts: ReadonlyMap<number, number>, capacity: number): number =>
  [...shards].reduce((room, s) => room + Math.max(0, capacity - count(counts, s)), 0);

/**
 * The shards an Environment plans. `waiting` counts the live workloads not placed yet: when the planned shards have
 * less room than that, new shards are added (the lowest free numbers) so they exist by the time those are placed.
 * With `room`, a shard whose load balancer does not exist is planned only while the regional quota has room
 * (shard 0 always: the Environment is nothing without it); the rest are withheld, and the workloads placed on them
 * or left waiting count as overflow.
 */
export function planShards(
  counts: ReadonlyMap<number, number>,
  waiting: number,
  capacity: number,
  existingListener: boolean,
  room?: RegionRoom,
): ShardPlan {
  if (existingListener) {
    const free = Math.max(0, capacity - count(counts, 0));
    return { shards: [0], overflow: Math.max(0, waiting - free), withheld: [] };
  }
  const shards = new Set([0, ...[...counts].filter(([, n]) => n > 0).map(([s]) => s)]);
  let missing = waiting - roomIn(shards, counts, capacity);
  for (let s = 1; s < MAX_SHARDS && missing > 0; s++) {
    if (shards.has(s)) continue;
    shards.add(s);
    missing -= capacity;
  }
  const wanted = [...shards].sort((a, b) => a - b);
  if (!room) return { shards: wanted, overflow: Math.max(0, missing), withheld: [] };
  let free = room.free;
  const planned: number[] = [];
  const withheld: number[] = [];
  for (const s of wanted) {
    if (room.existing.has(s)) planned.push(s);
    else if (s === 0 || free > 0) {
      planned.push(s);
      free--;
    } else withheld.push(s);
  }
  const stranded = withheld.reduce((n, s) => n + count(counts, s), 0);
  const overflow = stranded + Math.max(0, waiting - roomIn(planned, counts, capacity));
  return { shards: planned, overflow, withheld };
}
