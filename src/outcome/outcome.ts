// The one outcome type. Every failure, and every reason to stop before the applier, becomes an Outcome where it is
// understood (the listener-rule reconciler knows a taken priority is the user's to fix; the planner knows which
// field is wrong), and exactly one function (controllers/outcome-map.ts) turns it into conditions, Events and what
// the work queue does next. Pure: no imports, so every layer may build one.

/** What the work queue does with the key after this outcome. */
export type Retry =
  /** Transient (throttling, a 5xx, a lost connection): the queue's per-key exponential backoff. */
  | { readonly kind: 'backoff' }
  /** AWS is still working on something (a distribution disabling): come back after exactly `ms`. */
  | { readonly kind: 'after'; readonly ms: number }
  /**
   * Waiting for another object the controller watches (the Environment becoming Ready): its change wakes the key,
   * so no timed retry; the periodic resync stays as the backstop. Not an error, so no Warning Event.
   */
  | { readonly kind: 'watch' }
  /** A person must act (a bad reference, a taken priority, a quota): no retry until the object or the world changes. */
  | { readonly kind: 'terminal' };

export interface Outcome {
  /** CamelCase, the condition's reason: `PriorityInUse`, `EnvironmentNotReady`. */
  readonly reason: string;
  /** For a person: names the field and the fix where there is one. */
  readonly message: string;
  readonly retry: Retry;
}

export const BACKOFF: Retry = { kind: 'backoff' };
export const WATCH: Retry = { kind: 'watch' };
export const TERMINAL: Retry = { kind: 'terminal' };
export const after = (ms: number): Retry => ({ kind: 'after', ms });

export function outcome(reason: string, message: string, retry: Retry): Outcome {
  return { reason, message, retry };
}

/** An Outcome thrown from deep inside a pass; `outcomeOf` (outcome/classify.ts) unwraps it. */
export class OutcomeError extends Error {
  override readonly name: string = 'OutcomeError';
  constructor(
    readonly outcome: Outcome,
    options?: { readonly cause?: unknown },
  ) {
    super(outcome.message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** A failure only a person can fix: the message names the field and the fix. */
export function userError(reason: string, message: string, options?: { readonly cause?: unknown }): OutcomeError {
  return new OutcomeError(outcome(reason, message, TERMINAL), options);
}

/** "Come back in N ms": AWS is still working; never block a worker on a waiter. */
export function retryAfter(reason: string, message: string, ms: number): OutcomeError {
  return new OutcomeError(outcome(reason, message, after(ms)));
}

/** How soon a retry comes: backoff first (it may clear at once), then the shortest timed wait, then a watch. */
function urgency(r: Retry): number {
  switch (r.kind) {
    case 'backoff':
      return 0;
    case 'after':
      return 1 + r.ms / 1e9;
    case 'watch':
      return 3;
    case 'terminal':
      return 4;
  }
}

/**
 * Several failures of one pass, one outcome. The reason and message are those a person most needs: the first
 * terminal one (nothing else fixes it), else the first failure. The retry is the soonest any of them asks for: a
 * transient failure beside a terminal one is still retried, because the pass may get further next time.
 */
export function combine(outcomes: readonly Outcome[]): Outcome | undefined {
  const first = outcomes[0];
  if (!first) return undefined;
  const shown = outcomes.find((o) => o.retry.kind === 'terminal') ?? first;
  const retry = outcomes.map((o) => o.retry).reduce((a, b) => (urgency(b) < urgency(a) ? b : a));
  const more = outcomes.length > 1 ? ` (and ${outcomes.length - 1} more)` : '';
  return outcome(shown.reason, `${shown.message}${more}`, retry);
}
