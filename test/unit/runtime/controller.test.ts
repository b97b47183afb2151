import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ManualClock, flushMicrotasks } from '../../../src/runtime/clock.js';
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  Controller,
  type EventSource,
  type Result,
  TerminalError,
  isTerminalError,
  ownerKeys,
} from '../../../src/runtime/controller.js';
import type { InformerHandlers } from '../../../src/runtime/informer.js';
import type { ResourceType } from '../../../src/runtime/kube.js';

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly controller?: string;
  readonly key?: string;
  readonly reconcileId?: string;
  readonly retryInMs?: number;
}

function capturingLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}

function harness(reconcile: (key: string) => Promise<Result>, periodicRequeueMs = 0) {
  const clock = new ManualClock();
  const { logger, lines } = capturingLogger();
  const registry = new Registry();
  const controller = new Controller({
    name: 'widgets',
    reconcile: (key, ctx) => {
      ctx.log.info('reconciling');
      return reconcile(key);
    },
    logger,
    registry,
    workers: 2,
    periodicRequeueMs,
    clock,
    random: () => 0.5,
    queue: { backoffBaseMs: 100, backoffMaxMs: 1000 },
  });
  return { clock, lines, registry, controller };
}

async function counter(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}

describe('Controller', () => {
  test('a failing key is retried with growing backoff, and success resets it', async () => {
    let calls = 0;
    const { clock, controller, registry } = harness(async () => {
      calls++;
      if (calls <= 3) throw new Error('throttled');
      return {};
    });
    controller.start();
    controller.enqueue('ns/a');
    await flushMicrotasks();
    assert.equal(calls, 1);
    assert.equal(controller.queue.readyAt('ns/a'), 105, 'first retry at base (100) plus half the 10 % jitter');
    await clock.advance(105);
    assert.equal(calls, 2);
    assert.equal(controller.queue.readyAt('ns/a'), 105 + 210);
    await clock.advance(210);
    assert.equal(calls, 3);
    await clock.advance(420);
    assert.equal(calls, 4);
    assert.equal(controller.queue.numRequeues('ns/a'), 0, 'success forgets the failures');
    assert.equal(
      await counter(registry, 'controller_runtime_reconcile_total', { controller: 'widgets', result: 'error' }),
      3,
    );
    assert.equal(
      await counter(registry, 'controller_runtime_reconcile_total', { controller: 'widgets', result: 'success' }),
      1,
    );
    await controller.stop();
  });

  test('a terminal error is not retried', async () => {
    let calls = 0;
    const { clock, controller, registry, lines } = harness(async () => {
      calls++;
      throw new TerminalError('spec.environmentRef names an Environment that does not exist', {
        reason: 'InvalidReference',
      });
    });
    controller.start();
    controller.enqueue('ns/a');
    await flushMicrotasks();
    await clock.advance(60_000);
    assert.equal(calls, 1);
    assert.equal(controller.queue.delayedLength, 0);
    assert.equal(
      await counter(registry, 'controller_runtime_reconcile_total', { controller: 'widgets', result: 'terminal' }),
      1,
    );
    assert.ok(lines.some((l) => l.level === 50 && l.key === 'ns/a' && /terminal/.test(l.msg)));
    await controller.stop();
  });

  test('requeueAfterMs brings the key back after exactly that long', async () => {
    let calls = 0;
    const { clock, controller } = harness(async () => {
      calls++;
      return calls === 1 ? { requeueAfterMs: 3000 } : {};
    });
    controller.start();
    controller.enqueue('ns/a');
    await flushMicrotasks();
    await clock.advance(2999);
    assert.equal(calls, 1);
    await clock.advance(1);
    assert.equal(calls, 2);
    await controller.stop();
  });

  test('success schedules the jittered periodic requeue unless the result says requeue: false', async () => {
    const seen: string[] = [];
    const { clock, controller } = harness(async (key) => {
      seen.push(key);
      return key === 'ns/gone' ? { requeue: false } : {};
    }, 60_000);
    controller.start();
    controller.enqueue('ns/a');
    controller.enqueue('ns/gone');
    await flushMicrotasks();
    assert.equal(controller.queue.readyAt('ns/a'), 60_000, 'random 0.5 puts the jitter in the middle');
    assert.equal(controller.queue.readyAt('ns/gone'), undefined);
    await clock.advance(60_000);
    assert.deepEqual(seen, ['ns/a', 'ns/gone', 'ns/a']);
    await controller.stop();
  });

  test('an object gone loses the timed requeue an earlier pass set: its key does not come back on that timer', async () => {
    const seen: string[] = [];
    let gone = false;
    const { clock, controller } = harness(async (key) => {
      seen.push(key);
      return gone ? { requeue: false } : {};
    }, 60_000);
    controller.start();
    controller.enqueue('ns/a');
    await flushMicrotasks();
    assert.equal(controller.queue.readyAt('ns/a'), 60_000);
    // Deleted meanwhile: the delete's watch event brings the key back before its resync.
    gone = true;
    await clock.advance(10_000);
    controller.enqueue('ns/a');
    await flushMicrotasks();
    assert.equal(controller.queue.readyAt('ns/a'), undefined);
    await clock.advance(120_000);
    assert.deepEqual(seen, ['ns/a', 'ns/a']);
    await controller.stop();
  });

  test('a key is never reconciled by two workers at once, and updates during a reconcile cause one more', async () => {
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    let release: () => void = () => undefined;
    const { controller } = harness(async () => {
      calls++;
      active++;
      maxActive = Math.max(maxActive, active);
      if (calls === 1) await new Promise<void>((resolve) => (release = resolve));
      active--;
      return {};
    });
    controller.start();
    controller.enqueue('ns/a');
    await flushMicrotasks();
    for (let i = 0; i < 5; i++) controller.enqueue('ns/a');
    await flushMicrotasks();
    assert.equal(calls, 1);
    release();
    await flushMicrotasks();
    assert.equal(calls, 2);
    assert.equal(maxActive, 1);
    await controller.stop();
  });

  test('every log line of a reconcile carries controller, key and reconcileId', async () => {
    const { controller, lines } = harness(async () => {
      throw new Error('boom');
    });
    controller.start();
    controller.enqueue('ns/a');
    await flushMicrotasks();
    await controller.stop();
    const reconcileLines = lines.filter((l) => l.key === 'ns/a');
    assert.ok(reconcileLines.length >= 2, 'the reconciler line and the failure line');
    for (const line of reconcileLines) {
      assert.equal(line.controller, 'widgets');
      assert.match(line.reconcileId ?? '', /^[0-9a-f-]{36}$/);
    }
    assert.equal(new Set(reconcileLines.map((l) => l.reconcileId)).size, 1);
    assert.equal(reconcileLines.find((l) => l.msg.includes('backoff'))?.retryInMs, 105);
  });

  test('stop waits for a running reconcile and the controller can start again', async () => {
    let finished = false;
    let release: () => void = () => undefined;
    const { controller } = harness(async () => {
      await new Promise<void>((resolve) => (release = resolve));
      finished = true;
      return {};
    });
    controller.start();
    controller.enqueue('ns/a');
    await flushMicrotasks();
    const stopping = controller.stop();
    await flushMicrotasks();
    assert.equal(finished, false);
    release();
    await stopping;
    assert.equal(finished, true);
    assert.equal(controller.isRunning, false);
    controller.start();
    controller.enqueue('ns/b');
    await flushMicrotasks();
    release();
    await controller.stop();
  });

  test('stop also waits for work a reconcile handed back early (an abandoned pass still writing its status)', async () => {
    let writeDone: () => void = () => undefined;
    const abandonedWrite = new Promise<void>((resolve) => (writeDone = resolve));
    let wrote = false;
    const reconcile = Object.assign(async () => ({}), {
      settled: async () => {
        await abandonedWrite;
        wrote = true;
      },
    });
    const controller = new Controller({
      name: 'widgets',
      reconcile,
      logger: pino({ level: 'silent' }),
      workers: 1,
      periodicRequeueMs: 0,
      clock: new ManualClock(),
    });
    controller.start();
    const stopping = controller.stop().then(() => wrote);
    await flushMicrotasks();
    writeDone();
    assert.equal(await stopping, true, 'stop returned only after the abandoned write');
  });

  test('queue depth is exported as a gauge', async () => {
    const { controller, registry } = harness(async () => ({}));
    controller.enqueue('ns/a');
    controller.enqueue('ns/b');
    assert.equal(await counter(registry, 'workqueue_depth', { name: 'widgets' }), 2);
  });
});

