// classifyError, table by table: the SDK's throttling and transient lists, Node network errors and deadlines, and
// the name patterns that decide what is the user's to fix.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Route53ServiceException } from '@aws-sdk/client-route-53';
import { classifyError, errorName, isNotFound, unlessNotFound, type ErrorClass } from '../../../src/aws/errors.js';

/** An AWS service error as the SDK deserialises it: a name, a message and the response metadata. */
function awsError(name: string, status = 400, extra: Record<string, unknown> = {}): Error {
  return Object.assign(
    new Error(`${name} happened`),
    { name, $fault: 'client', $metadata: { httpStatusCode: status } },
    extra,
  );
}

/** A Node system error (what http/net/dns raise). */
function nodeError(code: string, message = `connect ${code} 10.0.0.1:443`): Error {
  return Object.assign(new Error(message), { code, errno: -1, syscall: 'connect' });
}

function label(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { code?: string; message?: string };
  return [errorName(err), e.code, e.message].filter(Boolean).join(' ');
}

function table(rows: readonly (readonly [unknown, ErrorClass])[]): void {
  for (const [err, expected] of rows)
    test(`${label(err)} → ${expected}`, () => assert.equal(classifyError(err), expected));
}

describe('throttling: the SDK list, HTTP 429 and the throttling trait', () => {
  table([
    // Every name the old hand-copied set had is on the SDK's list.
    [awsError('Throttling'), 'throttled'],
    [awsError('ThrottlingException'), 'throttled'],
    [awsError('ThrottledException'), 'throttled'],
    [awsError('TooManyRequestsException'), 'throttled'],
    [awsError('RequestLimitExceeded', 503), 'throttled'],
    [awsError('RequestThrottled'), 'throttled'],
    [awsError('RequestThrottledException'), 'throttled'],
    [awsError('PriorRequestNotComplete'), 'throttled'],
    [awsError('SlowDown', 503), 'throttled'],
    // Names only the SDK's list knows.
    [awsError('EC2ThrottledException', 503), 'throttled'],
    [awsError('BandwidthLimitExceeded'), 'throttled'],
    [awsError('ProvisionedThroughputExceededException'), 'throttled'],
    [awsError('TransactionInProgressException'), 'throttled'],
    // By status or by the modelled retryable trait, whatever the name.
    [awsError('SomethingNew', 429), 'throttled'],
    [awsError('SomethingElse', 400, { $retryable: { throttling: true } }), 'throttled'],
  ]);
});

describe('a quota is not throttling: waiting does not lift it', () => {
  table([
    // On the SDK's throttling list, but ECS, Application Auto Scaling and Cognito mean a resource limit by it.
    [awsError('LimitExceededException'), 'invalid'],
    [awsError('TooManyTargetGroups'), 'invalid'],
    [awsError('TooManyRules'), 'invalid'],
  ]);
});

describe('transient: the SDK list, 5xx and service names', () => {
  table([
    [awsError('TimeoutError', 0), 'transient'],
    [awsError('RequestTimeout', 400), 'transient'],
    [awsError('RequestTimeoutException', 408), 'transient'],
    [awsError('Whatever', 500), 'transient'],
    [awsError('Whatever', 502), 'transient'],
    [awsError('Whatever', 503), 'transient'],
    [awsError('Whatever', 504), 'transient'],
    [awsError('Whatever', 501), 'transient'],
    [awsError('ServiceUnavailableException', 0), 'transient'],
    [awsError('InternalFailure', 0), 'transient'],
    [awsError('InternalServerError', 0), 'transient'],
    // Retryable by the modelled trait (no throttling flag), or a signature that expired while a call was retried.
    [awsError('ServerBusy', 400, { $retryable: {} }), 'transient'],
    // A spent pagination token (a lost page answer retried): the next pass lists again.
    [awsError('PaginationTokenExpiredException', 400), 'transient'],
    [
      Object.assign(awsError('InvalidSignatureException'), { message: 'Signature expired: 20260101T000000Z' }),
      'transient',
    ],
  ]);
});

