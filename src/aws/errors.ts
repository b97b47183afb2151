// One place that classifies AWS errors, so retry policy is decided once: throttling and 5xx are retried quietly
// with backoff; "not found" is an answer, not a failure; the rest are surfaced.
//
// Throttling and transient errors are recognised by the SDK's own predicates (@smithy/core/retry, the code its
// retry strategy runs), not by a copied list: AWS keeps THROTTLING_ERROR_CODES, TRANSIENT_ERROR_CODES,
// TRANSIENT_ERROR_STATUS_CODES and the Node.js network error codes up to date there. (The old standalone package
// @smithy/service-error-classification is deprecated and only re-exports these predicates; neither exports the
// lists themselves any more.) So an error reaching us is one the SDK already retried (maxAttempts in clients.ts)
// or one it never retries.
import { isThrottlingError, isTransientError } from '@smithy/core/retry';

export type ErrorClass = 'throttled' | 'transient' | 'not-found' | 'conflict' | 'invalid' | 'access-denied' | 'other';

interface AwsErrorShape {
  readonly name?: string;
  readonly Code?: string;
  readonly code?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: { readonly throttling?: boolean };
}

/** The SDK predicates' parameter type (SdkError), named without importing @smithy/types' internals. */
type SdkError = Parameters<typeof isTransientError>[0];

/**
 * On the SDK's throttling list, but every service Slipway calls (ECS, Application Auto Scaling, Cognito) means a
 * quota by it ("the limit for the resource was exceeded"), which waiting does not lift: it stays 'invalid', so
 * the user is told to raise the quota instead of the operator retrying forever.
 */
const QUOTA_NOT_THROTTLING = new Set(['LimitExceededException']);

/**
 * Dropped or refused connections, DNS failures and our own deadlines: retryable, the request may not even have
 * reached AWS. The SDK's isTransientError knows the Node.js codes (and TimeoutError) but deliberately not
 * AbortError, since it must not retry a call its caller cancelled; for the operator, a pass aborted at its
 * deadline is retried by the next pass. "socket hang up" normally carries ECONNRESET; the message is checked
 * too for wrappers that drop the code.
 */
function isNetworkOrDeadline(e: AwsErrorShape): boolean {
  return e.name === 'AbortError' || /socket hang up/i.test(e.message ?? '');
}

export function errorName(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as AwsErrorShape;
  return e.name ?? e.Code ?? e.code ?? 'Error';
}

export function classifyError(err: unknown): ErrorClass {
  const name = errorName(err);
  const obj = typeof err === 'object' && err !== null;
  const e = (obj ? err : {}) as AwsErrorShape;
  const sdk = e as SdkError;
  const status = e.$metadata?.httpStatusCode ?? 0;
  if (obj && isThrottlingError(sdk) && !QUOTA_NOT_THROTTLING.has(name)) return 'throttled';
  if (/NotFound|NoSuch|DoesNotExist/i.test(name) || name === 'ResourceNotFoundException') return 'not-found';
  if (/AccessDenied|UnauthorizedOperation|NotAuthorized/.test(name) || status === 403) return 'access-denied';
  if (/InUse|AlreadyExists|Duplicate|Conflict/.test(name) || status === 409) return 'conflict';
  if (status >= 500 || /ServiceUnavailable|InternalFailure|InternalError|InternalServer/.test(name)) return 'transient';
  // A not-idempotent create whose response was lost (unknown-outcome.ts): the next pass observes before creating.
  if (obj && (isTransientError(sdk) || isNetworkOrDeadline(e) || name === 'OutcomeUnknown')) return 'transient';
  // A listing whose next-page token was spent (a page's answer lost, then retried with the same token): the next
  // pass lists again from the first page. Not the user's to fix, so never terminal.
  if (name === 'PaginationTokenExpiredException') return 'transient';
  if (/Invalid|Validation|Malformed|TooMany|LimitExceeded|Unsupported/.test(name) || status === 400) return 'invalid';
  return 'other';
}

export function isNotFound(err: unknown): boolean {
  return classifyError(err) === 'not-found';
}

/**
 * What `call` returns, or undefined when AWS answers that the thing is not there: a read that finds nothing, a
 * delete that finds it gone already. Every other error is thrown. `missing` recognises an API that words "not
 * there" otherwise (Application Auto Scaling's ValidationException).
 */
export async function unlessNotFound<T>(
  call: () => Promise<T>,
  missing: (err: unknown) => boolean = isNotFound,
): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (missing(err)) return undefined;
    throw err;
  }
}
