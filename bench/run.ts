// `npm run bench [-- --environments E --services N --previews P --workers W --samples K --phase-timeout S
//                  --timeout S --idle-window S --ecs-rollouts complete|never --skip fan-out,together,drift
//                  --drift-resync S --drift-events --event-history --reuse-env]`
//
// Starts the local environment (etcd, kube-apiserver, moto on loopback), installs crds/, creates the AWS
// prerequisites (one VPC, certificate and zone per Environment), runs the real operator in this process, and
// measures: E Environments; one Service alone; N Services on each Environment and P previews at once (cold
// convergence); a forced pass over everything in sync (must write nothing); a new image for all E×N Services at
// once (exactly one RegisterTaskDefinition each); the time to correct one out-of-band change with drift events and
// with the periodic resync alone; memory; and the same AWS calls replayed without the operator. Prints markdown to
// stdout, writes bench/results/<date>-<N>svc[-rollouts-never].json (<date>-<E>env-<N>svc-<P>prev... with several
// Environments or previews; never over an earlier run's file), exits 1 if a check failed.
import { cpus, loadavg, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Environment, PreviewDeployment, Service } from '../src/api/index.js';
import { AwsClients } from '../src/aws/clients.js';
import { RateLimits } from '../src/aws/rate-limits.js';
import { ENVIRONMENT_TYPE, PREVIEW_TYPE, SERVICE_TYPE } from '../src/controllers/resource-types.js';
import type { Operator } from '../src/operator.js';
import type { KubeObject } from '../src/runtime/index.js';
import { startLocalEnvironment, type LocalEnvironment } from '../test/env/index.js';
import { onInterrupt } from '../test/env/interrupt.js';
import { KUBERNETES_VERSION, MOTO_VERSION } from '../test/env/versions.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../test/support/aws-fixtures.js';
import { getTestEnv } from '../test/support/env.js';
import { EventHistoryRelay } from '../test/support/event-history-relay.js';
import { installCrds, kubeClient, kubectl } from '../test/support/kube.js';
import type { BenchContext } from './context.js';
import { ENVIRONMENT_NAME } from './manifests.js';
import { parseBenchOptions } from './options.js';
import { benchPlan, resultFileName } from './scale.js';
import { cpuSnapshot, environmentProcesses } from './cpu.js';
import { sampleMemory, type MemorySample } from './memory.js';
import { round } from './metrics.js';
import { startBenchOperator } from './operator.js';
import {
  coldPhase,
  environmentPhase,
  fanOutPhase,
  idlePhase,
  togetherPhase,
  singlePhase,
  steadyPhase,
  type SteadyResult,
} from './phases.js';
import { renderMarkdown, type BenchResults, type Check } from './report.js';
import { driftPhase } from './drift.js';
import { runMinimalReplay, runReplay, sharedResources } from './replay.js';

const root = join(import.meta.dirname, '..');

/** The commit under measurement; outside a git checkout (an exported tree), what the caller says it is. */
function sourceState(): BenchResults['source'] {
  try {
    const git = (args: string[]) =>
      execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
    const dirty = git(['status', '--porcelain', '--', 'src'])
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(3));
    return { commit: git(['rev-parse', 'HEAD']).trim(), dirty };
  } catch {
    return { commit: process.env.SLIPWAY_BENCH_COMMIT ?? 'unknown', dirty: [] };
  }
}

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const options = parseBenchOptions(process.argv.slice(2), process.env);
const startedAt = new Date();
const plan = benchPlan(options.environments, options.services, options.previews);
/** Services in all (E×N), and Services and previews together. */
const n = plan.services.length;
const workloads = n + plan.previews.length;

let env: LocalEnvironment | undefined;
let operator: Operator | undefined;
const memory: Record<string, MemorySample> = {};
const checks: Check[] = [];
const skipped: Record<string, string> = {};
const results: { -readonly [K in keyof BenchResults]: BenchResults[K] } = {
  startedAt: startedAt.toISOString(),
  source: sourceState(),
  durationS: 0,
  machine: {
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    kubernetes: KUBERNETES_VERSION,
    moto: MOTO_VERSION,
    loadAverage: { start: round(loadavg()[0]!, 2) },
  },
  options: {
    environments: options.environments,
    services: options.services,
    previews: options.previews,
    workers: options.workers,
    replaySamples: options.replaySamples,
    phaseTimeoutMs: options.phaseTimeoutMs,
    runTimeoutMs: options.runTimeoutMs,
    ecsRollouts: options.ecsRollouts,
    idleWindowMs: options.idleWindowMs,
    skip: options.skip,
    driftResyncS: options.driftResyncS,
    driftEvents: options.driftEvents,
    eventHistory: options.eventHistory,
  },
  memory,
  checks,
  skipped,
};

