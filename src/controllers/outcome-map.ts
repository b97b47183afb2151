// The one place an Outcome becomes what Kubernetes and the work queue see: the Ready and Synced conditions, a
// Warning Event, and the controller runtime's result.
//   backoff  → an Error thrown to the runtime: per-key exponential backoff; no Event (transient, counted in metrics)
//   after    → { requeueAfterMs }: back at exactly that time; no Event
//   watch    → { resyncAfterMs }: woken by the watched object's change, the periodic resync as the backstop; no Event
//   terminal → a TerminalError: no retry until the object changes (or the periodic resync); a Warning Event
import type { Outcome } from '../outcome/outcome.js';
import { type ConditionUpdate, type Result, TerminalError } from '../runtime/index.js';

export type ConditionChange = Omit<ConditionUpdate, 'observedGeneration'>;

export interface MappedOutcome {
  /** Ready and Synced for an object stopped before its pass (after a pass, the summary's conditions say it). */
  readonly conditions: readonly ConditionChange[];
  /** The Event it deserves: only what a person must act on is a Warning. */
  readonly event?: { readonly type: 'Warning'; readonly reason: string; readonly message: string };
  /** What the queue does next: returns the result, or throws for backoff and terminal as the runtime expects. */
  settle(): Result;
}

export function mapOutcome(outcome: Outcome, resyncMs: number): MappedOutcome {
  const { reason, message, retry } = outcome;
  return {
    conditions: [
      { type: 'Ready', status: 'False', reason, message },
      { type: 'Synced', status: 'False', reason, message },
    ],
    ...(retry.kind === 'terminal' ? { event: { type: 'Warning' as const, reason, message } } : {}),
    settle(): Result {
      switch (retry.kind) {
        case 'backoff':
          throw new Error(`${reason}: ${message}`);
        case 'after':
          return { requeueAfterMs: retry.ms };
        case 'watch':
          return { resyncAfterMs: resyncMs };
        case 'terminal':
          throw new TerminalError(message, { reason });
      }
    },
  };
}
