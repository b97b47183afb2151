// What every Slipway controller shares: the AWS clients per Environment, the informers, the event recorder, and
// the one function that turns an apply report into a status and a retry decision.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { AwsClients } from '../aws/clients.js';
import type { CallListener } from '../aws/calls.js';
import { classifyError, errorName } from '../aws/errors.js';
import type { Environment, PreviewDeployment, Service } from '../api/index.js';
import { fromStatusResources, summarize, type DriftItem, type Summary } from '../drift/summary.js';
import { PlanningError } from '../planner/errors.js';
import type { Plan } from '../planner/plan.js';
import { applyPlan, type ApplyMode, type ApplyReport } from '../reconcilers/applier.js';
import { withPassContext } from '../reconcilers/contract.js';
import { registry } from '../reconcilers/index.js';
import { RetryLater } from '../reconcilers/retry-later.js';
import {
  type Condition,
  type ConditionUpdate,
  type EventRecorder,
  type Informer,
  type KubeClient,
  type ResourceClient,
  setCondition,
  TerminalError,
} from '../runtime/index.js';

export const FINALIZER = 'slipway.dev/cleanup';
export const ADOPT_ANNOTATION = 'slipway.dev/adopt';

export interface OperatorDeps {
  readonly kube: KubeClient;
  readonly clusterId: string;
  readonly awsEndpoint?: string;
  readonly onAwsCall?: CallListener;
  readonly events: EventRecorder;
  readonly log: Logger;
  readonly environments: Informer<Environment>;
  readonly services: Informer<Service>;
  readonly previews: Informer<PreviewDeployment>;
  readonly now: () => Date;
  readonly defaultResyncMs: number;
}

const clientCache = new WeakMap<OperatorDeps, Map<string, AwsClients>>();

/** The clients for an Environment's account and region, shared by every reconcile that touches it. */
export function awsFor(deps: OperatorDeps, env: Environment): AwsClients {
  let byKey = clientCache.get(deps);
  if (!byKey) clientCache.set(deps, (byKey = new Map()));
  const key = `${env.spec.region}|${env.spec.accountRoleArn ?? ''}`;
  let clients = byKey.get(key);
  if (!clients) {
    clients = new AwsClients({
      region: env.spec.region,
      ...(deps.awsEndpoint ? { endpoint: deps.awsEndpoint } : {}),
      ...(env.spec.accountRoleArn
        ? { roleArn: env.spec.accountRoleArn, roleSessionName: `slipway-${deps.clusterId}` }
        : {}),
      ...(deps.onAwsCall ? { onCall: deps.onAwsCall } : {}),
    });
    byKey.set(key, clients);
  }
  return clients;
}

export function planHash(plan: Plan): string {
  return createHash('sha256').update(JSON.stringify(plan)).digest('hex').slice(0, 16);
}

export interface CommonStatus {
  readonly observedGeneration?: number;
  readonly conditions?: readonly Condition[];
  readonly resources?: readonly { kind: string; logicalId: string; arn?: string; id?: string; name?: string }[];
  readonly drift?: readonly DriftItem[];
  readonly driftCount?: number;
  readonly lastSyncTime?: string;
  readonly appliedPlanHash?: string;
}

export interface PassResult {
  readonly report: ApplyReport;
  readonly summary: Summary;
  readonly mode: ApplyMode;
  readonly hash: string;
}

/**
 * One pass of the applier for a custom resource: chooses the mode (a changed plan is applied; an unchanged one
 * is applied or only reported per the drift policy), runs it, and summarises.
 */
export async function runPass(
  aws: AwsClients,
  plan: Plan,
  status: CommonStatus | undefined,
  opts: {
    readonly deleting: boolean;
    readonly driftPolicy: 'Correct' | 'Report';
    readonly adopt: boolean;
    readonly now: Date;
  },
): Promise<PassResult> {
  const hash = planHash(plan);
  const planChanged = status?.appliedPlanHash !== hash;
  const mode: ApplyMode = opts.deleting ? 'delete' : planChanged || opts.driftPolicy === 'Correct' ? 'apply' : 'report';
  const report = await withPassContext(aws, (ctx) =>
    applyPlan(ctx, registry, plan, {
      mode,
      inventory: fromStatusResources(status?.resources),
      adopt: opts.adopt,
    }),
  );
  const summary = summarize({
    report,
    mode,
    planChanged,
    previousDrift: status?.drift ?? [],
    now: formatNow(opts.now),
  });
  return { report, summary, mode, hash };
}

