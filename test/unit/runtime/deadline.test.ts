// A deadline fires even when nothing but its timer refers to it, and unhooks itself from its parents.
import assert from 'node:assert/strict';
import { setImmediate as tick, setTimeout as wait } from 'node:timers/promises';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deadline } from '../../../src/runtime/deadline.js';

test('the signal aborts with a TimeoutError when the time is up, or with a parent reason first', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const d = deadline(20);
  t.mock.timers.tick(19);
  assert.equal(d.signal.aborted, false);
  t.mock.timers.tick(1);
  assert.equal(d.signal.aborted, true);
  assert.equal((d.signal.reason as DOMException).name, 'TimeoutError');

  const parent = new AbortController();
  const child = deadline(60_000, parent.signal, undefined);
  parent.abort(new Error('stopping'));
  assert.equal(child.signal.aborted, true);
  assert.equal((child.signal.reason as Error).message, 'stopping');

  const gone = new AbortController();
  gone.abort(new Error('already'));
  assert.equal(deadline(60_000, gone.signal).signal.reason.message, 'already');
});

test('clear() stops the timer and removes its listener from the parent', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const parent = new AbortController();
  let added = 0;
  let removed = 0;
  const signal = parent.signal;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => (added++, add(...args))) as typeof add;
  signal.removeEventListener = ((...args: Parameters<typeof remove>) => (removed++, remove(...args))) as typeof remove;
  const d = deadline(10, signal);
  d.clear();
  t.mock.timers.tick(1_000);
  assert.equal(d.signal.aborted, false, 'a cleared deadline never fires');
  assert.deepEqual([added, removed], [1, 1]);
});

test('it fires after garbage collection with no reference but a listener (the case AbortSignal.any loses)', async () => {
  // The collector, without --expose-gc on the command line.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let fired = false;
  (() => {
    const parent = new AbortController();
    deadline(50, parent.signal).signal.addEventListener('abort', () => (fired = true));
  })();
  for (let i = 0; i < 5; i++) {
    gc();
    await tick();
  }
  await wait(150);
  assert.equal(fired, true);
});
