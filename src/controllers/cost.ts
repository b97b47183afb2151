// status.cost of the three kinds and their CostEstimated condition: the pure estimate (src/cost/estimate.ts) fed
// from the spec, the status, the informer caches and the placements — no AWS call, no extra Kubernetes read. An
// unchanged figure writes nothing (the status writer skips equal statuses). A region the price table lacks gives
// CostEstimated=False (PriceUnknown) and no figure; Ready is not touched.
//
// A workload's share of its load balancer depends on how many others are placed on its shard. The Environment's
// pass, which every placement, spec change and removal of its Services and previews wakes, computes its total from
// the same estimate of each of them, and rewrites the status.cost of a workload whose share changed since its own
// pass (staleWorkloadCosts: a status write, no AWS call), so the figures always add up.
import { isPlanOnly, withoutPlanOnly } from './plan-only.js';
import type { Environment, PreviewDeployment, Service, ServiceSpec } from '../api/index.js';
import {
  estimateEnvironment,
  estimateWorkload,
  isPriceUnknown,
  ownedCostItems,
  previewCost,
  workloadCostInput,
  type EnvironmentCost,
  type Estimate,
  type PreviewCost,
  type WorkloadCost,
} from '../cost/estimate.js';
import { PRICE_TABLE } from '../cost/prices.js';
import type { PriceTable } from '../cost/table.js';
import { costFigures, type PricedSide, type StatusPlanCost } from '../drift/plan.js';
import { jsonEqual, type KubeObject } from '../runtime/index.js';
import { placementsOf } from './shards.js';
import { environmentKey } from './workload.js';
import { commonStatus, type CommonStatus, mergeConditions, type OperatorDeps, type PassResult } from './shared.js';

export const COST_CONDITION = 'CostEstimated';

export interface CostConditionUpdate {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
}

/** The CostEstimated condition of an estimate. */
export function costCondition(estimate: Estimate<unknown>, region: string, table: PriceTable): CostConditionUpdate {
  return isPriceUnknown(estimate)
    ? { type: COST_CONDITION, status: 'False', reason: 'PriceUnknown', message: `spec.region: ${estimate.message}` }
    : {
        type: COST_CONDITION,
        status: 'True',
        reason: 'Estimated',
        message: `estimated from the price table of ${table.date} for ${region} (README, Cost)`,
      };
}

/** What an estimate reads of the operator: the Services and previews by Environment (slipway plan passes its own). */
export type PlacementDeps = Pick<OperatorDeps, 'services' | 'previews'>;

/** The estimate of a workload of `env` placed on `shard`, with the workloads placed there now. */
function workloadEstimate(
  env: Environment,
  spec: Pick<ServiceSpec, 'cpu' | 'memory' | 'cpuArchitecture' | 'desiredCount' | 'autoscaling' | 'cdn'>,
  shard: number | undefined,
  counts: ReadonlyMap<number, number>,
  table: PriceTable,
): Estimate<WorkloadCost> {
  const placement = shard === undefined ? undefined : { shard, workloads: counts.get(shard) ?? 1 };
  const existing = !!env.spec.loadBalancer.existingListenerArn;
  return estimateWorkload(workloadCostInput(spec, env.spec.region, placement, existing), table);
}

/** status.cost and the condition of a Service after its pass on `shard`. */
export function serviceCost(
  deps: PlacementDeps,
  env: Environment,
  svc: Service,
  shard: number,
  table: PriceTable = PRICE_TABLE,
): { cost: WorkloadCost | undefined; condition: CostConditionUpdate } {
  const counts = placementsOf(deps).counts(environmentKey(env));
  const estimate = workloadEstimate(env, svc.spec, shard, counts, table);
  return {
    cost: isPriceUnknown(estimate) ? undefined : estimate,
    condition: costCondition(estimate, env.spec.region, table),
  };
}

/** status.cost and the condition of a preview after its pass: its Service's spec as the preview runs it. */
export function previewCostOf(
  deps: PlacementDeps,
  env: Environment,
  p: PreviewDeployment,
  spec: ServiceSpec,
  shard: number,
  now: Date,
  table: PriceTable = PRICE_TABLE,
): { cost: PreviewCost | undefined; condition: CostConditionUpdate } {
  const counts = placementsOf(deps).counts(environmentKey(env));
  const estimate = workloadEstimate(env, spec, shard, counts, table);
  const since = p.metadata.creationTimestamp ?? now.toISOString();
  return {
    cost: isPriceUnknown(estimate) ? undefined : previewCost(estimate, since, now),
    condition: costCondition(estimate, env.spec.region, table),
  };
}

/** A Service or live preview placed on an Environment: the object, the spec it runs and its shard. */
export type PlacedWorkload = (
  | { readonly kind: 'Service'; readonly obj: Service }
  | { readonly kind: 'PreviewDeployment'; readonly obj: PreviewDeployment }
) & { readonly spec: ServiceSpec; readonly shard: number };

/**
 * status.cost of an Environment: its own components (shards as planned, what its inventory holds) and the total
 * with the estimate of each Service and live preview placed on it (from the informer caches).
 */
