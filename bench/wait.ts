// Waiting without blocking the event loop (the operator runs in this process): poll the API server's list of
// Services, or the operator's own queues, on a timer. Every wait has a deadline, so the benchmark ends by itself.
import { setTimeout as sleep } from 'node:timers/promises';
import type { PreviewDeployment, Service } from '../src/api/index.js';
import type { Operator } from '../src/operator.js';
import type { ResourceClient } from '../src/runtime/index.js';

export class BenchTimeout extends Error {
  override readonly name = 'BenchTimeout';
}

/** Ready=True for the current generation. */
export function isReady(svc: Service | PreviewDeployment): boolean {
  const ready = svc.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True' && svc.status?.observedGeneration === svc.metadata.generation;
}

/** A preview serving: Ready for its generation and in phase Active. */
export function isPreviewReady(p: PreviewDeployment): boolean {
  return isReady(p) && p.status?.phase === 'Active';
}

export interface ConvergenceTimes {
  /** Milliseconds from `startedAt` to the first poll that saw each Service satisfy the predicate, by name. */
  readonly byName: Readonly<Record<string, number>>;
  /** Milliseconds until the last one did. */
  readonly totalMs: number;
}

/**
 * Polls the namespace's Services (or previews) until every one of `names` satisfies `done`, recording when each first did.
 * One LIST per poll, so the cost to the API server does not grow with the number of Services.
 */
export async function waitForAll<T extends Service | PreviewDeployment>(
  services: ResourceClient<T>,
  namespace: string,
  names: readonly string[],
  done: (svc: T) => boolean,
  opts: { readonly startedAt: number; readonly timeoutMs: number; readonly what: string; readonly everyMs?: number },
): Promise<ConvergenceTimes> {
  const byName: Record<string, number> = {};
  const wanted = new Set(names);
  const deadline = opts.startedAt + opts.timeoutMs;
  for (;;) {
    const { items } = await services.list({ namespace });
    const now = Date.now();
    for (const svc of items) {
      const name = svc.metadata.name;
      if (wanted.has(name) && byName[name] === undefined && done(svc)) byName[name] = now - opts.startedAt;
    }
    const left = names.filter((n) => byName[n] === undefined);
    if (left.length === 0) return { byName, totalMs: Math.max(...Object.values(byName)) };
    if (now > deadline) {
      const sample = items.find((s) => s.metadata.name === left[0]);
      throw new BenchTimeout(
        `${opts.what}: ${left.length} of ${names.length} not done after ${opts.timeoutMs / 1000}s (first: ${left[0]}, status ${JSON.stringify(sample?.status?.conditions ?? null)})`,
      );
    }
    await sleep(opts.everyMs ?? 200);
  }
}

/**
 * Waits until the operator has nothing queued or in progress and stays so for `quietMs` (a status write can
 * enqueue more work a moment after a reconcile ends). Returns when it went quiet, in epoch milliseconds.
 */
export async function waitQuiet(
  operator: Operator,
  opts: { readonly quietMs: number; readonly timeoutMs: number; readonly what: string },
): Promise<number> {
  const deadline = Date.now() + opts.timeoutMs;
  let quietSince = 0;
  for (;;) {
    const now = Date.now();
    if (!operator.idle()) quietSince = 0;
    else quietSince ||= now;
    if (quietSince && now - quietSince >= opts.quietMs) return quietSince;
    if (now > deadline)
      throw new BenchTimeout(`${opts.what}: the operator did not go quiet within ${opts.timeoutMs / 1000}s`);
    await sleep(25);
  }
}

/** Polls `check` until it returns true. */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new BenchTimeout(`${what}: not reached within ${timeoutMs / 1000}s`);
    await sleep(everyMs);
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
