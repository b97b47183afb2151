// The one reconcile sequence every custom resource kind runs, in the manner of ACK's reconciler:
//
//   get → (deleting? delete what it owns, release the finalizer) → preflight → prepare (look up, check, plan)
//   → finalizer → pass (apply or report) → status → events → after-pass work → result
//
// A kind supplies hooks only: what to check and plan, and its own status fields. Everything that makes the
// three kinds behave alike — conditions, Events (DriftCorrected, DriftDetected, a Warning for what a person must
// fix, Deleted), the status write on every exit path, the pass deadline and what the queue does next — is here,
// so it is the same for all of them by construction. Every failure is an Outcome, mapped in outcome-map.ts.
import { deadline } from '../runtime/deadline.js';
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { AwsClients } from '../aws/clients.js';
import { resourcePlanOf, statusPlanOf, type StatusPlanCost } from '../drift/plan.js';
import { outcomeOf } from '../outcome/classify.js';
import { after, BACKOFF, OutcomeError, outcome as makeOutcome, type Outcome } from '../outcome/outcome.js';
import type { Plan } from '../planner/plan.js';
import { untilAborted, type ArnBase, type WaveReads } from '../reconcilers/contract.js';
import type { DiscoveryScope } from '../reconcilers/discovery.js';
import {
  addFinalizer,
  hasFinalizer,
  isBeingDeleted,
  isConflict,
  type KubeObject,
  parseKey,
  type ReconcileContext,
  removeFinalizer,
  type ResourceClient,
  type Result,
  StatusWriter,
} from '../runtime/index.js';
import { mapOutcome, type MappedOutcome } from './outcome-map.js';
import {
  isPlanOnly,
  PLAN_ONLY_CONDITION,
  planOnlyCondition,
  planOnlyDeletionConditions,
  planOnlyStoppedCondition,
  withoutPlanOnly,
} from './plan-only.js';
import {
  commonStatus,
  type CommonStatus,
  deletingConditions,
  FINALIZER,
  mergeConditions,
  type OperatorDeps,
  type PassResult,
  readyAtGeneration,
  runPass,
} from './shared.js';

/** How soon a deletion that still has AWS resources left looks again, when nothing failed. */
const DELETION_POLL_MS = 10_000;

/** Everything a pass needs, resolved by the kind's prepare hook. */
export interface Prepared {
  /** The Environment's clients; the sequence binds them to the pass's deadline. */
  readonly aws: AwsClients;
  readonly plan: Plan;
  readonly driftPolicy: 'Correct' | 'Report';
  readonly adopt: boolean;
  /** The period of this object's resync: its Environment's spec.resyncInterval. */
  readonly resyncMs: number;
  /** Where this owner's resources can be found by tag (see runPass). */
  readonly discover?: DiscoveryScope;
  /** The account and region of `aws`, when an ARN AWS answered says (ReconcileContext.account). */
  readonly account?: ArnBase;
  /**
   * The snapshot the pass reads with when the kind has its own (the Environment's: the rotation of the wave it is
   * about to open), in place of the wave the object is a member of.
   */
  readonly wave?: WaveReads;
  /**
   * The object as the API server answered a write prepare made to it (a workload's placement in status): the pass
   * goes on from it, so adding the finalizer does not fail on the resourceVersion that write moved on.
   */
  readonly written?: KubeObject;
}

/** A reason to stop before the pass, with the kind's status fields to write beside the conditions. */
export interface Stop<S> {
  readonly stop: Outcome;
  readonly fields?: Partial<S>;
  /** The resync period when the outcome waits on a watch (default: the operator's). */
  readonly resyncMs?: number;
}

export interface PassInfo<P extends Prepared> {
  readonly prepared: P;
  readonly pass: PassResult;
  readonly now: Date;
  /** The pass deadline, for any AWS read a hook still makes. */
  readonly signal: AbortSignal;
}

export interface HookContext {
  readonly now: Date;
  /** The snapshot of the resync wave this pass is a member of (waves.ts), if it is one's. */
  readonly wave?: WaveReads;
  /** The pass deadline: aborted when it runs out or the controller stops. */
  readonly signal: AbortSignal;
  readonly log: Logger;
}

type Stage = 'stopped' | 'passed' | 'deleting';

/** How many of a pass's AWS calls may listen to its deadline at once before Node warns of a leak. */
const PASS_SIGNAL_LISTENERS = 100;

