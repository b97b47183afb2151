import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyError } from '../../../src/aws/errors.js';
import {
  familyOf,
  RATE_FAMILIES,
  RateLimitExceeded,
  RateLimits,
  TokenBucket,
  type LimiterClock,
} from '../../../src/aws/rate-limits.js';

/** A clock the test moves by hand; timers fire when it passes their time. */
function manualClock() {
  let now = 0;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let ids = 0;
  const clock: LimiterClock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const t = { at: now + ms, fn, id: ++ids };
      timers.push(t);
      return t.id;
    },
    clearTimeout: (id) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
  };
  const advance = async (ms: number) => {
    now += ms;
    for (const t of timers.filter((x) => x.at <= now).sort((a, b) => a.at - b.at)) {
      timers.splice(timers.indexOf(t), 1);
      t.fn();
    }
    await new Promise((r) => setImmediate(r));
  };
  return { clock, advance, pending: () => timers.length };
}

test('a bucket serves its burst at once, then one caller per refill, in order', async () => {
  const { clock, advance } = manualClock();
  const bucket = new TokenBucket(2, 10, clock); // ELBv2 Describe* is 40 / 10 per second: the same arithmetic
  assert.deepEqual(await Promise.all([bucket.take(), bucket.take()]), [0, 0]);
  const served: string[] = [];
  const third = bucket.take().then((ms) => served.push(`third after ${ms}`));
  const fourth = bucket.take().then((ms) => served.push(`fourth after ${ms}`));
  await advance(99);
  assert.deepEqual(served, []);
  await advance(1);
  assert.deepEqual(served, ['third after 100']);
  await advance(100);
  await Promise.all([third, fourth]);
  assert.deepEqual(served, ['third after 100', 'fourth after 200']);
  // Idle for a second: the bucket is full again, but never above its size.
  await advance(1000);
  assert.equal(bucket.available(), 2);
});

test('a caller whose pass is aborted while waiting gives its reservation back', async () => {
  const { clock, advance, pending } = manualClock();
  const bucket = new TokenBucket(1, 1, clock);
  await bucket.take();
  const pass = new AbortController();
  const waiting = bucket.take(pass.signal);
  assert.equal(pending(), 1);
  pass.abort();
  await assert.rejects(waiting, { name: 'AbortError' });
  assert.equal(pending(), 0);
  await advance(1000);
  assert.equal(bucket.available(), 1, 'the aborted reservation was returned');
  await assert.rejects(bucket.take(AbortSignal.abort()), { name: 'AbortError' });
});

