// The account's Application Load Balancer quotas that bound how many Services one load balancer holds: listener
// rules and target groups per load balancer. ELBv2 DescribeAccountLimits gives them where the account has them;
// a quota it does not list is AWS's published default (100 each). Read once per account and region per hour.
import { paginateDescribeAccountLimits, type Limit } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsClients } from './clients.js';

/** AWS's published defaults per Application Load Balancer (both adjustable in Service Quotas). */
export const DEFAULT_RULES_PER_LOAD_BALANCER = 100;
export const DEFAULT_TARGET_GROUPS_PER_LOAD_BALANCER = 100;

export interface LoadBalancerLimits {
  readonly rulesPerLoadBalancer: number;
  readonly targetGroupsPerLoadBalancer: number;
}

const TTL_MS = 3_600_000;
const cache = new WeakMap<AwsClients, { readonly at: number; readonly limits: Promise<LoadBalancerLimits> }>();

/** The quotas from a DescribeAccountLimits answer, each falling back to AWS's default when absent or unreadable. */
export function limitsFrom(limits: readonly Limit[] | undefined): LoadBalancerLimits {
  const read = (name: string, fallback: number): number => {
    const n = Number(limits?.find((l) => l.Name === name)?.Max);
    return Number.isInteger(n) && n > 0 ? n : fallback;
  };
  return {
    rulesPerLoadBalancer: read('rules-per-application-load-balancer', DEFAULT_RULES_PER_LOAD_BALANCER),
    targetGroupsPerLoadBalancer: read(
      'target-groups-per-application-load-balancer',
      DEFAULT_TARGET_GROUPS_PER_LOAD_BALANCER,
    ),
  };
}

/**
 * The account's quotas, cached per client set (one account and region) for an hour. A failed read is not cached:
 * the caller sees the error and the next pass asks again.
 */
export function loadBalancerLimits(aws: AwsClients, now = Date.now()): Promise<LoadBalancerLimits> {
  const root = aws.root;
  const hit = cache.get(root);
  if (hit && now - hit.at < TTL_MS) return hit.limits;
  const limits = (async () => {
    const out: Limit[] = [];
    for await (const page of paginateDescribeAccountLimits({ client: aws.elbv2, pageSize: 400 }, {})) {
      out.push(...(page.Limits ?? []));
    }
    return limitsFrom(out);
  })();
  cache.set(root, { at: now, limits });
  limits.catch(() => {
    if (cache.get(root)?.limits === limits) cache.delete(root);
  });
  return limits;
}
