// Apply report + previous status → the status summary: field-level drift items, the inventory of owned AWS
// resources, and the Ready / Synced / Drifted conditions. Pure: the clock arrives as an argument.
//
// What counts as drift: a difference found while the plan is unchanged since it was last applied. A difference
// right after the spec (or another input) changed is the change being rolled out, not drift.
import type { ApplyMode, ApplyReport, InventoryItem, ResourceOutcome } from '../reconcilers/applier.js';
import type { ResourceKind } from '../planner/plan.js';
import type { DriftItem as ApiDriftItem } from '../api/index.js';
import { combine, type Outcome } from '../outcome/outcome.js';

export const MAX_DRIFT_ITEMS = 50;
/** How long a corrected drift item stays in status after the pass that corrected it. */
export const CORRECTED_RETENTION_MS = 60 * 60_000;
/** The CRDs cap desired/actual at 1024 characters. */
const MAX_VALUE_LENGTH = 1024;

function clip(value: string): string {
  return value.length <= MAX_VALUE_LENGTH ? value : `${value.slice(0, MAX_VALUE_LENGTH - 3)}...`;
}

/** One drifted field, exactly as the CRDs' status.drift holds it. */
export type DriftItem = ApiDriftItem;

export interface ConditionSummary {
  readonly type: 'Ready' | 'Synced' | 'Drifted';
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

export interface StatusResource {
  readonly kind: string;
  readonly logicalId: string;
  readonly arn?: string;
  readonly id?: string;
}

export interface Summary {
  readonly drift: readonly DriftItem[];
  readonly driftCount: number;
  readonly resources: readonly StatusResource[];
  readonly conditions: readonly ConditionSummary[];
  /** One line per corrected resource, for Kubernetes Events. */
  readonly corrections: readonly string[];
  /** The pass's failures as one outcome (undefined when nothing failed): what Synced says and what comes next. */
  readonly failure?: Outcome;
}

export interface SummaryInput {
  readonly report: ApplyReport;
  readonly mode: ApplyMode;
  /** False when the plan equals the last applied one: differences are drift. */
  readonly planChanged: boolean;
  readonly previousDrift: readonly DriftItem[];
  readonly now: string;
}

const MISSING_PATH = '(resource)';

export function toStatusResources(inventory: readonly InventoryItem[]): StatusResource[] {
  return inventory.map((i) =>
    i.identifier.startsWith('arn:')
      ? { kind: i.kind, logicalId: i.logicalId, arn: i.identifier }
      : { kind: i.kind, logicalId: i.logicalId, id: i.identifier },
  );
}

export function fromStatusResources(resources: readonly StatusResource[] | undefined): InventoryItem[] {
  return (resources ?? []).flatMap((r) => {
    const identifier = r.arn ?? r.id;
    return identifier ? [{ kind: r.kind as ResourceKind, logicalId: r.logicalId, identifier }] : [];
  });
}

function driftOf(o: ResourceOutcome, mode: ApplyMode, planChanged: boolean): Omit<DriftItem, 'detectedAt'>[] {
  const item = (path: string, desired: string, actual: string, action: DriftItem['action']) => ({
    kind: o.kind,
    logicalId: o.id,
    path,
    desired: clip(desired),
    actual: clip(actual),
    action,
  });
  switch (o.action) {
    case 'drifted':
      return o.changes.length > 0
        ? o.changes.map((c) => item(c.path, c.desired, c.actual, 'Reported'))
        : [item(MISSING_PATH, 'absent', 'present', 'Reported')];
    case 'missing':
      return [item(MISSING_PATH, 'exists', 'deleted outside Slipway', 'Reported')];
    case 'updated':
      return mode === 'apply' && !planChanged
        ? o.changes.map((c) => item(c.path, c.desired, c.actual, 'Corrected'))
        : [];
    case 'created':
      return o.wasInventoried && !planChanged
        ? [item(MISSING_PATH, 'exists', 'deleted outside Slipway', 'Corrected')]
        : [];
    default:
      return [];
  }
}

export function summarize(input: SummaryInput): Summary {
  const { report, mode, planChanged, now } = input;
  const firstSeen = new Map(input.previousDrift.map((d) => [`${d.kind}|${d.logicalId}|${d.path}`, d.detectedAt]));
  const all: DriftItem[] = report.outcomes.flatMap((o) =>
    driftOf(o, mode, planChanged).map((d) => ({
      ...d,
      detectedAt: firstSeen.get(`${d.kind}|${d.logicalId}|${d.path}`) ?? now,
    })),
  );
  const reported = all.filter((d) => d.action === 'Reported');
  const corrected = all.filter((d) => d.action === 'Corrected');

  const problems = report.outcomes.filter(
    (o) => o.action === 'failed' || o.action === 'conflict' || o.action === 'blocked',
  );
  // A resource deleted because it left the plan (a CDN switched off) is the plan carried out, not a problem.
  const notReady = report.outcomes.filter(
    (o) => !['created', 'updated', 'in-sync', 'external', 'deleted'].includes(o.action),
  );

  // Each failed resource carries its outcome; a resource blocked on a failed one adds nothing of its own.
  const failure = combine(
    problems.flatMap((o) => (o.outcome ? [{ ...o.outcome, message: `${o.kind} ${o.id}: ${o.outcome.message}` }] : [])),
  );
  const conditions: ConditionSummary[] = [];
  conditions.push(
    failure
      ? { type: 'Synced', status: 'False', reason: failure.reason, message: failure.message }
      : {
          type: 'Synced',
          status: 'True',
          reason: mode === 'report' ? 'Observed' : 'Applied',
          message: `${report.outcomes.length} AWS resources reconciled`,
        },
  );
  conditions.push(
    reported.length > 0
      ? {
          type: 'Drifted',
          status: 'True',
          reason: 'DriftReported',
          message: `${reported.length} field(s) differ from the spec and were left as found (driftPolicy Report): ${reported
            .slice(0, 3)
            .map((d) => `${d.logicalId} ${d.path} is ${d.actual}, want ${d.desired}`)
            .join('; ')}${reported.length > 3 ? '; ...' : ''}`,
        }
      : corrected.length > 0
        ? {
            type: 'Drifted',
            status: 'False',
            reason: 'DriftCorrected',
            message: `${corrected.length} field(s) had drifted and were corrected`,
          }
        : { type: 'Drifted', status: 'False', reason: 'InSync', message: 'AWS matches the spec' },
  );
  conditions.push(
    notReady.length === 0
      ? {
          type: 'Ready',
          status: 'True',
          reason: 'Reconciled',
          message: 'every owned AWS resource exists and matches the spec',
        }
      : {
          type: 'Ready',
          status: 'False',
          reason: failure ? failure.reason : 'Drifted',
          message: `${notReady.length} of ${report.outcomes.length} AWS resources are not as specified: ${notReady
            .slice(0, 3)
            .map((o) => `${o.id} ${o.action}`)
            .join(', ')}`,
        },
  );

  const corrections = [...new Set(corrected.map((d) => d.logicalId))].map((id) => {
    const fields = corrected.filter((d) => d.logicalId === id).map((d) => d.path);
    return `corrected drift on ${id}: ${fields.join(', ')}`;
  });
  // Corrections stay visible for a while: the pass that corrected something may be followed by a quiet one
  // seconds later, and "what was fixed behind my back" is exactly what a reader of the status wants to see.
  const current = new Set(all.map((d) => `${d.kind}|${d.logicalId}|${d.path}`));
  const nowMs = Date.parse(now);
  const recent = input.previousDrift.filter(
    (d) =>
      d.action === 'Corrected' &&
      !current.has(`${d.kind}|${d.logicalId}|${d.path}`) &&
      nowMs - Date.parse(d.detectedAt) < CORRECTED_RETENTION_MS,
  );
  const shown = [...all, ...recent];
  return {
    drift: shown.slice(0, MAX_DRIFT_ITEMS),
    driftCount: shown.length,
    resources: toStatusResources(report.inventory),
    conditions,
    corrections,
    ...(failure ? { failure } : {}),
  };
}
