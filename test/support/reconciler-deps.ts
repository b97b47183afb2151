// What a unit test of the one reconcile sequence (customResourceReconciler) gives it in place of the operator's
// dependencies: a silent log, a fixed clock, Events that go nowhere, and a pass deadline of the test's choosing.
import pino from 'pino';
import type { OperatorDeps } from '../../src/controllers/shared.js';

export const silentLog = pino({ level: 'silent' });

export function reconcilerDeps(opts: {
  readonly passDeadlineMs: number;
  /** Default: Events recorded at once. */
  readonly events?: { readonly warning: () => Promise<unknown>; readonly normal: () => Promise<unknown> };
}): OperatorDeps {
  return {
    log: silentLog,
    events: opts.events ?? { warning: async () => undefined, normal: async () => undefined },
    now: () => new Date('2026-01-01T00:00:00Z'),
    defaultResyncMs: 60_000,
    passDeadlineMs: opts.passDeadlineMs,
  } as unknown as OperatorDeps;
}
