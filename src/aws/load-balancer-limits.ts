// The account's Application Load Balancer quotas: listener rules and target groups per load balancer, which bound
// how many Services one load balancer holds, and Application Load Balancers per Region, which bounds how many load
// balancers (shards) the account's Environments and everything else in the account may have together. ELBv2
// DescribeAccountLimits gives them where the account has them; a quota it does not list is AWS's published
// default. Read once per account and region per hour, or sooner when a caller needs a fresher answer.
import {
  paginateDescribeAccountLimits,
  paginateDescribeLoadBalancers,
  type Limit,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsClients } from './clients.js';
import { advancingPages } from './pages.js';

/** AWS's published defaults per Application Load Balancer (both adjustable in Service Quotas). */
export const DEFAULT_RULES_PER_LOAD_BALANCER = 100;
export const DEFAULT_TARGET_GROUPS_PER_LOAD_BALANCER = 100;
/** AWS's published default of Application Load Balancers per Region (adjustable in Service Quotas). */
export const DEFAULT_LOAD_BALANCERS_PER_REGION = 50;

export interface LoadBalancerLimits {
  readonly rulesPerLoadBalancer: number;
  readonly targetGroupsPerLoadBalancer: number;
  readonly loadBalancersPerRegion: number;
  /** Whether loadBalancersPerRegion is the account's (DescribeAccountLimits) rather than AWS's default. */
  readonly loadBalancersPerRegionFromAccount: boolean;
}

const TTL_MS = 3_600_000;
const cache = new WeakMap<AwsClients, { readonly at: number; readonly limits: Promise<LoadBalancerLimits> }>();

/** The quotas from a DescribeAccountLimits answer, each falling back to AWS's default when absent or unreadable. */
export function limitsFrom(limits: readonly Limit[] | undefined): LoadBalancerLimits {
  const listed = (name: string): number | undefined => {
    const n = Number(limits?.find((l) => l.Name === name)?.Max);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  };
  const read = (name: string, fallback: number): number => listed(name) ?? fallback;
  const regional = listed('application-load-balancers');
  return {
    loadBalancersPerRegion: regional ?? DEFAULT_LOAD_BALANCERS_PER_REGION,
    loadBalancersPerRegionFromAccount: regional !== undefined,
    rulesPerLoadBalancer: read('rules-per-application-load-balancer', DEFAULT_RULES_PER_LOAD_BALANCER),
    targetGroupsPerLoadBalancer: read(
      'target-groups-per-application-load-balancer',
      DEFAULT_TARGET_GROUPS_PER_LOAD_BALANCER,
    ),
  };
}

/**
 * The account's quotas, cached per client set (one account and region) for an hour, or `maxAgeMs` when the caller
 * waits on a raise. A failed read is not cached: the caller sees the error and the next pass asks again.
 */
export function loadBalancerLimits(aws: AwsClients, now = Date.now(), maxAgeMs = TTL_MS): Promise<LoadBalancerLimits> {
  const root = aws.root;
  const hit = cache.get(root);
  if (hit && now - hit.at < Math.min(TTL_MS, maxAgeMs)) return hit.limits;
  const limits = (async () => {
    const out: Limit[] = [];
    const pages = paginateDescribeAccountLimits({ client: aws.elbv2, pageSize: 400 }, {});
    for await (const page of advancingPages(pages, (p) => p.NextMarker, 'DescribeAccountLimits')) {
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

/** The Application Load Balancers the account has in the client's region, whoever made them. */
export interface RegionalLoadBalancers {
  readonly count: number;
  readonly names: ReadonlySet<string>;
}

/**
 * Lists every load balancer of the account in the region (400 a page, so one call below the quota's default of
 * 50) and counts the Application Load Balancers: the regional quota counts those only. Not cached: it is read
 * only when an Environment is about to add a load balancer, and a count another actor changed is what matters.
 */
export async function regionalLoadBalancers(aws: AwsClients): Promise<RegionalLoadBalancers> {
  const names = new Set<string>();
  for (const lb of await loadBalancersOfRegion(aws)) {
    if ((lb.Type ?? 'application') === 'application' && lb.LoadBalancerName) names.add(lb.LoadBalancerName);
  }
  return { count: names.size, names };
}

/** Every load balancer of the account in the client's region, of any type, 400 a page. */
export async function loadBalancersOfRegion(aws: AwsClients): Promise<LoadBalancer[]> {
  const out: LoadBalancer[] = [];
  const pages = paginateDescribeLoadBalancers({ client: aws.elbv2, pageSize: 400 }, {});
  for await (const page of advancingPages(pages, (p) => p.NextMarker, 'DescribeLoadBalancers')) {
    out.push(...(page.LoadBalancers ?? []));
  }
  return out;
}
