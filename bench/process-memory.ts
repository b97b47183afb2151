// `npm run bench:memory [-- --services N --previews P --workers W --steady S --settle-timeout S --until reconciled|ready
//                         --environment ready|absent --waves W --drift-events --event-history --no-rate-limits
//                         --no-build --reuse-env
//                         --root DIR --label L]`
//
// The memory of the production entry point: `node dist/main.js` as a process of its own (built first), watching one
// namespace of the local environment with the same settings the benchmark's in-process operator uses (client-side
// rate limits on, leader election off). Its VmRSS and VmHWM come from /proc/<pid>/status and its heap from its own
// /metrics; nothing is injected into it. Samples:
//
//   start    informers synced (/readyz) with no object, queue quiet
//   synced   one Environment, N Services and P PreviewDeployments created, each reconciled at least once (or, with
//            `--until ready`, each Ready for its generation and every preview Active: converged), queue quiet
//            (or --settle-timeout reached: the result says which)
//   steady   after --steady seconds more, with the RSS seen every 5 s during that window
//   waves    with `--waves W` (and `--environment ready`), after the steady sample: W resync waves asked for one after
//            another with the resync annotation, each done when every workload has reconciled again and the queue is
//            quiet; per wave, the AWS calls by operation from the process's own slipway_aws_calls_total (the steady
//            reads of the production process at this size) and the RSS after it
//
// The AWS calls from the creation to the synced sample are kept too (`cold`): with `--until ready`, the cold
// convergence of the production process, to set against the minimal replay (bench/replay.ts) of the same workloads.
//
// `--environment ready` (default) makes the Environment Ready in moto first, then creates the workloads, which the
// operator reconciles against moto for real (Services past the load balancer's quotas and previews past maxActive
// end where the operator puts them; the result counts the states). `--environment absent` points every workload at
// an Environment that does not exist: each is reconciled once, fails to find it, and stays in the cache with that
// status. `--root DIR` runs the dist/main.js of another tree (e.g. `git archive` of a commit, node_modules linked).
// Writes bench/results/<date>-memory-<N>svc-<P>prev[-absent][-L].json and prints a markdown table.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Environment, PreviewDeployment, Service } from '../src/api/index.js';
import { ENVIRONMENT_TYPE, PREVIEW_TYPE, SERVICE_TYPE } from '../src/controllers/resource-types.js';
import { RESYNC_ANNOTATION, ROTATION_SLOTS } from '../src/controllers/waves.js';
import type { KubeObject, ResourceClient, ResourceType } from '../src/runtime/index.js';
import { startLocalEnvironment, type LocalEnvironment } from '../test/env/index.js';
import { onInterrupt } from '../test/env/interrupt.js';
import { freePort } from '../test/env/processes.js';
import { KUBERNETES_VERSION, MOTO_VERSION } from '../test/env/versions.js';
import { createLandscape, testAws, uniqueSuffix } from '../test/support/aws-fixtures.js';
import { imageEnv } from '../test/support/dockerfile.js';
import { EMULATOR_LOAD_BALANCER_QUOTA, getTestEnv } from '../test/support/env.js';
import { EventHistoryRelay } from '../test/support/event-history-relay.js';
import { installCrds, kubeClient, kubectl } from '../test/support/kube.js';
import {
  ENVIRONMENT_NAME,
  environmentManifest,
  previewManifest,
  serviceManifest,
  serviceName,
  type Manifest,
} from './manifests.js';
import { snapshotDelta, type CallDelta, type CallSnapshot } from './calls.js';
import { round } from './metrics.js';
import { MAX_PREVIEWS_PER_ENVIRONMENT } from './scale.js';
import { BenchTimeout, until } from './wait.js';