export interface KindHooks<T extends KubeObject & { readonly status?: S }, S extends CommonStatus, P extends Prepared> {
  readonly client: ResourceClient<T>;
  /** First on a live object; a result ends the reconcile there (a preview past its TTL deletes itself). */
  preflight?(obj: T, ctx: HookContext): Promise<Result | undefined>;
  /** Resolves the inputs that need I/O, checks what must hold, and plans. */
  prepare(obj: T, ctx: HookContext): Promise<P | Stop<S>>;
  /** What deleting needs: 'release' when nothing in AWS can be left behind (or the policy is Retain). */
  prepareDeletion(obj: T, ctx: HookContext): Promise<Prepared | Stop<S> | 'release'>;
  /** status.plan.cost of a plan-only pass: the cost as last applied (before) and as planned (after). */
  planCost?(obj: T, info: PassInfo<P>): StatusPlanCost | undefined;
  /** status.plan.cost of a plan-only deletion: the cost as last applied, and 0 after. */
  deletionPlanCost?(obj: T): StatusPlanCost | undefined;
  /** The kind's own status fields after a pass. */
  statusFields(obj: T, info: PassInfo<P>): Partial<S> | Promise<Partial<S>>;
  /** Fields every status write of a stage carries (a preview's TTL and phase). */
  stageFields?(obj: T, stage: Stage, ctx: HookContext, ready?: boolean): Partial<S>;
  /** After the status is written: work that rides on this kind's pass (the Environment's sweep). */
  afterPass?(obj: T, info: PassInfo<P>, ctx: HookContext): Promise<void>;
  /**
   * Whether what the object runs has settled as its last status shows (a workload's ECS deployment completed, every
   * task it wants running), besides being Ready at its generation. An unsettled owner's pass in a resync wave reads
   * every resource whatever the rotation (PassScope.unsettled). Default: settled.
   */
  settled?(obj: T): boolean;
  /** Come back sooner than the resync (a rollout in progress, a preview's expiry). */
  requeueAfterMs?(obj: T, info: PassInfo<P>): number | undefined;
}

function isStop<S>(x: unknown): x is Stop<S> {
  return typeof x === 'object' && x !== null && 'stop' in x;
}

/** Why a pass was abandoned: its deadline ran out, or the operator is stopping. */
function abandoned(stopping: boolean): OutcomeError {
  return new OutcomeError(
    stopping
      ? makeOutcome('Stopping', 'the operator stopped during the pass; the next leader takes it up', BACKOFF)
      : makeOutcome(
          'DeadlineExceeded',
          'the pass did not finish within its deadline (SLIPWAY_PASS_DEADLINE) and was abandoned; it is retried with backoff',
          BACKOFF,
        ),
  );
}

/**
 * The pass deadline holds even for a wait that does not listen to the signal: the worker is released when the
 * signal fires, and what the abandoned pass still does is cut short by its aborted calls and by passedDeadline,
 * which keeps it from writing a status after the one written here.
 */
async function abandonAtDeadline<R>(work: Promise<R>, signal: AbortSignal, stopping: AbortSignal): Promise<R> {
  try {
    return await untilAborted(work, signal);
  } catch (err) {
    throw signal.aborted ? abandoned(stopping.aborted) : err;
  }
}

/**
 * How long the writes that report a failed or abandoned pass (its status, its Event) may hold the worker. They run
 * after the pass's deadline, against an API server that may be the slow part: past this the worker moves on and
 * the write finishes or times out (kube.ts) on its own, so a key is never held much longer than the deadline.
 */
const REPORT_GRACE_MS = 3_000;

/** Waits for `work` at most REPORT_GRACE_MS; the work itself goes on, bounded by its own request timeout. */
async function withinGrace(work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, REPORT_GRACE_MS);
    timer.unref();
  });
  try {
    await Promise.race([work.then(() => undefined), grace]);
  } finally {
    clearTimeout(timer);
  }
}

/** Stops a pass whose deadline ran out before it writes anything more. */
function passedDeadline(signal: AbortSignal): void {
  if (signal.aborted) throw abandoned(false);
}

export function customResourceReconciler<
  T extends KubeObject & { readonly status?: S },
  S extends CommonStatus,
  P extends Prepared,
