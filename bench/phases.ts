// The measured phases. Each takes a call snapshot and a metrics snapshot, acts through the API server only (as a
// user would), waits for the observable outcome, waits for the operator to go quiet, and returns what it cost.
import type { Service } from '../src/api/index.js';
import type { KubeObject } from '../src/runtime/index.js';
import { callDelta, writesOf, type CallDelta } from './calls.js';
import type { BenchContext } from './context.js';
import { checkEcsRevisions } from './ecs-check.js';
import {
  ENVIRONMENT_NAME,
  environmentManifest,
  imageFor,
  serviceManifest,
  serviceName,
  TOGETHER_ENVIRONMENT,
} from './manifests.js';
import { metricsDelta, metricsSnapshot, minus, round, type MetricsDelta } from './metrics.js';
import { cpuSnapshot } from './cpu.js';
import { isReady, percentile, until, waitForAll, waitQuiet } from './wait.js';

/** Long enough for a status write's echo to land and enqueue whatever it enqueues. */
const QUIET_MS = 1500;

export interface PhaseCost {
  /** From the first request until the observable outcome (all Ready, all at the new revision, ...). */
  readonly doneMs: number;
  /**
   * From the first request until the operator had nothing queued or running (QUIET_MS of quiet excluded); the
   * same as doneMs with --ecs-rollouts never.
   */
  readonly quietMs: number;
  readonly calls: CallDelta;
  readonly metrics: MetricsDelta;
  /** CPU seconds used during the phase (until quiet), by process. */
  readonly cpuSeconds: Record<string, number>;
}

export async function measure(
  ctx: BenchContext,
  what: string,
  act: () => Promise<void>,
  done: (startedAt: number) => Promise<void>,
): Promise<PhaseCost> {
  const calls = ctx.operator.calls.snapshot();
  const metrics = await metricsSnapshot(ctx.operator.registry);
  const cpu = cpuSnapshot(ctx.processes);
  const startedAt = Date.now();
  await act();
  await done(startedAt);
  const doneMs = Date.now() - startedAt;
  // With deployments that never complete every Service is polled as a rollout, so the operator is never quiet.
  const quietAt =
    ctx.options.ecsRollouts === 'never'
      ? Date.now()
      : await waitQuiet(ctx.operator, { quietMs: QUIET_MS, timeoutMs: ctx.options.phaseTimeoutMs, what });
  const cpuSeconds = minus(cpuSnapshot(ctx.processes), cpu);
  return {
    cpuSeconds,
    doneMs,
    quietMs: Math.max(doneMs, quietAt - startedAt),
    calls: callDelta(ctx.operator.calls, calls),
    metrics: metricsDelta(await metricsSnapshot(ctx.operator.registry), metrics),
  };
}

