// The emulator's share of the time: the AWS calls the operator made per Service during cold convergence, replayed
// by a plain script straight into the emulator — the same operations, the same number of each, no Kubernetes, no
// planning, no diffing. Run with the operator stopped, against the same Environment's listener, cluster, zone and
// user pool, so the emulator holds as much state as it did for the operator.
import type { Environment } from '../src/api/index.js';
import type { AwsClients } from '../src/aws/clients.js';
import { isReadOperation } from '../src/aws/calls.js';
import type { Landscape } from '../test/support/aws-fixtures.js';
import {
  READS,
  REPLAY_WRITE_READS,
  REPLAYED_SCALING_WRITES,
  REPLAYED_WRITES,
  replayWrites,
  type ReplayedService,
  type SharedResources,
} from './replay-calls.js';
import { minus, round } from './metrics.js';
import type { CpuSnapshot } from './cpu.js';

export interface ReplaySample {
  readonly writesMs: number;
  readonly readsMs: number;
  readonly calls: number;
  readonly failed: number;
}

export interface ReplayResult {
  /** One Service at a time: its writes alone, and its writes plus the reads the operator made for one Service alone. */
  readonly sequential: {
    readonly samples: number;
    readonly writesOnlyMsPerService: number;
    readonly allCallsMsPerService: number;
    readonly callsPerService: number;
  };
  /** N Services at the operator's concurrency, with exactly the operator's cold-phase call counts. */
  readonly concurrent: {
    readonly services: number;
    readonly concurrency: number;
    readonly wallMs: number;
    readonly calls: number;
    readonly failed: number;
    readonly cpuSeconds: Record<string, number>;
  };
  /** Operations the operator called that the replay has no read for (its count is then lower than the operator's). */
  readonly notReplayed: Readonly<Record<string, number>>;
  readonly failures: readonly string[];
}

/**
 * The minimal call set for N Services, at the operator's concurrency and its client-side rate limits: the writes
 * each Service's resources need (with the reads those writes cannot do without), plus one read per resource kind.
 * No implementation can converge with fewer calls; the operator's cold phase is measured against it.
 */
export interface MinimalReplay {
  readonly services: number;
  /** Previews replayed too: a Service's writes without autoscaling. */
  readonly previews?: number;
  /** Environments whose kinds are each read once (all replayed against the first one's shared resources). */
  readonly environments?: number;
  readonly wallMs: number;
  readonly calls: number;
  readonly failed: number;
}

export function sharedResources(env: Environment, land: Landscape): SharedResources {
  const s = env.status;
  const lb = s?.loadBalancer;
  const c = s?.cognito;
  if (
    !lb?.arn ||
    !lb.listenerArn ||
    !lb.dnsName ||
    !lb.canonicalHostedZoneId ||
    !lb.securityGroupId ||
    !s?.clusterArn ||
    !c?.userPoolId ||
    !c.userPoolArn ||
    !c.clientId ||
    !c.domain
  ) {
    throw new Error(`the Environment's status lacks what the replay needs: ${JSON.stringify(s)}`);
  }
  return {
    region: env.spec.region,
    vpcId: land.vpcId,
    subnetIds: land.subnetIds,
    taskSecurityGroupIds: [land.securityGroupId, ...(s.taskSecurityGroupId ? [s.taskSecurityGroupId] : [])],
    loadBalancerArn: lb.arn,
    loadBalancerSecurityGroupId: lb.securityGroupId,
    loadBalancerDnsName: lb.dnsName,
    loadBalancerZoneId: lb.canonicalHostedZoneId,
    listenerArn: lb.listenerArn,
    clusterArn: s.clusterArn,
    userPoolId: c.userPoolId,
    userPoolArn: c.userPoolArn,
    clientId: c.clientId,
    cognitoDomain: c.domain,
    hostedZoneId: land.hostedZoneId,
    baseDomain: land.baseDomain,
  };
}

/**
 * Read calls for replayed Service `i` of `n`, so that over n Services each operation totals exactly what the
 * operator made (fractional per-Service averages are spread by cumulative rounding), minus the reads the
 * writes already make.
 */
export function readsFor(
  operatorCalls: Readonly<Record<string, number>>,
  operatorServices: number,
  i: number,
  n: number,
): [string, number][] {
  const out: [string, number][] = [];
  for (const [op, total] of Object.entries(operatorCalls)) {
    if (!isReadOperation(op.split(':')[1] ?? '') || !READS[op]) continue;
    const perService = Math.max(0, total / operatorServices - (REPLAY_WRITE_READS[op] ?? 0));
    const scaled = perService * n;
    const count = Math.floor((scaled * (i + 1)) / n) - Math.floor((scaled * i) / n);
    if (count > 0) out.push([op, count]);
  }
  return out;
}

