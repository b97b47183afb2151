// The chaos run: the local environment, the fault proxy in front of its emulator, and the operator as a process
// pointed at the proxy. It applies one Environment and N Services while faults are injected, SIGKILLs the operator
// at seeded points of the create wave and of the deletion (restarting it each time), restarts kube-apiserver once,
// keeps changing images under faults until the time is up, then checks what the emulator holds against the plan,
// deletes everything and checks that nothing is left.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Environment, Service } from '../../src/api/index.js';
import { ENVIRONMENT_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { ENVIRONMENT_NAME, environmentManifest, serviceManifest, serviceName } from '../../bench/manifests.js';
import { startLocalEnvironment, type LocalEnvironment } from '../env/index.js';
import { freePort } from '../env/processes.js';
import { createLandscape, testAws } from '../support/aws-fixtures.js';
import { eventually, installCrds, kubeClient, kubectl } from '../support/kube.js';
import { countByKind, duplicatesIn, plannedCounts, readInventory, type Duplicate, type Found } from './inventory.js';
import { OperatorProcess } from './operator-process.js';
import { stream } from './prng.js';
import { DEFAULT_RATES, FaultProxy, type Counts, type FaultKind, type FaultRates } from './proxy.js';
import { WorkerWatch, type WorkerWatchResult } from './workers.js';
import { parseDuration } from '../../src/config.js';

export interface ChaosOptions {
  readonly services: number;
  /** Length of the create-and-churn window under faults, in minutes (deletion follows). */
  readonly minutes: number;
  readonly seed: number;
  readonly rates: FaultRates;
  /** SIGKILLs of the operator during the create wave, and during deletion. */
  readonly createKills: number;
  readonly deleteKills: number;
  /** The operator's per-attempt AWS request timeout: what ends a silent connection. */
  readonly requestTimeout: string;
  readonly passDeadline: string;
  /** How far past the pass deadline a worker may be seen holding its key before the run fails. */
  readonly workerGraceMs: number;
  /** Deadline for everything to be Ready after an apply or a change. */
  readonly readyTimeoutMs: number;
  /** After the faults stop, how long everything may take to be gone (the issue's bound: 5 minutes). */
  readonly goneTimeoutMs: number;
  /**
   * How long the faults go on during deletion before they stop (the bound above starts then); longer, up to three
   * times this, while a kill point of the deletion is not reached yet.
   */
  readonly deleteFaultWindowMs: number;
  /** After the faults stop, how long duplicates may take to be removed before the counts are checked. */
  readonly settleMs: number;
  readonly log: (line: string) => void;
}

export const DEFAULT_OPTIONS: Omit<ChaosOptions, 'services' | 'minutes' | 'seed' | 'log'> = {
  rates: DEFAULT_RATES,
  createKills: 3,
  deleteKills: 2,
  requestTimeout: '3s',
  passDeadline: '60s',
  workerGraceMs: 5_000,
  readyTimeoutMs: 10 * 60_000,
  goneTimeoutMs: 5 * 60_000,
  deleteFaultWindowMs: 60_000,
  settleMs: 70_000,
};

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface Disruption {
  readonly what: 'operator SIGKILL' | 'kube-apiserver restart';
  readonly phase: 'create' | 'delete';
  /** The count of write calls through the proxy (this phase's) that triggered it. */
  readonly atWrites: number;
  readonly atMs: number;
  readonly done: boolean;
}

export interface ChaosResults {
  readonly startedAt: string;
  readonly options: Omit<ChaosOptions, 'log'>;
  readonly forced: Readonly<Record<string, FaultKind>>;
  readonly injected: { readonly totals: Record<FaultKind, number>; readonly byOperation: Counts };
  readonly disruptions: readonly Disruption[];
  readonly timesMs: {
    readonly environmentReady?: number;
    readonly allReady?: number;
    readonly churnRounds: number;
    readonly countsMatched?: number;
    readonly deleteFaultsStopped?: number;
    readonly allGone?: number;
  };
  readonly counts: { readonly planned: Record<string, number>; readonly found: Record<string, number> };
  /** Duplicates when everything first became Ready (the operator may still remove them on a later pass). */
  readonly duplicatesAtReady: readonly Duplicate[];
  readonly duplicates: readonly Duplicate[];
  readonly leftovers: readonly Found[];
  /** The longest each controller's workers were seen holding a key, from /metrics scraped all run long. */
  readonly workers?: WorkerWatchResult;
  readonly stuck: readonly {
    readonly kind: string;
    readonly name: string;
    readonly finalizers: readonly string[];
    readonly conditions: string;
  }[];
  readonly operatorLog: string;
  readonly checks: readonly Check[];
  readonly error?: string;
}

const NAMESPACE = 'chaos';
const CLUSTER_ID = 'chaos';

function isReady(o: {
  metadata: { generation?: number };
  status?: { observedGeneration?: number; conditions?: readonly { type: string; status: string }[] };
}): boolean {
  return (
    o.status?.observedGeneration === o.metadata.generation &&
    o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
  );
}

/** Polls `probe` until it returns a value, tolerating errors (the API server may be restarting), with a deadline. */
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 1000) =>
  eventually(what, probe, timeoutMs, everyMs);

