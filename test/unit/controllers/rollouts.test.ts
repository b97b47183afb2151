// The rollout watcher's pure parts: what counts as rolling, and what a poll's answer means for a followed service.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Service } from '@aws-sdk/client-ecs';
import { pino } from 'pino';
import type { AwsClients } from '../../../src/aws/clients.js';
import { isRolling, pollFinding, RolloutWatcher, rolloutChanged } from '../../../src/controllers/rollouts.js';
import { readyAtGeneration, type OperatorDeps, type PassResult } from '../../../src/controllers/shared.js';
import { prepareWorkloadDeletion, runsSettled, workloadStatusFields } from '../../../src/controllers/workload.js';
import { outcome, WATCH } from '../../../src/outcome/outcome.js';
import type { Plan } from '../../../src/planner/plan.js';
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

describe('a settled owner (what a rotating wave may take as planned)', () => {
  test('Ready at its generation, its deployment completed and every wanted task running', () => {
    const ready = (generation: number) => ({
      observedGeneration: generation,
      conditions: [
        { type: 'Ready', status: 'True' as const, reason: 'Reconciled', message: '', lastTransitionTime: '' },
      ].map((c) => ({ ...c, observedGeneration: generation })),
    });
    assert.ok(readyAtGeneration(ready(3), 3));
    assert.ok(!readyAtGeneration(ready(2), 3), 'a newer spec than the status shows');
    assert.ok(!readyAtGeneration(undefined, 3));
    assert.ok(runsSettled({ rolloutState: 'COMPLETED', runningCount: 2, desiredCount: 2 }));
    assert.ok(!runsSettled({ rolloutState: 'COMPLETED', runningCount: 1, desiredCount: 2 }), 'a task short');
    assert.ok(!runsSettled({ rolloutState: 'IN_PROGRESS', runningCount: 2, desiredCount: 2 }));
    assert.ok(!runsSettled(undefined));
  });

  test('a service taken as planned keeps the running state the last status showed; one read shows what it read', () => {
    const plan: Plan = { owner: { clusterId: 'c', kind: 'Service', namespace: 'ns', name: 'web' }, resources: [] };
    const passWith = (service: Record<string, string>) =>
      ({ report: { attrs: { 'ecs-service': service } } }) as unknown as PassResult;
    const previous = { runningCount: 3, desiredCount: 3, rolloutState: 'COMPLETED' };
    const unread = workloadStatusFields(plan, passWith({ arn: 'a', read: 'false' }), 0, previous);
    assert.deepEqual([unread.runningCount, unread.desiredCount, unread.rolloutState], [3, 3, 'COMPLETED']);
    const read = { arn: 'a', runningCount: '1', desiredCount: '3', rolloutState: 'COMPLETED' };
    const fields = workloadStatusFields(plan, passWith(read), 0, previous);
    assert.deepEqual([fields.runningCount, fields.desiredCount], [1, 3]);
  });
});

describe('rollout watcher: a workload being deleted', () => {
  test('is no longer followed once its deletion begins: a poll would find its ECS service gone and queue a pass of it', () => {
    const enqueued: string[] = [];
    const watcher = new RolloutWatcher({
      intervalMs: 60_000,
      timeoutMs: 1_000,
      enqueue: (owner) => enqueued.push(owner),
      log: pino({ level: 'silent' }),
    });
    watcher.start();
    const owner = { clusterId: 'c', kind: 'Service' as const, namespace: 'ns', name: 'web' };
    watcher.follow(
      { owner: 'Service/ns/web', environment: 'ns/dev', aws: {} as AwsClients, cluster: 'c', service: 'web' },
      rolloutAttrsOf(ecs('IN_PROGRESS', 0)),
    );
    assert.equal(watcher.size, 1);
    const gone = { ok: false as const, stop: outcome('EnvironmentNotFound', 'gone', WATCH) };
    const deps = { rollouts: watcher } as unknown as OperatorDeps;
    assert.equal(prepareWorkloadDeletion(deps, owner, undefined, gone, undefined), 'release');
    assert.equal(watcher.size, 0, 'forgotten, its poll timer with it');
    watcher.stop();
    assert.deepEqual(enqueued, []);
  });
});
