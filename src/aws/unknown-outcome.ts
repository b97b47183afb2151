// Creates that AWS cannot deduplicate are never sent twice blindly.
//
// The SDK's standard retry sends a call again after a dropped connection, a timeout or a 5xx. For most calls that
// is safe: reads, upserts, deletes, and creates AWS makes idempotent (by unique name: CreateLoadBalancer,
// CreateTargetGroup, CreateListener, CreateCluster, CreateLogGroup; or by a token Slipway derives from the plan:
// ECS CreateService clientToken, CloudFront CallerReference). For the creates below, a lost response after AWS
// applied the call would make the retry create a second resource: a second listener rule for one host, a second
// user pool. So for them, a failure that may have happened after AWS applied the call stops the SDK's retries and
// surfaces as OutcomeUnknown: the pass records it, and the next pass observes (by ownership tags or name) before
// anything is created again. Throttling is still retried: a throttled call was refused before it was applied.
import { classifyError, errorName } from './errors.js';
import { aroundEachAttempt, operationOf } from './middleware.js';

/** `service:Operation` (service as AwsClients names it) of the creates with no idempotency AWS can apply. */
export const NOT_IDEMPOTENT: ReadonlySet<string> = new Set([
  'elbv2:CreateRule', // rules have no name; two calls make two rules for one host
  'cognito-idp:CreateUserPool', // pool names are not unique
  'cognito-idp:CreateUserPoolClient', // client names are not unique within a pool
  'ecs:RegisterTaskDefinition', // every call registers a new revision
  'ec2:CreateSecurityGroup', // unique by name, but the retry's InvalidGroup.Duplicate would hide the first call's id
]);

/** A create that may or may not have been applied: not retried by the SDK; the next pass observes first. */
export class OutcomeUnknownError extends Error {
  override readonly name = 'OutcomeUnknown';
  constructor(
    readonly operation: string,
    /** The failure of the attempt. Not `cause`: the SDK's retry looks through `cause` and would retry it. */
    readonly failure: unknown,
  ) {
    super(
      `${operation}: ${errorName(failure)} after the request was sent, so whether AWS applied it is unknown; ` +
        'the next pass looks for the resource by its tags and name before creating it again',
    );
  }
}

/** True when the call may have been applied: a lost or timed-out response, or a server error. */
export function mayHaveApplied(err: unknown): boolean {
  const cls = classifyError(err);
  return cls === 'transient';
}

/**
 * Adds the guard to a client, inside the SDK's retry loop, so that it sees each attempt: a not-idempotent create
 * whose attempt may have been applied fails with an error the retry strategy does not retry (no status code, no
 * network code, no retryable trait).
 */
export function guardNotIdempotentCreates<C>(client: C, service: string): C {
  return aroundEachAttempt(client, 'slipwayNotIdempotentCreates', (next, context) => async (args) => {
    try {
      return await next(args);
    } catch (err) {
      const operation = operationOf(context);
      if (NOT_IDEMPOTENT.has(`${service}:${operation}`) && mayHaveApplied(err)) {
        throw new OutcomeUnknownError(operation, err);
      }
      throw err;
    }
  });
}