async function shutdown(): Promise<void> {
  await operator?.stop().catch((err: unknown) => log(`operator stop: ${String(err)}`));
  operator = undefined;
  await env?.stop().catch((err: unknown) => log(`environment stop: ${String(err)}`));
  env = undefined;
}

// The whole run is bounded: past the deadline, tear everything down and leave.
const deadline = setTimeout(() => {
  log(`run deadline of ${options.runTimeoutMs / 1000}s exceeded; stopping`);
  void shutdown().finally(() => process.exit(3));
}, options.runTimeoutMs);
deadline.unref();

function steadyCheck(name: string, p: SteadyResult): Check {
  const writes = Object.entries(p.writes);
  return {
    name,
    ok: writes.length === 0,
    detail:
      writes.length === 0
        ? `0 writes in ${p.calls.total} calls`
        : `WRITES IN STEADY STATE: ${writes.map(([op, c]) => `${op}×${c}`).join(', ')}`,
  };
}

async function main(): Promise<void> {
  if (options.reuseEnv && process.env.SLIPWAY_KUBECONFIG && process.env.SLIPWAY_AWS_ENDPOINT) {
    log('reusing the environment named by SLIPWAY_KUBECONFIG and SLIPWAY_AWS_ENDPOINT');
  } else {
    // The emulator's ECS reports a deployment complete when the desired task count (1 here) is running.
    const motoEnv: Record<string, string> = options.ecsRollouts === 'complete' ? { MOTO_ECS_SERVICE_RUNNING: '1' } : {};
    env = await startLocalEnvironment({ log: (l) => log(`env: ${l}`), motoEnv });
    Object.assign(process.env, env.exports);
  }
  // Blocking kubectl is fine here: the operator has not started yet.
  installCrds();
  const suffix = uniqueSuffix();
  const namespace = `bench-${suffix}`;
  kubectl(['create', 'namespace', namespace]);
  const aws = testAws();
  // Each Environment has its own VPC, certificate and hosted zone; the first keeps the single-Environment domain.
  const lands: Landscape[] = [];
  for (const e of plan.environments)
    lands.push(
      await createLandscape(
        aws,
        e.landscape === 0 ? `bench-${suffix}.shop.test` : `bench-${suffix}-e${e.landscape}.shop.test`,
      ),
    );
  const land = lands[0]!;
  memory.start = sampleMemory();
  // moto does not serve CloudTrail's event history: with --event-history a relay plays it in front of the emulator,
  // recording every write, as AWS's history does in every account (without, LookupEvents fails and waves read all).
  const history = options.eventHistory ? new EventHistoryRelay(new URL(getTestEnv().awsEndpoint)) : undefined;
  const endpoint = history ? await history.listen() : undefined;
  if (history) onInterrupt(() => history.close());
  operator = await startBenchOperator(options.workers, namespace, endpoint);
  // Interrupted, the operator stops before the servers it talks to (test/env/interrupt.ts: newest first).
  // In this process, so bounded: the exit that follows ends whatever it still waits on.
  onInterrupt(() => Promise.race([operator?.stop(), new Promise((r) => setTimeout(r, 10_000).unref())]));
  const kube = kubeClient();
  const ctx: BenchContext = {
    options,
    namespace,
    land,
    lands,
    plan,
    operator,
    aws,
    environments: kube.resource<Environment>(ENVIRONMENT_TYPE),
    services: kube.resource<Service>(SERVICE_TYPE),
    previews: kube.resource<PreviewDeployment>(PREVIEW_TYPE),
    rawEnvironments: kube.resource<KubeObject>(ENVIRONMENT_TYPE),
    rawServices: kube.resource<KubeObject>(SERVICE_TYPE),
    rawPreviews: kube.resource<KubeObject>(PREVIEW_TYPE),
    names: plan.services.map((s) => s.name),
    processes: environmentProcesses(getTestEnv().kubeconfigPath),
  };

  log(`${plan.environments.length} Environment(s)`);
  results.environment = await environmentPhase(ctx);
  log(`Environments Ready in ${results.environment.doneMs} ms; one Service alone`);
  results.single = await singlePhase(ctx);
  memory.beforeServices = sampleMemory();
  log(`cold: ${n} Services and ${plan.previews.length} previews`);
  results.cold = await coldPhase(ctx);
  const mismatches = results.cold.ecsMismatches ?? [];
  checks.push({
    name: 'after cold every ECS service (Services and previews) runs the revision its status names',
    ok: mismatches.length === 0,
    detail: mismatches.length === 0 ? `${workloads} of ${workloads}` : mismatches.slice(0, 5).join('; '),
  });
  memory.afterCold = sampleMemory();
  log(`cold: all Ready in ${results.cold.doneMs} ms, quiet at ${results.cold.quietMs} ms; steady pass`);
  results.steady = await steadyPhase(ctx, 'first');
  checks.push(steadyCheck('steady pass writes nothing', results.steady));
  log(`steady pass: ${results.steady.calls.total} calls in ${results.steady.quietMs} ms; a second one`);
  // The first pass after cold still describes each new task-definition revision once; the second is what every
  // resync costs while nothing changes.
  results.steadyAgain = await steadyPhase(ctx, 'again');
  checks.push(steadyCheck('second steady pass writes nothing', results.steadyAgain));
  memory.afterSteady = sampleMemory();
  log(`second steady pass: ${results.steadyAgain.calls.total} calls in ${results.steadyAgain.quietMs} ms`);
  if (!options.skip.includes('fan-out')) await fanOut(ctx);
  else skipped.fanOut = 'left out with --skip fan-out';
  if (options.idleWindowMs > 0) {
    log(`idle: watching the operator for ${options.idleWindowMs / 1000}s`);
    results.idle = await idlePhase(ctx);
    if (options.ecsRollouts === 'complete') {
      // With --drift-events the operator long-polls the Environment's queue (one ReceiveMessage per 20 s): waiting
      // for events, not acting.
      const polls = results.idle.calls.byOperation['sqs:ReceiveMessage'] ?? 0;
      checks.push({
        name: 'an idle operator with everything in sync makes no AWS calls (but the drift-event poll)',
        ok: results.idle.calls.total - polls === 0,
        detail: `${results.idle.calls.total} calls and ${results.idle.metrics.reconciles.service ?? 0} Service reconciles in ${options.idleWindowMs / 1000} s`,
      });
    }
  }
  if (!options.skip.includes('together')) await together(ctx);
  else skipped.together = 'left out with --skip together';
  // Deployments that never complete keep the operator busy, so no change could be costed alone.
  if (options.skip.includes('drift')) skipped.drift = 'left out with --skip drift';
  else if (options.ecsRollouts !== 'complete')
    skipped.drift = 'deployments that never complete keep the operator busy, so no change can be costed alone';
  else await drift(ctx);
  await replays(ctx, suffix, land);
}

