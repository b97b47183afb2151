import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Condition,
  carryTransitionTimes,
  formatTime,
  jsonEqual,
  mergePatchFor,
  setCondition,
  statusEqual,
} from '../../../src/runtime/status.js';

const t0 = new Date('2025-01-01T10:00:00.123Z');
const t1 = new Date('2025-01-01T11:30:00.999Z');

describe('setCondition', () => {
  test('appends a new condition stamped with now', () => {
    const out = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: 'Provisioning', message: 'creating' },
      t0,
    );
    assert.deepEqual(out, [
      {
        type: 'Ready',
        status: 'False',
        reason: 'Provisioning',
        message: 'creating',
        lastTransitionTime: '2025-01-01T10:00:00Z',
      },
    ]);
  });

  test('keeps lastTransitionTime when the status is unchanged, but updates reason and message', () => {
    const before = setCondition([], { type: 'Ready', status: 'False', reason: 'Provisioning', message: 'a' }, t0);
    const after = setCondition(
      before,
      { type: 'Ready', status: 'False', reason: 'Waiting', message: 'b', observedGeneration: 3 },
      t1,
    );
    assert.deepEqual(after, [
      {
        type: 'Ready',
        status: 'False',
        reason: 'Waiting',
        message: 'b',
        observedGeneration: 3,
        lastTransitionTime: '2025-01-01T10:00:00Z',
      },
    ]);
  });

  test('moves lastTransitionTime when the status changes', () => {
    const before = setCondition([], { type: 'Ready', status: 'False', reason: 'Provisioning', message: '' }, t0);
    const after = setCondition(before, { type: 'Ready', status: 'True', reason: 'Available', message: '' }, t1);
    assert.equal(after[0]?.lastTransitionTime, '2025-01-01T11:30:00Z');
    assert.equal(after[0]?.status, 'True');
  });

  test('leaves other conditions and their order alone, and does not mutate the input', () => {
    const before: Condition[] = [
      { type: 'Ready', status: 'True', reason: 'A', message: '', lastTransitionTime: '2024-01-01T00:00:00Z' },
      { type: 'Synced', status: 'True', reason: 'B', message: '', lastTransitionTime: '2024-01-01T00:00:00Z' },
    ];
    const frozen = structuredClone(before);
    const after = setCondition(before, { type: 'Ready', status: 'False', reason: 'C', message: 'x' }, t1);
    assert.deepEqual(before, frozen);
    assert.deepEqual(
      after.map((c) => c.type),
      ['Ready', 'Synced'],
    );
    assert.equal(after[1], before[1]);
  });

  test('formatTime writes second precision like metav1.Time', () => {
    assert.equal(formatTime(t1), '2025-01-01T11:30:00Z');
  });
});

describe('status equality', () => {
  const current = {
    observedGeneration: 2,
    conditions: [
      { type: 'Ready', status: 'True', reason: 'Available', message: 'ok', lastTransitionTime: '2025-01-01T10:00:00Z' },
      { type: 'Drifted', status: 'False', reason: 'InSync', message: '', lastTransitionTime: '2025-01-01T10:00:00Z' },
    ],
    inventory: [{ id: 'tg', arn: 'arn:aws:elasticloadbalancing:x' }],
  };

  test('a rebuilt status whose conditions only carry fresh timestamps is equal', () => {
    const rebuilt = {
      inventory: [{ arn: 'arn:aws:elasticloadbalancing:x', id: 'tg' }],
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Available',
          message: 'ok',
          lastTransitionTime: '2025-02-02T00:00:00Z',
        },
        { type: 'Drifted', status: 'False', reason: 'InSync', message: '', lastTransitionTime: '2025-02-02T00:00:00Z' },
      ],
      observedGeneration: 2,
    };
    assert.equal(statusEqual(current, rebuilt), true);
  });

  test('a condition whose status flipped is a change', () => {
    const flipped = structuredClone(current);
    flipped.conditions[1] = { ...flipped.conditions[1]!, status: 'True', lastTransitionTime: '2025-02-02T00:00:00Z' };
    assert.equal(statusEqual(current, flipped), false);
  });

  test('a changed message, field or list item is a change', () => {
    const message = structuredClone(current);
    message.conditions[0] = { ...message.conditions[0]!, message: 'degraded' };
    assert.equal(statusEqual(current, message), false);
    assert.equal(statusEqual(current, { ...current, observedGeneration: 3 }), false);
    assert.equal(statusEqual(current, { ...current, inventory: [] }), false);
  });

  test('undefined properties count as absent', () => {
    assert.equal(statusEqual({ a: 1 }, { a: 1, b: undefined }), true);
    assert.equal(statusEqual(undefined, {}), true);
    assert.equal(statusEqual(undefined, { a: 1 }), false);
  });

  test('carryTransitionTimes keeps the old timestamp only for unchanged statuses', () => {
    const desired = {
      conditions: [
        { type: 'Ready', status: 'False', reason: 'X', message: '', lastTransitionTime: 'new' },
        { type: 'Drifted', status: 'False', reason: 'InSync', message: '', lastTransitionTime: 'new' },
        { type: 'Synced', status: 'True', reason: 'Y', message: '', lastTransitionTime: 'new' },
      ],
    };
    const out = carryTransitionTimes(current, desired);
    assert.deepEqual(
      out.conditions.map((c) => c.lastTransitionTime),
      ['new', '2025-01-01T10:00:00Z', 'new'],
    );
  });

  test('jsonEqual compares arrays by order and objects by keys', () => {
    assert.equal(jsonEqual([1, 2], [2, 1]), false);
    assert.equal(jsonEqual({ a: { b: [1] } }, { a: { b: [1] } }), true);
    assert.equal(jsonEqual(null, {}), false);
    assert.equal(jsonEqual('1', 1), false);
  });
});

describe('mergePatchFor', () => {
  test('sets changed keys, nulls removed keys and replaces arrays whole', () => {
    const patch = mergePatchFor(
      { a: 1, b: { c: 1, d: 2 }, list: [1, 2], gone: 'x' },
      { a: 1, b: { c: 1, d: 3 }, list: [1], added: true },
    );
    assert.deepEqual(patch, { b: { d: 3 }, list: [1], gone: null, added: true });
  });

  test('with no current value, the patch is the whole desired value', () => {
    assert.deepEqual(mergePatchFor(undefined, { a: 1 }), { a: 1 });
  });
});
