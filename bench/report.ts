// The results of one run: the JSON written to bench/results/, and the markdown printed to stdout.
import { isReadOperation } from '../src/aws/calls.js';
import type { BenchOptions } from './context.js';
import type { MemorySample } from './memory.js';
import { round, sum } from './metrics.js';
import type { ColdResult, FanOutResult, IdleResult, PhaseCost, SingleResult, SteadyResult } from './phases.js';
import type { MinimalReplay, ReplayResult } from './replay.js';
import type { DriftResult } from './drift.js';
import { REPLAY_WRITE_READS, REPLAYED_WRITES } from './replay-calls.js';
import { rateFloor } from './rate-floor.js';

/** Calls the writes-only replay makes per Service. */
const REPLAYED_COUNT = { ...REPLAYED_WRITES, ...REPLAY_WRITE_READS };

export interface Machine {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly kubernetes: string;
  readonly moto: string;
  /** 1-minute load average when the run started and when it ended: other work on the machine skews every figure. */
  loadAverage: { start: number; end?: number };
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface BenchResults {
  readonly startedAt: string;
  /** The commit measured, and the files under src/ that differed from it (uncommitted work skews the figures). */
  readonly source: { readonly commit: string; readonly dirty: readonly string[] };
  readonly durationS: number;
  readonly machine: Machine;
  readonly options: BenchOptions;
  readonly environment?: PhaseCost;
  readonly single?: SingleResult;
  readonly cold?: ColdResult;
  readonly steady?: SteadyResult;
  /** A second steady pass: the revisions are known by then, so this is what every resync costs. */
  readonly steadyAgain?: SteadyResult;
  readonly fanOut?: FanOutResult;
  readonly steadyAfterFanOut?: SteadyResult;
  readonly idle?: IdleResult;
  /** A second Environment and N Services applied together, then the idle window after everything was Ready. */
  readonly together?: ColdResult;
  readonly togetherIdle?: IdleResult;
  /** One out-of-band ModifyRule: corrected through its CloudTrail event, then by the periodic resync alone. */
  readonly drift?: DriftResult;
  readonly memory: Readonly<Record<string, MemorySample>>;
  readonly replay?: ReplayResult;
  readonly minimalReplay?: MinimalReplay;
  readonly checks: readonly Check[];
  /** Phases not run, with the reason (absent in results written before several Environments and previews). */
  readonly skipped?: Record<string, string>;
  readonly error?: string;
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function row(cells: readonly (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string[] {
  return [row(head), row(head.map(() => '---')), ...rows.map(row)];
}

function phaseRow(name: string, p: PhaseCost | undefined, services: number): (string | number)[] {
  if (!p) return [name, '–', '–', '–', '–', '–', '–', '–', '–'];
  const r = p.metrics.reconciles;
  const floor = rateFloor(p.calls.byOperation);
  return [
    name,
    s(p.doneMs),
    s(p.quietMs),
    p.calls.total,
    p.calls.reads,
    p.calls.writes,
    round(p.calls.total / services, 1),
    `${r.service ?? 0} / ${r.preview ?? 0} / ${r.environment ?? 0}`,
    floor.seconds > 0 ? `${round(floor.seconds, 1)} s (${floor.bucket})` : '0 s',
  ];
}

export function renderMarkdown(r: BenchResults): string {
  // Results written before --environments and --previews had one Environment and no previews.
  const e = r.options.environments ?? 1;
  const perEnv = r.options.services;
  const p = r.options.previews ?? 0;
  /** Services in all, and Services and previews together: what the cold and steady figures are divided by. */
  const n = e * perEnv;
  const w = n + p;
  const what =
    e === 1 && p === 0
      ? `1 Environment + ${n} Services`
      : `${e} Environment${e === 1 ? '' : 's'} × ${perEnv} Services (${n} in all) + ${p} previews`;
  const out: string[] = [];
  out.push(`## Slipway benchmark: ${what}, ${r.options.workers} workers, ECS rollouts ${r.options.ecsRollouts}`, '');
  if (p > 0 || e > 1)
    out.push(
      `A workload is a Service or a preview: the cold and steady rows divide by ${w} workloads (${n} Services + ${p} previews), ` +
        `the Environment row by ${e}. Previews are dealt round-robin over the Environments, then over each one's Services.`,
      '',
    );
  out.push(
    `Machine: ${r.machine.nproc} CPUs (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, ` +
      `kube-apiserver v${r.machine.kubernetes}, moto ${r.machine.moto}. Run took ${r.durationS} s; ` +
      `1-minute load average ${r.machine.loadAverage.start} at the start, ${r.machine.loadAverage.end ?? '?'} at the end.`,
    '',
  );
  out.push(
    `Source: commit ${r.source.commit.slice(0, 12)}${r.source.dirty.length > 0 ? `, with uncommitted changes in ${r.source.dirty.join(', ')}` : ', clean'}.`,
    '',
  );
  if (r.error) out.push(`**The run stopped early: ${r.error}**`, '');

  out.push('### Phases', '');
  out.push(
    ...table(
      [
        'phase',
        'to outcome',
        'to quiet',
        'AWS calls',
        'reads',
        'writes',
        'calls / workload',
        'reconciles (svc / preview / env)',
        "floor at AWS's rates",
      ],
      [
        phaseRow(`${e === 1 ? 'Environment' : `${e} Environments`} create (no Services)`, r.environment, e),
        phaseRow('1 Service alone: create', r.single?.create, 1),
        phaseRow('1 Service alone: new image', r.single?.update, 1),
        phaseRow('1 Service alone: delete', r.single?.delete, 1),
        phaseRow(`cold: ${n} Services${p > 0 ? ` + ${p} previews` : ''} at once`, r.cold, w),
        phaseRow('steady pass (all in sync)', r.steady, w),
        phaseRow('second steady pass', r.steadyAgain, w),
        phaseRow(`update fan-out: ${n} new images`, r.fanOut, n),
        phaseRow('steady pass after fan-out', r.steadyAfterFanOut, w),
        phaseRow(`together: one more Environment + ${perEnv} Services in one apply`, r.together, perEnv),
      ],
    ),
    '',
  );
  if (r.idle) {
    out.push(
      `Idle for ${r.idle.windowMs / 1000} s afterwards (ECS deployments ${r.options.ecsRollouts === 'complete' ? 'complete' : 'never complete in the emulator'}): ` +
        `${r.idle.calls.total} AWS calls (${r.idle.callsPerMinute} per minute), ${r.idle.metrics.reconciles.service ?? 0} Service reconciles.`,
      '',
    );
  }
  if (r.togetherIdle) {
    out.push(
      `Idle for ${r.togetherIdle.windowMs / 1000} s after the Environment and ${perEnv} Services applied together were all Ready: ` +
        `${r.togetherIdle.calls.total} AWS calls, ${r.togetherIdle.metrics.reconciles.service ?? 0} Service reconciles.`,
      '',
    );
  }
  if (r.cold) {
    const pv = r.cold.previews;
    out.push(
      `Cold: the ${w} creates took ${s(r.cold.applyMs)}; time to Ready per Service p50 ${s(r.cold.readyP50Ms)}, p95 ${s(r.cold.readyP95Ms)}` +
        (pv ? `; per preview (Active) p50 ${s(pv.readyP50Ms)}, p95 ${s(pv.readyP95Ms)}` : '') +
        `; all ${s(r.cold.doneMs)} (${round((w / r.cold.doneMs) * 60_000, 0)} ${p > 0 ? 'workloads' : 'Services'}/min).`,
      '',
    );
  }
  if (r.steadyAgain)
    out.push(
      `What every resync costs (second steady pass): ${r.steadyAgain.calls.reads} reads for ${w} ${p > 0 ? 'workloads' : 'Services'}, ` +
        `${round(r.steadyAgain.calls.reads / w, 2)} per ${p > 0 ? 'workload' : 'Service'}.`,
      '',
    );
  const skipped = Object.entries(r.skipped ?? {});
  if (skipped.length > 0) {
    out.push('Not run:', '');
    for (const [phase, why] of skipped) out.push(`- ${phase}: ${why}`);
    out.push('');
  }
  if (e > 1 && r.drift) out.push(`The drift phase uses the first Environment only (${perEnv} Services).`, '');

  if (r.drift) out.push(...driftSection(r.drift, perEnv));

  const ops = new Set(
    [r.cold, r.steady, r.steadyAgain, r.fanOut, r.idle].flatMap((p) => Object.keys(p?.calls.byOperation ?? {})),
  );
  if (ops.size > 0) {
    out.push(
      p > 0
        ? `### AWS calls by operation (per workload = phase total / ${w}; fan-out: / ${n} Services)`
        : '### AWS calls by operation (per Service = phase total / N)',
      '',
    );
    const per = (ph: { readonly calls: PhaseCost['calls'] } | undefined, op: string, by = w) => {
      const v = ph?.calls.byOperation[op] ?? 0;
      return v === 0 ? '·' : `${v} (${round(v / by, 2)})`;
    };
    out.push(
      ...table(
        [
          'operation',
          'kind',
          'cold',
          'steady pass',
          'second steady pass',
          'fan-out',
          `idle ${r.idle ? r.idle.windowMs / 1000 : 0} s`,
        ],
        [...ops]
          .sort()
          .map((op) => [
            op,
            isReadOperation(op.split(':')[1] ?? '') ? 'read' : '**write**',
            per(r.cold, op),
            per(r.steady, op),
            per(r.steadyAgain, op),
            per(r.fanOut, op, n),
            per(r.idle, op),
          ]),
      ),
      '',
    );
  }

  out.push('### Where the time goes', '');
  const split: (string | number)[][] = [];
  for (const [name, p] of [
    ['cold', r.cold],
    ['steady pass', r.steady],
    ['update fan-out', r.fanOut],
  ] as const) {
    if (!p) continue;
    split.push([
      name,
      s(p.quietMs),
      `${round(sum(p.metrics.reconcileSeconds), 1)} s`,
      `${round(sum(p.metrics.awsCallSeconds), 1)} s`,
      `${round((100 * sum(p.metrics.awsCallSeconds)) / Math.max(0.001, sum(p.metrics.reconcileSeconds)), 0)} %`,
    ]);
  }
  out.push(
    ...table(
      [
        'phase',
        'wall (to quiet)',
        'reconcile time (sum over workers)',
        'time inside AWS calls (sum)',
        'AWS share of reconcile time',
      ],
      split,
    ),
    '',
  );
  if (r.cold) {
    const byService = new Map<string, number>();
    for (const [op, c] of Object.entries(r.cold.calls.byOperation))
      byService.set(op.split(':')[0]!, (byService.get(op.split(':')[0]!) ?? 0) + c);
    const secs = r.cold.metrics.awsCallSeconds;
    out.push(
      ...table(
        ['AWS service (cold)', 'calls', 'seconds inside calls', 'mean ms / call'],
        [...byService]
          .sort((a, b) => (secs[b[0]] ?? 0) - (secs[a[0]] ?? 0))
          .map(([svc, c]) => [svc, c, round(secs[svc] ?? 0, 1), round(((secs[svc] ?? 0) * 1000) / c, 0)]),
      ),
      '',
    );
  }
  const cpuRows: (string | number)[][] = [];
  const procs = ['operator + driver (node)', 'moto', 'kube-apiserver', 'etcd'];
  const cpuRow = (name: string, wallMs: number, cpu: Readonly<Record<string, number>>) => [
    name,
    s(wallMs),
    ...procs.map((p) => `${round(cpu[p] ?? 0, 1)} s (${round((100 * (cpu[p] ?? 0) * 1000) / wallMs, 0)} %)`),
  ];
  for (const [name, p] of [
    ['cold', r.cold],
    ['steady pass', r.steady],
    ['update fan-out', r.fanOut],
  ] as const) {
    if (p) cpuRows.push(cpuRow(name, p.quietMs, p.cpuSeconds));
  }
  if (r.replay)
    cpuRows.push(
      cpuRow(
        `replay of the cold calls, ${r.replay.concurrent.concurrency} at a time`,
        r.replay.concurrent.wallMs,
        r.replay.concurrent.cpuSeconds,
      ),
    );
  if (cpuRows.length > 0) {
    out.push(...table(['CPU time during', 'wall', ...procs.map((p) => `${p} (% of one CPU)`)], cpuRows), '');
  }
  out.push(
    'Concurrent calls inside one reconcile overlap, so the AWS sum can exceed the reconcile sum; the share is an upper bound.',
    '',
  );
  if (r.minimalReplay && r.cold) {
    const m = r.minimalReplay;
    const prs = m.previews ? ` and ${m.previews} previews (no autoscaling)` : '';
    const envs = (m.environments ?? 1) > 1 ? ` for each of ${m.environments} Environments` : '';
    out.push(
      `Against the minimal call set (the writes of ${m.services} Services${prs} and one read per kind${envs}, ${r.options.workers} ` +
        `at a time, at the same rate limits): ${m.calls} calls in ${s(m.wallMs)}${m.failed > 0 ? ` (${m.failed} failed)` : ''}. ` +
        `The operator's cold phase took **${round(r.cold.doneMs / m.wallMs, 2)}×** the time and ` +
        `**${round(r.cold.calls.total / m.calls, 2)}×** the calls.`,
      '',
    );
  }
  if (r.replay) {
    const rp = r.replay;
    out.push(
      ...table(
        ['the same AWS calls, without the operator', 'wall', 'compare with'],
        [
          [
            `1 Service, its writes only (${sum(REPLAYED_COUNT)} calls), mean of ${rp.sequential.samples}`,
            `${rp.sequential.writesOnlyMsPerService} ms`,
            `operator, 1 Service alone, to Ready: ${r.single ? `${r.single.create.doneMs} ms` : '–'}`,
          ],
          [
            `1 Service, the calls the operator made for it (${rp.sequential.callsPerService} calls), mean of ${rp.sequential.samples}`,
            `${rp.sequential.allCallsMsPerService} ms`,
            `operator, 1 Service alone, to quiet: ${r.single ? `${r.single.create.quietMs} ms (${r.single.create.calls.total} calls)` : '–'}`,
          ],
          [
            `${rp.concurrent.services} Services, ${rp.concurrent.concurrency} at a time, the operator's cold calls (${rp.concurrent.calls} calls, ${rp.concurrent.failed} failed)`,
            s(rp.concurrent.wallMs),
            `operator, cold, to quiet: ${r.cold ? `${s(r.cold.quietMs)} (${r.cold.calls.total} calls)` : '–'}`,
          ],
        ],
      ),
      '',
    );
    if (Object.keys(rp.notReplayed).length > 0)
      out.push(`Not replayed (no plain equivalent in the script): ${JSON.stringify(rp.notReplayed)}`, '');
  }

  const mem = Object.entries(r.memory);
  if (mem.length > 0) {
    const base = r.memory.beforeServices;
    out.push('### Memory (this process: operator + benchmark driver, after a full GC)', '');
    out.push(
      ...table(
        ['when', 'RSS', 'heap used', `heap used growth / ${p > 0 ? 'workload' : 'Service'}`],
        mem.map(([when, m]) => [
          when,
          `${m.rssMiB} MiB`,
          `${m.heapUsedMiB} MiB`,
          base && when !== 'beforeServices' && when !== 'start'
            ? `${round(((m.heapUsedMiB - base.heapUsedMiB) * 1024) / w, 0)} KiB`
            : '–',
        ]),
      ),
      '',
    );
  }

  out.push('### Checks', '');
  for (const c of r.checks) out.push(`- ${c.ok ? 'PASS' : '**FAIL**'} ${c.name}: ${c.detail}`);
  out.push('');
  return out.join('\n');
}

function driftSection(d: DriftResult, n: number): string[] {
  const calls = (p: PhaseCost) => {
    const sqs = Object.entries(p.calls.byOperation)
      .filter(([op]) => op.startsWith('sqs:'))
      .reduce((t, [, c]) => t + c, 0);
    return sqs > 0 ? `${p.calls.total} (${sqs} of them SQS)` : String(p.calls.total);
  };
  const line = (name: string, p: PhaseCost) => [
    name,
    s(p.doneMs),
    s(p.quietMs),
    calls(p),
    p.calls.writes,
    `${p.metrics.reconciles.service ?? 0} / ${p.metrics.reconciles.environment ?? 0}`,
  ];
  return [
    `### Drift: one out-of-band ModifyRule on ${d.service}'s listener rule, time to correction`,
    '',
    ...table(
      ['', 'to correction', 'to quiet', 'AWS calls', 'writes', 'reconciles (svc / env)'],
      [
        line('with drift events (the CloudTrail event put with PutEvents: moto emits none)', d.withEvents),
        line(`without: the periodic resync alone (resyncInterval ${d.resyncInterval}, ±10 %)`, d.withoutEvents),
        line(`turning drift events on (rule, queue; wakes the ${n} Services)`, d.eventsOn),
        line(`turning them off and the resync to ${d.resyncInterval} (wakes the ${n} Services)`, d.eventsOff),
      ],
    ),
    '',
    "Times run from just before the ModifyRule until the rule routes the Service's host again (read every 100 ms). " +
      "Without events the change waits for its Service's next resync, so the figure is one draw between 0 and " +
      `about ${d.resyncInterval} plus a pass.`,
    '',
  ];
}