async function replayOne(
  aws: AwsClients,
  shared: SharedResources,
  name: string,
  priority: number,
  reads: readonly [string, number][],
  failures: string[],
): Promise<ReplaySample> {
  const t0 = performance.now();
  let svc: ReplayedService;
  try {
    svc = await replayWrites(aws, shared, name, priority);
  } catch (err) {
    failures.push(`${name} writes: ${String(err)}`);
    return { writesMs: performance.now() - t0, readsMs: 0, calls: 0, failed: 1 };
  }
  const t1 = performance.now();
  let calls =
    Object.values(REPLAYED_WRITES).reduce((a, b) => a + b, 0) +
    Object.values(REPLAY_WRITE_READS).reduce((a, b) => a + b, 0);
  let failed = 0;
  for (const [op, count] of reads) {
    for (let k = 0; k < count; k++) {
      calls++;
      try {
        await READS[op]!(aws, shared, svc);
      } catch (err) {
        failed++;
        if (failures.length < 20) failures.push(`${name} ${op}: ${String(err)}`);
      }
    }
  }
  return { writesMs: t1 - t0, readsMs: performance.now() - t1, calls, failed };
}

export async function runReplay(
  aws: AwsClients,
  shared: SharedResources,
  calls: {
    /** What the operator called for one Service applied alone (its Environment's share included). */
    readonly solo: Readonly<Record<string, number>>;
    /** What it called for N Services applied at once. */
    readonly cold: Readonly<Record<string, number>>;
  },
  opts: {
    readonly operatorServices: number;
    readonly samples: number;
    readonly concurrency: number;
    readonly tag: string;
    readonly cpu: () => CpuSnapshot;
  },
): Promise<ReplayResult> {
  const failures: string[] = [];
  const n = opts.operatorServices;

  // One at a time: what one Service costs in the emulator with nothing else going on.
  const samples: ReplaySample[] = [];
  for (let i = 0; i < opts.samples; i++) {
    samples.push(
      await replayOne(
        aws,
        shared,
        `rs-${opts.tag}-${i}`,
        45_000 + i,
        readsFor(calls.solo, 1, i, opts.samples),
        failures,
      ),
    );
  }
  const mean = (f: (s: ReplaySample) => number) =>
    round(samples.reduce((a, s) => a + f(s), 0) / Math.max(1, samples.length), 0);

  // N at the operator's concurrency, with the operator's cold-phase calls: the emulator's time for that load.
  let next = 0;
  let total = 0;
  let failed = 0;
  const cpu = opts.cpu();
  const t0 = performance.now();
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const s = await replayOne(
        aws,
        shared,
        `rc-${opts.tag}-${i}`,
        46_000 + i,
        readsFor(calls.cold, n, i, n),
        failures,
      );
      total += s.calls;
      failed += s.failed;
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, n) }, worker));
  const wallMs = round(performance.now() - t0, 0);
  const cpuSeconds = minus(opts.cpu(), cpu);

  const notReplayed = Object.fromEntries(
    Object.entries(calls.cold).filter(([op]) =>
      isReadOperation(op.split(':')[1] ?? '') ? !READS[op] : REPLAYED_WRITES[op] === undefined,
    ),
  );
  return {
    sequential: {
      samples: samples.length,
      writesOnlyMsPerService: mean((s) => s.writesMs),
      allCallsMsPerService: mean((s) => s.writesMs + s.readsMs),
      callsPerService: mean((s) => s.calls),
    },
    concurrent: { services: n, concurrency: opts.concurrency, wallMs, calls: total, failed, cpuSeconds },
    notReplayed,
    failures,
  };
}

/** One read per resource kind a Service has: the least a converging implementation must look at. */
const ONE_READ_PER_KIND = [
  'logs:DescribeLogGroups',
  'ecs:DescribeTaskDefinition',
  'elbv2:DescribeTargetGroups',
  'elbv2:DescribeRules',
  'ecs:DescribeServices',
  'application-autoscaling:DescribeScalableTargets',
  'application-autoscaling:DescribeScalingPolicies',
  'route53:ListResourceRecordSets',
];

/**
 * The minimal replay, through `aws`, which carries the operator's rate limits: the Services' writes, then the
 * previews' (no autoscaling), all against one Environment's shared resources, and one read per kind for each of
 * `environments` Environments.
 */
export async function runMinimalReplay(
  aws: AwsClients,
  shared: SharedResources,
  opts: {
    readonly services: number;
    readonly previews?: number;
    readonly environments?: number;
    readonly concurrency: number;
    readonly tag: string;
  },
): Promise<MinimalReplay> {
  const failures: string[] = [];
  const perService =
    Object.values(REPLAYED_WRITES).reduce((a, b) => a + b, 0) +
    Object.values(REPLAY_WRITE_READS).reduce((a, b) => a + b, 0);
  const perPreview = perService - Object.values(REPLAYED_SCALING_WRITES).reduce((a, b) => a + b, 0);
  const previews = opts.previews ?? 0;
  const environments = opts.environments ?? 1;
  const total = opts.services + previews;
  let next = 0;
  let calls = 0;
  let failed = 0;
  let first: ReplayedService | undefined;
  const t0 = performance.now();
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      const service = i < opts.services;
      try {
        const svc = await replayWrites(aws, shared, `rm-${opts.tag}-${i}`, 47_000 + i, service);
        first ??= svc;
      } catch (err) {
        failed++;
        failures.push(String(err));
      }
      calls += service ? perService : perPreview;
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, total) }, worker));
  for (let e = 0; e < environments; e++) {
    for (const op of ONE_READ_PER_KIND) {
      if (!first) break;
      calls++;
      await READS[op]!(aws, shared, first).catch(() => failed++);
    }
  }
  return {
    services: opts.services,
    previews,
    environments,
    wallMs: round(performance.now() - t0, 0),
    calls,
    failed,
  };
}
