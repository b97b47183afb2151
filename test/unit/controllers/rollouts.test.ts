// The rollout watcher's pure parts: what counts as rolling, and what a poll's answer means for a followed service.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Service } from '@aws-sdk/client-ecs';
import { isRolling, pollFinding, rolloutChanged } from '../../../src/controllers/rollouts.js';
import { rolloutAttrsOf } from '../../../src/reconcilers/ecs-service.js';

function ecs(rolloutState: string, running: number, desired = 2, status = 'ACTIVE'): Service {
  return {
    serviceName: 'web',
    status,
    runningCount: running,
    desiredCount: desired,
    deployments: [
      { status: 'PRIMARY', rolloutState: rolloutState as 'IN_PROGRESS', runningCount: running },
      { status: 'ACTIVE', rolloutState: 'COMPLETED', runningCount: desired - running },
    ],
  };
}

describe('rollout watcher: pure parts', () => {
  test('the status fields come from the service and its PRIMARY deployment', () => {
    assert.deepEqual(rolloutAttrsOf(ecs('IN_PROGRESS', 1)), {
      runningCount: '1',
      desiredCount: '2',
      rolloutState: 'IN_PROGRESS',
    });
    assert.equal(rolloutAttrsOf({ serviceName: 'x' }).rolloutState, '', 'no deployment reported');
  });

  test('only IN_PROGRESS is rolling', () => {
    assert.equal(isRolling(rolloutAttrsOf(ecs('IN_PROGRESS', 0))), true);
    assert.equal(isRolling(rolloutAttrsOf(ecs('COMPLETED', 2))), false);
    assert.equal(isRolling(rolloutAttrsOf(ecs('FAILED', 0))), false);
    assert.equal(isRolling({ rolloutState: '', runningCount: '0', desiredCount: '0' }), false);
  });

  test('a change is any field the status shows', () => {
    const base = rolloutAttrsOf(ecs('IN_PROGRESS', 0));
    assert.equal(rolloutChanged(base, rolloutAttrsOf(ecs('IN_PROGRESS', 0))), false);
    assert.equal(rolloutChanged(base, rolloutAttrsOf(ecs('IN_PROGRESS', 1))), true, 'a task started');
    assert.equal(rolloutChanged(base, rolloutAttrsOf(ecs('IN_PROGRESS', 0, 3))), true, 'autoscaling moved');
    assert.equal(rolloutChanged(base, rolloutAttrsOf(ecs('FAILED', 0))), true, 'the circuit breaker tripped');
  });

  test('a poll: unchanged, moved while still rolling, settled, or gone', () => {
    const before = rolloutAttrsOf(ecs('IN_PROGRESS', 0));
    assert.deepEqual(pollFinding(before, ecs('IN_PROGRESS', 0)), { kind: 'unchanged' });
    assert.deepEqual(pollFinding(before, ecs('IN_PROGRESS', 1)), {
      kind: 'changed',
      state: rolloutAttrsOf(ecs('IN_PROGRESS', 1)),
      rolling: true,
    });
    assert.deepEqual(pollFinding(before, ecs('COMPLETED', 2)), {
      kind: 'changed',
      state: rolloutAttrsOf(ecs('COMPLETED', 2)),
      rolling: false,
    });
    assert.deepEqual(pollFinding(before, undefined), { kind: 'gone' }, 'MISSING');
    assert.deepEqual(pollFinding(before, ecs('IN_PROGRESS', 0, 2, 'DRAINING')), { kind: 'gone' }, 'being deleted');
  });
});
