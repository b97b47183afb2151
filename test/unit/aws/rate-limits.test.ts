import assert from 'node:assert/strict';
import { test } from 'node:test';
import { familyOf, RATE_FAMILIES, RateLimits, TokenBucket, type LimiterClock } from '../../../src/aws/rate-limits.js';

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
  const cases: [string, string, string | undefined][] = [
    ['elbv2', 'DescribeRules', 'describe'],
    ['elbv2', 'DescribeTags', 'describe'],
    ['elbv2', 'CreateRule', 'mutate'],
    ['ecs', 'DescribeServices', 'describe-services'],
    ['ecs', 'UpdateService', 'service-writes'],
    ['ecs', 'RegisterTaskDefinition', 'register-task-definition'],
    ['ecs', 'DescribeTaskDefinition', 'read'],
    ['ecs', 'TagResource', 'write'],
    ['ec2', 'DescribeSecurityGroups', 'describe'],
    ['ec2', 'AuthorizeSecurityGroupIngress', 'mutate'],
    ['route53', 'ChangeResourceRecordSets', 'all'],
    ['route53', 'ListResourceRecordSets', 'all'],
    ['cognito-idp', 'UpdateUserPoolClient', 'all'],
    ['logs', 'DescribeLogGroups', 'read'],
    ['logs', 'PutRetentionPolicy', 'write'],
    ['application-autoscaling', 'PutScalingPolicy', 'all'],
    ['cloudfront', 'GetDistributionConfig', 'all'],
    ['tagging', 'GetResources', 'all'],
    ['sts', 'AssumeRole', undefined],
  ];
  for (const [service, operation, family] of cases) {
    assert.equal(familyOf(service, operation)?.family, family, `${service}:${operation}`);
  }
  for (const f of RATE_FAMILIES) {
    assert.ok(f.burst >= 1 && f.perSecond > 0, `${f.service}:${f.family}`);
    assert.ok(f.source.length > 0, `${f.service}:${f.family} names its source`);
  }
});

test('buckets are shared per account, region and family, and no wider', () => {
  const limits = new RateLimits();
  const describe = familyOf('elbv2', 'DescribeRules')!;
  const a = limits.bucketFor('default', 'eu-west-1', describe);
  assert.equal(limits.bucketFor('default', 'eu-west-1', describe), a, 'the same account and region share one');
  assert.notEqual(limits.bucketFor('default', 'us-east-1', describe), a, 'another region has its own');
  assert.notEqual(limits.bucketFor('arn:aws:iam::2:role/x', 'eu-west-1', describe), a, 'another account too');
  assert.notEqual(limits.bucketFor('default', 'eu-west-1', familyOf('elbv2', 'CreateRule')!), a);
  assert.deepEqual([a.burst, a.perSecond], [40, 10]);
});
