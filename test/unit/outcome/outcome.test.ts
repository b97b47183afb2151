// The one outcome type and the one place it is mapped: error → outcome, outcomes → one outcome, outcome →
// conditions, Event and the queue's result. Table by table.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mapOutcome } from '../../../src/controllers/outcome-map.js';
import { outcomeOf } from '../../../src/outcome/classify.js';
import {
  after,
  BACKOFF,
  combine,
  outcome,
  retryAfter,
  TERMINAL,
  userError,
  WATCH,
  type Outcome,
  type Retry,
} from '../../../src/outcome/outcome.js';
import { QUOTA_RETRY } from '../../../src/outcome/load-balancer-quota.js';
import { PlanningError } from '../../../src/planner/errors.js';
import { isTerminalError } from '../../../src/runtime/index.js';

/** An error shaped as the AWS SDK v3 throws it. */
function awsError(name: string, status: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status }, ...extra });
}

describe('outcomeOf: every error gets an outcome', () => {
  const table: readonly (readonly [string, unknown, string, Retry['kind']])[] = [
    ['a thrown outcome is kept as built', userError('PriorityInUse', 'taken'), 'PriorityInUse', 'terminal'],
    [
      'a timed retry is kept',
      retryAfter('DistributionDisabling', 'disabling', 30_000),
      'DistributionDisabling',
      'after',
    ],
    ['a planning error is terminal', new PlanningError('spec.auth', 'no gate'), 'InvalidSpec', 'terminal'],
    [
      'waiting for the Environment is a watch',
      new PlanningError('spec.env', 'not yet', 'EnvironmentNotReady'),
      'EnvironmentNotReady',
      'watch',
    ],
    ['throttling backs off', awsError('ThrottlingException', 400), 'Throttled', 'backoff'],
    ['Route53 busy backs off', awsError('PriorRequestNotComplete', 400), 'Throttled', 'backoff'],
    ['a 5xx backs off', awsError('InternalFailure', 500), 'Unavailable', 'backoff'],
    [
      'a reset connection backs off',
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      'Unavailable',
      'backoff',
    ],
    [
      'an aborted call backs off',
      Object.assign(new Error('aborted'), { name: 'AbortError' }),
      'Unavailable',
      'backoff',
    ],
    [
      'access denied is terminal and names the policy',
      awsError('AccessDeniedException', 403),
      'AccessDenied',
      'terminal',
    ],
    ['a resource in use settles on its own', awsError('ResourceInUse', 400), 'ApplyFailed', 'backoff'],
    ['an invalid request is terminal', awsError('ValidationError', 400), 'ApplyFailed', 'terminal'],
    ['a missing resource is terminal', awsError('TargetGroupNotFoundException', 400), 'ApplyFailed', 'terminal'],
    [
      "a missing listener, the Environment's to make, backs off",
      awsError('ListenerNotFoundException', 400),
      'ApplyFailed',
      'backoff',
    ],
    [
      "a missing load balancer, the Environment's to make, backs off",
      awsError('LoadBalancerNotFoundException', 400),
      'ApplyFailed',
      'backoff',
    ],
  ];
  for (const [name, err, reason, retry] of table) {
    test(name, () => {
      const o = outcomeOf(err);
      assert.equal(o.reason, reason);
      assert.equal(o.retry.kind, retry);
      assert.ok(o.message.length > 0);
    });
  }

  test('a plain Error takes the retry its caller gives: terminal inside the applier, backoff around it', () => {
    assert.equal(outcomeOf(new Error('the pool carries no tags'), TERMINAL).retry.kind, 'terminal');
    assert.equal(outcomeOf(new Error('unexpected')).retry.kind, 'backoff');
    assert.equal(outcomeOf(new Error('unexpected')).message, 'unexpected');
  });

  test("the region's quota of load balancers, used up by another actor, is the quota's reason, looked at again at the quota's pace", () => {
    for (const name of ['TooManyLoadBalancersException', 'TooManyLoadBalancers']) {
      const o = outcomeOf(awsError(name, 400), TERMINAL);
      assert.equal(o.reason, 'LoadBalancerQuotaExceeded');
      assert.deepEqual(o.retry, { kind: 'after', ms: QUOTA_RETRY.maxMs });
      assert.match(o.message, /counts again within 2 minutes/);
      assert.match(o.message, /quota of Application Load Balancers in the region is used up/);
      assert.match(o.message, /raise "Application Load Balancers per Region" in Service Quotas/);
    }
  });

  test('access denied says where the needed actions are listed', () => {
    assert.match(outcomeOf(awsError('AccessDenied', 403)).message, /iam-policy/);
  });
});

