// The account's regional quota of Application Load Balancers, as people read about it: the reason written when it
// is used up, and the messages naming the quota, the count and the fix. Pure, no imports: the planner, the
// Environment's condition and the one error mapping (classify.ts) say it the same way.

/** The reason of the LoadBalancerCapacity condition, and of the workloads it blocks, when the quota is used up. */
export const LOAD_BALANCER_QUOTA_REASON = 'LoadBalancerQuotaExceeded';

const QUOTA_FIX =
  'raise "Application Load Balancers per Region" in Service Quotas, delete load balancers no longer used in the ' +
  'region, or spread the workloads over Environments in other regions or accounts';

export interface QuotaFacts {
  readonly region: string;
  readonly quota: number;
  /** Where the quota comes from: the account, AWS's default, or the operator's setting. */
  readonly source: 'account' | 'default' | 'setting';
  /** Application Load Balancers in the account and region, whoever made them. */
  readonly count: number;
  /** Of those, the Environment's own. */
  readonly own: number;
}

/**
 * How soon an Environment waiting for room under the quota counts again: nothing tells it when a load balancer goes
 * elsewhere in the account, so it looks after firstMs, then twice as long each time, at most every maxMs, until the
 * room is there (its resync would be minutes to an hour away).
 */
export const QUOTA_RETRY = { firstMs: 15_000, maxMs: 120_000 } as const;

export interface QuotaRetry {
  readonly firstMs: number;
  readonly maxMs: number;
}

/** The wait before the Environment's `attempt`-th count (0: the first) while the quota withholds its shards. */
export function quotaRetryDelayMs(attempt: number, retry: QuotaRetry = QUOTA_RETRY): number {
  return Math.min(retry.firstMs * 2 ** Math.min(attempt, 30), retry.maxMs);
}

/** The Environment's message when it needs load balancers the quota leaves no room for: the quota, the count, the fix. */
export function loadBalancerQuotaMessage(facts: QuotaFacts, withheld: number, waiting: number): string {
  const source = {
    account: "the account's, from DescribeAccountLimits",
    default: "AWS's default; DescribeAccountLimits did not list it",
    setting: "the operator's SLIPWAY_LOAD_BALANCER_QUOTA",
  }[facts.source];
  const fix =
    facts.source === 'setting'
      ? `raise SLIPWAY_LOAD_BALANCER_QUOTA as far as the account's quota allows, ${QUOTA_FIX}`
      : QUOTA_FIX;
  return (
    `the quota of Application Load Balancers in ${facts.region} is ${facts.quota} (${source}) and the account has ` +
    `${facts.count}, ${facts.own} of them this Environment's: ${waiting} Services and previews wait for ${withheld} ` +
    `more load balancer(s), added once the Environment finds room (it counts again at least every ` +
    `${QUOTA_RETRY.maxMs / 60_000} minutes): ${fix}`
  );
}

/** The message of a workload the quota keeps off the Environment's load balancers. */
export function noNewShardMessage(environmentMessage: string): string {
  return `spec.environmentRef.name: the Environment cannot add a load balancer: ${environmentMessage}`;
}

/** The message of a CreateLoadBalancer the quota refused (another actor may have taken the last place). */
export function tooManyLoadBalancersMessage(awsMessage: string): string {
  return (
    `TooManyLoadBalancers: ${awsMessage}; the account's quota of Application Load Balancers in the region is used ` +
    `up, by load balancers of any owner; the Environment adds it once there is room (it counts again within ` +
    `${QUOTA_RETRY.maxMs / 60_000} minutes): ${QUOTA_FIX}`
  );
}