test('operations map to the families AWS throttles together', () => {
  // [service, operation, family, burst, per second]
  const cases: [string, string, string | undefined, number?, number?][] = [
    ['elbv2', 'DescribeRules', 'describe', 40, 10],
    ['elbv2', 'DescribeTags', 'describe', 40, 10],
    ['elbv2', 'DescribeTargetHealth', 'describe', 40, 10],
    ['elbv2', 'RegisterTargets', 'register-targets', 20, 4],
    ['elbv2', 'DeregisterTargets', 'register-targets', 20, 4],
    ['elbv2', 'CreateRule', 'mutate', 20, 5],
    ['elbv2', 'SetRulePriorities', 'mutate', 20, 5],
    ['ecs', 'DescribeServices', 'service-read', 100, 20],
    ['ecs', 'CreateService', 'service-modify', 50, 5],
    ['ecs', 'UpdateService', 'service-modify', 50, 5],
    ['ecs', 'DeleteService', 'service-modify', 50, 5],
    ['ecs', 'RegisterTaskDefinition', 'task-definition-modify', 20, 1],
    ['ecs', 'DeregisterTaskDefinition', 'task-definition-modify', 20, 1],
    ['ecs', 'DescribeClusters', 'read', 50, 20],
    ['ecs', 'DescribeTaskDefinition', 'read', 50, 20],
    ['ecs', 'TagResource', 'write', 20, 5],
    ['ec2', 'DescribeSecurityGroups', 'describe', 100, 20],
    ['ec2', 'AuthorizeSecurityGroupIngress', 'mutate', 200, 5],
    ['ec2', 'CreateSecurityGroup', 'mutate', 200, 5],
    ['route53', 'ChangeResourceRecordSets', 'all', 50, 10],
    ['route53', 'ListResourceRecordSets', 'all', 50, 10],
    ['cognito-idp', 'DescribeUserPoolClient', 'user-pool-client-read', 15, 15],
    ['cognito-idp', 'UpdateUserPoolClient', 'user-pool-client-update', 15, 15],
    ['cognito-idp', 'CreateUserPoolClient', 'user-pool-client-update', 15, 15],
    ['cognito-idp', 'DescribeUserPool', 'user-pool-read', 15, 15],
    ['cognito-idp', 'CreateUserPoolDomain', 'user-pool-update', 15, 15],
    ['logs', 'DescribeLogGroups', 'read', 10, 10],
    ['logs', 'PutRetentionPolicy', 'write', 5, 5],
    ['application-autoscaling', 'PutScalingPolicy', 'all', 20, 10],
    ['cloudfront', 'GetDistributionConfig', 'all', 10, 10],
    ['tagging', 'GetResources', 'all', 5, 5],
    ['sts', 'AssumeRole', undefined],
  ];
  for (const [service, operation, family, burst, perSecond] of cases) {
    const f = familyOf(service, operation);
    assert.equal(f?.family, family, `${service}:${operation}`);
    if (f) assert.deepEqual([f.burst, f.perSecond], [burst, perSecond], `${service}:${operation}`);
  }
  for (const f of RATE_FAMILIES) {
    assert.ok(f.burst >= 1 && f.perSecond > 0, `${f.service}:${f.family}`);
    assert.match(f.source, /https:\/\/|conservative/, `${f.service}:${f.family} names its source or says it is ours`);
  }
});

test('buckets are shared per account, region and family, and no wider', () => {
  const limits = new RateLimits();
  const describe = familyOf('elbv2', 'DescribeRules')!;
  const a = limits.bucketFor('default', 'eu-west-1', describe);
  assert.equal(limits.bucketFor('default', 'eu-west-1', describe, 'DescribeTags'), a, 'one bucket for the family');
  assert.notEqual(limits.bucketFor('default', 'us-east-1', describe), a, 'another region has its own');
  assert.notEqual(limits.bucketFor('arn:aws:iam::2:role/x', 'eu-west-1', describe), a, 'another account too');
  assert.notEqual(limits.bucketFor('default', 'eu-west-1', familyOf('elbv2', 'CreateRule')!), a);
  assert.deepEqual([a.burst, a.perSecond], [40, 10]);
});

test('EC2 actions each have their own bucket, as EC2 evaluates each API individually', () => {
  const limits = new RateLimits();
  const sg = limits.bucketFor(
    'default',
    'eu-west-1',
    familyOf('ec2', 'DescribeSecurityGroups')!,
    'DescribeSecurityGroups',
  );
  const subnets = limits.bucketFor('default', 'eu-west-1', familyOf('ec2', 'DescribeSubnets')!, 'DescribeSubnets');
  assert.notEqual(sg, subnets);
  assert.equal(
    limits.bucketFor('default', 'eu-west-1', familyOf('ec2', 'DescribeSecurityGroups')!, 'DescribeSecurityGroups'),
    sg,
  );
});

test('a wait longer than the longest wait is refused at once, without a reservation, as throttling', async () => {
  const { clock, pending } = manualClock();
  const bucket = new TokenBucket(1, 1, clock, 2000); // RegisterTaskDefinition-like: 1 per second
  assert.equal(await bucket.take(), 0);
  const second = bucket.take(); // waits 1 s
  const third = bucket.take(); // waits 2 s: still within the longest wait
  await assert.rejects(bucket.take(), (err: Error) => {
    assert.ok(err instanceof RateLimitExceeded);
    assert.equal(err.waitMs, 3000);
    assert.equal(classifyError(err), 'throttled', 'the queue backs off, as for AWS throttling');
    return true;
  });
  assert.equal(pending(), 2, 'the refused caller holds no timer');
  assert.equal(bucket.available(), -2, 'and no reservation');
  void second;
  void third;
});
