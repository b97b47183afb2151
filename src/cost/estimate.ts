// PURE: the estimated monthly cost of a Service, a preview and an Environment, from their spec, their status and
// the price table shipped with the code (src/cost/prices.ts). No AWS call, no clock: the caller passes `now`.
//
// What is counted, and the assumptions, each stated in the component's detail:
// - Fargate: vCPU-hours and GB-hours of the tasks, at the desired count or, with autoscaling, at its minimum,
//   by region and CPU architecture, running all month (730 hours).
// - The load balancer: each workload carries an equal share of the hourly charge of the shard it is placed on
//   (the shard's hours divided by the workloads on it), plus its own traffic at ASSUMED_LCU capacity units.
//   The Environment carries the hourly charge of a shard nobody is placed on. A load balancer Slipway does not
//   own (an existing listener) is not counted.
// - CloudFront, when spec.cdn is enabled: a base of ASSUMED_CDN_GB transferred out and ASSUMED_CDN_REQUESTS HTTPS
//   requests a month at United States edge prices (CloudFront has no fixed charge; the free tier is not
//   subtracted, as it belongs to the account, not to one distribution).
// - Logs: ASSUMED_LOG_GB ingested per task a month into CloudWatch Logs (standard class); storage not counted.
// - An Environment: its load balancers (as above), its NAT gateways (hourly charge; data processed not counted),
//   its interface VPC endpoints (per endpoint and Availability Zone) and a hosted zone only when it owns one.
import type { PriceTable, RegionPrices } from './table.js';

export const HOURS_PER_MONTH = 730;
/** Capacity units a workload's traffic is assumed to use around the clock (1 LCU is e.g. 1 GB/hour processed). */
export const ASSUMED_LCU = 1;
/** CloudFront's base: GB transferred out a month. */
export const ASSUMED_CDN_GB = 10;
/** CloudFront's base: HTTPS requests a month. */
export const ASSUMED_CDN_REQUESTS = 1_000_000;
/** Log ingestion: GB a month per task. */
export const ASSUMED_LOG_GB = 1;

export interface CostComponent {
  readonly name: string;
  readonly monthlyUsd: number;
  /** The quantities and unit prices used. */
  readonly detail: string;
}

/** status.cost of a Service (a preview adds what it has cost so far). */
export interface WorkloadCost {
  readonly monthlyUsd: number;
  readonly currency: 'USD';
  readonly components: readonly CostComponent[];
  /** The date of the price table used. */
  readonly priceTable: string;
}

export interface PreviewCost extends WorkloadCost {
  /** What the preview has cost since it was created, in whole hours at the monthly rate. */
  readonly toDateUsd: number;
  readonly since: string;
}

/** status.cost of an Environment: its own components, and the total with its Services and previews. */
export interface EnvironmentCost {
  readonly monthlyUsd: number;
  readonly totalMonthlyUsd: number;
  readonly currency: 'USD';
  readonly components: readonly CostComponent[];
  readonly priceTable: string;
}

/** A region the table has no prices for: no estimate, and a message that names the fix. */
export interface PriceUnknown {
  readonly unknown: true;
  readonly region: string;
  readonly message: string;
}

export type Estimate<T> = T | PriceUnknown;

export function isPriceUnknown<T>(e: Estimate<T>): e is PriceUnknown {
  return typeof e === 'object' && e !== null && 'unknown' in e;
}

/** What a workload's estimate needs: its size and count, and where it is placed. */
export interface WorkloadCostInput {
  readonly region: string;
  /** Fargate CPU units (1024 = 1 vCPU). */
  readonly cpu: number;
  /** MiB. */
  readonly memory: number;
  readonly cpuArchitecture: 'X86_64' | 'ARM64';
  readonly tasks: number;
  /** Where the task count comes from, for the detail. */
  readonly tasksFrom: 'desiredCount' | 'autoscaling.minTasks';
  readonly cdn: boolean;
  /** The load balancer shard it is placed on, and how many workloads are placed there (itself included). */
  readonly loadBalancer?: { readonly shard: number; readonly workloads: number };
  /** The Environment's load balancer is someone else's (spec.loadBalancer.existingListenerArn). */
  readonly existingListener: boolean;
}

/** The part of a Service's spec an estimate reads (a preview's spec is its Service's, as the preview runs it). */
export interface SizedSpec {
  readonly cpu: number;
  readonly memory: number;
  readonly cpuArchitecture?: 'X86_64' | 'ARM64';
  readonly desiredCount?: number;
  readonly autoscaling?: { readonly minTasks?: number };
  readonly cdn?: { readonly enabled?: boolean };
}

