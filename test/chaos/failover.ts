// The failover scenario: two operator replicas with leader election, as the chart runs them, each reaching AWS
// through its own recording proxy (the fault proxy with no faults and its call log on), so the log shows whose
// call reached AWS when. Once the Environment is Ready, six Services are applied; the leader is SIGKILLed as soon as
// the first of them owns AWS resources, the rest still under way; the standby takes the Lease over and finishes the
// wave. `npm run chaos -- --failover` runs it and reports the times (RELIABILITY.md, Failover);
// test/integration/failover.test.ts runs it once and asserts failoverChecks() only, never a time.
//
// It runs against the environment that process.env describes (SLIPWAY_KUBECONFIG, SLIPWAY_AWS_ENDPOINT), in a
// namespace of its own with its own Lease, so it can be run several times against one environment.
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Environment, Service } from '../../src/api/index.js';
import { ENVIRONMENT_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import { CoreTypes, type Lease } from '../../src/runtime/index.js';
import { startLocalEnvironment } from '../env/index.js';
import { freePort } from '../env/processes.js';
import { createLandscape, testAws, uniqueSuffix } from '../support/aws-fixtures.js';
import { getTestEnv } from '../support/env.js';
import { condition, createNamespace, eventually, installCrds, kubeClient } from '../support/kube.js';
import { apply, environmentYaml, serviceYaml } from '../support/manifests.js';
import type { Check } from './harness.js';
import { OperatorProcess } from './operator-process.js';
import { FaultProxy, NO_FAULTS, type CallRecord } from './proxy.js';

export const FAILOVER_SERVICES = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'] as const;

/** The Lease timings, as Go durations (the operator's SLIPWAY_LEASE_* settings). */
export interface LeaseTimings {
  readonly leaseDuration: string;
  readonly renewDeadline: string;
  readonly retryPeriod: string;
}

export interface FailoverOptions {
  /** Unset: the operator's defaults. */
  readonly lease?: LeaseTimings;
  readonly log?: (line: string) => void;
  /** Where the replicas' logs go. */
  readonly logDir?: string;
}

/** One AWS call of the new leader, in ms after the kill. */
export interface TimedCall {
  readonly atMs: number;
  readonly call: string;
}

export interface FailoverRun {
  readonly namespace: string;
  readonly killed: string;
  readonly newLeader: string;
  readonly killedAt: string;
  /** Milliseconds after the kill (negative: before it). */
  readonly timesMs: {
    /** The Lease's acquireTime, written by the new leader as it took over. */
    readonly leaseAcquired: number;
    /** The new leader's log line "controllers started" (informers synced, workers started). */
    readonly controllersStarted?: number;
    readonly firstCall?: number;
    readonly firstWrite?: number;
    /** When the killed leader's last write was answered by AWS (Infinity-free: unset if one never was). */
    readonly killedLastWriteAnswered?: number;
    /** Every Service Ready under the new leader. */
    readonly allReady: number;
  };
  readonly firstWriteCall?: string;
  readonly writes: { readonly killed: number; readonly newLeader: number };
  /** Any write of the killed leader that AWS never answered (it would make the ordering unknowable). */
  readonly killedUnansweredWrites: number;
  /** AWS calls the standby made before it held the Lease. */
  readonly standbyCallsBeforeLease: number;
  /** The new leader's calls up to and including its first write: what it did between the Lease and that write. */
  readonly callsToFirstWrite: readonly TimedCall[];
  readonly aws: {
    readonly ecsServices: readonly string[];
    readonly ruleHosts: readonly string[];
    readonly expectedRuleHosts: readonly string[];
    readonly servicesNamingTheirRule: number;
  };
  readonly logs: Readonly<Record<string, string>>;
}

const ready = (o: Service | Environment | undefined) => condition(o, 'Ready')?.status === 'True';

/** When a replica's (pino) log first has `msg`, in ms since the epoch. */
function loggedAt(file: string, msg: string): number | undefined {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes(msg)) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; time?: number };
      if (entry.msg === msg && typeof entry.time === 'number') return entry.time;
    } catch {
      // not a log line of ours
    }
  }
  return undefined;
}

