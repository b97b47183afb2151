// A problem in the user's input that no retry can fix: the message names the field and the fix.
export class PlanningError extends Error {
  override readonly name = 'PlanningError';
  constructor(
    /** The field at fault, e.g. `spec.auth.cognito`. */
    readonly field: string,
    message: string,
    /** CamelCase reason for the condition. */
    readonly reason = 'InvalidSpec',
  ) {
    super(`${field}: ${message}`);
  }
}
