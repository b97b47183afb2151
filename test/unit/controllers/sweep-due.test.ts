// When an Environment's pass sweeps for orphans: not on every pass a burst of new workloads wakes, but whenever an
// orphan could have appeared since the last sweep; and where it looks for their rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Environment } from '../../../src/api/index.js';
import { sweepDue, sweepScope, type SweepMark } from '../../../src/controllers/sweeper.js';
import { environmentListenerArns } from '../../../src/controllers/workload.js';
import { environment } from '../../support/objects.js';

const GAP = 150_000;
const last: SweepMark = { at: 0, holders: new Set(['Service/a', 'Service/b']), self: '[1,{}]' };
const now = (over: Partial<SweepMark> = {}) => ({ at: 1_000, holders: last.holders, self: last.self, ...over });

test('the first pass sweeps, and so does every pass once half the resync interval has gone by', () => {
  assert.equal(sweepDue(undefined, now(), GAP), true);
  assert.equal(sweepDue(last, now({ at: GAP }), GAP), true);
});

test('workloads joining do not make the next pass sweep again', () => {
  assert.equal(sweepDue(last, now(), GAP), false);
  assert.equal(
    sweepDue(last, now({ holders: new Set(['Service/a', 'Service/b', 'PreviewDeployment/c']) }), GAP),
    false,
  );
});

test('a workload gone, a sweep that left something, or a change of the Environment itself sweeps', () => {
  assert.equal(sweepDue(last, now({ holders: new Set(['Service/a', 'Service/c']) }), GAP), true);
  assert.equal(sweepDue({ ...last, pending: true }, now(), GAP), true);
  assert.equal(sweepDue(last, now({ self: '[1,{"nudge":"1"}]' }), GAP), true);
});

test('with drift events on, a sweep of every owner waits for a wave whose turn the tag scan is; one that left something goes on with those owners', () => {
  // Without a rotation every due sweep looks at every owner (the wave's scan, or a scan of its own between waves).
  assert.equal(sweepScope(last, false, false), 'all');
  assert.equal(sweepScope(undefined, false, false), 'all');
  // With one: in the scan's turn, every owner, from the wave's scan; otherwise nothing, not a scan of its own.
  assert.equal(sweepScope(last, true, true), 'all');
  assert.equal(sweepScope(last, true, false), undefined);
  assert.equal(sweepScope(undefined, true, false), undefined);
  assert.equal(sweepScope({ ...last, pending: true, pendingOwners: [] }, true, false), undefined);
  // Resources left (a distribution disabling): those owners, by their own tags, at once.
  assert.equal(sweepScope({ ...last, pending: true, pendingOwners: ['Service/ns/gone'] }, true, false), 'pending');
});

test("the sweep and a workload's discovery look on every shard's listener, each once", () => {
  const env = environment();
  const withShards = {
    ...env,
    status: {
      loadBalancer: { listenerArn: 'arn:listener/0' },
      shards: [
        { index: 0, listenerArn: 'arn:listener/0' },
        { index: 1, listenerArn: 'arn:listener/1' },
        { index: 2 }, // being created: no listener yet
        { index: 3, listenerArn: 'arn:listener/3' },
      ],
    },
  } as Environment;
  assert.deepEqual(environmentListenerArns(withShards), ['arn:listener/0', 'arn:listener/1', 'arn:listener/3']);
  assert.deepEqual(environmentListenerArns(env), []);
});