export async function runFailover(options: FailoverOptions = {}): Promise<FailoverRun> {
  const log = options.log ?? (() => undefined);
  const suffix = uniqueSuffix();
  const ns = `failover-${suffix}`;
  const leaseName = `slipway-failover-${suffix}`;
  const logDir = options.logDir ?? join(tmpdir(), 'slipway-chaos');
  mkdirSync(logDir, { recursive: true });
  const kube = kubeClient();
  const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
  const services = kube.resource<Service>(SERVICE_TYPE);
  const leases = kube.resource<Lease>(CoreTypes.lease);
  const aws = testAws();
  const proxies = new Map<string, FaultProxy>();
  const replicas = new Map<string, OperatorProcess>();
  const logs: Record<string, string> = {};
  try {
    installCrds();
    createNamespace(ns);
    const land = await createLandscape(aws, `failover-${suffix}.shop.test`);
    for (const pod of ['replica-a', 'replica-b']) {
      const proxy = new FaultProxy({ upstream: getTestEnv().awsEndpoint, seed: 1, rates: NO_FAULTS, callLog: true });
      const endpoint = await proxy.start();
      proxies.set(pod, proxy);
      logs[pod] = join(logDir, `${ns}-${pod}.log`);
      const replica = new OperatorProcess(
        {
          SLIPWAY_AWS_ENDPOINT: endpoint,
          AWS_ENDPOINT_URL: endpoint,
          SLIPWAY_CLUSTER_ID: 'failover',
          SLIPWAY_WATCH_NAMESPACE: ns,
          SLIPWAY_LEADER_ELECTION: 'true',
          SLIPWAY_LEASE_NAMESPACE: ns,
          SLIPWAY_LEASE_NAME: leaseName,
          ...(options.lease
            ? {
                SLIPWAY_LEASE_DURATION: options.lease.leaseDuration,
                SLIPWAY_LEASE_RENEW_DEADLINE: options.lease.renewDeadline,
                SLIPWAY_LEASE_RETRY_PERIOD: options.lease.retryPeriod,
              }
            : {}),
          SLIPWAY_METRICS_PORT: String(await freePort()),
          POD_NAME: pod,
          // info: the leadership and "controllers started" lines, with their times.
          SLIPWAY_LOG_LEVEL: 'info',
        },
        logs[pod],
      );
      replicas.set(pod, replica);
      replica.start();
    }
    log(`${ns}: two replicas started, logs ${Object.values(logs).join(', ')}`);

    /** The pod holding the Lease (its identity starts with the pod name). */
    const leader = async (): Promise<string | undefined> => {
      const lease = await leases.find({ namespace: ns, name: leaseName });
      const holder = lease?.spec?.holderIdentity ?? '';
      return [...replicas.keys()].find((pod) => holder.startsWith(`${pod}_`));
    };
    apply(environmentYaml(ns, land, 'dev'));
    const first = await eventually('a leader', leader, 60_000);
    await eventually(
      'the Environment Ready',
      async () => (ready(await environments.find({ namespace: ns, name: 'dev' })) ? true : undefined),
      180_000,
    );

    // The wave starts; the leader dies as soon as the first Service has AWS resources, with the rest under way.
    for (const name of FAILOVER_SERVICES) apply(serviceYaml(ns, name, { subdomain: name }));
    await eventually(
      'the first Service to own AWS resources',
      async () => {
        const list = await Promise.all(FAILOVER_SERVICES.map((name) => services.find({ namespace: ns, name })));
        return list.some((s) => (s?.status?.resources ?? []).length > 0) ? true : undefined;
      },
      180_000,
    );
    const killedAt = Date.now();
    await replicas.get(first)!.kill();
    log(`${ns}: ${first} SIGKILLed`);
    const second = await eventually(
      'the standby to hold the Lease',
      async () => {
        const now = await leader();
        return now && now !== first ? now : undefined;
      },
      120_000,
      100,
    );
    // The Lease's acquireTime is written by the new leader as it takes over (same machine, same clock).
    const lease = await leases.get({ namespace: ns, name: leaseName });
    const acquiredAt = Date.parse(lease.spec?.acquireTime ?? '');
    if (!Number.isFinite(acquiredAt)) throw new Error(`the Lease's acquireTime is ${lease.spec?.acquireTime}`);
    log(`${ns}: ${second} holds the Lease, acquired ${acquiredAt - killedAt} ms after the kill`);

    const done = await eventually(
      'every Service Ready under the new leader',
      async () => {
        const list = await Promise.all(FAILOVER_SERVICES.map((name) => services.find({ namespace: ns, name })));
        return list.every(ready) ? (list as Service[]) : undefined;
      },
      300_000,
    );
    const allReadyAt = Date.now();

    // What AWS holds: the ECS services of the Environment's cluster, and its listener's rules by host. Rules have
    // no name, so a create sent twice would show here.
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const ecs = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: [...FAILOVER_SERVICES] }),
    );
    const rules = await aws.elbv2.send(
      new DescribeRulesCommand({ ListenerArn: env.status!.loadBalancer!.listenerArn! }),
    );
    const ruleHosts = (rules.Rules ?? [])
      .filter((r) => !r.IsDefault)
      .flatMap((r) => (r.Conditions ?? []).filter((c) => c.Field === 'host-header'))
      .flatMap((c) => c.HostHeaderConfig?.Values ?? c.Values ?? []);

    const calls = (pod: string): CallRecord[] => proxies.get(pod)?.calls ?? [];
    const oldWrites = calls(first).filter((c) => c.write);
    const newCalls = calls(second);
    const newWrites = newCalls.filter((c) => c.write);
    const firstWrite = newWrites[0];
    const answered = oldWrites.flatMap((c) => (c.settledAt === undefined ? [] : [c.settledAt]));
    const name = (c: CallRecord) => `${c.service}:${c.operation}`;
    const since = (t: number) => t - killedAt;
    const controllersStarted = loggedAt(logs[second]!, 'controllers started');
    return {
      namespace: ns,
      killed: first,
      newLeader: second,
      killedAt: new Date(killedAt).toISOString(),
      timesMs: {
        leaseAcquired: since(acquiredAt),
        ...(controllersStarted !== undefined ? { controllersStarted: since(controllersStarted) } : {}),
        ...(newCalls[0] ? { firstCall: since(newCalls[0].startedAt) } : {}),
        ...(firstWrite ? { firstWrite: since(firstWrite.startedAt) } : {}),
        ...(answered.length > 0 ? { killedLastWriteAnswered: since(Math.max(...answered)) } : {}),
        allReady: since(allReadyAt),
      },
      ...(firstWrite ? { firstWriteCall: name(firstWrite) } : {}),
      writes: { killed: oldWrites.length, newLeader: newWrites.length },
      killedUnansweredWrites: oldWrites.length - answered.length,
      standbyCallsBeforeLease: newCalls.filter((c) => c.startedAt < acquiredAt).length,
      callsToFirstWrite: newCalls
        .slice(0, firstWrite ? newCalls.indexOf(firstWrite) + 1 : 50)
        .map((c) => ({ atMs: since(c.startedAt), call: name(c) })),
      aws: {
        ecsServices: (ecs.services ?? [])
          .filter((s) => s.status === 'ACTIVE')
          .map((s) => s.serviceName ?? '')
          .sort(),
        ruleHosts: ruleHosts.sort(),
        expectedRuleHosts: FAILOVER_SERVICES.map((n) => `${n}.${land.baseDomain}`).sort(),
        servicesNamingTheirRule: done.filter((s) => s.status?.ruleArn).length,
      },
      logs,
    };
  } finally {
    for (const replica of replicas.values()) await replica.kill().catch(() => undefined);
    for (const proxy of proxies.values()) await proxy.stop();
    aws.destroy();
  }
}

