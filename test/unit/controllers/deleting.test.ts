import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deletingConditions, type PassResult } from '../../../src/controllers/shared.js';
import { BACKOFF, outcome } from '../../../src/outcome/outcome.js';
import type { ResourceOutcome } from '../../../src/reconcilers/applier.js';

const deleted = (id: string, kind: ResourceOutcome['kind']): ResourceOutcome => ({
  id,
  kind,
  action: 'deleted',
  changes: [],
  wasInventoried: true,
});

function pass(outcomes: ResourceOutcome[], left: number): PassResult {
  const inventory = Array.from({ length: left }, (_, i) => ({
    kind: 'elbv2.TargetGroup' as const,
    logicalId: `tg-${i}`,
    identifier: `arn:tg-${i}`,
  }));
  return { report: { outcomes, inventory, attrs: {} } } as unknown as PassResult;
}

test('a deletion that just started is Deleting and not Ready', () => {
  const [deleting, ready] = deletingConditions(undefined);
  assert.deepEqual([deleting!.type, deleting!.status, deleting!.reason], ['Deleting', 'True', 'InProgress']);
  assert.deepEqual([ready!.type, ready!.status, ready!.reason], ['Ready', 'False', 'Deleting']);
});

test('a blocked deletion names the step met first in deletion order and its blocker', () => {
  const inUse = outcome(
    'ApplyFailed',
    'ResourceInUse: target group is in use by rule arn:rule-9 owned by Service/x/y',
    BACKOFF,
  );
  const conditions = deletingConditions(
    pass(
      [
        {
          id: 'log-group',
          kind: 'logs.LogGroup',
          action: 'failed',
          changes: [],
          wasInventoried: true,
          identifier: '/ecs/a',
          message: 'later',
          outcome: outcome('ApplyFailed', 'later', BACKOFF),
        },
        {
          id: 'target-group',
          kind: 'elbv2.TargetGroup',
          action: 'failed',
          changes: [],
          wasInventoried: true,
          identifier: 'arn:tg',
          message: inUse.message,
          outcome: inUse,
        },
        deleted('service', 'ecs.Service'),
      ],
      2,
    ),
  );
  const deleting = conditions.find((c) => c.type === 'Deleting')!;
  assert.equal(deleting.reason, 'ApplyFailed');
  assert.match(
    deleting.message!,
    /^2 AWS resources left; deleting elbv2\.TargetGroup arn:tg is blocked: ResourceInUse/,
  );
  assert.match(deleting.message!, /arn:rule-9 owned by Service\/x\/y/);
  assert.equal(conditions.find((c) => c.type === 'Ready')!.status, 'False');
});

test('a deletion with resources left and nothing failed counts what is left', () => {
  const [deleting] = deletingConditions(pass([deleted('service', 'ecs.Service')], 3));
  assert.deepEqual([deleting!.reason, deleting!.message], ['InProgress', '3 AWS resources left to delete']);
});
