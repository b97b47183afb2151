// An update event maps both the old and the new object to keys; when both give the same key (the usual case:
// an annotation or spec change), the key must be reconciled once. With a worker idle, the first add hands the key
// straight to it, so a second add of the same key would mark it dirty and reconcile it a second time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { KubernetesObject } from '@kubernetes/client-node';
import { flushMicrotasks, ManualClock } from '../../../src/runtime/clock.js';
import { Controller, type EventSource } from '../../../src/runtime/controller.js';
import type { InformerHandlers } from '../../../src/runtime/informer.js';

class Source implements EventSource<KubernetesObject> {
  readonly handlers: InformerHandlers<KubernetesObject>[] = [];
  addHandlers(handlers: InformerHandlers<KubernetesObject>): void {
    this.handlers.push(handlers);
  }
  list(): KubernetesObject[] {
    return [];
  }
  update(oldObj: KubernetesObject, newObj: KubernetesObject): void {
    for (const h of this.handlers) h.onUpdate?.(oldObj, newObj);
  }
  add(obj: KubernetesObject): void {
    for (const h of this.handlers) h.onAdd?.(obj);
  }
}

const version = (rv: string, owner: string): KubernetesObject => ({
  metadata: { namespace: 'ns', name: 'svc', resourceVersion: rv, labels: { owner } },
});

function started(seen: string[], clock?: ManualClock) {
  const controller = new Controller({
    ...(clock ? { clock } : {}),
    name: 'widgets',
    reconcile: async (key) => {
      seen.push(key);
      return {};
    },
    logger: pino({ level: 'silent' }),
    workers: 2,
    periodicRequeueMs: 0,
  });
  const source = new Source();
  return { controller, source };
}

test('an update whose old and new object give the same key reconciles it once, with idle workers waiting', async () => {
  const seen: string[] = [];
  const { controller, source } = started(seen);
  controller.watch(source);
  controller.start();
  await flushMicrotasks();
  source.update(version('1', 'ns/env-a'), version('2', 'ns/env-a'));
  await flushMicrotasks();
  assert.deepEqual(seen, ['ns/svc']);
  await controller.stop();
});

test('an update mapped to owners wakes the old and the new owner once each', async () => {
  const seen: string[] = [];
  const { controller, source } = started(seen);
  controller.watch(source, { map: (o) => o.metadata?.labels?.owner });
  controller.start();
  await flushMicrotasks();
  source.update(version('1', 'ns/env-a'), version('2', 'ns/env-a'));
  await flushMicrotasks();
  assert.deepEqual(seen, ['ns/env-a'], 'same owner before and after: one reconcile');
  source.update(version('2', 'ns/env-a'), version('3', 'ns/env-b'));
  await flushMicrotasks();
  assert.deepEqual(seen.slice(1).sort(), ['ns/env-a', 'ns/env-b'], 'moved: both owners, once each');
  await controller.stop();
});

test('a gathering watch folds the events of a burst into one reconcile, at most gatherMs after the first', async () => {
  const seen: string[] = [];
  const clock = new ManualClock();
  const { controller, source } = started(seen, clock);
  controller.watch(source, { map: (o) => o.metadata?.labels?.owner, gatherMs: 3_000 });
  controller.start();
  await flushMicrotasks();
  for (let i = 0; i < 10; i++) {
    source.add(version(String(i), 'ns/env-a'));
    await clock.advance(250);
  }
  assert.deepEqual(seen, [], 'nothing before the first event is 3 s old');
  await clock.advance(500);
  assert.deepEqual(seen, ['ns/env-a'], 'ten events over 2.5 s: one reconcile, 3 s after the first');
  source.add(version('11', 'ns/env-a'));
  await clock.advance(3_000);
  assert.deepEqual(seen, ['ns/env-a', 'ns/env-a'], 'a later event gathers again');
  await controller.stop();
});