/** Creates objects a few at a time, as a CI pipeline applying a directory would. */
async function createAll(client: BenchContext['rawServices'], objects: readonly KubeObject[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < objects.length; i = next++) await client.create(objects[i]!);
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

export async function environmentPhase(ctx: BenchContext): Promise<PhaseCost> {
  return measure(
    ctx,
    'Environment Ready',
    async () => {
      await ctx.rawEnvironments.create(environmentManifest(ctx.namespace, ctx.land));
    },
    async (startedAt) => {
      await until(
        'Environment Ready',
        async () => {
          const env = await ctx.environments.find({ namespace: ctx.namespace, name: ENVIRONMENT_NAME });
          return env?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
        },
        ctx.options.phaseTimeoutMs - (Date.now() - startedAt),
        200,
      );
    },
  );
}

export interface SingleResult {
  readonly create: PhaseCost;
  /** A new image for the one Service: one edit to an idle operator, the most common change of all. */
  readonly update: PhaseCost;
  readonly delete: PhaseCost;
}

/** One Service alone into the Environment and out again: per-Service latency with nothing queued before it. */
export async function singlePhase(ctx: BenchContext): Promise<SingleResult> {
  const solo = {
    ...serviceManifest(ctx.namespace, 999, '1.0.0'),
    metadata: { name: 'solo', namespace: ctx.namespace },
  };
  const ref = { namespace: ctx.namespace, name: 'solo' };
  const create = await measure(
    ctx,
    'single Service Ready',
    () => ctx.rawServices.create(solo).then(() => undefined),
    (startedAt) =>
      waitForAll(ctx.services, ctx.namespace, ['solo'], isReady, {
        startedAt,
        timeoutMs: ctx.options.phaseTimeoutMs,
        what: 'single Service Ready',
        everyMs: 50,
      }).then(() => undefined),
  );
  const revision = (await ctx.services.get(ref)).status?.revision ?? 0;
  const update = await measure(
    ctx,
    'single Service updated',
    () => ctx.rawServices.mergePatch(ref, { spec: { image: imageFor(999, '1.0.1') } }).then(() => undefined),
    (startedAt) =>
      waitForAll(
        ctx.services,
        ctx.namespace,
        ['solo'],
        (svc) => isReady(svc) && (svc.status?.revision ?? 0) > revision,
        {
          startedAt,
          timeoutMs: ctx.options.phaseTimeoutMs,
          what: 'single Service at its new revision',
          everyMs: 50,
        },
      ).then(() => undefined),
  );
  const del = await measure(
    ctx,
    'single Service deleted',
    () => ctx.services.delete(ref),
    async (startedAt) => {
      await until(
        'single Service gone',
        async () => (await ctx.services.find(ref)) === undefined,
        ctx.options.phaseTimeoutMs - (Date.now() - startedAt),
        50,
      );
    },
  );
  return { create, update, delete: del };
}

export interface ColdResult extends PhaseCost {
  readonly applyMs: number;
  readonly readyP50Ms: number;
  readonly readyP95Ms: number;
}

/** Creates a wave of Services (after `first`, if given) and waits until every one is Ready. */
async function wave(
  ctx: BenchContext,
  what: string,
  manifests: readonly KubeObject[],
  names: readonly string[],
  first?: () => Promise<void>,
): Promise<ColdResult> {
  let applyMs = 0;
  let times: Record<string, number> = {};
  const cost = await measure(
    ctx,
    what,
    async () => {
      const t0 = Date.now();
      await first?.();
      await createAll(ctx.rawServices, manifests);
      applyMs = Date.now() - t0;
    },
    async (startedAt) => {
      times = {
        ...(
          await waitForAll(ctx.services, ctx.namespace, names, isReady, {
            startedAt,
            timeoutMs: ctx.options.phaseTimeoutMs,
            what,
          })
        ).byName,
      };
    },
  );
  const values = Object.values(times);
  return { ...cost, applyMs, readyP50Ms: percentile(values, 50), readyP95Ms: percentile(values, 95) };
}

export function coldPhase(ctx: BenchContext): Promise<ColdResult> {
  const manifests = ctx.names.map((_, i) => serviceManifest(ctx.namespace, i, '1.0.0'));
  return wave(ctx, 'cold convergence', manifests, ctx.names);
}

export interface SteadyResult extends PhaseCost {
  readonly writes: Readonly<Record<string, number>>;
  readonly callsPerService: number;
  readonly reconcilesPerService: number;
}

/**
 * One full pass over objects already in sync, forced by an annotation on the Environment: an annotation change is
 * a meaningful change to the operator, and every Service is reconciled when its Environment changes (its status
 * says where to attach). Done when every Service and the Environment have reconciled again.
 */
export async function steadyPhase(ctx: BenchContext, label: string): Promise<SteadyResult> {
  const before = await metricsSnapshot(ctx.operator.registry);
  const patch = { metadata: { annotations: { 'bench.slipway.dev/pass': `${label}-${Date.now()}` } } };
  const n = ctx.names.length;
  const cost = await measure(
    ctx,
    `steady pass ${label}`,
    async () => {
      await ctx.rawEnvironments.mergePatch({ namespace: ctx.namespace, name: ENVIRONMENT_NAME }, patch);
    },
    async (startedAt) => {
      await until(
        `steady pass ${label}: a reconcile of every object`,
        async () => {
          const now = await metricsSnapshot(ctx.operator.registry);
          const d = metricsDelta(now, before).reconciles;
          return (d.service ?? 0) >= n && (d.environment ?? 0) >= 1;
        },
        ctx.options.phaseTimeoutMs - (Date.now() - startedAt),
        50,
      );
    },
  );
  return {
    ...cost,
    writes: writesOf(cost.calls),
    callsPerService: round(cost.calls.total / n, 1),
    reconcilesPerService: round((cost.metrics.reconciles.service ?? 0) / n, 2),
  };
}

export interface FanOutResult extends PhaseCost {
  readonly registerTaskDefinition: number;
  /** Services whose revision moved by more than one. */
  readonly skipped: readonly string[];
  /** Services whose ECS service does not run the task definition in their status. */
  readonly ecsMismatches: readonly string[];
}

/** A new image for every Service at once: each must get exactly one new revision, and ECS must run it. */
export async function fanOutPhase(ctx: BenchContext): Promise<FanOutResult> {
  const before = new Map<string, number>();
  for (const svc of (await ctx.services.list({ namespace: ctx.namespace })).items)
    before.set(svc.metadata.name, svc.status?.revision ?? 0);
  const n = ctx.names.length;
  const atNewRevision = (svc: Service) =>
    isReady(svc) && (svc.status?.revision ?? 0) > (before.get(svc.metadata.name) ?? 0);
  const cost = await measure(
    ctx,
    'update fan-out',
    async () => {
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < n; i = next++) {
          await ctx.rawServices.mergePatch(
            { namespace: ctx.namespace, name: ctx.names[i]! },
            { spec: { image: imageFor(i, '2.0.0') } },
          );
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
    },
    async (startedAt) => {
      await waitForAll(ctx.services, ctx.namespace, ctx.names, atNewRevision, {
        startedAt,
        timeoutMs: ctx.options.phaseTimeoutMs,
        what: 'update fan-out',
      });
    },
  );
  const after = (await ctx.services.list({ namespace: ctx.namespace })).items.filter((s) =>
    ctx.names.includes(s.metadata.name),
  );
  const skipped = after
    .filter((s) => (s.status?.revision ?? 0) !== (before.get(s.metadata.name) ?? 0) + 1)
    .map((s) => `${s.metadata.name}@${s.status?.revision}`);
  const { ecsMismatches } = await checkEcsRevisions(ctx, after);
  return {
    ...cost,
    registerTaskDefinition: cost.calls.byOperation['ecs:RegisterTaskDefinition'] ?? 0,
    skipped,
    ecsMismatches,
  };
}

export interface IdleResult {
  readonly windowMs: number;
  readonly calls: CallDelta;
  readonly metrics: MetricsDelta;
  readonly callsPerMinute: number;
}

/**
 * Nothing changes for a while: with every Service in sync and its deployment complete, the operator should make
 * no AWS call until the resync interval; with deployments rolling, it polls them.
 */
/**
 * A second Environment and N Services applied in one go, as `kubectl apply -f dir/` or an Argo CD sync does: the
 * Services arrive while their Environment is not Ready yet, and must be woken by it becoming Ready (not by a
 * timer), so that nothing is left to do once everything is Ready.
 */
export function togetherPhase(ctx: BenchContext): Promise<ColdResult> {
  const on = { environment: TOGETHER_ENVIRONMENT, prefix: 'tog' };
  const manifests = ctx.names.map((_, i) => serviceManifest(ctx.namespace, i, '1.0.0', on));
  const names = ctx.names.map((_, i) => serviceName(i, on.prefix));
  return wave(ctx, 'Environment and Services applied together', manifests, names, async () => {
    await ctx.rawEnvironments.create(environmentManifest(ctx.namespace, ctx.land, TOGETHER_ENVIRONMENT));
  });
}

export async function idlePhase(ctx: BenchContext): Promise<IdleResult> {
  const calls = ctx.operator.calls.snapshot();
  const metrics = await metricsSnapshot(ctx.operator.registry);
  await new Promise((resolve) => setTimeout(resolve, ctx.options.idleWindowMs));
  const delta = callDelta(ctx.operator.calls, calls);
  return {
    windowMs: ctx.options.idleWindowMs,
    calls: delta,
    metrics: metricsDelta(await metricsSnapshot(ctx.operator.registry), metrics),
    callsPerMinute: round((delta.total * 60_000) / ctx.options.idleWindowMs, 1),
  };
}
