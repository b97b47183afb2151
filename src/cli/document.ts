// The document `slipway plan` produces: per custom resource, what changes in the cluster (its spec) and in AWS (each
// resource its plan holds), the totals, and the estimated monthly cost before and after. `--output json` prints it
// as is; docs/plan-schema.json documents it. Pure: no I/O.
import { PRICE_TABLE } from '../cost/prices.js';
import {
  costFigures,
  countActions,
  type CostFigures,
  PLAN_SCHEMA_VERSION,
  type AwsResourcePlan,
  type PlanChange,
  type PlanCounts,
  type PricedSide,
} from '../drift/plan.js';

export { PLAN_SCHEMA_VERSION, type AwsResourcePlan, type PlanChange, type PlanCounts, type PricedSide };

/** What happens to the custom resource itself in the cluster (delete: the manifests no longer hold it). */
export type CustomResourceAction = 'create' | 'update' | 'delete' | 'no-op';

/** The `source` of a custom resource the manifests remove: it is in the cluster only. */
export const REMOVED_SOURCE = 'not in the manifests';

export interface CustomResourcePlan {
  readonly kind: 'Environment' | 'Service' | 'PreviewDeployment';
  readonly namespace: string;
  readonly name: string;
  /** The manifest file it was read from; REMOVED_SOURCE for one the manifests remove. */
  readonly source: string;
  readonly action: CustomResourceAction;
  /** Fields of spec, metadata.labels and metadata.annotations: `old` in the cluster, `new` in the manifest. */
  readonly changes: readonly PlanChange[];
  /** Its AWS resources. */
  readonly summary: PlanCounts;
  readonly aws: readonly AwsResourcePlan[];
  /** What the plan could not see (an Environment that does not exist yet leaves its workloads unplanned). */
  readonly message?: string;
}

/** A custom resource's estimate before (the cluster now) and after (the manifests applied). */
export interface CostEntry {
  readonly kind: CustomResourcePlan['kind'];
  readonly namespace: string;
  readonly name: string;
  readonly before: PricedSide;
  readonly after: PricedSide;
}

/** One custom resource's figures (drift/plan.ts costFigures, as status.plan.cost has them); `unknown`: left out of the totals. */
export interface PlanCostResource extends CostFigures {
  readonly kind: CustomResourcePlan['kind'];
  readonly namespace: string;
  readonly name: string;
}

/** The estimated monthly cost of the plan's custom resources (status.cost's estimator, an Environment's own part). */
export interface PlanCost {
  readonly currency: 'USD';
  /** The date of the price table used. */
  readonly priceTable: string;
  /** Totals over the resources priced on both sides, rounded to cents. */
  readonly before: number;
  readonly after: number;
  readonly delta: number;
  /** Resources left out of the totals (see their `unknown`). */
  readonly unknown: number;
  readonly resources: readonly PlanCostResource[];
}

export interface PlanDocument {
  readonly version: number;
  /** True when applying the manifests changes anything (exit code 2). */
  readonly changed: boolean;
  readonly summary: {
    readonly customResources: {
      readonly create: number;
      readonly update: number;
      readonly delete: number;
      readonly unchanged: number;
    };
    readonly aws: PlanCounts;
  };
  readonly resources: readonly CustomResourcePlan[];
  readonly cost: PlanCost;
}

/** `terraform plan -detailed-exitcode`: 0 no changes, 1 error, 2 changes. */
export const EXIT = { noChanges: 0, error: 1, changes: 2 } as const;

const usd = (c: number) => c / 100;

/** The cost section: each entry's figures (costFigures: in cents as the estimator rounds them), and the totals. */
export function planCost(entries: readonly CostEntry[], priceTable: string): PlanCost {
  let before = 0;
  let after = 0;
  let unknown = 0;
  const resources = entries.map((e): PlanCostResource => {
    const figures = costFigures(e.before, e.after);
    if (figures.delta === undefined) unknown++;
    else {
      before += Math.round(figures.before! * 100);
      after += Math.round(figures.after! * 100);
    }
    return { kind: e.kind, namespace: e.namespace, name: e.name, ...figures };
  });
  return {
    currency: 'USD',
    priceTable,
    before: usd(before),
    after: usd(after),
    delta: usd(after - before),
    unknown,
    resources,
  };
}

export function planDocument(
  resources: readonly CustomResourcePlan[],
  cost: PlanCost = planCost([], PRICE_TABLE.date),
): PlanDocument {
  const aws = countActions(resources.flatMap((r) => r.aws));
  const n = (a: CustomResourceAction) => resources.filter((r) => r.action === a).length;
  const customResources = { create: n('create'), update: n('update'), delete: n('delete'), unchanged: n('no-op') };
  const changed =
    customResources.create + customResources.update + customResources.delete + aws.create + aws.update + aws.delete > 0;
  return { version: PLAN_SCHEMA_VERSION, changed, summary: { customResources, aws }, resources, cost };
}

export function exitCodeOf(doc: PlanDocument): number {
  if (doc.summary.aws.errors > 0) return EXIT.error;
  return doc.changed ? EXIT.changes : EXIT.noChanges;
}

/** A value as a plan shows it: strings as they are, everything else as JSON; absent is `(none)`. */
export function show(value: unknown): string {
  if (value === undefined || value === null) return '(none)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The fields that differ between two JSON values, by dotted path: objects are compared key by key, arrays and
 * scalars as a whole (a list's order is part of its meaning).
 */
export function diffValues(old: unknown, next: unknown, path: string): PlanChange[] {
  if (isObject(old) && isObject(next)) {
    const keys = [...new Set([...Object.keys(old), ...Object.keys(next)])].sort();
    return keys.flatMap((k) => diffValues(old[k], next[k], path ? `${path}.${k}` : k));
  }
  if (JSON.stringify(old) === JSON.stringify(next)) return [];
  if (isObject(old) && next === undefined) return diffValues(old, {}, path);
  if (old === undefined && isObject(next)) return diffValues({}, next, path);
  return [{ path, old: show(old), new: show(next) }];
}
