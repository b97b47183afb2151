// The conditions of an object annotated slipway.dev/plan-only, so `kubectl describe` (and `kubectl get -o yaml`)
// says why it does not converge: PlanOnly=True with what applying would do, or, while it is being deleted, that the
// deletion waits for the annotation to go (a plan-only object makes no AWS write, deletes included).
import type { Condition } from '../api/index.js';
import { PLAN_ONLY_ANNOTATION, type PlanCounts } from '../drift/plan.js';
import type { ConditionChange } from './outcome-map.js';

export const PLAN_ONLY_CONDITION = 'PlanOnly';

export function isPlanOnly(obj: { readonly metadata?: { readonly annotations?: Record<string, string> } }): boolean {
  return obj.metadata?.annotations?.[PLAN_ONLY_ANNOTATION] === 'true';
}

function counts(s: PlanCounts): string {
  const errors = s.errors > 0 ? `, ${s.errors} not settled` : '';
  return `${s.create} to create, ${s.update} to update, ${s.delete} to delete${errors}`;
}

/** After a plan-only pass: what applying would do, and how to apply. */
export function planOnlyCondition(summary: PlanCounts): ConditionChange {
  return {
    type: PLAN_ONLY_CONDITION,
    status: 'True',
    reason: 'PlanOnly',
    message: `annotated ${PLAN_ONLY_ANNOTATION}: planned, not applied (AWS resources: ${counts(summary)}; see status.plan); remove the annotation to apply`,
  };
}

/** A plan-only object stopped before its pass (its Environment missing, ...): nothing planned, Ready says why. */
export function planOnlyStoppedCondition(reason: string): ConditionChange {
  return {
    type: PLAN_ONLY_CONDITION,
    status: 'True',
    reason: 'NotPlanned',
    message: `annotated ${PLAN_ONLY_ANNOTATION}: no AWS write, and nothing planned: ${reason} (see Ready)`,
  };
}

/**
 * A plan-only object being deleted: the deletion would delete `count` AWS resources, which is an AWS write, so it
 * waits (the finalizer stays) until the annotation is removed. The message names both ways out.
 */
export function planOnlyDeletionConditions(count: number, kind: string, name: string): ConditionChange[] {
  const message =
    `annotated ${PLAN_ONLY_ANNOTATION}: deleting it would delete ${count} AWS resource(s) (see status.plan), an AWS ` +
    `write, so the deletion waits; remove the annotation to let it proceed (kubectl annotate ${kind} ${name} ` +
    `${PLAN_ONLY_ANNOTATION}-), or to keep them in AWS, remove the finalizer slipway.dev/cleanup by hand`;
  return [
    { type: 'Deleting', status: 'True', reason: 'PlanOnly', message },
    { type: 'Ready', status: 'False', reason: 'Deleting', message },
    { type: PLAN_ONLY_CONDITION, status: 'True', reason: 'DeletionWaits', message },
  ];
}

/** Conditions without PlanOnly: once the annotation is gone. */
export function withoutPlanOnly(conditions: readonly Condition[] | undefined): Condition[] | undefined {
  return conditions?.filter((c) => c.type !== PLAN_ONLY_CONDITION);
}
