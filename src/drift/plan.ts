// PURE: a plan-mode apply report → what applying would do to each AWS resource of one custom resource. This is
// both `slipway plan`'s per-resource content and status.plan of an object annotated slipway.dev/plan-only. The
// shape is documented in docs/plan-schema.json (version PLAN_SCHEMA_VERSION); changing it is a new version.
import { cents } from '../cost/estimate.js';
import type { ApplyReport, ResourceOutcome } from '../reconcilers/applier.js';

/** The version of the plan's JSON shape (docs/plan-schema.json). Fields may be added within a version. */
export const PLAN_SCHEMA_VERSION = 1;

/** The annotation that makes the operator plan an object instead of applying it. */
export const PLAN_ONLY_ANNOTATION = 'slipway.dev/plan-only';

/** status.plan lists at most this many AWS resources (schema maxItems); the counts include them all. */
export const MAX_STATUS_PLAN_ITEMS = 100;

/** create, update and delete are what applying does; `error` is a resource the plan could not settle. */
export type PlanAction = 'create' | 'update' | 'delete' | 'no-op' | 'error';

/** One field that would change: `old` is what AWS (or the cluster) holds, `new` what applying writes. */
export interface PlanChange {
  readonly path: string;
  readonly old: string;
  readonly new: string;
}

export interface AwsResourcePlan {
  readonly action: PlanAction;
  /** The AWS resource kind, e.g. `ecs.TaskDefinition`. */
  readonly kind: string;
  /** The resource's stable logical id within its custom resource's plan. */
  readonly logicalId: string;
  /** ARN, id or name of what exists (absent for a create). */
  readonly identifier?: string;
  readonly changes: readonly PlanChange[];
  /** Why (a leftover, a resource deleted outside Slipway, an error). */
  readonly message?: string;
}

export interface PlanCounts {
  readonly create: number;
  readonly update: number;
  readonly delete: number;
  readonly unchanged: number;
  readonly errors: number;
}

/** What applying would do to one custom resource's AWS resources (status.plan, with `version`). */
export interface ResourcePlan {
  readonly summary: PlanCounts;
  readonly aws: readonly AwsResourcePlan[];
}

const ACTION: Readonly<Record<ResourceOutcome['action'], PlanAction | undefined>> = {
  'to-create': 'create',
  'to-update': 'update',
  'to-delete': 'delete',
  'in-sync': 'no-op',
  // Report mode's words for the same things, should a report-mode pass be summarised.
  missing: 'create',
  drifted: 'update',
  failed: 'error',
  conflict: 'error',
  blocked: 'error',
  // Referenced, not managed: not part of the plan.
  external: undefined,
  // Apply and delete modes write; a plan never holds these.
  created: 'error',
  updated: 'error',
  deleted: 'error',
};

/** A report mode leftover is `drifted` with no changes: it would be deleted. */
function actionOf(o: ResourceOutcome): PlanAction | undefined {
  if (o.action === 'drifted' && o.changes.length === 0) return 'delete';
  return ACTION[o.action];
}

export function countActions(items: readonly { readonly action: PlanAction }[]): PlanCounts {
  const n = (a: PlanAction) => items.filter((i) => i.action === a).length;
  return { create: n('create'), update: n('update'), delete: n('delete'), unchanged: n('no-op'), errors: n('error') };
}

export function resourcePlanOf(report: ApplyReport): ResourcePlan {
  const aws: AwsResourcePlan[] = [];
  for (const o of report.outcomes) {
    const action = actionOf(o);
    if (!action) continue;
    const message = o.message ?? (action === 'error' ? o.action : undefined);
    aws.push({
      action,
      kind: o.kind,
      logicalId: o.id,
      ...(o.identifier ? { identifier: o.identifier } : {}),
      changes: o.changes.map((c) => ({ path: c.path, old: c.actual, new: c.desired })),
      ...(message ? { message } : {}),
    });
  }
  return { summary: countActions(aws), aws };
}

/** One side of a custom resource's monthly estimate: a figure in USD, or why there is none. */
export type PricedSide = { readonly usd: number } | { readonly unknown: string };

/** One custom resource's monthly cost before and after applying: a cost entry of `slipway plan`, and status.plan.cost. */
export interface CostFigures {
  /** USD a month now (0: applying creates it); absent when unknown. */
  readonly before?: number;
  /** USD a month once applied (0: applying removes it); absent when unknown. */
  readonly after?: number;
  /** after - before, when both are known. */
  readonly delta?: number;
  /** Why a side has no figure (a region missing from the price table, named). */
  readonly unknown?: string;
}

const usd = (c: number) => c / 100;

/** The figures of one entry, in whole cents as the estimator rounds them. */
export function costFigures(before: PricedSide, after: PricedSide): CostFigures {
  const b = 'usd' in before ? cents(before.usd) : undefined;
  const a = 'usd' in after ? cents(after.usd) : undefined;
  if (b !== undefined && a !== undefined) return { before: usd(b), after: usd(a), delta: usd(a - b) };
  const reasons = [before, after].flatMap((s) => ('unknown' in s ? [s.unknown] : []));
  return {
    ...(b !== undefined ? { before: usd(b) } : {}),
    ...(a !== undefined ? { after: usd(a) } : {}),
    unknown: [...new Set(reasons)].join('; '),
  };
}

/** status.plan.cost: the object's cost before (as last applied) and after (its spec applied). */
export interface StatusPlanCost extends CostFigures {
  readonly currency: 'USD';
  /** The date of the price table used. */
  readonly priceTable: string;
}

/** The CRDs' bounds on status.plan's strings and lists. */
const MAX_STATUS_CHANGES = 50;
const MAX_VALUE_LENGTH = 1024;

function clip(value: string, max = MAX_VALUE_LENGTH): string {
  return value.length <= max ? value : `${value.slice(0, max - 3)}...`;
}

/** status.plan: a ResourcePlan with its version and, for a pass that planned, the cost before and after. */
export interface StatusPlan extends ResourcePlan {
  readonly version: number;
  readonly cost?: StatusPlanCost;
}

/** The plan as status.plan holds it: versioned, unchanged resources left out, lists and values bounded. */
export function statusPlanOf(plan: ResourcePlan, cost?: StatusPlanCost): StatusPlan {
  return {
    version: PLAN_SCHEMA_VERSION,
    summary: plan.summary,
    ...(cost ? { cost: { ...cost, ...(cost.unknown !== undefined ? { unknown: clip(cost.unknown) } : {}) } } : {}),
    aws: plan.aws
      .filter((a) => a.action !== 'no-op')
      .slice(0, MAX_STATUS_PLAN_ITEMS)
      .map((a) => ({
        ...a,
        changes: a.changes
          .slice(0, MAX_STATUS_CHANGES)
          .map((c) => ({ path: clip(c.path, 256), old: clip(c.old), new: clip(c.new) })),
        ...(a.message !== undefined ? { message: clip(a.message) } : {}),
      })),
  };
}
