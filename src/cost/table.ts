// The shape of the price table that cost estimates read (src/cost/prices.ts, written by
// scripts/gen-price-table.ts). On-demand list prices in USD, per region, for what a Slipway Environment, Service
// or preview runs on; plus the few prices that are not per region (CloudFront, Route53).

/** Fargate's Linux prices for one CPU architecture. */
export interface FargatePrices {
  /** USD per vCPU-hour. */
  readonly vcpuHour: number;
  /** USD per GB-hour of memory. */
  readonly gbHour: number;
}

export interface RegionPrices {
  readonly fargate: { readonly X86_64: FargatePrices; readonly ARM64: FargatePrices };
  /** Application Load Balancer: USD per load-balancer-hour and per LCU-hour. */
  readonly loadBalancer: { readonly hour: number; readonly lcuHour: number };
  /** USD per NAT-gateway-hour (data processed is charged on top and not estimated). */
  readonly natGateway: { readonly hour: number };
  /** An interface VPC endpoint: USD per endpoint-hour in each Availability Zone. */
  readonly interfaceEndpoint: { readonly azHour: number };
  /** CloudWatch Logs, standard class: USD per GB ingested. */
  readonly logs: { readonly ingestedGb: number };
}

export interface PriceTable {
  /** When the prices were read (YYYY-MM-DD). */
  readonly date: string;
  /** Where they come from. */
  readonly source: string;
  readonly currency: 'USD';
  /** By region code, e.g. us-east-1. */
  readonly regions: Readonly<Record<string, RegionPrices>>;
  /** CloudFront prices of its United States edge locations (the first tier). */
  readonly cloudFront: { readonly transferOutGb: number; readonly httpsPer10k: number };
  /** Route53: USD per hosted zone per month (the first 25 zones). */
  readonly route53: { readonly hostedZoneMonth: number };
}