async function fanOut(ctx: BenchContext): Promise<void> {
  log('update fan-out');
  results.fanOut = await fanOutPhase(ctx);
  const f = results.fanOut;
  checks.push({
    name: 'fan-out registers one task definition revision per Service (none for previews, whose tag is unchanged)',
    ok: f.registerTaskDefinition === n && f.skipped.length === 0,
    detail: `RegisterTaskDefinition ×${f.registerTaskDefinition} for ${n} Services${f.skipped.length > 0 ? `; revisions skipped: ${f.skipped.join(', ')}` : ''}`,
  });
  checks.push({
    name: 'after fan-out every ECS service (Services and previews) runs the revision its status names',
    ok: f.ecsMismatches.length === 0,
    detail: f.ecsMismatches.length === 0 ? `${workloads} of ${workloads}` : f.ecsMismatches.slice(0, 5).join('; '),
  });
  log(`fan-out: all at the new revision in ${f.doneMs} ms; steady pass after it`);
  results.steadyAfterFanOut = await steadyPhase(ctx, 'after-fan-out');
  checks.push(steadyCheck('steady pass after fan-out writes nothing', results.steadyAfterFanOut));
  memory.afterFanOut = sampleMemory();
}

async function together(ctx: BenchContext): Promise<void> {
  // One more Environment with N Services applied in one go; then nothing may be left to do once all are Ready.
  log(`together: one more Environment and ${options.services} Services in one apply`);
  results.together = await togetherPhase(ctx);
  log(`together: all Ready in ${results.together.doneMs} ms, quiet at ${results.together.quietMs} ms`);
  if (options.idleWindowMs > 0) {
    results.togetherIdle = await idlePhase(ctx);
    if (options.ecsRollouts === 'complete') {
      checks.push({
        name: 'after an Environment and its Services applied together are Ready, the operator makes no AWS calls',
        ok:
          results.togetherIdle.calls.total - (results.togetherIdle.calls.byOperation['sqs:ReceiveMessage'] ?? 0) === 0,
        detail: `${results.togetherIdle.calls.total} calls (${Object.entries(results.togetherIdle.calls.byOperation)
          .map(([op, c]) => `${op} ×${c}`)
          .join(
            ', ',
          )}) and ${results.togetherIdle.metrics.reconciles.service ?? 0} Service reconciles in ${options.idleWindowMs / 1000} s`,
      });
    }
  }
}

