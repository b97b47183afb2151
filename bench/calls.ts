// AWS calls made during one phase: the difference of two CallCounter snapshots, by `service:operation`, split
// into reads and writes the same way the operator's own zero-writes check splits them.
import { isReadOperation, type CallCounter } from '../src/aws/calls.js';

export type CallSnapshot = ReadonlyMap<string, number>;

export interface CallDelta {
  readonly total: number;
  readonly reads: number;
  readonly writes: number;
  /** Calls that failed (throttled or error), counted in total too. */
  readonly failed: number;
  /** `service:operation` → calls, every outcome. */
  readonly byOperation: Readonly<Record<string, number>>;
  /** `service:operation:outcome` → calls, for the outcomes other than success. */
  readonly failures: Readonly<Record<string, number>>;
}

export function callDelta(counter: CallCounter, before: CallSnapshot): CallDelta {
  return snapshotDelta(counter.snapshot(), before);
}

/** The same difference of two snapshots (`service:operation:outcome` → calls), however they were taken. */
export function snapshotDelta(after: CallSnapshot, before: CallSnapshot): CallDelta {
  const byOperation: Record<string, number> = {};
  const failures: Record<string, number> = {};
  let total = 0;
  let reads = 0;
  let failed = 0;
  for (const [key, n] of after) {
    const delta = n - (before.get(key) ?? 0);
    if (delta <= 0) continue;
    const [service, operation, outcome] = key.split(':') as [string, string, string];
    const op = `${service}:${operation}`;
    byOperation[op] = (byOperation[op] ?? 0) + delta;
    total += delta;
    if (isReadOperation(operation)) reads += delta;
    if (outcome !== 'success') {
      failed += delta;
      failures[key] = delta;
    }
  }
  return { total, reads, writes: total - reads, failed, byOperation: sortedRecord(byOperation), failures };
}

/** Only the write operations of a delta. */
export function writesOf(delta: CallDelta): Record<string, number> {
  return Object.fromEntries(
    Object.entries(delta.byOperation).filter(([op]) => !isReadOperation(op.split(':')[1] ?? '')),
  );
}

function sortedRecord(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
}