export function environmentCost(
  deps: PlacementDeps,
  env: Environment,
  shards: readonly number[],
  resources: readonly { readonly kind: string; readonly logicalId: string }[],
  workloads: readonly PlacedWorkload[],
  table: PriceTable = PRICE_TABLE,
): { cost: EnvironmentCost | undefined; condition: CostConditionUpdate } {
  const counts = placementsOf(deps).counts(environmentKey(env));
  const figures: number[] = [];
  for (const w of workloads) {
    const e = workloadEstimate(env, w.spec, w.shard, counts, table);
    if (!isPriceUnknown(e)) figures.push(e.monthlyUsd);
  }
  // An existing listener's load balancer is not Slipway's: no shard of it is counted.
  const owned = env.spec.loadBalancer.existingListenerArn ? [] : shards;
  const estimate = estimateEnvironment(
    {
      region: env.spec.region,
      shards: owned.map((index) => ({ index, workloads: counts.get(index) ?? 0 })),
      ...ownedCostItems(resources, env.spec.network.subnetIds?.length ?? 0),
      workloads: figures,
    },
    table,
  );
  return {
    cost: isPriceUnknown(estimate) ? undefined : estimate,
    condition: costCondition(estimate, env.spec.region, table),
  };
}

/** The conditions a pass writes (as the reconcile sequence makes them), with the CostEstimated condition. */
export function conditionsWithCost(
  obj: KubeObject & { readonly status?: CommonStatus },
  pass: PassResult,
  now: Date,
  condition: CostConditionUpdate,
  /** Conditions a kind already computed for this pass (the Environment's LoadBalancerCapacity). */
  base?: CommonStatus['conditions'],
) {
  const generation = obj.metadata?.generation;
  // A pass that applied: a PlanOnly condition from before the annotation went no longer holds (as in reconcile.ts).
  const previous = { ...obj.status, conditions: withoutPlanOnly(obj.status?.conditions) };
  const conditions = base ?? commonStatus(pass, previous, generation, now).conditions;
  return mergeConditions(conditions, [condition], generation, now);
}

/**
 * The workloads whose status.cost no longer says what they cost now that others joined or left their shard, with
 * the figure to write: the Environment's pass (which every placement wakes) refreshes them with a status write
 * and no AWS call, so the shares of one shard always add up to its load balancer and the Environment's total to
 * its components plus what each workload shows. A workload not estimated yet (no pass of its own) is left alone.
 */
export function staleWorkloadCosts(
  deps: OperatorDeps,
  env: Environment,
  workloads: readonly PlacedWorkload[],
  now: Date,
  table: PriceTable = PRICE_TABLE,
): { readonly workload: PlacedWorkload; readonly cost: WorkloadCost | PreviewCost }[] {
  const counts = placementsOf(deps).counts(environmentKey(env));
  const out: { workload: PlacedWorkload; cost: WorkloadCost | PreviewCost }[] = [];
  for (const w of workloads) {
    const shown = w.obj.status?.cost;
    // A plan-only workload's status.cost is what it costs as last applied (status.plan.cost's before): its spec,
    // not applied, would overwrite it with the planned figure.
    if (!shown || isPlanOnly(w.obj)) continue;
    const e = workloadEstimate(env, w.spec, w.shard, counts, table);
    if (isPriceUnknown(e)) continue;
    const cost =
      w.kind === 'PreviewDeployment' ? previewCost(e, w.obj.metadata.creationTimestamp ?? now.toISOString(), now) : e;
    if (!jsonEqual(shown, cost)) out.push({ workload: w, cost });
  }
  return out;
}

/** One side of a plan's cost: an estimate's figure, or why there is none (the region, or the condition's message). */
export function pricedSide(
  figure: { readonly monthlyUsd: number } | undefined,
  condition: CostConditionUpdate,
  env: Environment,
  table: PriceTable = PRICE_TABLE,
): PricedSide {
  if (figure) return { usd: figure.monthlyUsd };
  return condition.reason === 'PriceUnknown'
    ? priceUnknown(env, table)
    : { unknown: `not estimated: ${condition.message}` };
}

const priceUnknown = (env: Environment, table: PriceTable): PricedSide => ({
  unknown: `price unknown: the price table of ${table.date} has no prices for region ${env.spec.region}`,
});

/**
 * What an object costs as last applied: its status.cost, which its last applying pass wrote (a plan-only pass
 * leaves it); 0 when nothing was applied yet (no AWS resources).
 */
export function appliedSide(
  status: (CommonStatus & { readonly cost?: { readonly monthlyUsd?: number } }) | undefined,
  env: Environment,
  table: PriceTable = PRICE_TABLE,
): PricedSide {
  if (status?.cost?.monthlyUsd !== undefined) return { usd: status.cost.monthlyUsd };
  if ((status?.resources ?? []).length === 0) return { usd: 0 };
  const condition = status?.conditions?.find((c) => c.type === COST_CONDITION);
  return condition?.reason === 'PriceUnknown'
    ? priceUnknown(env, table)
    : { unknown: 'not estimated: status.cost has no estimate of what was applied' };
}

/** status.plan.cost: before as applied, after as planned (the figures of `slipway plan`'s cost entry). */
export function statusPlanCost(before: PricedSide, after: PricedSide, table: PriceTable = PRICE_TABLE): StatusPlanCost {
  return { currency: 'USD', priceTable: table.date, ...costFigures(before, after) };
}
