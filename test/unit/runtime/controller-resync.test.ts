// The one resync: after a success the Controller brings the key back after the period its Result gave
// (resyncAfterMs) or its default (periodicRequeueMs), jittered with the injected random; a terminal error resyncs
// the key at the last period it reported; requeue: false forgets that period; requeueAfterMs replaces one round.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ManualClock, flushMicrotasks } from '../../../src/runtime/clock.js';
import {
  Controller,
  type IndexedEventSource,
  type Result,
  TerminalError,
  indexedKeys,
} from '../../../src/runtime/controller.js';
import type { InformerHandlers } from '../../../src/runtime/informer.js';

const DEFAULT_MS = 600_000;

/** A controller on a manual clock whose reconcile answers from a script: one step per call, per key. */
function scripted(
  steps: Record<string, (() => Result)[]>,
  options: { random?: number; periodicRequeueMs?: number } = {},
) {
  const clock = new ManualClock();
  const calls: { key: string; at: number }[] = [];
  const controller = new Controller({
    name: 'widgets',
    logger: pino({ level: 'silent' }),
    workers: 2,
    periodicRequeueMs: options.periodicRequeueMs ?? DEFAULT_MS,
    clock,
    random: () => options.random ?? 0.5,
    reconcile: async (key) => {
      calls.push({ key, at: clock.now() });
      const step = steps[key]?.shift();
      assert.ok(step, `a scripted step for call ${calls.length} (${key})`);
      return step();
    },
  });
  return { clock, calls, controller };
}

const terminal = (): never => {
  throw new TerminalError('spec.environmentRef names an Environment that does not exist');
};

describe('the periodic resync', () => {
  test("comes from the Result's resyncAfterMs, else the controller's default", async () => {
    const { controller } = scripted({ 'ns/own': [() => ({ resyncAfterMs: 120_000 })], 'ns/default': [() => ({})] });
    controller.start();
    controller.enqueue('ns/own');
    controller.enqueue('ns/default');
    await flushMicrotasks();
    assert.equal(controller.queue.readyAt('ns/own'), 120_000, 'random 0.5 is the middle of the jitter');
    assert.equal(controller.queue.readyAt('ns/default'), DEFAULT_MS);
    await controller.stop();
  });

  test('is jittered ±10 % with the injected random', async () => {
    const low = scripted({ 'ns/a': [() => ({ resyncAfterMs: 100_000 })], 'ns/b': [() => ({})] }, { random: 0 });
    low.controller.start();
    low.controller.enqueue('ns/a');
    low.controller.enqueue('ns/b');
    await flushMicrotasks();
    assert.equal(low.controller.queue.readyAt('ns/a'), 90_000);
    assert.equal(low.controller.queue.readyAt('ns/b'), 0.9 * DEFAULT_MS);
    await low.controller.stop();

    const high = scripted({ 'ns/a': [() => ({ resyncAfterMs: 100_000 })] }, { random: 0.75 });
    high.controller.start();
    high.controller.enqueue('ns/a');
    await flushMicrotasks();
    assert.equal(high.controller.queue.readyAt('ns/a'), 105_000);
    await high.controller.stop();
  });

  test('fires: the key is reconciled again when its period is up, and schedules the next one', async () => {
    const { clock, calls, controller } = scripted({
      'ns/a': [() => ({ resyncAfterMs: 120_000 }), () => ({ resyncAfterMs: 300_000 }), () => ({})],
    });
    controller.start();
    controller.enqueue('ns/a');
    await flushMicrotasks();
    await clock.advance(119_999);
    assert.equal(calls.length, 1);
    await clock.advance(1);
    assert.deepEqual(
      calls.map((c) => c.at),
      [0, 120_000],
    );
    assert.equal(controller.queue.readyAt('ns/a'), 420_000, 'the new period applies from this round on');
    await controller.stop();
  });

  test('requeueAfterMs replaces the resync for one round, exactly and unjittered', async () => {
    const { clock, controller } = scripted(
      { 'ns/a': [() => ({ requeueAfterMs: 15_000, resyncAfterMs: 120_000 }), () => ({ resyncAfterMs: 120_000 })] },
      { random: 0 },
    );
    controller.start();
    controller.enqueue('ns/a');
    await flushMicrotasks();
    assert.equal(controller.queue.readyAt('ns/a'), 15_000);
    await clock.advance(15_000);
    assert.equal(controller.queue.readyAt('ns/a'), 15_000 + 108_000, 'the next round is the jittered resync');
    await controller.stop();
  });

  test('a success replaces the timed requeue from before: the resync counts from the last look', async () => {
    const { clock, calls, controller } = scripted(
      { 'ns/a': [() => ({ resyncAfterMs: 120_000 }), () => ({ resyncAfterMs: 240_000 })] },
      { random: 0.5 },
    );
    controller.start();
    controller.enqueue('ns/a');
    await flushMicrotasks();
    await clock.advance(60_000);
    controller.enqueue('ns/a'); // brought forward (a resync wave)
    await flushMicrotasks();
    assert.equal(calls.length, 2);
    assert.equal(controller.queue.readyAt('ns/a'), 60_000 + 240_000, 'not the earlier 120 000 from the first pass');
    await controller.stop();
  });

  test('a period of 0 means no resync, whatever the default', async () => {
    const { controller } = scripted({ 'ns/a': [() => ({ resyncAfterMs: 0 })], 'ns/b': [() => ({})] });
    controller.start();
    controller.enqueue('ns/a');
    controller.enqueue('ns/b');
    await flushMicrotasks();
    assert.equal(controller.queue.readyAt('ns/a'), undefined);
    assert.equal(controller.queue.readyAt('ns/b'), DEFAULT_MS);
    await controller.stop();
  });

  test("a key's own period applies even when the controller's default is disabled", async () => {
    const { controller } = scripted(
      { 'ns/a': [() => ({ resyncAfterMs: 60_000 })], 'ns/b': [() => ({})] },
      { periodicRequeueMs: 0 },
    );
    controller.start();
    controller.enqueue('ns/a');
    controller.enqueue('ns/b');
    await flushMicrotasks();
    assert.equal(controller.queue.readyAt('ns/a'), 60_000);
    assert.equal(controller.queue.readyAt('ns/b'), undefined);
    await controller.stop();
  });
});