interface Options {
  readonly services: number;
  readonly previews: number;
  readonly workers: number;
  readonly steadyMs: number;
  readonly settleTimeoutMs: number;
  readonly environment: 'ready' | 'absent';
  /** What `synced` waits for: each object reconciled once, or each one Ready (a converged operator's caches). */
  readonly until: 'reconciled' | 'ready';
  readonly build: boolean;
  readonly reuseEnv: boolean;
  readonly rateLimits: boolean;
  /** The tree whose dist/main.js runs (built there first unless --no-build): this checkout by default. */
  readonly root: string;
  /** Appended to the result file's name, to keep runs of several trees apart. */
  readonly label: string;
  /** Resync waves to measure after the steady sample. */
  readonly waves: number;
  /** spec.drift.events on the Environment (the waves then read the rotating attributes only). */
  readonly driftEvents: boolean;
  /** CloudTrail's event history served by a relay in front of the emulator (the waves without events read it). */
  readonly eventHistory: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      services: { type: 'string', default: '1000' },
      previews: { type: 'string', default: '1000' },
      workers: { type: 'string', default: '4' },
      steady: { type: 'string', default: '120' },
      'settle-timeout': { type: 'string', default: '1800' },
      environment: { type: 'string', default: 'ready' },
      until: { type: 'string', default: 'reconciled' },
      'no-build': { type: 'boolean', default: false },
      'reuse-env': { type: 'boolean', default: false },
      'no-rate-limits': { type: 'boolean', default: false },
      root: { type: 'string', default: join(import.meta.dirname, '..') },
      label: { type: 'string', default: '' },
      waves: { type: 'string', default: '0' },
      'drift-events': { type: 'boolean', default: false },
      'event-history': { type: 'boolean', default: false },
    },
  });
  const int = (name: string, v: string, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${v}"`);
    return n;
  };
  const environment = values.environment;
  if (environment !== 'ready' && environment !== 'absent')
    throw new Error(`--environment must be ready or absent, got "${environment}"`);
  const until = values.until;
  if (until !== 'reconciled' && until !== 'ready')
    throw new Error(`--until must be reconciled or ready, got "${until}"`);
  if (until === 'ready' && environment === 'absent')
    throw new Error('--until ready needs --environment ready: with the Environment absent nothing becomes Ready');
  // Up to a whole rotation (drift events on): each listing read in its own wave shows up in one of them.
  const waves = int('waves', values.waves, 0, ROTATION_SLOTS + 1);
  if (waves > 0 && environment === 'absent')
    throw new Error('--waves needs --environment ready: an absent Environment opens no wave');
  return {
    services: int('services', values.services, 0, 5000),
    previews: int('previews', values.previews, 0, 5000),
    workers: int('workers', values.workers, 1, 64),
    steadyMs: int('steady', values.steady, 0, 3600) * 1000,
    settleTimeoutMs: int('settle-timeout', values['settle-timeout'], 10, 4 * 3600) * 1000,
    environment,
    until,
    build: !values['no-build'],
    reuseEnv: values['reuse-env'],
    rateLimits: !values['no-rate-limits'],
    root: values.root,
    label: values.label,
    waves,
    driftEvents: values['drift-events'],
    eventHistory: values['event-history'],
  };
}

/** One resync wave of the production process, asked for with the annotation (--waves). */
export interface WaveResult {
  readonly durationS: number;
  /** Passes of the Service and preview controllers during it (each workload at least once). */
  readonly reconciles: number;
  /** False when the settle timeout ended the wait for a quiet queue: the calls are then those of part of a wave. */
  readonly settled: boolean;
  readonly calls: CallDelta;
  readonly readsPerWorkload: number;
  /**
   * The slot of the rotation it read (drift events on), from the last 'resync wave' the operator logged: its wave
   * number modulo ROTATION_SLOTS. Undefined when the log does not say.
   */
  readonly slot?: number;
  /** After the wave, queue quiet. */
  readonly sample: ProcessSample;
}

/** One reading of the operator process. MiB throughout. */
export interface ProcessSample {
  readonly atS: number;
  /** VmRSS: resident now. */
  readonly rssMiB: number;
  /** VmHWM: the highest RSS so far. */
  readonly hwmMiB: number;
  /** From the operator's /metrics (prom-client's default metrics), when it served them. */
  readonly heapUsedMiB?: number;
  readonly heapTotalMiB?: number;
  readonly externalMiB?: number;
  /** CPU seconds the process has used so far, user and system (from /proc/<pid>/stat): what a V8 flag costs. */
  readonly cpuS?: number;
}

const mib = (bytes: number) => round(bytes / 2 ** 20, 1);