export function workloadCostInput(
  spec: SizedSpec,
  region: string,
  placement: { readonly shard: number; readonly workloads: number } | undefined,
  existingListener: boolean,
): WorkloadCostInput {
  const autoscaled = spec.autoscaling !== undefined;
  return {
    region,
    cpu: spec.cpu,
    memory: spec.memory,
    cpuArchitecture: spec.cpuArchitecture ?? 'X86_64',
    tasks: autoscaled ? (spec.autoscaling?.minTasks ?? 1) : (spec.desiredCount ?? 1),
    tasksFrom: autoscaled ? 'autoscaling.minTasks' : 'desiredCount',
    cdn: spec.cdn?.enabled === true,
    ...(placement ? { loadBalancer: placement } : {}),
    existingListener,
  };
}

/** Whole cents: float noise removed first (12 significant digits), then half up. */
export function cents(usd: number): number {
  return Math.round(Number((usd * 100).toPrecision(12)));
}

const usd = (c: number): number => c / 100;
const money = (x: number): string => `$${x}`;
const component = (name: string, monthly: number, detail: string): CostComponent => ({
  name,
  monthlyUsd: usd(cents(monthly)),
  detail,
});
const sum = (components: readonly CostComponent[]): number =>
  usd(components.reduce((n, c) => n + cents(c.monthlyUsd), 0));

function unknownRegion(table: PriceTable, region: string): PriceUnknown {
  return {
    unknown: true,
    region,
    message:
      `the price table of ${table.date} has no prices for region ${region}: regenerate it with ` +
      `\`npx tsx scripts/gen-price-table.ts ${region}\` and deploy that build; no cost is shown until then`,
  };
}

function pricesOf(table: PriceTable, region: string): RegionPrices | undefined {
  return Object.prototype.hasOwnProperty.call(table.regions, region) ? table.regions[region] : undefined;
}

/** The monthly hourly charge of one load balancer in the region. */
export function loadBalancerMonthly(p: RegionPrices): number {
  return p.loadBalancer.hour * HOURS_PER_MONTH;
}

export function estimateWorkload(input: WorkloadCostInput, table: PriceTable): Estimate<WorkloadCost> {
  const p = pricesOf(table, input.region);
  if (!p) return unknownRegion(table, input.region);
  const f = p.fargate[input.cpuArchitecture];
  const vcpu = input.cpu / 1024;
  const gb = input.memory / 1024;
  const n = input.tasks;
  const where = `${input.cpuArchitecture}, ${input.region}`;
  const tasks = `${n} task(s) (${input.tasksFrom})`;
  const components: CostComponent[] = [
    component(
      'fargate-vcpu',
      n * vcpu * f.vcpuHour * HOURS_PER_MONTH,
      `${tasks} x ${vcpu} vCPU x ${money(f.vcpuHour)}/vCPU-hour x ${HOURS_PER_MONTH} h (${where})`,
    ),
    component(
      'fargate-memory',
      n * gb * f.gbHour * HOURS_PER_MONTH,
      `${tasks} x ${gb} GB x ${money(f.gbHour)}/GB-hour x ${HOURS_PER_MONTH} h (${where})`,
    ),
  ];
  if (input.loadBalancer && !input.existingListener) {
    const { shard, workloads } = input.loadBalancer;
    const share = Math.max(1, workloads);
    components.push(
      component(
        'load-balancer-share',
        loadBalancerMonthly(p) / share,
        `load balancer shard ${shard}: ${money(p.loadBalancer.hour)}/hour x ${HOURS_PER_MONTH} h shared by ${share} workload(s)`,
      ),
    );
  }
  if (input.loadBalancer) {
    components.push(
      component(
        'load-balancer-lcu',
        ASSUMED_LCU * p.loadBalancer.lcuHour * HOURS_PER_MONTH,
        `${ASSUMED_LCU} LCU assumed (e.g. 1 GB/hour processed) x ${money(p.loadBalancer.lcuHour)}/LCU-hour x ${HOURS_PER_MONTH} h`,
      ),
    );
  }
  if (input.cdn) {
    const cf = table.cloudFront;
    components.push(
      component(
        'cloudfront',
        ASSUMED_CDN_GB * cf.transferOutGb + (ASSUMED_CDN_REQUESTS / 10_000) * cf.httpsPer10k,
        `base assumed: ${ASSUMED_CDN_GB} GB out x ${money(cf.transferOutGb)}/GB + ${ASSUMED_CDN_REQUESTS} HTTPS ` +
          `requests x ${money(cf.httpsPer10k)}/10,000 (United States edge prices; free tier not subtracted)`,
      ),
    );
  }
  components.push(
    component(
      'logs',
      n * ASSUMED_LOG_GB * p.logs.ingestedGb,
      `${n} task(s) x ${ASSUMED_LOG_GB} GB/month ingested (assumed) x ${money(p.logs.ingestedGb)}/GB (CloudWatch Logs)`,
    ),
  );
  return { monthlyUsd: sum(components), currency: 'USD', components, priceTable: table.date };
}

