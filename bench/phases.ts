// The measured phases. Each takes a call snapshot and a metrics snapshot, acts through the API server only (as a
// user would), waits for the observable outcome, waits for the operator to go quiet, and returns what it cost.
import type { PreviewDeployment, Service } from '../src/api/index.js';
import type { KubeObject } from '../src/runtime/index.js';
import { RESYNC_ANNOTATION } from '../src/controllers/waves.js';
import { callDelta, writesOf, type CallDelta } from './calls.js';
import type { BenchContext } from './context.js';
import { checkEcsRevisions } from './ecs-check.js';
import {
  environmentManifest,
  imageFor,
  previewManifest,
  serviceManifest,
  serviceName,
  TOGETHER_ENVIRONMENT,
} from './manifests.js';
import { metricsDelta, metricsSnapshot, minus, round, type MetricsDelta } from './metrics.js';
import { cpuSnapshot } from './cpu.js';
import { previewsOn } from './scale.js';
import { isPreviewReady, isReady, percentile, until, waitForAll, waitQuiet } from './wait.js';

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
  if (objects.length === 0) return;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < objects.length; i = next++) await client.create(objects[i]!);
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** The plan's Environments, created at once, each on its own landscape, with previews on when it gets any. */
export async function environmentPhase(ctx: BenchContext): Promise<PhaseCost> {
  const wanted = ctx.plan.environments;
  return measure(
    ctx,
    'Environments Ready',
    async () => {
      for (const e of wanted)
        await ctx.rawEnvironments.create(
          environmentManifest(
            ctx.namespace,
            ctx.lands[e.landscape]!,
            e.name,
            previewsOn(ctx.plan, e.name),
            ctx.options.driftEvents,
          ),
        );
    },
    async (startedAt) => {
      await until(
        'Environments Ready',
        async () => {
          const names = new Set(wanted.map((e) => e.name));
          const ready = (await ctx.environments.list({ namespace: ctx.namespace })).items.filter(
            (env) =>
              names.has(env.metadata.name) &&
              env.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
          );
          return ready.length === wanted.length;
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
  /** Time to Ready of the Services. */
  readonly readyP50Ms: number;
  readonly readyP95Ms: number;
  /** Time to Active and Ready of the previews, when the wave had any. */
  readonly previews?: { readonly count: number; readonly readyP50Ms: number; readonly readyP95Ms: number };
  /** Services and previews whose ECS service does not run the task definition their status names. */
  readonly ecsMismatches?: readonly string[];
}

/**
 * Creates a wave of Services (after `first`, if given), then its previews right after them in the same apply, and
 * waits until every Service is Ready and every preview Active and Ready.
 */
async function wave(
  ctx: BenchContext,
  what: string,
  manifests: readonly KubeObject[],
  names: readonly string[],
  first?: () => Promise<void>,
  previews: { readonly manifests: readonly KubeObject[]; readonly names: readonly string[] } = {
    manifests: [],
    names: [],
  },
): Promise<ColdResult> {
  let applyMs = 0;
  let times: Record<string, number> = {};
  let previewTimes: Record<string, number> = {};
  const cost = await measure(
    ctx,
    what,
    async () => {
      const t0 = Date.now();
      await first?.();
      await createAll(ctx.rawServices, manifests);
      await createAll(ctx.rawPreviews, previews.manifests);
      applyMs = Date.now() - t0;
    },
    async (startedAt) => {
      const opts = { startedAt, timeoutMs: ctx.options.phaseTimeoutMs, what };
      const [svcs, prs] = await Promise.all([
        waitForAll(ctx.services, ctx.namespace, names, isReady, opts),
        previews.names.length > 0
          ? waitForAll(ctx.previews, ctx.namespace, previews.names, isPreviewReady, {
              ...opts,
              what: `${what} (previews)`,
            })
          : undefined,
      ]);
      times = { ...svcs.byName };
      previewTimes = { ...prs?.byName };
    },
  );
  const values = Object.values(times);
  const pv = Object.values(previewTimes);
  return {
    ...cost,
    applyMs,
    readyP50Ms: percentile(values, 50),
    readyP95Ms: percentile(values, 95),
    ...(pv.length > 0
      ? { previews: { count: pv.length, readyP50Ms: percentile(pv, 50), readyP95Ms: percentile(pv, 95) } }
      : {}),
  };
}

/**
 * The plan's Services on every Environment, and its previews right after them in the same apply; then a check that
 * each one's ECS service runs the task definition its status names.
 */
export async function coldPhase(ctx: BenchContext): Promise<ColdResult> {
  const envs = new Map(ctx.plan.environments.map((e) => [e.name, e]));
  const manifests = ctx.plan.services.map((svc) =>
    serviceManifest(ctx.namespace, svc.index, '1.0.0', {
      environment: svc.environment,
      prefix: envs.get(svc.environment)!.prefix,
      name: svc.name,
    }),
  );
  const previews = {
    manifests: ctx.plan.previews.map((p) => previewManifest(ctx.namespace, p)),
    names: ctx.plan.previews.map((p) => p.name),
  };
  const result = await wave(ctx, 'cold convergence', manifests, ctx.names, undefined, previews);
  const { ecsMismatches } = await checkEcsRevisions(ctx, [
    ...(await ctx.services.list({ namespace: ctx.namespace })).items.filter((s) => ctx.names.includes(s.metadata.name)),
    ...(await previewsOfPlan(ctx)),
  ]);
  return { ...result, ecsMismatches };
}

async function previewsOfPlan(ctx: BenchContext): Promise<PreviewDeployment[]> {
  if (ctx.plan.previews.length === 0) return [];
  const names = new Set(ctx.plan.previews.map((p) => p.name));
  return (await ctx.previews.list({ namespace: ctx.namespace })).items.filter((p) => names.has(p.metadata.name));
}

export interface SteadyResult extends PhaseCost {
  readonly writes: Readonly<Record<string, number>>;
  /** Services and previews the pass went over (E×N + P). */
  readonly workloads: number;
  /** Calls divided by the workloads: by the Services alone when there are no previews, as before. */
  readonly callsPerService: number;
  readonly readsPerService: number;
  readonly reconcilesPerService: number;
}

/**
 * One full pass over objects already in sync: a resync wave on every Environment, asked for with a new value of
 * slipway.dev/resync-requested, as an operator would ("resync now"), so that it measures what the Environment's
 * timer-paced waves cost. Done when every Service, preview and Environment has reconciled again.
 */
export async function steadyPhase(ctx: BenchContext, label: string): Promise<SteadyResult> {
  const before = await metricsSnapshot(ctx.operator.registry);
  const patch = { metadata: { annotations: { [RESYNC_ANNOTATION]: `${label}-${Date.now()}` } } };
  const n = ctx.names.length;
  const p = ctx.plan.previews.length;
  const e = ctx.plan.environments.length;
  const cost = await measure(
    ctx,
    `steady pass ${label}`,
    async () => {
      for (const env of ctx.plan.environments)
        await ctx.rawEnvironments.mergePatch({ namespace: ctx.namespace, name: env.name }, patch);
    },
    async (startedAt) => {
      await until(
        `steady pass ${label}: a reconcile of every object`,
        async () => {
          const now = await metricsSnapshot(ctx.operator.registry);
          const d = metricsDelta(now, before).reconciles;
          return (d.service ?? 0) >= n && (d.preview ?? 0) >= p && (d.environment ?? 0) >= e;
        },
        ctx.options.phaseTimeoutMs - (Date.now() - startedAt),
        50,
      );
    },
  );
  const workloads = n + p;
  return {
    ...cost,
    writes: writesOf(cost.calls),
    workloads,
    callsPerService: round(cost.calls.total / workloads, 1),
    readsPerService: round(cost.calls.reads / workloads, 2),
    reconcilesPerService: round(
      ((cost.metrics.reconciles.service ?? 0) + (cost.metrics.reconciles.preview ?? 0)) / workloads,
      2,
    ),
  };
}

export interface FanOutResult extends PhaseCost {
  readonly registerTaskDefinition: number;
  /** Services whose revision moved by more than one. */
  readonly skipped: readonly string[];
  /** Services whose ECS service does not run the task definition in their status. */
  readonly ecsMismatches: readonly string[];
}

/**
 * A new image for every Service of every Environment at once: each must get exactly one new revision, and ECS must
 * run it.
 */
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
          const svc = ctx.plan.services[i]!;
          await ctx.rawServices.mergePatch(
            { namespace: ctx.namespace, name: svc.name },
            { spec: { image: imageFor(svc.index, '2.0.0') } },
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
  // A preview runs its own tag of the Service's repository, which the new image does not change: its ECS service
  // must still run the revision its status names.
  const { ecsMismatches } = await checkEcsRevisions(ctx, [...after, ...(await previewsOfPlan(ctx))]);
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
 * One more Environment (on the first one's landscape) and N Services, no previews, applied in one go, as `kubectl apply -f dir/` or an Argo CD sync does: the
 * Services arrive while their Environment is not Ready yet, and must be woken by it becoming Ready (not by a
 * timer), so that nothing is left to do once everything is Ready.
 */
export function togetherPhase(ctx: BenchContext): Promise<ColdResult> {
  const on = { environment: TOGETHER_ENVIRONMENT, prefix: 'tog' };
  const indexes = Array.from({ length: ctx.options.services }, (_, i) => i);
  const manifests = indexes.map((i) => serviceManifest(ctx.namespace, i, '1.0.0', on));
  const names = indexes.map((i) => serviceName(i, on.prefix));
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