/**
 * What must hold in every run, whatever the machine's load: never two writers (from the AWS call log), and nothing
 * created twice. No time is checked here; the chaos mode adds the takeover bound.
 */
export function failoverChecks(r: FailoverRun): Check[] {
  const t = r.timesMs;
  const ms = (v: number | undefined) => (v === undefined ? '—' : `${v} ms`);
  const expectedServices = [...FAILOVER_SERVICES].sort();
  return [
    {
      name: 'the killed leader wrote to AWS before the kill, and every write of it was answered',
      ok: r.writes.killed > 0 && r.killedUnansweredWrites === 0,
      detail: `${r.writes.killed} writes, ${r.killedUnansweredWrites} never answered`,
    },
    {
      name: 'the standby made no AWS call before it held the Lease',
      ok: r.standbyCallsBeforeLease === 0,
      detail: `${r.standbyCallsBeforeLease} calls before the Lease`,
    },
    {
      name: "the new leader's first write came after the killed leader's last write was answered",
      ok:
        t.firstWrite !== undefined &&
        t.killedLastWriteAnswered !== undefined &&
        t.firstWrite > t.killedLastWriteAnswered,
      detail: `first write ${ms(t.firstWrite)} after the kill (${r.firstWriteCall ?? 'none'}); the killed leader's last write answered ${signed(t.killedLastWriteAnswered)} the kill`,
    },
    {
      name: "the new leader's first write came after the Lease's acquireTime",
      ok: t.firstWrite !== undefined && t.firstWrite > t.leaseAcquired,
      detail: `Lease ${ms(t.leaseAcquired)}, first write ${ms(t.firstWrite)} after the kill`,
    },
    {
      name: 'AWS holds exactly one ECS service per Service',
      ok: JSON.stringify(r.aws.ecsServices) === JSON.stringify(expectedServices),
      detail: r.aws.ecsServices.join(', '),
    },
    {
      name: 'AWS holds exactly one listener rule per Service, and every Service names its rule',
      ok:
        JSON.stringify(r.aws.ruleHosts) === JSON.stringify(r.aws.expectedRuleHosts) &&
        r.aws.servicesNamingTheirRule === FAILOVER_SERVICES.length,
      detail: `${r.aws.ruleHosts.length} rules (${r.aws.ruleHosts.join(', ')}); ${r.aws.servicesNamingTheirRule} Services name theirs`,
    },
  ];
}