describe('combine: several failures of one pass, one outcome', () => {
  const taken = outcome('PriorityInUse', 'priority 10 is taken', TERMINAL);
  const slow = outcome('Throttled', 'throttled', BACKOFF);
  const disabling = outcome('DistributionDisabling', 'disabling', after(30_000));
  const soon = outcome('Waiting', 'waiting', after(10_000));
  const env = outcome('EnvironmentNotReady', 'not yet', WATCH);
  const table: readonly (readonly [string, readonly Outcome[], string | undefined, Retry | undefined])[] = [
    ['nothing failed', [], undefined, undefined],
    ['one failure is itself', [disabling], 'DistributionDisabling', after(30_000)],
    ['the terminal reason is shown, the backoff still retries', [slow, taken], 'PriorityInUse', BACKOFF],
    ['the soonest timed retry wins', [disabling, soon], 'DistributionDisabling', after(10_000)],
    ['a timed retry beats a watch', [env, soon], 'EnvironmentNotReady', after(10_000)],
    ['a watch beats terminal', [taken, env], 'PriorityInUse', WATCH],
    ['all terminal stays terminal', [taken, taken], 'PriorityInUse', TERMINAL],
  ];
  for (const [name, outcomes, reason, retry] of table) {
    test(name, () => {
      const o = combine(outcomes);
      assert.equal(o?.reason, reason);
      assert.deepEqual(o?.retry, retry);
    });
  }

  test('the message counts the failures it does not show', () => {
    assert.equal(combine([taken, slow, slow])?.message, 'priority 10 is taken (and 2 more)');
  });
});

describe('mapOutcome: conditions, Event and the queue result from one place', () => {
  const RESYNC = 300_000;
  test('every outcome sets Ready and Synced False with its reason and message', () => {
    for (const retry of [BACKOFF, WATCH, TERMINAL, after(5)]) {
      const m = mapOutcome(outcome('R', 'msg', retry), RESYNC);
      assert.deepEqual(
        m.conditions.map((c) => [c.type, c.status, c.reason, c.message]),
        [
          ['Ready', 'False', 'R', 'msg'],
          ['Synced', 'False', 'R', 'msg'],
        ],
      );
    }
  });

  test('only what a person must act on is a Warning Event', () => {
    assert.deepEqual(mapOutcome(outcome('PriorityInUse', 'taken', TERMINAL), RESYNC).event, {
      type: 'Warning',
      reason: 'PriorityInUse',
      message: 'taken',
    });
    for (const retry of [BACKOFF, WATCH, after(5)]) {
      assert.equal(mapOutcome(outcome('R', 'm', retry), RESYNC).event, undefined);
    }
  });

  test('backoff throws a retryable error', () => {
    assert.throws(
      () => mapOutcome(outcome('Throttled', 'slow down', BACKOFF), RESYNC).settle(),
      (err: unknown) => err instanceof Error && !isTerminalError(err) && /Throttled: slow down/.test(err.message),
    );
  });

  test('terminal throws a terminal error with the reason', () => {
    assert.throws(
      () => mapOutcome(outcome('RuleQuotaExceeded', 'full', TERMINAL), RESYNC).settle(),
      (err: unknown) => isTerminalError(err) && err.reason === 'RuleQuotaExceeded',
    );
  });

  test('after comes back at exactly that time; a watch only at the resync', () => {
    assert.deepEqual(mapOutcome(outcome('R', 'm', after(30_000)), RESYNC).settle(), { requeueAfterMs: 30_000 });
    assert.deepEqual(mapOutcome(outcome('R', 'm', WATCH), RESYNC).settle(), { resyncAfterMs: RESYNC });
  });
});