function procStatus(pid: number): { rssMiB: number; hwmMiB: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssMiB: round(kib('VmRSS') / 1024, 1), hwmMiB: round(kib('VmHWM') / 1024, 1) };
}

/** utime + stime of /proc/<pid>/stat (fields 14 and 15, after the parenthesised command), in seconds. */
function procCpuSeconds(pid: number): number | undefined {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const perSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return Number.isFinite(ticks) ? round(ticks / perSecond, 1) : undefined;
}

/** Prometheus text format, summed over every label set of each metric name. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[2]);
    if (Number.isFinite(v)) out.set(m[1]!, (out.get(m[1]!) ?? 0) + v);
  }
  return out;
}

/** The samples of one metric in Prometheus text, each with its labels. */
function samplesOf(text: string, metric: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m || m[1] !== metric) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/** The passes of the Service and preview controllers (controller_runtime_reconcile_total), the Environment's left out. */
function workloadPasses(text: string): number {
  return samplesOf(text, 'controller_runtime_reconcile_total')
    .filter((s) => s.labels.controller === 'service' || s.labels.controller === 'preview')
    .reduce((n, s) => n + s.value, 0);
}

/** slipway_aws_calls_total as `service:operation:outcome` → calls, the shape bench/calls.ts compares. */
function awsCalls(text: string): CallSnapshot {
  const out = new Map<string, number>();
  for (const { labels, value } of samplesOf(text, 'slipway_aws_calls_total')) {
    const key = `${labels.service ?? ''}:${labels.operation ?? ''}:${labels.outcome ?? ''}`;
    out.set(key, (out.get(key) ?? 0) + value);
  }
  return out;
}

/** `node dist/main.js`, its log in a file, its probes on a port of its own. */
class OperatorUnderTest {
  private readonly child: ChildProcess;
  readonly startedAt = Date.now();

  constructor(
    readonly port: number,
    env: Readonly<Record<string, string>>,
    readonly logFile: string,
  ) {
    const fd = openSync(logFile, 'w');
    this.child = spawn(process.execPath, [join(root, 'dist/main.js')], {
      cwd: root,
      // As the image runs it: its Dockerfile's ENV, then the chart's settings.
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ...imageEnv(readFileSync(join(root, 'Dockerfile'), 'utf8')),
        ...env,
      },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    // Interrupted, the run stops it before the servers (test/env/interrupt.ts): SIGTERM through npm reaches this
    // process alone, and Ctrl-C's SIGINT may arrive before the operator has its own handlers.
    const release = onInterrupt(() => this.stop());
    this.child.once('exit', release);
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null)
      throw new Error(`the operator process is gone (exit ${this.child.exitCode}, see ${this.logFile})`);
    return pid;
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text() };
  }

  async metrics(): Promise<Map<string, number>> {
    return parseMetrics((await this.get('/metrics')).body);
  }

  async awsCalls(): Promise<CallSnapshot> {
    return awsCalls((await this.get('/metrics')).body);
  }

  async workloadPasses(): Promise<number> {
    return workloadPasses((await this.get('/metrics')).body);
  }

  async sample(): Promise<ProcessSample> {
    const proc = procStatus(this.pid);
    const m = await this.metrics().catch(() => new Map<string, number>());
    const opt = (name: string, key: string) => (m.has(name) ? { [key]: mib(m.get(name)!) } : {});
    return {
      atS: round((Date.now() - this.startedAt) / 1000, 1),
      ...proc,
      ...opt('nodejs_heap_size_used_bytes', 'heapUsedMiB'),
      ...opt('nodejs_heap_size_total_bytes', 'heapTotalMiB'),
      ...opt('nodejs_external_memory_bytes', 'externalMiB'),
      cpuS: procCpuSeconds(this.pid),
    };
  }

  /** Nothing queued and no worker busy, for `quietMs` in a row, as its own /metrics say. */
  async waitQuiet(quietMs: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let quietSince = 0;
    for (;;) {
      const m = await this.metrics();
      const busy = (m.get('workqueue_depth') ?? 0) + (m.get('controller_runtime_active_workers') ?? 0);
      const now = Date.now();
      if (busy > 0) quietSince = 0;
      else quietSince ||= now;
      if (quietSince && now - quietSince >= quietMs) return true;
      if (now > deadline) return false;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => c.kill('SIGKILL'), 15_000);
      c.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      c.kill('SIGTERM');
    });
  }
}