describe('transient: Node network errors and deadlines (retryable, the call may never have reached AWS)', () => {
  table([
    [nodeError('ECONNRESET'), 'transient'],
    [nodeError('ETIMEDOUT'), 'transient'],
    [nodeError('EPIPE'), 'transient'],
    [nodeError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN ecs.eu-west-1.amazonaws.com'), 'transient'],
    [nodeError('ECONNREFUSED'), 'transient'],
    [nodeError('EHOSTUNREACH'), 'transient'],
    [nodeError('ENETUNREACH'), 'transient'],
    [nodeError('ECONNRESET', 'socket hang up'), 'transient'],
    [new Error('socket hang up'), 'transient'],
    [Object.assign(new Error('Connection timed out after 30000 ms'), { name: 'TimeoutError' }), 'transient'],
    [Object.assign(new Error('Request aborted'), { name: 'AbortError' }), 'transient'],
    [new DOMException('This operation was aborted', 'AbortError'), 'transient'],
    // A wrapper whose cause is a network failure.
    [new Error('send failed', { cause: nodeError('ECONNRESET') }), 'transient'],
  ]);
});

describe('the rest: by name and status, as before', () => {
  table([
    [awsError('ResourceNotFoundException'), 'not-found'],
    [awsError('TargetGroupNotFound'), 'not-found'],
    [awsError('NoSuchHostedZone', 404), 'not-found'],
    [awsError('ClusterDoesNotExist'), 'not-found'],
    [awsError('AccessDeniedException', 400), 'access-denied'],
    [awsError('UnauthorizedOperation'), 'access-denied'],
    [awsError('NotAuthorizedException'), 'access-denied'],
    [awsError('Anything', 403), 'access-denied'],
    [awsError('ResourceInUse'), 'conflict'],
    [awsError('DuplicateTargetGroupName'), 'conflict'],
    [awsError('PriorityInUse'), 'conflict'],
    [awsError('Anything', 409), 'conflict'],
    [awsError('InvalidParameterException'), 'invalid'],
    [awsError('ValidationError'), 'invalid'],
    [awsError('InvalidChangeBatch'), 'invalid'],
    [awsError('Anything', 400), 'invalid'],
    [new Error('a bug'), 'other'],
    ['a string', 'other'],
    [undefined, 'other'],
    [null, 'other'],
  ]);
});

test('a real SDK exception class is classified by its name and metadata', () => {
  const err = new Route53ServiceException({
    name: 'PriorRequestNotComplete',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'The request was rejected because Route 53 was still processing a prior request.',
  });
  assert.equal(classifyError(err), 'throttled');
});

test('errorName reads name, Code or code, and isNotFound follows the classification', () => {
  assert.equal(errorName({ Code: 'NoSuchKey' }), 'NoSuchKey');
  assert.equal(errorName({ code: 'ECONNRESET' }), 'ECONNRESET');
  assert.equal(errorName('plain'), 'plain');
  assert.equal(isNotFound(awsError('ServiceNotFoundException')), true);
  assert.equal(isNotFound(awsError('ThrottlingException')), false);
});

test('unlessNotFound: the answer, undefined for "not there" (in the API\'s own words where given), anything else thrown', async () => {
  const fail = (name: string) => () => Promise.reject(awsError(name));
  assert.equal(await unlessNotFound(() => Promise.resolve('found')), 'found');
  assert.equal(await unlessNotFound(fail('LoadBalancerNotFoundException')), undefined);
  await assert.rejects(unlessNotFound(fail('ThrottlingException')), { name: 'ThrottlingException' });
  const saysMissing = (err: unknown) => errorName(err) === 'ValidationException';
  assert.equal(await unlessNotFound(fail('ValidationException'), saysMissing), undefined);
  await assert.rejects(unlessNotFound(fail('ObjectNotFoundException'), saysMissing), {
    name: 'ObjectNotFoundException',
  });
});
