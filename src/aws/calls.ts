// Counting AWS calls by service, operation and outcome. The operator exposes these on /metrics, tests use them to
// prove that a pass over resources already in sync makes zero write calls.

export type CallOutcome = 'success' | 'throttled' | 'error';

export interface CallRecord {
  readonly service: string;
  readonly operation: string;
  readonly outcome: CallOutcome;
  readonly seconds: number;
}

export type CallListener = (call: CallRecord) => void;

/**
 * Describe/List/Get calls read, and so does SQS's ReceiveMessage (the drift events' long poll, which changes no
 * resource); everything else (Create, Update, Put, Delete, Modify, Register, ...) writes.
 */
export function isReadOperation(operation: string): boolean {
  return /^(Describe|List|Get|Lookup|Search|Head)/.test(operation) || operation === 'ReceiveMessage';
}

/** A simple in-process tally: per `service:operation:outcome`. */
export class CallCounter {
  private readonly counts = new Map<string, number>();
  readonly listener: CallListener = (c) => {
    const key = `${c.service}:${c.operation}:${c.outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  };

  snapshot(): ReadonlyMap<string, number> {
    return new Map(this.counts);
  }

  /** Write calls since `before` (a snapshot), by `service:operation`. */
  writesSince(before: ReadonlyMap<string, number>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, n] of this.counts) {
      const [service, operation] = key.split(':') as [string, string];
      const delta = n - (before.get(key) ?? 0);
      if (delta > 0 && !isReadOperation(operation))
        out[`${service}:${operation}`] = (out[`${service}:${operation}`] ?? 0) + delta;
    }
    return out;
  }
}