/** Seeded points (counts of write calls) in [lo, hi) of `estimate`, sorted. */
function killPoints(seed: number, name: string, count: number, estimate: number): number[] {
  const next = stream(seed, name);
  return Array.from({ length: count }, () => Math.max(1, Math.floor(estimate * (0.05 + 0.75 * next())))).sort(
    (a, b) => a - b,
  );
}

/**
 * The calls whose fate matters most meet a fault in every run, at a seeded one of their first calls: a lost answer
 * to each create AWS cannot deduplicate (a second listener rule, user pool, app client or security group would
 * follow a blind retry), and a lost or silent answer to the deletes that free a target group.
 */
export function forcedFaults(seed: number, services: number): Record<string, FaultKind> {
  const pick = stream(seed, 'forced');
  const some = () => Math.floor(pick() * services);
  return {
    [`elasticloadbalancing:CreateRule#${some()}`]: 'drop',
    [`ecs:RegisterTaskDefinition#${some()}`]: 'drop',
    'cognito-idp:CreateUserPool#0': 'drop',
    'cognito-idp:CreateUserPoolClient#0': 'drop',
    'ec2:CreateSecurityGroup#0': 'drop',
    [`elasticloadbalancing:DeleteRule#${some()}`]: 'silent',
    [`elasticloadbalancing:DeleteTargetGroup#${some()}`]: 'drop',
  };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResults> {
  const { log, ...recorded } = options;
  const started = Date.now();
  const since = () => Date.now() - started;
  const n = options.services;
  const disruptions: Disruption[] = [];
  const times: { -readonly [K in keyof ChaosResults['timesMs']]: ChaosResults['timesMs'][K] } = { churnRounds: 0 };
  const checks: Check[] = [];
  let duplicatesAtReady: Duplicate[] = [];
  let duplicates: Duplicate[] = [];
  let leftovers: Found[] = [];
  let found: Record<string, number> = {};
  let stuck: ChaosResults['stuck'] = [];
  let error: string | undefined;
  let workers: WorkerWatchResult | undefined;
  let watch: WorkerWatch | undefined;
  const planned = plannedCounts(n);
  const logDir = join(tmpdir(), 'slipway-chaos');
  mkdirSync(logDir, { recursive: true });
  const operatorLog = join(
    logDir,
    `operator-${new Date(started).toISOString().replace(/[:.]/g, '-')}-seed${options.seed}.log`,
  );

  let env: LocalEnvironment | undefined;
  let proxy: FaultProxy | undefined;
  let operator: OperatorProcess | undefined;
  try {
    env = await startLocalEnvironment({ log: (l) => log(`env: ${l}`), motoEnv: { MOTO_ECS_SERVICE_RUNNING: '1' } });
    const localEnv = env;
    Object.assign(process.env, env.exports); // the harness's own reads go straight to the emulator
    installCrds();
    kubectl(['create', 'namespace', NAMESPACE]);
    const aws = testAws();
    const land = await createLandscape(aws, 'chaos.shop.test');
    const scope = { clusterId: CLUSTER_ID, hostedZoneId: land.hostedZoneId };

    const forced = forcedFaults(options.seed, n);
    proxy = new FaultProxy({ upstream: env.awsEndpoint, seed: options.seed, rates: options.rates, forced });
    const proxyUrl = await proxy.start();
    const faults = proxy;
    log(`fault proxy at ${proxyUrl} in front of ${env.awsEndpoint}, seed ${options.seed}`);
    const metricsPort = await freePort();
    operator = new OperatorProcess(
      {
        ...env.exports,
        SLIPWAY_AWS_ENDPOINT: proxyUrl,
        AWS_ENDPOINT_URL: proxyUrl,
        SLIPWAY_CLUSTER_ID: CLUSTER_ID,
        SLIPWAY_WATCH_NAMESPACE: NAMESPACE,
        SLIPWAY_LEADER_ELECTION: 'false',
        SLIPWAY_METRICS_PORT: String(metricsPort),
        SLIPWAY_AWS_REQUEST_TIMEOUT: options.requestTimeout,
        SLIPWAY_PASS_DEADLINE: options.passDeadline,
        SLIPWAY_LOG_LEVEL: process.env.SLIPWAY_CHAOS_LOG_LEVEL ?? 'warn',
      },
      operatorLog,
    );
    const op = operator;
    op.start();
    log(`operator pid ${op.pid}, log ${operatorLog}`);
    watch = new WorkerWatch(`http://127.0.0.1:${metricsPort}/metrics`);
    watch.start();

    // Disruptions are paced by write calls through the proxy, one at a time, in the order their points come.
    let chain = Promise.resolve();
    const schedule = (phase: 'create' | 'delete', plan: readonly { at: number; what: Disruption['what'] }[]) => {
      const base = faults.writes;
      const pending = [...plan].sort((a, b) => a.at - b.at);
      const entries: Disruption[] = [];
      const off = faults.onDecision(() => {
        while (pending.length > 0 && faults.writes - base >= pending[0]!.at) {
          const { at, what } = pending.shift()!;
          const atMs = since();
          chain = chain.then(async () => {
            if (what === 'operator SIGKILL') {
              await op.kill();
              op.start();
            } else {
              await localEnv.restartKubeApiserver();
            }
            entries.push({ what, phase, atWrites: at, atMs, done: true });
            log(`${phase}: ${what} at write ${at} (${Math.round(atMs / 1000)} s)`);
          });
        }
      });
      const end = async () => {
        off();
        await chain;
        disruptions.push(...entries);
        for (const p of pending) disruptions.push({ what: p.what, phase, atWrites: p.at, atMs: since(), done: false });
      };
      /** Points not reached yet. */
      return { end, pending: () => pending.length };
    };

    // ---- create wave ----
    const estimateCreate = 10 + 8 * n;
    const createPlan = [
      ...killPoints(options.seed, 'create-kills', options.createKills, estimateCreate).map((at) => ({
        at,
        what: 'operator SIGKILL' as const,
      })),
      ...killPoints(options.seed, 'apiserver-restart', 1, estimateCreate).map((at) => ({
        at,
        what: 'kube-apiserver restart' as const,
      })),
    ];
    const { end: endCreate } = schedule('create', createPlan);
    const kube = kubeClient();
    const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
    const services = kube.resource<Service>(SERVICE_TYPE);
    const rawServices = kube.resource<KubeObject>(SERVICE_TYPE);
    const envManifest = environmentManifest(NAMESPACE, land);
    const manifests = [
      { ...envManifest, spec: { ...envManifest.spec, resyncInterval: '30s' } },
      ...Array.from({ length: n }, (_, i) => serviceManifest(NAMESPACE, i, 'v1')),
    ];
    const applyAt = Date.now();
    kubectl(['apply', '-f', '-'], manifests.map((m) => JSON.stringify(m)).join('\n'));
    log(`applied an Environment and ${n} Services`);
    const allReady = async (): Promise<true | undefined> => {
      const envObj = await environments.find({ namespace: NAMESPACE, name: ENVIRONMENT_NAME });
      if (envObj && isReady(envObj) && times.environmentReady === undefined)
        times.environmentReady = Date.now() - applyAt;
      const { items } = await services.list({ namespace: NAMESPACE });
      return envObj && isReady(envObj) && items.length === n && items.every(isReady) ? true : undefined;
    };
    await until('everything Ready after the create wave', allReady, options.readyTimeoutMs);
    times.allReady = Date.now() - applyAt;
    log(`everything Ready in ${times.allReady} ms`);
    duplicatesAtReady = duplicatesIn(await readInventory(aws, scope));

    // ---- churn until the window is over: new images for a seeded few Services, under faults ----
    const churn = stream(options.seed, 'churn');
    let version = 1;
    while (Date.now() - applyAt < options.minutes * 60_000) {
      version++;
      const picked = [
        ...new Set(Array.from({ length: Math.max(1, Math.round(n / 10)) }, () => Math.floor(churn() * n))),
      ];
      for (const i of picked) {
        await until(
          `new image for ${serviceName(i)}`,
          () =>
            rawServices
              .mergePatch(
                { namespace: NAMESPACE, name: serviceName(i) },
                { spec: { image: `registry.shop.test/${serviceName(i)}:v${version}` } },
              )
              .then(() => true),
          60_000,
        );
      }
      await until(`everything Ready after churn round ${version - 1}`, allReady, options.readyTimeoutMs);
      times.churnRounds++;
    }
    await endCreate();

    // ---- counts: faults off; the operator may remove owned duplicates on its next passes ----
    faults.setInjecting(false);
    const faultsOffAt = Date.now();
    let inventory: Found[] = [];
    const matches = () =>
      Object.keys({ ...planned, ...found }).every((k) => (planned[k] ?? 0) === (found[k] ?? 0)) &&
      duplicates.length === 0;
    try {
      await until(
        'the emulator to hold exactly the plan',
        async () => {
          inventory = await readInventory(aws, scope);
          found = countByKind(inventory);
          duplicates = duplicatesIn(inventory);
          return matches() ? true : undefined;
        },
        options.settleMs,
        5000,
      );
      times.countsMatched = Date.now() - faultsOffAt;
    } catch {
      log('the emulator does not hold exactly the plan');
    }
    const mismatched = Object.keys({ ...planned, ...found }).filter((k) => (planned[k] ?? 0) !== (found[k] ?? 0));
    checks.push({
      name: 'the count of each AWS resource kind matches the plan',
      ok: mismatched.length === 0,
      detail:
        mismatched.length === 0
          ? `${Object.keys(planned).length} kinds, ${inventory.length} resources`
          : mismatched.map((k) => `${k}: planned ${planned[k] ?? 0}, found ${found[k] ?? 0}`).join('; '),
    });
    checks.push({
      name: 'no duplicate AWS resources',
      ok: duplicates.length === 0,
      detail:
        duplicates.length === 0 ? '0' : duplicates.map((d) => `${d.kind} ${d.identity} ×${d.ids.length}`).join('; '),
    });

    // ---- delete everything, with kills, under faults for a while ----
    faults.setInjecting(true);
    const { end: endDelete, pending: deleteKillsPending } = schedule(
      'delete',
      killPoints(options.seed, 'delete-kills', options.deleteKills, 10 + 6 * n).map((at) => ({
        at,
        what: 'operator SIGKILL' as const,
      })),
    );
    const deleteAt = Date.now();
    kubectl(['delete', 'services.slipway.dev,environments.slipway.dev', '--all', '-n', NAMESPACE, '--wait=false']);
    const customResources = async () => {
      const [e, s] = await Promise.all([
        environments.list({ namespace: NAMESPACE }),
        services.list({ namespace: NAMESPACE }),
      ]);
      return [...e.items, ...s.items];
    };
    // The faults go on for the window, and past it (up to three windows) until the deletion's kill points are
    // reached: on a loaded machine the deletion makes fewer write calls in the window than the points assume.
    await until(
      'the custom resources gone while faults go on',
      async () =>
        (await customResources()).length === 0 ||
        (Date.now() - deleteAt >= options.deleteFaultWindowMs && deleteKillsPending() === 0)
          ? true
          : undefined,
      3 * options.deleteFaultWindowMs,
    ).catch(() => undefined);
    await endDelete();
    faults.setInjecting(false);
    times.deleteFaultsStopped = Date.now() - deleteAt;
    const goneBy = Date.now() + options.goneTimeoutMs;
    let left: (Environment | Service)[] = [];
    try {
      await until(
        'everything gone',
        async () => {
          left = await customResources();
          leftovers = left.length === 0 ? await readInventory(aws, scope) : leftovers;
          return left.length === 0 && leftovers.length === 0 ? true : undefined;
        },
        Math.max(0, goneBy - Date.now()),
        2000,
      );
      times.allGone = Date.now() - deleteAt;
    } catch {
      left = await customResources().catch(() => left);
      leftovers = await readInventory(aws, scope);
    }
    stuck = left.map((o) => ({
      kind: o.kind ?? '?',
      name: o.metadata.name,
      finalizers: o.metadata.finalizers ?? [],
      conditions: (o.status?.conditions ?? [])
        .map((c) => `${c.type}=${c.status} ${c.reason ?? ''}: ${c.message ?? ''}`)
        .join(' | '),
    }));
    checks.push({
      name: 'every custom resource is deleted (no finalizer stuck)',
      ok: stuck.length === 0,
      detail:
        stuck.length === 0 ? `gone in ${times.allGone ?? '?'} ms` : stuck.map((s) => `${s.kind} ${s.name}`).join(', '),
    });
    checks.push({
      name: `no AWS resource of cluster "${CLUSTER_ID}" is left within ${options.goneTimeoutMs / 1000} s after the faults stopped`,
      ok: leftovers.length === 0,
      detail:
        leftovers.length === 0
          ? '0 left'
          : Object.entries(countByKind(leftovers))
              .map(([k, c]) => `${k} ×${c}`)
              .join(', '),
    });
    workers = await watch.stop();
    const limitS = (parseDuration(options.passDeadline) + options.workerGraceMs) / 1000;
    const [busiest, busiestS] = Object.entries(workers.longestBusySeconds).sort(([, a], [, b]) => b - a)[0] ?? ['—', 0];
    checks.push({
      name: `no worker busy for longer than the pass deadline (${options.passDeadline} + ${options.workerGraceMs / 1000} s)`,
      ok: workers.scrapes > 0 && busiestS <= limitS,
      detail:
        workers.scrapes === 0
          ? "the operator's /metrics was never read"
          : `longest ${busiestS.toFixed(1)} s (${busiest}), from ${workers.scrapes} scrapes of /metrics every ${workers.periodMs / 1000} s (${workers.failedScrapes} failed${
              Object.keys(workers.failedBy).length
                ? `: ${Object.entries(workers.failedBy)
                    .map(([c, k]) => `${c} ${k}`)
                    .join(', ')}`
                : ''
            })`,
    });
    const missed = disruptions.filter((d) => !d.done);
    checks.push({
      name: 'every planned kill and restart happened',
      ok: missed.length === 0,
      detail: `${disruptions.filter((d) => d.done).length} of ${disruptions.length}${missed.length ? `; not reached: ${missed.map((d) => `${d.what} (${d.phase}) at write ${d.atWrites}`).join(', ')}` : ''}`,
    });
    aws.destroy();
  } catch (err) {
    error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`failed: ${error}`);
    checks.push({ name: 'the run completed', ok: false, detail: err instanceof Error ? err.message : String(err) });
  } finally {
    if (watch && !workers) await watch.stop();
    await operator?.stop().catch((err: unknown) => log(`operator stop: ${String(err)}`));
    await proxy?.stop();
    await env?.stop().catch((err: unknown) => log(`environment stop: ${String(err)}`));
  }
  return {
    startedAt: new Date(started).toISOString(),
    options: recorded,
    injected: {
      totals: proxy?.totals() ?? { pass: 0, throttle: 0, error5xx: 0, drop: 0, silent: 0 },
      byOperation: proxy?.counts ?? {},
    },
    forced: forcedFaults(options.seed, n),
    disruptions,
    timesMs: times,
    counts: { planned, found },
    duplicatesAtReady,
    duplicates,
    leftovers,
    ...(workers ? { workers } : {}),
    stuck,
    operatorLog,
    checks,
    ...(error ? { error } : {}),
  };
}
