// How long the longest-held key has been with its worker: the work queue measures it from get() to done(), and
// /metrics exports it per controller as workqueue_longest_running_processor_seconds (client-go's name), which is
// what shows a worker held past the pass deadline.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ManualClock, flushMicrotasks } from '../../../src/runtime/clock.js';
import { Controller } from '../../../src/runtime/controller.js';
import { WorkQueue } from '../../../src/runtime/workqueue.js';

describe('longest-running worker', () => {
  test('the queue measures the oldest key held, from get() to done()', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock, random: () => 0 });
    assert.equal(q.longestProcessingMs(), 0, 'no key held');
    q.add('ns/a');
    assert.equal(await q.get(), 'ns/a');
    await clock.advance(5_000);
    // Handed straight to a waiting worker by add(): held from then.
    const b = q.get();
    q.add('ns/b');
    assert.equal(await b, 'ns/b');
    await clock.advance(2_000);
    assert.equal(q.longestProcessingMs(), 7_000);
    q.done('ns/a');
    assert.equal(q.longestProcessingMs(), 2_000, 'the older key was released');
    q.done('ns/b');
    assert.equal(q.longestProcessingMs(), 0);
  });

  test('a re-added key is timed again from its next get(), not from the first', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock, random: () => 0 });
    q.add('ns/a');
    await q.get();
    q.add('ns/a');
    await clock.advance(3_000);
    q.done('ns/a');
    assert.equal(q.longestProcessingMs(), 0, 'waiting again, not held');
    await clock.advance(1_000);
    assert.equal(await q.get(), 'ns/a');
    await clock.advance(500);
    assert.equal(q.longestProcessingMs(), 500);
  });

  test('the controller exports it per controller while a reconcile runs, and 0 once it ends', async () => {
    const clock = new ManualClock();
    const registry = new Registry();
    let release: () => void = () => undefined;
    const controller = new Controller({
      name: 'widgets',
      reconcile: () => new Promise((resolve) => (release = () => resolve({}))),
      logger: pino({ level: 'silent' }),
      registry,
      workers: 1,
      periodicRequeueMs: 0,
      clock,
    });
    const gauge = async () => {
      const metric = await registry.getSingleMetric('workqueue_longest_running_processor_seconds')?.get();
      return metric?.values.find((v) => v.labels.name === 'widgets')?.value;
    };
    controller.start();
    assert.equal(await gauge(), 0);
    controller.enqueue('ns/a');
    await flushMicrotasks();
    await clock.advance(42_000);
    assert.equal(await gauge(), 42);
    release();
    await flushMicrotasks();
    assert.equal(await gauge(), 0);
    await controller.stop();
  });
});
