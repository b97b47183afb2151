// The account's regional quota of load balancers as the Environment reads it and reports it: the quota from
// DescribeAccountLimits (AWS's default of 50 when absent), and the LoadBalancerCapacity condition, False with the
// quota's reason when shards are withheld or when a create in the pass was refused by the quota.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { limitsFrom } from '../../../src/aws/load-balancer-limits.js';
import { capacityCondition, type ShardState } from '../../../src/controllers/environment.js';
import { outcomeOf } from '../../../src/outcome/classify.js';
import { quotaRetryDelayMs } from '../../../src/outcome/load-balancer-quota.js';
import { TERMINAL } from '../../../src/outcome/outcome.js';
import { environment } from '../../support/objects.js';

test("the regional quota comes from DescribeAccountLimits, else AWS's default of 50", () => {
  const listed = limitsFrom([
    { Name: 'application-load-balancers', Max: '20' },
    { Name: 'rules-per-application-load-balancer', Max: '100' },
  ]);
  assert.equal(listed.loadBalancersPerRegion, 20);
  assert.equal(listed.loadBalancersPerRegionFromAccount, true);
  const absent = limitsFrom([{ Name: 'rules-per-application-load-balancer', Max: '100' }]);
  assert.equal(absent.loadBalancersPerRegion, 50);
  assert.equal(absent.loadBalancersPerRegionFromAccount, false);
});

const state = (extra: Partial<ShardState> = {}): ShardState => ({
  capacity: 2,
  shards: [0, 1],
  counts: new Map([
    [0, 2],
    [1, 2],
  ]),
  overflow: 0,
  ...extra,
});

test('LoadBalancerCapacity: room, shards the quota withholds, and a create the quota refused', () => {
  const env = environment();
  const room = capacityCondition(env, state(), []);
  assert.deepEqual([room.status, room.reason], ['True', 'CapacityAvailable']);
  assert.equal(room.message, '4 Services and previews on 2 load balancer(s) of at most 2 each');

  const withheld = capacityCondition(env, state({ overflow: 1, withheld: { shards: [2], message: 'no room' } }), []);
  assert.deepEqual(
    [withheld.status, withheld.reason, withheld.message],
    ['False', 'LoadBalancerQuotaExceeded', 'no room'],
  );

  const refused = outcomeOf(
    Object.assign(new Error('too many'), { name: 'TooManyLoadBalancersException', $metadata: {} }),
    TERMINAL,
  );
  const raced = capacityCondition(env, state(), [{}, { outcome: refused }]);
  assert.deepEqual([raced.status, raced.reason], ['False', 'LoadBalancerQuotaExceeded']);
  assert.equal(raced.message, refused.message);
});

test('an Environment the quota holds back counts again after 15 s, then twice as long each time, at most every 2 min', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 50].map((attempt) => quotaRetryDelayMs(attempt)),
    [15_000, 30_000, 60_000, 120_000, 120_000, 120_000],
  );
  assert.equal(quotaRetryDelayMs(3, { firstMs: 200, maxMs: 2_000 }), 1_600);
});