/** A preview's estimate with what it has cost since `since`: whole hours at the monthly rate. */
export function previewCost(cost: WorkloadCost, since: string, now: Date): PreviewCost {
  const hours = Math.max(0, Math.floor((now.getTime() - Date.parse(since)) / 3_600_000)) || 0;
  return { ...cost, toDateUsd: usd(cents((cost.monthlyUsd * hours) / HOURS_PER_MONTH)), since };
}

/** What an Environment's estimate needs: what it owns, and the monthly figures of its Services and previews. */
export interface EnvironmentCostInput {
  readonly region: string;
  /** The load balancers Slipway owns (none on an existing listener), with the workloads placed on each. */
  readonly shards: readonly { readonly index: number; readonly workloads: number }[];
  readonly natGateways: number;
  readonly interfaceEndpoints: number;
  /** Availability Zones an interface endpoint is in (it is charged in each). */
  readonly availabilityZones: number;
  /** Hosted zones Slipway owns for the Environment. */
  readonly hostedZones: number;
  /** The monthly figure of each Service and preview. */
  readonly workloads: readonly number[];
}

export function estimateEnvironment(input: EnvironmentCostInput, table: PriceTable): Estimate<EnvironmentCost> {
  const p = pricesOf(table, input.region);
  if (!p) return unknownRegion(table, input.region);
  const lb = loadBalancerMonthly(p);
  const components: CostComponent[] = input.shards.map((s) =>
    component(
      `load-balancer-shard-${s.index}`,
      s.workloads > 0 ? 0 : lb,
      `${money(p.loadBalancer.hour)}/hour x ${HOURS_PER_MONTH} h = ${money(usd(cents(lb)))}/month, ` +
        (s.workloads > 0
          ? `carried by its ${s.workloads} workload(s) (their load-balancer-share)`
          : 'no workload on it, so the Environment carries it'),
    ),
  );
  if (input.natGateways > 0) {
    components.push(
      component(
        'nat-gateways',
        input.natGateways * p.natGateway.hour * HOURS_PER_MONTH,
        `${input.natGateways} NAT gateway(s) x ${money(p.natGateway.hour)}/hour x ${HOURS_PER_MONTH} h (data processed not counted)`,
      ),
    );
  }
  if (input.interfaceEndpoints > 0) {
    const azs = Math.max(1, input.availabilityZones);
    components.push(
      component(
        'vpc-endpoints',
        input.interfaceEndpoints * azs * p.interfaceEndpoint.azHour * HOURS_PER_MONTH,
        `${input.interfaceEndpoints} interface endpoint(s) x ${azs} AZ(s) x ${money(p.interfaceEndpoint.azHour)}/hour x ${HOURS_PER_MONTH} h (data processed not counted)`,
      ),
    );
  }
  if (input.hostedZones > 0) {
    components.push(
      component(
        'hosted-zone',
        input.hostedZones * table.route53.hostedZoneMonth,
        `${input.hostedZones} hosted zone(s) x ${money(table.route53.hostedZoneMonth)}/month (queries not counted)`,
      ),
    );
  }
  const own = sum(components);
  const total = usd(cents(own) + input.workloads.reduce((n, w) => n + cents(w), 0));
  return { monthlyUsd: own, totalMonthlyUsd: total, currency: 'USD', components, priceTable: table.date };
}

/**
 * What an Environment owns that costs, read from its inventory (status.resources kinds): NAT gateways, interface
 * VPC endpoints (a gateway endpoint, S3 or DynamoDB, is free), the Availability Zones they span (its private
 * subnets, else its spec's subnets) and a hosted zone. Kinds are matched by name so that network kinds added later
 * are counted when they appear.
 */
export function ownedCostItems(
  resources: readonly { readonly kind: string; readonly logicalId: string }[],
  specSubnets: number,
): { natGateways: number; interfaceEndpoints: number; availabilityZones: number; hostedZones: number } {
  const ofKind = (re: RegExp) => resources.filter((r) => re.test(r.kind));
  const gatewayEndpoint = /s3|dynamodb|gateway/i;
  const subnets = ofKind(/subnet$/i);
  const privateSubnets = subnets.filter((s) => /private/i.test(s.logicalId)).length;
  return {
    natGateways: ofKind(/natgateway$/i).length,
    interfaceEndpoints: ofKind(/vpcendpoint$/i).filter((r) => !gatewayEndpoint.test(r.logicalId)).length,
    availabilityZones: privateSubnets || specSubnets || 1,
    hostedZones: ofKind(/hostedzone$/i).length,
  };
}
