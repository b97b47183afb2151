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
    `more load balancer(s), added at the Environment's first pass with room (a resync at the latest): ${fix}`
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
    `up, by load balancers of any owner; the Environment adds it once there is room: ${QUOTA_FIX}`
  );
}