>(deps: OperatorDeps, hooks: KindHooks<T, S, P>) {
  const statusWriter = new StatusWriter<T>(hooks.client, deps.log);
  type Status = NonNullable<T['status']>;

  /** The status for an object stopped by `outcome`: the previous status with Ready and Synced saying why. */
  const stoppedStatus = (obj: T, outcome: Outcome, fields: Partial<S>, now: Date): Status => {
    const generation = obj.metadata?.generation;
    // An object being deleted keeps saying so: the outcome is what blocks its deletion.
    const deleting = isBeingDeleted(obj)
      ? [{ type: 'Deleting', status: 'True' as const, reason: outcome.reason, message: outcome.message }]
      : [];
    const planOnly = isPlanOnly(obj) ? [planOnlyStoppedCondition(`${outcome.reason}: ${outcome.message}`)] : [];
    const updates = [...mapOutcome(outcome, 0).conditions, ...deleting, ...planOnly];
    const previous = isPlanOnly(obj) ? obj.status?.conditions : withoutPlanOnly(obj.status?.conditions);
    const conditions = mergeConditions(previous, updates, generation, now);
    // A stop plans nothing: a plan from an earlier pass (plan-only) would no longer be what applying does.
    return {
      ...obj.status,
      ...fields,
      observedGeneration: generation,
      conditions,
      plan: undefined,
    } as unknown as Status;
  };

  /** Writes what the outcome says, records its Event, and settles the queue's result. */
  async function stopWith(obj: T, stop: Stop<S>, ctx: HookContext, stage: Stage): Promise<MappedOutcome> {
    const mapped = mapOutcome(stop.stop, stop.resyncMs ?? deps.defaultResyncMs);
    const fields = { ...hooks.stageFields?.(obj, stage, ctx), ...stop.fields } as Partial<S>;
    await statusWriter.write(obj, stoppedStatus(obj, stop.stop, fields, ctx.now));
    if (mapped.event) await deps.events.warning(obj, mapped.event.reason, mapped.event.message);
    return mapped;
  }

  /**
   * Records an outcome's Event and hands it back to be settled outside the error handling. `grace`: the pass is
   * already over (failed or abandoned), so the Event may hold the worker only REPORT_GRACE_MS.
   */
  async function settleLater(obj: T, outcome: Outcome, resyncMs: number, grace = false): Promise<MappedOutcome> {
    const mapped = mapOutcome(outcome, resyncMs);
    if (mapped.event) {
      const recorded = deps.events.warning(obj, mapped.event.reason, mapped.event.message);
      await (grace ? withinGrace(recorded) : recorded);
    }
    return mapped;
  }

  async function remove(read: T, ctx: HookContext): Promise<Result | MappedOutcome> {
    if (!hasFinalizer(read, FINALIZER)) return { requeue: false };
    if (isPlanOnly(read)) return removePlanOnly(read, ctx);
    let obj = read;
    // Said at once, before lookups and a pass that may take a while: the object is on its way out, not Ready.
    // The finalizer is removed from the object this write returns: the one read has an outdated resourceVersion.
    if (!obj.status?.conditions?.some((c) => c.type === 'Deleting')) {
      const conditions = mergeConditions(obj.status?.conditions, deletingConditions(undefined), undefined, ctx.now);
      obj = (await statusWriter.write(obj, { ...obj.status, conditions } as unknown as Status)).object;
    }
    const prepared = await hooks.prepareDeletion(obj, ctx);
    if (isStop<S>(prepared)) return stopWith(obj, prepared, ctx, 'deleting');
    if (prepared !== 'release') {
      const pass = await runPass(prepared.aws.withSignal(ctx.signal), prepared.plan, obj.status, {
        deleting: true,
        driftPolicy: 'Correct',
        adopt: false,
        now: ctx.now,
        ...(prepared.discover ? { discover: prepared.discover } : {}),
      });
      passedDeadline(ctx.signal);
      const left = pass.report.inventory.length;
      if (left > 0) {
        const status = { ...obj.status, ...hooks.stageFields?.(obj, 'deleting', ctx) };
        const previous = { ...obj.status, conditions: withoutPlanOnly(obj.status?.conditions) } as S;
        const common = commonStatus(pass, previous, obj.metadata?.generation, ctx.now);
        const conditions = mergeConditions(common.conditions, deletingConditions(pass), undefined, ctx.now);
        const next = { ...status, ...common, conditions } as unknown as Status;
        await statusWriter.write(obj, next);
        const waiting = makeOutcome('Deleting', `${left} AWS resources left to delete`, after(DELETION_POLL_MS));
        return settleLater(obj, pass.summary.failure ?? waiting, prepared.resyncMs);
      }
      const deleted = pass.report.outcomes.filter((o) => o.action === 'deleted').length;
      if (deleted > 0) await deps.events.normal(obj, 'Deleted', `deleted ${deleted} AWS resources`);
    }
    await removeFinalizer(hooks.client, obj, FINALIZER);
    return { requeue: false };
  }

  /**
   * Deleting an object annotated slipway.dev/plan-only that has AWS resources from before: deleting them would be
   * an AWS write, which the annotation rules out, and leaving them behind unowned would surprise as much. So the
   * deletion is planned and waits: status.plan lists what it would delete, Deleting and PlanOnly say how to go on
   * (remove the annotation, whose change brings the next pass), and a Warning Event says so once.
   */
  async function removePlanOnly(obj: T, ctx: HookContext): Promise<Result | MappedOutcome> {
    const prepared = await hooks.prepareDeletion(obj, ctx);
    if (isStop<S>(prepared)) return stopWith(obj, prepared, ctx, 'deleting');
    // Nothing Slipway could delete (nothing recorded, or a Retain policy): releasing writes nothing to AWS.
    if (prepared === 'release') {
      await removeFinalizer(hooks.client, obj, FINALIZER);
      return { requeue: false };
    }
    // Deleting is applying an empty plan: every owned resource is a leftover, to delete.
    const pass = await runPass(prepared.aws.withSignal(ctx.signal), { ...prepared.plan, resources: [] }, obj.status, {
      deleting: false,
      driftPolicy: 'Correct',
      adopt: false,
      now: ctx.now,
      planOnly: true,
      ...(prepared.discover ? { discover: prepared.discover } : {}),
    });
    passedDeadline(ctx.signal);
    const plan = statusPlanOf(resourcePlanOf(pass.report), hooks.deletionPlanCost?.(obj));
    const updates = planOnlyDeletionConditions(
      plan.summary.delete,
      `${hooks.client.type.plural}.${hooks.client.type.group}`,
      obj.metadata?.name ?? '',
    );
    const first = !obj.status?.conditions?.some((c) => c.type === 'Deleting' && c.reason === 'PlanOnly');
    const conditions = mergeConditions(obj.status?.conditions, updates, undefined, ctx.now);
    await statusWriter.write(obj, { ...obj.status, conditions, plan } as unknown as Status);
    if (first) await deps.events.warning(obj, 'DeletionPlanOnly', updates[0]!.message);
    return { resyncAfterMs: prepared.resyncMs };
  }

  /**
   * A pass of an object annotated slipway.dev/plan-only: the applier in plan mode, which makes no AWS write, and
   * status.plan saying what applying would do and what it would cost (the kind's planCost); the rest of the status still describes the last pass that applied.
   * No finalizer (nothing is created), no kind status fields, no after-pass work (the Environment's sweep deletes).
   */
  async function planOnly(obj: T, prepared: P, ctx: HookContext): Promise<Result> {
    const pass = await runPass(prepared.aws.withSignal(ctx.signal), prepared.plan, obj.status, {
      deleting: false,
      driftPolicy: prepared.driftPolicy,
      adopt: false,
      now: ctx.now,
      planOnly: true,
      ...(prepared.discover ? { discover: prepared.discover } : {}),
    });
    passedDeadline(ctx.signal);
    const info: PassInfo<P> = { prepared, pass, now: ctx.now, signal: ctx.signal };
    const plan = statusPlanOf(resourcePlanOf(pass.report), hooks.planCost?.(obj, info));
    const conditions = mergeConditions(
      obj.status?.conditions,
      [planOnlyCondition(plan.summary)],
      obj.metadata?.generation,
      ctx.now,
    );
    await statusWriter.write(obj, { ...obj.status, conditions, plan } as unknown as Status);
    return { resyncAfterMs: prepared.resyncMs };
  }

  async function apply(found: T, ctx: HookContext): Promise<Result | MappedOutcome> {
    const early = await hooks.preflight?.(found, ctx);
    if (early) return early;
    const prepared = await hooks.prepare(found, ctx);
    if (isStop<S>(prepared)) return stopWith(found, prepared, ctx, 'stopped');
    if (isPlanOnly(found)) return planOnly(found, prepared, ctx);
    // The finalizer goes on before the first AWS create, so nothing created can outlive the object unseen.
    const obj = await addFinalizer(hooks.client, (prepared.written as T | undefined) ?? found, FINALIZER);
    const wave = prepared.wave ?? ctx.wave;
    const pass = await runPass(prepared.aws.withSignal(ctx.signal), prepared.plan, obj.status, {
      deleting: false,
      driftPolicy: prepared.driftPolicy,
      adopt: prepared.adopt,
      now: ctx.now,
      ...(wave ? { wave } : {}),
      ...(prepared.discover ? { discover: prepared.discover } : {}),
      ...(prepared.account ? { account: prepared.account } : {}),
      ...(readyAtGeneration(obj.status, obj.metadata?.generation) && (hooks.settled?.(obj) ?? true)
        ? {}
        : { unsettled: true }),
    });
    passedDeadline(ctx.signal);
    const info: PassInfo<P> = { prepared, pass, now: ctx.now, signal: ctx.signal };
    // Applied: a PlanOnly condition from before the annotation went no longer holds.
    const previous = obj.status?.conditions?.some((c) => c.type === PLAN_ONLY_CONDITION)
      ? ({ ...obj.status, conditions: withoutPlanOnly(obj.status?.conditions) } as S)
      : obj.status;
    const common = commonStatus(pass, previous, obj.metadata?.generation, ctx.now);
    const ready = common.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const next = {
      ...common,
      ...(await hooks.statusFields(obj, info)),
      ...hooks.stageFields?.(obj, 'passed', ctx, ready),
    } as Status;
    await statusWriter.write(obj, next);
    for (const line of pass.summary.corrections) await deps.events.normal(obj, 'DriftCorrected', line);
    const reported = pass.summary.drift.filter((d) => d.action === 'Reported').length;
    if (reported > 0) {
      await deps.events.warning(
        obj,
        'DriftDetected',
        `${reported} field(s) differ from the spec and were left as found (driftPolicy Report)`,
      );
    }
    await hooks.afterPass?.(obj, info, ctx);
    if (pass.summary.failure) return settleLater(obj, pass.summary.failure, prepared.resyncMs);
    const sooner = hooks.requeueAfterMs?.(obj, info);
    return sooner !== undefined && sooner < prepared.resyncMs
      ? { requeueAfterMs: sooner, resyncAfterMs: prepared.resyncMs }
      : { resyncAfterMs: prepared.resyncMs };
  }

  /** Passes still running, abandoned ones included: their last writes are bounded (REPORT_GRACE_MS, kube.ts). */
  const running = new Set<Promise<unknown>>();
  async function reconcile(key: string, rctx: ReconcileContext): Promise<Result> {
    // Every wait in the pass has a deadline: the controller stopping, or the pass running out of time.
    const passDeadline = deadline(deps.passDeadlineMs, rctx.signal);
    // The backstop: whatever a pass waits on outside the applier's reach (reading the object, reporting an abandoned
    // pass), its worker is released once the deadline and the two report graces are over, and the key backs off.
    const release = deadline(deps.passDeadlineMs + 2 * REPORT_GRACE_MS, rctx.signal);
    const pass = reconcilePass(key, rctx, passDeadline.signal);
    running.add(pass);
    const forget = () => running.delete(pass);
    pass.then(forget, forget);
    try {
      return await abandonAtDeadline(pass, release.signal, rctx.signal);
    } finally {
      passDeadline.clear();
      release.clear();
    }
  }
  return Object.assign(reconcile, {
    async settled(): Promise<void> {
      await Promise.allSettled([...running]);
    },
  });

  async function reconcilePass(key: string, rctx: ReconcileContext, signal: AbortSignal): Promise<Result> {
    // Every AWS call of the pass listens to it while in flight, and a pass runs more than Node's default of 10 at
    // once (a wave's listings, 20-ARN tag reads side by side): that is expected, not a leak.
    setMaxListeners(PASS_SIGNAL_LISTENERS, signal);
    const obj = await hooks.client.find(parseKey(key), signal);
    if (!obj) return { requeue: false };
    // A member of its Environment's resync wave takes the wave's snapshot for its steady reads, and leaves the wave.
    const wave = deps.waves?.take(`${hooks.client.type.kind}/${key}`);
    const ctx: HookContext = { now: deps.now(), signal, log: rctx.log, ...(wave ? { wave } : {}) };
    let next: Result | MappedOutcome;
    try {
      next = await abandonAtDeadline(isBeingDeleted(obj) ? remove(obj, ctx) : apply(obj, ctx), signal, rctx.signal);
    } catch (err) {
      // A write conflict only means the object changed under us: the runtime retries it (logged as such, not as a
      // failure) and the next pass reads it afresh.
      if (isConflict(err)) throw err;
      // Anything else not already an outcome: an API server error, an AWS error outside the applier, a bug. The
      // status says so on this exit path too (best effort: the write may fail for the same reason).
      const outcome = outcomeOf(err, BACKOFF);
      // Cut short rather than left running: a late write could land after the next pass's status.
      const grace = deadline(REPORT_GRACE_MS);
      await statusWriter
        .write(obj, stoppedStatus(obj, outcome, {}, ctx.now), grace.signal)
        .catch((writeErr: unknown) => {
          rctx.log.debug({ err: writeErr }, 'could not write the status of a failed reconcile');
        })
        .finally(grace.clear);
      next = await settleLater(obj, outcome, deps.defaultResyncMs, true);
    }
    return 'settle' in next ? next.settle() : next;
  }
}