/** Stands in for an informer: the test fires its events by hand. */
class FakeSource implements EventSource<KubernetesObject> {
  readonly handlers: InformerHandlers<KubernetesObject>[] = [];
  objects: KubernetesObject[] = [];
  addHandlers(handlers: InformerHandlers<KubernetesObject>): void {
    this.handlers.push(handlers);
  }
  list(): KubernetesObject[] {
    return this.objects;
  }
  add(obj: KubernetesObject): void {
    for (const h of this.handlers) h.onAdd?.(obj);
  }
  update(oldObj: KubernetesObject, newObj: KubernetesObject): void {
    for (const h of this.handlers) h.onUpdate?.(oldObj, newObj);
  }
  delete(obj: KubernetesObject): void {
    for (const h of this.handlers) h.onDelete?.(obj);
  }
}

const obj = (namespace: string, name: string, extra: Partial<KubernetesObject['metadata']> = {}): KubernetesObject => ({
  metadata: { namespace, name, ...extra },
});

describe('Controller event handling', () => {
  test('maps informer events of the primary kind to its own key', async () => {
    const seen: string[] = [];
    const { controller } = harness(async (key) => {
      seen.push(key);
      return {};
    });
    const source = new FakeSource();
    controller.watch(source);
    source.add(obj('ns', 'a'));
    source.update(obj('ns', 'b'), obj('ns', 'b'));
    source.delete(obj('ns', 'c'));
    source.add(obj('ns', 'a'));
    assert.equal(controller.queue.length, 3);
    controller.start();
    await flushMicrotasks();
    assert.deepEqual(seen.sort(), ['ns/a', 'ns/b', 'ns/c']);
    await controller.stop();
  });

  test('maps secondary objects to their owners, old and new, and honours the update filter', () => {
    const { controller } = harness(async () => ({}));
    const source = new FakeSource();
    controller.watch(source, {
      map: (o) => o.metadata?.labels?.owner,
      updateFilter: (o, n) => o.metadata?.resourceVersion !== n.metadata?.resourceVersion,
    });
    source.add(obj('ns', 'svc-1', { labels: { owner: 'ns/env-a' } }));
    source.add(obj('ns', 'unowned'));
    assert.equal(controller.queue.length, 1);
    const before = obj('ns', 'svc-1', { labels: { owner: 'ns/env-a' }, resourceVersion: '1' });
    const after = obj('ns', 'svc-1', { labels: { owner: 'ns/env-b' }, resourceVersion: '2' });
    source.update(before, before);
    assert.equal(controller.queue.length, 1, 'filtered out: same resourceVersion');
    source.update(before, after);
    assert.equal(controller.queue.length, 2, 'the new owner is queued; the old one was already waiting');
  });

  test('after a stop, start re-enqueues everything the watched informers hold', async () => {
    const seen: string[] = [];
    const { controller } = harness(async (key) => {
      seen.push(key);
      return {};
    });
    const source = new FakeSource();
    controller.watch(source);
    controller.start();
    await controller.stop();
    source.objects = [obj('ns', 'a'), obj('ns', 'b')];
    source.add(obj('ns', 'a')); // dropped: the controller is stopped
    controller.start();
    await flushMicrotasks();
    assert.deepEqual(seen.sort(), ['ns/a', 'ns/b']);
    await controller.stop();
  });
});

describe('ownerKeys', () => {
  const environments: ResourceType = {
    group: 'example.dev',
    version: 'v1',
    plural: 'environments',
    kind: 'Environment',
    namespaced: true,
  };

  test('maps a secondary object to its owners of the given kind in its namespace', () => {
    const keys = ownerKeys(environments)({
      metadata: {
        namespace: 'team-a',
        name: 'cfg',
        ownerReferences: [
          { apiVersion: 'example.dev/v1', kind: 'Environment', name: 'prod', uid: '1' },
          { apiVersion: 'other.dev/v1', kind: 'Environment', name: 'not-ours', uid: '2' },
          { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: '3' },
        ],
      },
    });
    assert.deepEqual(keys, ['team-a/prod']);
  });
});

describe('TerminalError', () => {
  test('is recognised by flag as well as by class', () => {
    const foreign = Object.assign(new Error('x'), { terminal: true });
    assert.equal(isTerminalError(foreign), true);
    assert.equal(isTerminalError(new Error('x')), false);
    assert.equal(new TerminalError('x').reason, 'Terminal');
  });
});