// ---- the chaos mode: N runs against one local environment ----

/** The issue's bound: the standby holds the Lease within 20 s of the leader's death. */
export const TAKEOVER_BOUND_MS = 20_000;

export interface FailoverSuiteOptions {
  readonly repeat: number;
  readonly lease: LeaseTimings;
  readonly log: (line: string) => void;
}

export interface FailoverSuiteResults {
  readonly startedAt: string;
  readonly mode: 'failover';
  readonly options: Omit<FailoverSuiteOptions, 'log'>;
  /** The machine's load average (1, 5, 15 minutes) before the first run and after the last. */
  readonly loadAverage: { readonly before: readonly number[]; readonly after: readonly number[] };
  readonly runs: readonly (FailoverRun & { readonly checks: readonly Check[] })[];
  readonly checks: readonly Check[];
  readonly error?: string;
}

export async function runFailoverSuite(options: FailoverSuiteOptions): Promise<FailoverSuiteResults> {
  const { log, ...recorded } = options;
  const round = (l: number[]) => l.map((v) => Math.round(v * 100) / 100);
  const started = new Date().toISOString();
  const before = round(loadavg());
  const runs: FailoverSuiteResults['runs'][number][] = [];
  const checks: Check[] = [];
  let error: string | undefined;
  const env = await startLocalEnvironment({ log: (l) => log(`env: ${l}`) });
  try {
    Object.assign(process.env, env.exports);
    for (let i = 1; i <= options.repeat; i++) {
      log(`run ${i} of ${options.repeat}, Lease ${JSON.stringify(options.lease)}, load average ${round(loadavg())}`);
      const run = await runFailover({ lease: options.lease, log });
      const takeover: Check = {
        name: `the standby held the Lease within ${TAKEOVER_BOUND_MS / 1000} s of the kill`,
        ok: run.timesMs.leaseAcquired <= TAKEOVER_BOUND_MS,
        detail: `${run.timesMs.leaseAcquired} ms`,
      };
      const runChecks = [takeover, ...failoverChecks(run)];
      runs.push({ ...run, checks: runChecks });
      checks.push(...runChecks.map((c) => ({ ...c, name: `run ${i}: ${c.name}` })));
      log(
        `run ${i}: Lease +${run.timesMs.leaseAcquired} ms, first call +${run.timesMs.firstCall} ms, first write ` +
          `+${run.timesMs.firstWrite} ms (${run.firstWriteCall}); ${runChecks.filter((c) => !c.ok).length} checks failed`,
      );
    }
  } catch (err) {
    error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`failed: ${error}`);
    checks.push({ name: 'every run completed', ok: false, detail: err instanceof Error ? err.message : String(err) });
  } finally {
    await env.stop().catch((err: unknown) => log(`environment stop: ${String(err)}`));
  }
  return {
    startedAt: started,
    mode: 'failover',
    options: recorded,
    loadAverage: { before, after: round(loadavg()) },
    runs,
    checks,
    ...(error ? { error } : {}),
  };
}