const log = (line: string) => process.stderr.write(`[bench:memory] ${line}\n`);
const options = parseOptions();
const root = options.root;
const here = join(import.meta.dirname, '..');
const startedAt = new Date();

/** The i-th preview (0-based), on the Services in turn: `pr-0001`, … */
function previewOf(namespace: string, i: number, services: number, environment: string): Manifest {
  const n = i + 1;
  const service = serviceName(i % Math.max(services, 1));
  return previewManifest(namespace, { name: `pr-${String(n).padStart(4, '0')}`, environment, service, number: n });
}

async function createAll(client: ResourceClient<KubeObject>, objects: readonly Manifest[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < objects.length; i = next++) await client.create(objects[i]!);
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

type WithStatus = KubeObject & {
  readonly status?: {
    readonly observedGeneration?: number;
    readonly phase?: string;
    readonly conditions?: readonly { type: string; status: string; reason?: string }[];
  };
};

/**
 * How many of the list have been reconciled for their generation, how many of those are Ready (and Active, for a
 * preview: a phase other than Active is not converged), and their states by Ready reason or phase.
 */
function states(items: readonly WithStatus[]): { reconciled: number; ready: number; byState: Record<string, number> } {
  const byState: Record<string, number> = {};
  let reconciled = 0;
  let readyCount = 0;
  for (const o of items) {
    const current = o.status?.observedGeneration === o.metadata?.generation;
    if (current) reconciled++;
    const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
    if (current && ready?.status === 'True' && (o.status?.phase ?? 'Active') === 'Active') readyCount++;
    const key =
      o.status?.phase ?? (ready ? `Ready=${ready.status}${ready.reason ? ` (${ready.reason})` : ''}` : 'none');
    byState[key] = (byState[key] ?? 0) + 1;
  }
  return { reconciled, ready: readyCount, byState };
}

interface Results {
  startedAt: string;
  commit: string;
  dirty: string[];
  machine: Record<string, unknown>;
  options: Options;
  /** The Dockerfile's ENV the operator ran with (NODE_OPTIONS among them). */
  imageEnv: Record<string, string>;
  samples: Record<string, ProcessSample>;
  steadySeries: ProcessSample[];
  settled?: boolean;
  settleS?: number;
  services?: Record<string, number>;
  previews?: Record<string, number>;
  waves: WaveResult[];
  /**
   * The AWS calls from the workloads' creation to the synced sample (`--until ready`: the cold convergence of the
   * Environment's Services and previews, its own shards included), by operation.
   */
  cold?: CallDelta;
  error?: string;
  durationS?: number;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
  } catch {
    return '';
  }
}

const results: Results = {
  startedAt: startedAt.toISOString(),
  commit: git(['rev-parse', 'HEAD']).trim() || process.env.SLIPWAY_BENCH_COMMIT || 'unknown',
  dirty: git(['status', '--porcelain', '--', 'src'])
    .split('\n')
    .filter(Boolean)
    .map((l) => l.slice(3)),
  machine: {
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kubernetes: KUBERNETES_VERSION,
    moto: MOTO_VERSION,
    loadAverageStart: round(loadavg()[0]!, 2),
  },
  options,
  imageEnv: imageEnv(readFileSync(join(root, 'Dockerfile'), 'utf8')),
  samples: {},
  steadySeries: [],
  waves: [],
};

let env: LocalEnvironment | undefined;
let operator: OperatorUnderTest | undefined;