describe('the resync after a terminal error', () => {
  test('uses the last period the key reported, kept across a bare requeueAfterMs', async () => {
    const { clock, calls, controller } = scripted({
      'ns/a': [() => ({ resyncAfterMs: 120_000 }), () => ({ requeueAfterMs: 5_000 }), terminal, terminal],
      'ns/b': [terminal],
    });
    controller.start();
    controller.enqueue('ns/a');
    controller.enqueue('ns/b');
    await flushMicrotasks();
    assert.equal(controller.queue.readyAt('ns/b'), DEFAULT_MS, 'a key that never reported a period: the default');
    await clock.advance(120_000); // the resync: the Result asks for a poll in 5 s
    await clock.advance(5_000); // the poll fails terminally
    assert.equal(calls.filter((c) => c.key === 'ns/a').length, 3);
    assert.equal(controller.queue.numRequeues('ns/a'), 0, 'no backoff retry');
    assert.equal(controller.queue.readyAt('ns/a'), 125_000 + 120_000, "the key's own period, not the default");
    await clock.advance(120_000);
    assert.equal(calls.filter((c) => c.key === 'ns/a').length, 4, 'resynced while still failing');
    assert.equal(controller.queue.readyAt('ns/a'), 245_000 + 120_000);
    await controller.stop();
  });

  test('a plain success returns the key to the default period', async () => {
    const { clock, controller } = scripted({ 'ns/a': [() => ({ resyncAfterMs: 120_000 }), () => ({}), terminal] });
    controller.start();
    controller.enqueue('ns/a');
    await flushMicrotasks();
    await clock.advance(120_000);
    assert.equal(controller.queue.readyAt('ns/a'), 120_000 + DEFAULT_MS);
    await clock.advance(DEFAULT_MS);
    assert.equal(controller.queue.readyAt('ns/a'), 120_000 + 2 * DEFAULT_MS);
    await controller.stop();
  });

  test('requeue: false forgets the period: no resync, and a later terminal error gets the default', async () => {
    const { clock, controller } = scripted({
      'ns/a': [() => ({ resyncAfterMs: 120_000 }), () => ({ requeue: false }), terminal],
    });
    controller.start();
    controller.enqueue('ns/a');
    await flushMicrotasks();
    await clock.advance(120_000);
    assert.equal(controller.queue.readyAt('ns/a'), undefined, 'requeue: false schedules nothing');
    assert.equal(controller.queue.delayedLength, 0);
    controller.enqueue('ns/a'); // re-created with the same name
    await flushMicrotasks();
    assert.equal(controller.queue.readyAt('ns/a'), 120_000 + DEFAULT_MS, 'the forgotten period is not reused');
    await controller.stop();
  });
});

describe('indexedKeys', () => {
  test("maps an object to the keys of the objects filed under its key in another source's index", async () => {
    const referrers: Record<string, KubernetesObject[]> = {
      'ns/prod': [{ metadata: { namespace: 'ns', name: 'web' } }, { metadata: { namespace: 'ns', name: 'api' } }],
    };
    const asked: string[] = [];
    const services: IndexedEventSource<KubernetesObject> = {
      addHandlers: (_handlers: InformerHandlers<KubernetesObject>) => undefined,
      list: () => [],
      byIndex: (name, value) => {
        asked.push(name);
        return referrers[value] ?? [];
      },
    };
    const map = indexedKeys(services, 'environment');
    assert.deepEqual(map({ metadata: { namespace: 'ns', name: 'prod' } }), ['ns/web', 'ns/api']);
    assert.deepEqual(map({ metadata: { namespace: 'ns', name: 'dev' } }), []);
    assert.deepEqual(asked, ['environment', 'environment']);
  });
});
