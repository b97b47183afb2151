import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, flushMicrotasks } from '../../../src/runtime/clock.js';
import { WorkQueue } from '../../../src/runtime/workqueue.js';

function queue(clock = new ManualClock(), extra: { backoffBaseMs?: number; backoffMaxMs?: number } = {}): WorkQueue {
  return new WorkQueue({ clock, random: () => 0, ...extra });
}

/** Resolves to the key if get() settles within a few event-loop turns, otherwise to 'pending'. */
async function settled(p: Promise<string | undefined>): Promise<string | undefined | 'pending'> {
  let value: string | undefined | 'pending' = 'pending';
  void p.then((v) => {
    value = v;
  });
  await flushMicrotasks();
  return value;
}

describe('WorkQueue', () => {
  test('a key added while already waiting is handed out once', async () => {
    const q = queue();
    q.add('ns/a');
    q.add('ns/b');
    q.add('ns/a');
    q.add('ns/a');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'ns/a');
    assert.equal(await q.get(), 'ns/b');
    assert.equal(q.length, 0);
    assert.equal(await settled(q.get()), 'pending');
  });

  test('background keys wait behind every normal key, in their order', async () => {
    const q = queue();
    q.addBackground('ns/w1');
    q.addBackground('ns/w2');
    q.add('ns/retry');
    q.addBackground('ns/w3');
    q.add('ns/event');
    assert.equal(q.length, 5);
    const order = [];
    for (let i = 0; i < 5; i++) order.push(await q.get());
    assert.deepEqual(order, ['ns/retry', 'ns/event', 'ns/w1', 'ns/w2', 'ns/w3']);
    assert.equal(q.length, 0);
  });

  test('a background key added normally moves up once, and its place in the background is skipped', async () => {
    const q = queue();
    q.addBackground('ns/w1');
    q.addBackground('ns/w2');
    q.add('ns/w2');
    q.add('ns/w2');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'ns/w2');
    q.done('ns/w2');
    assert.equal(await q.get(), 'ns/w1');
    assert.equal(q.length, 0);
    assert.equal(await settled(q.get()), 'pending', 'w2 is not handed out a second time from the background');
  });

  test('addBackground of a key already waiting, in either lane, changes nothing', async () => {
    const q = queue();
    q.add('ns/a');
    q.addBackground('ns/a');
    q.addBackground('ns/b');
    q.addBackground('ns/b');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'ns/a');
    assert.equal(await q.get(), 'ns/b');
  });

  test('a background key goes straight to a waiting worker, and one added while processed is requeued on done', async () => {
    const q = queue();
    const waiting = q.get();
    q.addBackground('ns/w');
    assert.equal(await waiting, 'ns/w');
    q.addBackground('ns/w');
    assert.equal(q.length, 0, 'held by a worker: queued again only when done');
    q.done('ns/w');
    assert.equal(await q.get(), 'ns/w');
  });

  test('shutting down drops the background keys too', async () => {
    const q = queue();
    q.addBackground('ns/w');
    q.shutDown();
    assert.equal(q.length, 0);
    assert.equal(await q.get(), undefined);
  });

  test('a key being processed is not handed out again until done', async () => {
    const q = queue();
    q.add('ns/a');
    const first = await q.get();
    assert.equal(first, 'ns/a');
    q.add('ns/a');
    assert.equal(q.length, 0, 'the re-added key must not be ready while a worker holds it');
    const second = q.get();
    assert.equal(await settled(second), 'pending');
    q.done('ns/a');
    assert.equal(await second, 'ns/a');
  });

  test('a key re-added several times while processing is requeued exactly once on done', async () => {
    const q = queue();
    q.add('ns/a');
    await q.get();
    q.add('ns/a');
    q.add('ns/a');
    q.add('ns/a');
    q.done('ns/a');
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'ns/a');
    q.done('ns/a');
    assert.equal(q.length, 0);
  });

  test('a key that was not re-added is not requeued on done', async () => {
    const q = queue();
    q.add('ns/a');
    await q.get();
    q.done('ns/a');
    assert.equal(q.length, 0);
    assert.equal(q.processingLength, 0);
  });

  test('a waiting worker receives a key as soon as it is added', async () => {
    const q = queue();
    const pending = q.get();
    assert.equal(await settled(pending), 'pending');
    q.add('ns/a');
    assert.equal(await pending, 'ns/a');
    assert.equal(q.processingLength, 1);
  });

  test('two workers never hold the same key at once', async () => {
    const q = queue();
    const w1 = q.get();
    const w2 = q.get();
    q.add('ns/a');
    q.add('ns/a');
    assert.equal(await w1, 'ns/a');
    assert.equal(await settled(w2), 'pending');
    q.add('ns/b');
    assert.equal(await w2, 'ns/b');
  });

  test('addAfter queues the key only when the delay has passed', async () => {
    const clock = new ManualClock();
    const q = queue(clock);
    q.addAfter('ns/a', 1000);
    assert.equal(q.length, 0);
    assert.equal(q.delayedLength, 1);
    await clock.advance(999);
    assert.equal(q.length, 0);
    await clock.advance(1);
    assert.equal(q.length, 1);
    assert.equal(q.delayedLength, 0);
  });

  test('addAfter keeps the earliest deadline for a key', async () => {
    const clock = new ManualClock();
    const q = queue(clock);
    q.addAfter('ns/a', 5000);
    q.addAfter('ns/a', 1000);
    q.addAfter('ns/a', 3000);
    assert.equal(q.readyAt('ns/a'), 1000);
    assert.equal(clock.pendingTimers, 1, 'the replaced timer is cancelled');
    await clock.advance(1000);
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'ns/a');
    q.done('ns/a');
    await clock.advance(10_000);
    assert.equal(q.length, 0, 'later deadlines were dropped, not kept as extra requeues');
  });

  test('addAfter with a non-positive delay adds at once', () => {
    const q = queue();
    q.addAfter('ns/a', 0);
    assert.equal(q.length, 1);
  });

  test('failure backoff doubles per failure from the base and is capped', async () => {
    const clock = new ManualClock();
    const q = queue(clock, { backoffBaseMs: 500, backoffMaxMs: 5000 });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      delays.push(q.addRateLimited('ns/a'));
      await clock.advance(10_000);
      assert.equal(await q.get(), 'ns/a');
      q.done('ns/a');
    }
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 5000, 5000]);
    assert.equal(q.numRequeues('ns/a'), 6);
  });

  test('forget resets the backoff to the base delay', () => {
    const q = queue(new ManualClock(), { backoffBaseMs: 100, backoffMaxMs: 10_000 });
    q.addRateLimited('ns/a');
    q.addRateLimited('ns/a');
    assert.equal(q.addRateLimited('ns/a'), 400);
    q.forget('ns/a');
    assert.equal(q.numRequeues('ns/a'), 0);
    assert.equal(q.addRateLimited('ns/a'), 100);
  });

  test('backoff is tracked per key', () => {
    const q = queue(new ManualClock(), { backoffBaseMs: 100 });
    q.addRateLimited('ns/a');
    q.addRateLimited('ns/a');
    assert.equal(q.addRateLimited('ns/b'), 100);
  });

  test('default backoff starts at 500 ms and stops at 5 minutes', () => {
    const q = queue();
    assert.equal(q.addRateLimited('ns/a'), 500);
    for (let i = 0; i < 20; i++) q.addRateLimited('ns/a');
    assert.equal(q.addRateLimited('ns/a'), 300_000);
  });

  test('jitter lengthens a retry by at most the configured fraction, never past the maximum', () => {
    const q = new WorkQueue({ clock: new ManualClock(), random: () => 0.999, backoffBaseMs: 1000, backoffMaxMs: 1500 });
    const first = q.addRateLimited('ns/a');
    assert.ok(first > 1000 && first <= 1100, `first retry ${first}`);
    assert.equal(q.addRateLimited('ns/a'), 1500);
  });

  test('shutDown releases waiting workers and ignores later adds', async () => {
    const clock = new ManualClock();
    const q = queue(clock);
    const waiting = q.get();
    q.addAfter('ns/late', 1000);
    q.shutDown();
    assert.equal(await waiting, undefined);
    q.add('ns/a');
    assert.equal(q.length, 0);
    assert.equal(await q.get(), undefined);
    assert.equal(clock.pendingTimers, 0, 'timed requeues are cancelled');
  });

  test('drain waits for keys in flight and does not requeue them', async () => {
    const q = queue();
    q.add('ns/a');
    q.add('ns/b');
    const a = await q.get();
    assert.equal(a, 'ns/a');
    q.add('ns/a');
    let drained = false;
    const draining = q.drain().then(() => {
      drained = true;
    });
    await flushMicrotasks();
    assert.equal(drained, false, 'ns/a is still being processed');
    assert.equal(await q.get(), undefined, 'no new work after shutdown, even though ns/b was waiting');
    q.done('ns/a');
    await draining;
    assert.equal(drained, true);
    assert.equal(q.length, 0);
  });

  test('drain resolves at once when nothing is in flight', async () => {
    const q = queue();
    q.add('ns/a');
    await q.drain();
    assert.equal(q.isShuttingDown, true);
  });
});