export function formatNow(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Applies condition updates to the previous list, keeping transition times of unchanged ones. */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  updates: readonly Omit<ConditionUpdate, 'observedGeneration'>[],
  generation: number | undefined,
  now: Date,
): Condition[] {
  let out = [...(previous ?? [])];
  for (const u of updates)
    out = setCondition(out, { ...u, ...(generation !== undefined ? { observedGeneration: generation } : {}) }, now);
  return out;
}

/** The common part of a status after a pass. */
export function commonStatus(
  pass: PassResult,
  previous: CommonStatus | undefined,
  generation: number | undefined,
  now: Date,
): CommonStatus {
  const failed = pass.report.outcomes.some(
    (o) => o.action === 'failed' || o.action === 'conflict' || o.action === 'blocked',
  );
  const wrote = pass.report.outcomes.some((o) => ['created', 'updated', 'deleted'].includes(o.action));
  return {
    observedGeneration: generation,
    conditions: mergeConditions(previous?.conditions, pass.summary.conditions, generation, now),
    resources: pass.summary.resources,
    drift: pass.summary.drift,
    driftCount: pass.summary.driftCount,
    lastSyncTime: wrote || !previous?.lastSyncTime ? formatNow(now) : previous.lastSyncTime,
    // Only a fully applied plan becomes the baseline that later differences are measured against as drift.
    appliedPlanHash: failed || pass.mode === 'report' ? previous?.appliedPlanHash : pass.hash,
  };
}

/**
 * The status for a reconcile that stopped before the applier (a user error, or something still to come): the
 * previous status with Ready and Synced False for `reason`, at this generation.
 */
export function blockedStatus<S extends CommonStatus>(
  status: S | undefined,
  generation: number | undefined,
  now: Date,
  reason: string,
  message: string,
): S {
  const conditions = mergeConditions(
    status?.conditions,
    [
      { type: 'Ready', status: 'False', reason, message },
      { type: 'Synced', status: 'False', reason, message },
    ],
    generation,
    now,
  );
  return { ...(status as S), observedGeneration: generation, conditions };
}

/**
 * Decides what the controller runtime does after a pass with failures: a retryable AWS error backs off, a
 * RetryLater comes back when asked, anything a user must fix is terminal (no retry until the spec changes or
 * the periodic resync).
 */
export function failureToThrow(report: ApplyReport): Error | { requeueAfterMs: number } | undefined {
  const failures = report.outcomes.filter((o) => o.action === 'failed' || o.action === 'conflict');
  if (failures.length === 0) {
    return report.outcomes.some((o) => o.action === 'blocked') ? { requeueAfterMs: 10_000 } : undefined;
  }
  const later = failures.find((f) => f.error instanceof RetryLater);
  if (later && later.error instanceof RetryLater) return { requeueAfterMs: later.error.afterSeconds * 1000 };
  const retryable = failures.find((f) => f.error !== undefined && isRetryableFailure(f.error));
  const first = failures[0]!;
  if (retryable)
    return new Error(`${retryable.kind} ${retryable.id}: ${retryable.message ?? errorName(retryable.error)}`);
  return new TerminalError(`${first.kind} ${first.id}: ${first.message ?? first.action}`, {
    reason: first.action === 'conflict' ? 'OwnershipConflict' : 'ApplyFailed',
  });
}

/**
 * AWS service errors are retried unless they say the request itself is wrong (invalid, not found, denied,
 * in conflict); errors our own reconcilers raise are deliberate messages for the user, except network failures.
 */
function isRetryableFailure(err: unknown): boolean {
  if (typeof err === 'object' && err !== null && '$metadata' in err) {
    return !['invalid', 'not-found', 'access-denied', 'conflict'].includes(classifyError(err));
  }
  const code = (err as { code?: unknown }).code;
  const name = err instanceof Error ? err.name : '';
  return (
    (typeof code === 'string' && /^E(CONN|TIMEDOUT|PIPE|AI_AGAIN|HOSTUNREACH|NETUNREACH)/.test(code)) ||
    name === 'TimeoutError' ||
    name === 'AbortError'
  );
}

export function planningFailure(err: unknown): TerminalError | undefined {
  return err instanceof PlanningError ? new TerminalError(err.message, { reason: err.reason }) : undefined;
}

export function jittered(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}

export type { ResourceClient };