async function main(): Promise<void> {
  if (options.build) {
    log('npm run build');
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 2, 2] });
  }
  if (options.reuseEnv && process.env.SLIPWAY_KUBECONFIG && process.env.SLIPWAY_AWS_ENDPOINT) {
    log('reusing the environment named by SLIPWAY_KUBECONFIG and SLIPWAY_AWS_ENDPOINT');
  } else {
    env = await startLocalEnvironment({ log: (l) => log(`env: ${l}`), motoEnv: { MOTO_ECS_SERVICE_RUNNING: '1' } });
    Object.assign(process.env, env.exports);
  }
  installCrds();
  const suffix = uniqueSuffix();
  const namespace = `mem-${suffix}`;
  kubectl(['create', 'namespace', namespace]);
  const aws = testAws();
  const land = await createLandscape(aws, `mem-${suffix}.shop.test`);
  aws.destroy();
  const testEnv = getTestEnv();

  // moto does not serve CloudTrail's event history: with --event-history a relay in this process plays it in front of
  // the emulator, recording every write, as AWS's history does in every account.
  const history = options.eventHistory ? new EventHistoryRelay(new URL(testEnv.awsEndpoint)) : undefined;
  const awsEndpoint = history ? await history.listen() : testEnv.awsEndpoint;
  if (history) onInterrupt(() => history.close());
  const port = await freePort();
  const logFile = join(tmpdir(), `slipway-bench-memory-${suffix}.log`);
  operator = new OperatorUnderTest(
    port,
    {
      KUBECONFIG: testEnv.kubeconfigPath,
      SLIPWAY_CLUSTER_ID: 'bench',
      SLIPWAY_AWS_ENDPOINT: awsEndpoint,
      AWS_REGION: testEnv.awsRegion,
      AWS_ACCESS_KEY_ID: testEnv.awsCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: testEnv.awsCredentials.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      SLIPWAY_LEADER_ELECTION: 'false',
      SLIPWAY_METRICS_PORT: String(port),
      SLIPWAY_WORKERS: String(options.workers),
      SLIPWAY_WATCH_NAMESPACE: namespace,
      SLIPWAY_AWS_RATE_LIMITS: String(options.rateLimits),
      SLIPWAY_LOAD_BALANCER_QUOTA: EMULATOR_LOAD_BALANCER_QUOTA,
    },
    logFile,
  );
  log(`node dist/main.js: pid ${operator.pid}, port ${port}, log ${logFile}`);
  const op = operator;
  await until(
    'the operator is ready',
    async () => (await op.get('/readyz').catch(() => undefined))?.status === 200,
    60_000,
    100,
  );
  await op.waitQuiet(1500, 60_000);
  results.samples.start = await op.sample();
  log(`start: ${JSON.stringify(results.samples.start)}`);

  const kube = kubeClient();
  const raw = (t: ResourceType) => kube.resource<KubeObject>(t);
  const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
  const services = kube.resource<Service>(SERVICE_TYPE);
  const previews = kube.resource<PreviewDeployment>(PREVIEW_TYPE);
  const envName = options.environment === 'ready' ? ENVIRONMENT_NAME : 'absent';
  if (options.environment === 'ready') {
    const manifest = environmentManifest(namespace, land, ENVIRONMENT_NAME, 0, options.driftEvents);
    const withPreviews: Manifest = {
      ...manifest,
      spec: { ...manifest.spec, previews: { enabled: true, maxActive: MAX_PREVIEWS_PER_ENVIRONMENT } },
    };
    await raw(ENVIRONMENT_TYPE).create(withPreviews);
    await until(
      'the Environment is Ready',
      async () => {
        const e = await environments.get({ namespace, name: ENVIRONMENT_NAME });
        return e.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
      },
      600_000,
      500,
    );
    log('Environment Ready');
  }
  const serviceObjects = Array.from({ length: options.services }, (_, i) =>
    serviceManifest(namespace, i, '1.0.0', { environment: envName, prefix: 'svc' }),
  );
  const previewObjects = Array.from({ length: options.previews }, (_, i) =>
    previewOf(namespace, i, options.services, envName),
  );
  const settleStart = Date.now();
  const coldBefore = await op.awsCalls();
  log(`creating ${options.services} Services and ${options.previews} PreviewDeployments`);
  await createAll(raw(SERVICE_TYPE), serviceObjects);
  await createAll(raw(PREVIEW_TYPE), previewObjects);
  log(
    options.until === 'ready'
      ? 'created; waiting until each is Ready and the queue is quiet'
      : 'created; waiting until each has been reconciled once and the queue is quiet',
  );

  const deadline = settleStart + options.settleTimeoutMs;
  let settled = false;
  let lastLog = 0;
  for (;;) {
    const s = states((await services.list({ namespace })).items as readonly WithStatus[]);
    const p = states((await previews.list({ namespace })).items as readonly WithStatus[]);
    results.services = s.byState;
    results.previews = p.byState;
    if (Date.now() - lastLog > 30_000) {
      lastLog = Date.now();
      log(
        `reconciled ${s.reconciled}/${options.services} Services, ${p.reconciled}/${options.previews} previews; Ready ${s.ready} and ${p.ready}; rss ${procStatus(op.pid).rssMiB} MiB`,
      );
    }
    const done = options.until === 'ready' ? [s.ready, p.ready] : [s.reconciled, p.reconciled];
    if (done[0] === options.services && done[1] === options.previews) {
      settled = await op.waitQuiet(3000, Math.max(0, deadline - Date.now()));
      break;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  results.settled = settled;
  results.settleS = round((Date.now() - settleStart) / 1000, 1);
  results.samples.synced = await op.sample();
  results.cold = snapshotDelta(await op.awsCalls(), coldBefore);
  log(`cold: ${results.cold.total} AWS calls (${results.cold.reads} reads, ${results.cold.writes} writes)`);
  log(
    `synced (${settled ? 'quiet' : 'settle timeout reached'}) after ${results.settleS}s: ${JSON.stringify(results.samples.synced)}`,
  );

  // The steady window: the operator runs on its own (resyncs, requeues of what is blocked); RSS every 5 s.
  const steadyEnd = Date.now() + options.steadyMs;
  while (Date.now() < steadyEnd) {
    await new Promise((r) => setTimeout(r, Math.min(5000, Math.max(0, steadyEnd - Date.now()))));
    results.steadySeries.push(await op.sample());
  }
  results.samples.steady = await op.sample();
  const finalS = states((await services.list({ namespace })).items as readonly WithStatus[]);
  const finalP = states((await previews.list({ namespace })).items as readonly WithStatus[]);
  results.services = finalS.byState;
  results.previews = finalP.byState;
  log(`steady: ${JSON.stringify(results.samples.steady)}`);

  // Resync waves, one after another: what each costs in AWS reads at this size, in the production process.
  const workloads = options.services + options.previews;
  for (let i = 1; i <= options.waves; i++) {
    const before = await op.awsCalls();
    const passesBefore = await op.workloadPasses();
    const began = Date.now();
    const patch = { metadata: { annotations: { [RESYNC_ANNOTATION]: `bench-memory-${i}-${began}` } } };
    await raw(ENVIRONMENT_TYPE).mergePatch({ namespace, name: ENVIRONMENT_NAME }, patch);
    await until(
      `wave ${i}: every workload reconciled again`,
      async () => (await op.workloadPasses()) - passesBefore >= workloads,
      options.settleTimeoutMs,
      1000,
    );
    const settled = await op.waitQuiet(3000, options.settleTimeoutMs);
    const calls = snapshotDelta(await op.awsCalls(), before);
    const number = lastWaveNumber(readFileSync(logFile, 'utf8'));
    const wave: WaveResult = {
      durationS: round((Date.now() - began) / 1000, 1),
      reconciles: (await op.workloadPasses()) - passesBefore,
      settled,
      calls,
      readsPerWorkload: round(calls.reads / Math.max(workloads, 1), 2),
      // Wave 0 of a process has no rotation (controllers/waves.ts rotationOf): it reads everything.
      // Without drift events, the event history's waves (--event-history) read target groups' attributes in turn too.
      ...((options.driftEvents || options.eventHistory) && number !== undefined && number > 0
        ? { slot: number % ROTATION_SLOTS }
        : {}),
      sample: await op.sample(),
    };
    results.waves.push(wave);
    log(
      `wave ${i}${wave.slot === undefined ? '' : ` (slot ${wave.slot})`}: ${calls.reads} reads, ${calls.writes} writes (${wave.readsPerWorkload} reads per workload) in ${wave.durationS}s; rss ${wave.sample.rssMiB} MiB`,
    );
  }
}

/** The number of the last resync wave in the operator's JSON log lines (controllers/environment.ts logs it). */
function lastWaveNumber(log: string): number | undefined {
  let number: number | undefined;
  for (const line of log.split('\n')) {
    if (!line.includes('"resync wave"')) continue;
    try {
      const entry = JSON.parse(line) as { wave?: unknown };
      if (typeof entry.wave === 'number') number = entry.wave;
    } catch {
      // not a whole JSON line
    }
  }
  return number;
}

function markdown(r: Results): string {
  const rows = ['start', 'synced', 'steady'].flatMap((k) => {
    const s = r.samples[k];
    if (!s) return [];
    const f = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(1));
    return [
      `| ${k} | ${s.atS} | ${f(s.rssMiB)} | ${f(s.hwmMiB)} | ${f(s.heapUsedMiB)} | ${f(s.heapTotalMiB)} | ${f(s.externalMiB)} | ${f(s.cpuS)} |`,
    ];
  });
  const series = r.steadySeries.map((s) => s.rssMiB);
  const counts = (c: Record<string, number> | undefined) =>
    c
      ? Object.entries(c)
          .map(([k, v]) => `${k} ×${v}`)
          .join(', ')
      : '–';
  return [
    `## node dist/main.js with ${r.options.services} Services and ${r.options.previews} PreviewDeployments (${r.options.environment} Environment)`,
    '',
    `commit ${r.commit.slice(0, 7)}${r.dirty.length ? ` (+ uncommitted: ${r.dirty.join(', ')})` : ''}, node ${String(r.machine.node)}, image ENV ${JSON.stringify(r.imageEnv)}`,
    '',
    '| sample | s since start | VmRSS MiB | VmHWM MiB | heap used MiB | heap total MiB | external MiB | CPU s |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `- settled: ${r.settled ? (r.options.until === 'ready' ? 'every object Ready, then quiet' : 'every object reconciled once, then quiet') : 'NO (settle timeout reached)'} after ${r.settleS ?? '–'} s`,
    ...(r.cold
      ? [
          `- cold (creation to synced, ${r.settleS ?? '–'} s): ${r.cold.total} AWS calls, ${r.cold.reads} reads and ${r.cold.writes} writes; most: ${Object.entries(
            r.cold.byOperation,
          )
            .sort(([, a], [, b]) => b - a)
            .slice(0, 12)
            .map(([op, n]) => `${op} ${n}`)
            .join(', ')}`,
        ]
      : []),
    `- steady window RSS: ${series.length ? `min ${Math.min(...series)}, max ${Math.max(...series)} MiB over ${series.length} readings` : '–'}`,
    `- Services: ${counts(r.services)}`,
    `- PreviewDeployments: ${counts(r.previews)}`,
    ...r.waves.map(
      (w, i) =>
        `- wave ${i + 1}${w.settled ? '' : ' (NOT settled: the settle timeout ended it)'}: ${w.calls.reads} reads (${w.readsPerWorkload} per workload), ${w.calls.writes} writes, ${w.reconciles} workload passes in ${w.durationS} s, RSS after ${w.sample.rssMiB} MiB; by operation: ${Object.entries(
          w.calls.byOperation,
        )
          .sort(([, a], [, b]) => b - a)
          .map(([op, n]) => `${op} ${n}`)
          .join(', ')}`,
    ),
    ...(r.error ? [`- error: ${r.error}`] : []),
  ].join('\n');
}

let code = 0;
try {
  await main();
} catch (err) {
  results.error = err instanceof Error ? err.message : String(err);
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  code = err instanceof BenchTimeout ? 2 : 1;
} finally {
  await operator?.stop().catch((err: unknown) => log(`operator stop: ${String(err)}`));
  await env?.stop().catch((err: unknown) => log(`environment stop: ${String(err)}`));
}
results.durationS = Math.round((Date.now() - startedAt.getTime()) / 1000);
const dir = join(here, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(
  dir,
  `${startedAt.toISOString().slice(0, 10)}-memory-${options.services}svc-${options.previews}prev${options.environment === 'absent' ? '-absent' : ''}${options.until === 'ready' ? '-ready' : ''}${options.label ? `-${options.label}` : ''}.json`,
);
writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
process.stdout.write(markdown(results) + '\n');
log(`results written to ${file}`);
process.exit(code);