const sec = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);
const signed = (ms: number | undefined) =>
  ms === undefined ? '—' : ms < 0 ? `${(-ms / 1000).toFixed(2)} s before` : `${(ms / 1000).toFixed(2)} s after`;

export function renderFailoverMarkdown(r: FailoverSuiteResults): string {
  const o = r.options;
  const lines: string[] = [];
  const failed = r.checks.filter((c) => !c.ok);
  lines.push(
    `# Failover: ${o.repeat} runs, Lease ${o.lease.leaseDuration} / renew deadline ${o.lease.renewDeadline} / retry period ${o.lease.retryPeriod}`,
    '',
    `Started ${r.startedAt}. Reproduce: \`npm run chaos -- --failover --repeat ${o.repeat} --lease-duration ${o.lease.leaseDuration} --renew-deadline ${o.lease.renewDeadline} --retry-period ${o.lease.retryPeriod}\``,
    '',
    `Load average (1, 5, 15 min): ${r.loadAverage.before.join(', ')} before, ${r.loadAverage.after.join(', ')} after.`,
    '',
    'Times after the SIGKILL of the leader:',
    '',
    "| run | Lease acquired | controllers started | new leader's first AWS call | first AWS write | killed leader's last write answered | writes: killed / new leader |",
    '|---|---|---|---|---|---|---|',
  );
  r.runs.forEach((run, i) => {
    const t = run.timesMs;
    lines.push(
      `| ${i + 1} | ${sec(t.leaseAcquired)} | ${sec(t.controllersStarted)} | ${sec(t.firstCall)} | ${sec(t.firstWrite)} (${run.firstWriteCall ?? '—'}) | ${signed(t.killedLastWriteAnswered)} the kill | ${run.writes.killed} / ${run.writes.newLeader} |`,
    );
  });
  lines.push('');
  r.runs.forEach((run, i) => {
    const reads = run.callsToFirstWrite.length - (run.timesMs.firstWrite === undefined ? 0 : 1);
    const byOp = new Map<string, number>();
    for (const c of run.callsToFirstWrite.slice(0, reads)) byOp.set(c.call, (byOp.get(c.call) ?? 0) + 1);
    lines.push(
      `Run ${i + 1}: from the Lease to the first write, ${reads} reads: ${[...byOp].map(([c, n]) => `${c} ×${n}`).join(', ') || 'none'}.`,
    );
  });
  lines.push('', '## Checks', '', '| check | result | detail |', '|---|---|---|');
  for (const c of r.checks)
    lines.push(`| ${c.name} | ${c.ok ? 'ok' : '**FAILED**'} | ${c.detail.replace(/\|/g, '\\|')} |`);
  lines.push('');
  if (r.error) lines.push('## Error', '', '```', r.error, '```', '');
  lines.push(failed.length === 0 ? 'CHAOS OK' : `CHAOS FAILED: ${failed.map((c) => c.name).join('; ')}`);
  lines.push(`(replica logs: ${r.runs.flatMap((run) => Object.values(run.logs)).join(', ') || '—'})`);
  return lines.join('\n');
}
