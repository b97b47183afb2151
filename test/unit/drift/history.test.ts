// status.history: deployments newest first, capped at 10, settled from DescribeServices' deployments, including a
// rollback by the ECS deployment circuit breaker (moto never fails a deployment: its shape is written out here).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeploymentRecord } from '../../../src/api/index.js';
import { updateHistory, type ObservedService } from '../../../src/drift/history.js';

const arn = (rev: number) => `arn:aws:ecs:us-east-1:123456789012:task-definition/slipway-shop-dev-web:${rev}`;
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const planned = (rev: number, digest: string, annotations: Record<string, string> = {}) => ({
  taskDefinitionArn: arn(rev),
  revision: rev,
  image: `repo/web@${digest}`,
  digest,
  annotations,
});
const completed = (rev: number): ObservedService => ({
  taskDefinition: arn(rev),
  deployments: [
    {
      id: 'ecs-svc/1',
      status: 'PRIMARY',
      taskDefinition: arn(rev),
      rolloutState: 'COMPLETED',
      rolloutStateReason: 'ECS deployment ecs-svc/1 completed.',
    },
  ],
});

test('a new revision opens an entry with commit and pull request; ECS completing it makes it Succeeded', () => {
  const a = updateHistory(
    undefined,
    planned(3, D1, { 'slipway.dev/commit': '0a1b2c3', 'slipway.dev/pull-request': '17', other: 'x' }),
    {
      taskDefinition: arn(3),
      deployments: [{ status: 'PRIMARY', taskDefinition: arn(3), rolloutState: 'IN_PROGRESS' }],
    },
    '2026-11-29T07:00:00Z',
  );
  assert.deepEqual(a.history, [
    {
      revision: 3,
      taskDefinitionArn: arn(3),
      image: `repo/web@${D1}`,
      digest: D1,
      deployedAt: '2026-11-29T07:00:00Z',
      commit: '0a1b2c3',
      pullRequest: '17',
      result: 'InProgress',
    },
  ]);
  assert.equal(a.ended, undefined);
  const b = updateHistory(a.history, planned(3, D1), completed(3), '2026-11-29T07:05:00Z');
  assert.equal(b.history.length, 1, 'the same revision is the same deployment');
  assert.equal(b.history[0]!.result, 'Succeeded');
  assert.equal(b.history[0]!.deployedAt, '2026-11-29T07:00:00Z', 'when it started');
  assert.equal(b.history[0]!.message, 'ECS deployment ecs-svc/1 completed.');
});

test('newest first and at most 10; a final result stays as it was', () => {
  let history: DeploymentRecord[] = [];
  for (let rev = 1; rev <= 12; rev++) {
    history = updateHistory(
      history,
      planned(rev, rev % 2 ? D1 : D2),
      completed(rev),
      `2026-11-29T07:${10 + rev}:00Z`,
    ).history;
  }
  assert.deepEqual(
    history.map((h) => h.revision),
    [12, 11, 10, 9, 8, 7, 6, 5, 4, 3],
  );
  assert.ok(history.every((h) => h.result === 'Succeeded'));
  const again = updateHistory(history, planned(12, D2), { taskDefinition: arn(11), deployments: [] }, 'later');
  assert.deepEqual(again.history, history);
});

test('a circuit-breaker rollback in progress: our deployment FAILED, the previous revision PRIMARY again', () => {
  const previous = updateHistory(
    updateHistory([], planned(4, D1), completed(4), 't0').history,
    planned(5, D2),
    undefined,
    't1',
  ).history;
  assert.equal(previous[1]!.result, 'Succeeded');
  // DescribeServices while ECS rolls back revision 5 to 4.
  const rollingBack: ObservedService = {
    taskDefinition: arn(4),
    deployments: [
      {
        id: 'ecs-svc/9',
        status: 'PRIMARY',
        taskDefinition: arn(4),
        rolloutState: 'IN_PROGRESS',
        rolloutStateReason: 'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/8.',
      },
      {
        id: 'ecs-svc/8b',
        status: 'ACTIVE',
        taskDefinition: arn(5),
        rolloutState: 'FAILED',
        rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
      },
    ],
  };
  const out = updateHistory(previous, planned(5, D2), rollingBack, 't2');
  assert.equal(out.history[0]!.result, 'RolledBack');
  assert.equal(out.history[0]!.message, 'ECS deployment circuit breaker: tasks failed to start.');
  assert.equal(out.ended, out.history[0], 'the controller raises a Warning Event for it');
  assert.equal(out.history[1]!.result, 'Succeeded', 'the revision rolled back to keeps its own entry');
  const next = updateHistory(out.history, planned(5, D2), rollingBack, 't3');
  assert.equal(next.ended, undefined, 'said once');
});

test('a rollback already finished: the failed deployment gone, the service on the older revision', () => {
  const previous = updateHistory([], planned(6, D2), undefined, 't0').history;
  const out = updateHistory(
    previous,
    planned(6, D2),
    {
      taskDefinition: arn(5),
      deployments: [
        {
          status: 'PRIMARY',
          taskDefinition: arn(5),
          rolloutState: 'COMPLETED',
          rolloutStateReason: 'ECS deployment circuit breaker: rolled back to deploymentId ecs-svc/7.',
        },
      ],
    },
    't1',
  );
  assert.equal(out.history[0]!.result, 'RolledBack');
});

test('a failed deployment without rollback is Failed; a service not yet updated stays InProgress', () => {
  const previous = updateHistory([], planned(7, D1), undefined, 't0').history;
  const failed = updateHistory(
    previous,
    planned(7, D1),
    {
      taskDefinition: arn(7),
      deployments: [
        {
          status: 'PRIMARY',
          taskDefinition: arn(7),
          rolloutState: 'FAILED',
          rolloutStateReason: 'tasks failed to start',
        },
      ],
    },
    't1',
  );
  assert.equal(failed.history[0]!.result, 'Failed');
  assert.equal(failed.ended?.result, 'Failed');
  const waiting = updateHistory(previous, planned(7, D1), completed(6), 't1');
  assert.equal(waiting.history[0]!.result, 'InProgress', 'ECS still runs revision 6: the update has not reached it');
});

test('a deployment superseded while in progress says so', () => {
  const first = updateHistory([], planned(8, D1), undefined, 't0').history;
  const second = updateHistory(first, planned(9, D2), undefined, 't1').history;
  assert.equal(second[1]!.result, 'InProgress');
  assert.equal(second[1]!.message, 'superseded by revision 9 before its rollout ended');
});
