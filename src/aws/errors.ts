// One place that classifies AWS errors, so retry policy is decided once: throttling and 5xx are retried quietly
// with backoff; "not found" is an answer, not a failure; the rest are surfaced.

export type ErrorClass = 'throttled' | 'transient' | 'not-found' | 'conflict' | 'invalid' | 'access-denied' | 'other';

interface AwsErrorShape {
  readonly name?: string;
  readonly Code?: string;
  readonly code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: { readonly throttling?: boolean };
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'PriorRequestNotComplete',
  'SlowDown',
]);

export function errorName(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as AwsErrorShape;
  return e.name ?? e.Code ?? e.code ?? 'Error';
}

export function classifyError(err: unknown): ErrorClass {
  const name = errorName(err);
  const e = (typeof err === 'object' && err !== null ? err : {}) as AwsErrorShape;
  const status = e.$metadata?.httpStatusCode ?? 0;
  if (THROTTLING.has(name) || e.$retryable?.throttling || status === 429) return 'throttled';
  if (/NotFound|NoSuch|DoesNotExist/i.test(name) || name === 'ResourceNotFoundException') return 'not-found';
  if (/AccessDenied|UnauthorizedOperation|NotAuthorized/.test(name) || status === 403) return 'access-denied';
  if (/InUse|AlreadyExists|Duplicate|Conflict/.test(name) || status === 409) return 'conflict';
  if (status >= 500 || /ServiceUnavailable|InternalFailure|InternalError|InternalServer/.test(name)) return 'transient';
  if (/Invalid|Validation|Malformed|TooMany|LimitExceeded|Unsupported/.test(name) || status === 400) return 'invalid';
  return 'other';
}

export function isNotFound(err: unknown): boolean {
  return classifyError(err) === 'not-found';
}

export function isRetryable(err: unknown): boolean {
  const c = classifyError(err);
  return c === 'throttled' || c === 'transient';
}