async function drift(ctx: BenchContext): Promise<void> {
  log('drift: one ModifyRule corrected through its CloudTrail event, then by the resync alone');
  const d = await driftPhase(ctx, options.driftResyncS);
  results.drift = d;
  log(
    `drift: corrected in ${d.withEvents.doneMs} ms with events, ${d.withoutEvents.doneMs} ms by the resync (${d.resyncInterval})`,
  );
  const r = d.withEvents.metrics.reconciles;
  checks.push({
    name: "a drift event reconciles the changed rule's Service and nothing else",
    ok: (r.service ?? 0) === 1 && (r.environment ?? 0) === 0,
    detail: `${r.service ?? 0} Service and ${r.environment ?? 0} Environment reconciles`,
  });
}

async function replays(ctx: BenchContext, suffix: string, land: Landscape): Promise<void> {
  const { namespace, aws } = ctx;
  // The replay runs with the operator stopped, so that only the script talks to the emulator.
  const envObj = await ctx.environments.get({ namespace, name: ENVIRONMENT_NAME });
  await operator?.stop();
  operator = undefined;
  if (options.replaySamples > 0 && plan.previews.length > 0) {
    // The replay makes a Service's writes for each replayed object, which a preview (no autoscaling) does not.
    skipped.replay =
      "the replay of the cold calls replays Services' writes only, and the cold phase had previews (the minimal replay covers them)";
  } else if (options.replaySamples > 0) {
    log(`replay: ${options.replaySamples} Services one at a time, then ${n} at ${options.workers} at a time`);
    results.replay = await runReplay(
      aws,
      sharedResources(envObj, land),
      { solo: results.single!.create.calls.byOperation, cold: results.cold!.calls.byOperation },
      {
        operatorServices: n,
        samples: options.replaySamples,
        concurrency: options.workers,
        tag: suffix,
        cpu: () => cpuSnapshot(ctx.processes),
      },
    );
    checks.push({
      name: 'replay calls all succeeded',
      ok: results.replay.concurrent.failed === 0 && results.replay.failures.length === 0,
      detail:
        results.replay.failures.length === 0
          ? `${results.replay.concurrent.calls} calls`
          : results.replay.failures.slice(0, 3).join('; '),
    });
  }
  // The minimal call set, at the operator's concurrency and rate limits (fresh buckets): what the cold phase is
  // measured against.
  const testEnv = getTestEnv();
  const limited = new AwsClients({
    region: testEnv.awsRegion,
    endpoint: testEnv.awsEndpoint,
    credentials: testEnv.awsCredentials,
    rateLimitRegistry: new RateLimits(),
  });
  log(
    `minimal replay: the writes of ${n} Services and ${plan.previews.length} previews and one read per kind, ${options.workers} at a time`,
  );
  results.minimalReplay = await runMinimalReplay(limited, sharedResources(envObj, land), {
    services: n,
    previews: plan.previews.length,
    environments: plan.environments.length,
    concurrency: options.workers,
    tag: suffix,
  });
  limited.destroy();
  aws.destroy();
}

let code = 0;
try {
  await main();
} catch (err) {
  results.error = err instanceof Error ? err.message : String(err);
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  code = 2;
} finally {
  await shutdown();
}
results.durationS = Math.round((Date.now() - startedAt.getTime()) / 1000);
results.machine.loadAverage.end = round(loadavg()[0]!, 2);
const failed = checks.filter((c) => !c.ok);
if (failed.length > 0) {
  code ||= 1;
  for (const c of failed)
    process.stderr.write(`\n!!!!!!!! BENCHMARK CHECK FAILED: ${c.name}: ${c.detail} !!!!!!!!\n\n`);
}
const dir = join(root, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(
  dir,
  resultFileName(startedAt.toISOString().slice(0, 10), options, options.ecsRollouts === 'never', (name) =>
    existsSync(join(dir, name)),
  ),
);
writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
process.stdout.write(renderMarkdown(results as BenchResults) + '\n');
log(`results written to ${file}`);
clearTimeout(deadline);
process.exit(code);
