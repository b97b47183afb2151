// Errors that arrive without an Outcome (an AWS service error, a dropped connection, a bug) get one here, so the
// rest of the operator only ever deals in Outcomes. What is retryable is decided by the AWS error classification
// (the SDK's own throttling and transient lists); everything else about AWS errors is the user's to fix.
import { classifyError, errorName } from '../aws/errors.js';
import { LOAD_BALANCER_QUOTA_REASON, QUOTA_RETRY, tooManyLoadBalancersMessage } from './load-balancer-quota.js';
import { BACKOFF, OutcomeError, TERMINAL, after, outcome, type Outcome, type Retry } from './outcome.js';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A load balancer or listener a pass refers to and cannot find: the Environment owns those (a shard's, made or
 * replaced while its Services were placed), so the pass waits for it with backoff rather than stop until the next
 * resync, as it would for a resource the spec names wrongly.
 */
const ENVIRONMENT_OWNED = /^(ListenerNotFound|LoadBalancerNotFound)(Exception)?$/;

const TOO_MANY_LOAD_BALANCERS = /^TooManyLoadBalancers(Exception)?$/;

function isAwsServiceError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && '$metadata' in err;
}

/**
 * The Outcome of an error. `otherwise` is the retry for a plain Error that is neither an AWS error nor a network
 * failure: inside the applier such an error is a reconciler's deliberate message to the user (terminal); around
 * it, an unexpected failure (the API server, a bug) that backs off.
 */
export function outcomeOf(err: unknown, otherwise: Retry = BACKOFF): Outcome {
  if (err instanceof OutcomeError) return err.outcome;
  const cls = classifyError(err);
  if (cls === 'throttled')
    return outcome('Throttled', `AWS throttled the request (${errorName(err)}); retrying`, BACKOFF);
  if (cls === 'transient') return outcome('Unavailable', `${errorName(err)}: ${messageOf(err)}; retrying`, BACKOFF);
  if (!isAwsServiceError(err)) return outcome('ApplyFailed', messageOf(err), otherwise);
  // The regional quota of load balancers, used up by someone else since the Environment counted: the same reason
  // as the count gives, and the quota's own pace rather than a backoff (the next pass counts again, and while the
  // region is full it withholds the shard and keeps looking at that pace, QUOTA_RETRY).
  if (TOO_MANY_LOAD_BALANCERS.test(errorName(err)))
    return outcome(LOAD_BALANCER_QUOTA_REASON, tooManyLoadBalancersMessage(messageOf(err)), after(QUOTA_RETRY.maxMs));
  switch (cls) {
    case 'access-denied':
      return outcome(
        'AccessDenied',
        `${errorName(err)}: ${messageOf(err)}; grant the operator's IAM role this action (charts/slipway/iam-policy.json lists every action Slipway needs)`,
        TERMINAL,
      );
    case 'conflict':
      // ResourceInUse while a dependent is still going away, or a concurrent change: it settles on its own.
      return outcome('ApplyFailed', `${errorName(err)}: ${messageOf(err)}`, BACKOFF);
    case 'not-found':
      if (ENVIRONMENT_OWNED.test(errorName(err)))
        return outcome(
          'ApplyFailed',
          `${errorName(err)}: ${messageOf(err)}; the Environment makes its load balancers and listeners, retrying`,
          BACKOFF,
        );
      return outcome('ApplyFailed', `${errorName(err)}: ${messageOf(err)}`, TERMINAL);
    default:
      // Invalid, not found, a limit: the request itself is wrong, and sending it again changes nothing.
      return outcome('ApplyFailed', `${errorName(err)}: ${messageOf(err)}`, TERMINAL);
  }
}
