// A problem in the user's input, found while planning: the message names the field and the fix. It is an Outcome
// like every other failure; only waiting for the Environment (which wakes the workload when it changes) is not
// the user's to fix.
import { OutcomeError, TERMINAL, WATCH } from '../outcome/outcome.js';

export class PlanningError extends OutcomeError {
  override readonly name = 'PlanningError';
  constructor(
    /** The field at fault, e.g. `spec.auth.cognito`. */
    readonly field: string,
    message: string,
    /** CamelCase reason for the condition. */
    readonly reason = 'InvalidSpec',
  ) {
    super({ reason, message: `${field}: ${message}`, retry: reason === 'EnvironmentNotReady' ? WATCH : TERMINAL });
  }
}
