// The informer's cache and field indexes, driven by a fake list and a fake watch (no server): every way the cache
// changes — the initial list, watch adds, updates and deletes, a re-list after 410 Gone — must leave the index
// buckets matching the cache. And the informer has no timer of its own that replays the cache.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ManualClock, flushMicrotasks } from '../../../src/runtime/clock.js';
import { Informer, interned, type WatchFunction } from '../../../src/runtime/informer.js';
import { type KubeClient, type KubeObject, type ResourceType, keyOf } from '../../../src/runtime/kube.js';

interface Widget extends KubeObject {
  readonly spec?: { readonly env?: string; readonly tags?: readonly string[] };
}

const widgetType: ResourceType = {
  group: 'example.dev',
  version: 'v1',
  plural: 'widgets',
  kind: 'Widget',
  namespaced: true,
};

let nextVersion = 1;
const widget = (name: string, env?: string, tags?: readonly string[]): Widget => ({
  metadata: { namespace: 'ns', name, resourceVersion: String(nextVersion++) },
  spec: { ...(env ? { env } : {}), ...(tags ? { tags } : {}) },
});

interface OpenWatch {
  readonly onEvent: (phase: string, obj: unknown) => void;
  readonly onDone: (err: unknown) => void;
  readonly controller: AbortController;
}

/** Stands in for the API server: `items` is what a list returns; `event` sends on the newest open watch. */
class FakeApi {
  items: Widget[] = [];
  lists = 0;
  readonly watches: OpenWatch[] = [];
  readonly client = {
    kubeConfig: {},
    resource: () => ({
      listAll: async () => {
        this.lists++;
        return { items: [...this.items], resourceVersion: String(nextVersion++) };
      },
    }),
  } as unknown as KubeClient;
  readonly watch: WatchFunction = async (_path, _query, onEvent, onDone) => {
    const controller = new AbortController();
    this.watches.push({ onEvent, onDone, controller });
    return controller;
  };

  event(phase: string, obj: unknown): void {
    const open = this.watches.at(-1);
    assert.ok(open && !open.controller.signal.aborted, 'a watch is open');
    open.onEvent(phase, obj);
  }
}

const envIndex = (w: Widget): readonly string[] => (w.spec?.env ? [`ns/${w.spec.env}`] : []);
const names = (objs: readonly Widget[]): string[] => objs.map((o) => o.metadata?.name ?? '').sort();

async function started(api: FakeApi, setup: (informer: Informer<Widget>) => void = () => undefined) {
  const clock = new ManualClock();
  const informer = new Informer<Widget>({
    client: api.client,
    type: widgetType,
    namespace: 'ns',
    watch: api.watch,
    clock,
    logger: pino({ level: 'silent' }),
  });
  setup(informer);
  informer.start();
  await informer.waitForSync(AbortSignal.timeout(5000));
  await flushMicrotasks();
  return { clock, informer };
}

describe('Informer indexes', () => {
  test('objects from the initial list and from watch adds are filed under their index values', async () => {
    const api = new FakeApi();
    api.items = [widget('a', 'prod'), widget('b', 'prod'), widget('c', 'dev'), widget('loose')];
    const { informer } = await started(api, (i) => i.addIndex('env', envIndex));
    try {
      assert.deepEqual(names(informer.byIndex('env', 'ns/prod')), ['a', 'b']);
      assert.deepEqual(names(informer.byIndex('env', 'ns/dev')), ['c']);
      assert.deepEqual(informer.byIndex('env', 'ns/none'), [], 'an unused value is an empty bucket');

      api.event('ADDED', widget('d', 'dev'));
      assert.deepEqual(names(informer.byIndex('env', 'ns/dev')), ['c', 'd']);
    } finally {
      await informer.stop();
    }
  });

  test('an unknown index name throws, and so does adding a name twice', async () => {
    const api = new FakeApi();
    const { informer } = await started(api, (i) => i.addIndex('env', envIndex));
    try {
      assert.throws(() => informer.byIndex('owner', 'ns/prod'), /no index named owner/);
      assert.throws(() => informer.addIndex('env', envIndex), /index env already exists/);
    } finally {
      await informer.stop();
    }
  });

  test('an update moves the object from its old bucket to its new one, before handlers run', async () => {
    const api = new FakeApi();
    api.items = [widget('a', 'prod'), widget('b', 'prod')];
    const seenByHandler: string[][] = [];
    const { informer } = await started(api, (i) => i.addIndex('env', envIndex));
    informer.addHandlers({ onUpdate: () => seenByHandler.push(names(informer.byIndex('env', 'ns/dev'))) });
    try {
      const moved = widget('a', 'dev');
      api.event('MODIFIED', moved);
      assert.deepEqual(names(informer.byIndex('env', 'ns/prod')), ['b'], 'gone from the old bucket');
      assert.deepEqual(informer.byIndex('env', 'ns/dev'), [moved], 'the new object is in the new bucket');
      assert.deepEqual(seenByHandler, [['a']], 'a handler sees the index already updated');

      const sameBucket = widget('b', 'prod');
      api.event('MODIFIED', sameBucket);
      assert.deepEqual(informer.byIndex('env', 'ns/prod'), [sameBucket], 'the bucket holds the newest object');

      api.event('MODIFIED', widget('b'));
      assert.deepEqual(informer.byIndex('env', 'ns/prod'), [], 'an object that loses its value leaves the index');
    } finally {
      await informer.stop();
    }
  });

  test('a delete removes the object from every bucket it was in', async () => {
    const api = new FakeApi();
    api.items = [widget('a', 'prod', ['x', 'y']), widget('b', 'prod', ['y'])];
    const { informer } = await started(api, (i) => {
      i.addIndex('env', envIndex);
      i.addIndex('tag', (w) => w.spec?.tags ?? []);
    });
    try {
      assert.deepEqual(names(informer.byIndex('tag', 'y')), ['a', 'b']);
      api.event('DELETED', widget('a', 'prod', ['x', 'y']));
      assert.deepEqual(names(informer.byIndex('env', 'ns/prod')), ['b']);
      assert.deepEqual(informer.byIndex('tag', 'x'), []);
      assert.deepEqual(names(informer.byIndex('tag', 'y')), ['b']);
      assert.equal(informer.get('ns/a'), undefined);
    } finally {
      await informer.stop();
    }
  });

  test('a re-list after 410 Gone re-files moved objects and drops the ones deleted meanwhile', async () => {
    const api = new FakeApi();
    api.items = [widget('a', 'prod'), widget('b', 'prod'), widget('c', 'dev')];
    const { informer } = await started(api, (i) => i.addIndex('env', envIndex));
    try {
      // While the watch was down: b moved to dev, c was deleted, d was created.
      api.items = [api.items[0]!, widget('b', 'dev'), widget('d', 'prod')];
      api.event('ERROR', { code: 410, reason: 'Expired', message: 'too old resource version' });
      await flushMicrotasks();
      assert.equal(api.lists, 2, 'the informer re-listed');
      assert.deepEqual(names(informer.byIndex('env', 'ns/prod')), ['a', 'd']);
      assert.deepEqual(names(informer.byIndex('env', 'ns/dev')), ['b']);
      assert.deepEqual(informer.keys().sort(), ['ns/a', 'ns/b', 'ns/d']);
    } finally {
      await informer.stop();
    }
  });

  test('a restart re-lists into the kept cache and the indexes follow', async () => {
    const api = new FakeApi();
    api.items = [widget('a', 'prod'), widget('b', 'prod')];
    const { informer } = await started(api, (i) => i.addIndex('env', envIndex));
    await informer.stop();
    api.items = [widget('b', 'dev')];
    informer.start();
    await eventuallyFlushed(() => api.lists === 2);
    assert.deepEqual(informer.byIndex('env', 'ns/prod'), []);
    assert.deepEqual(names(informer.byIndex('env', 'ns/dev')), ['b']);
    // This stop lands after the re-list but before the watch starts: it must not wait for the watchdog.
    await informer.stop();
  });

  test('an index added after start files what is cached, and then follows changes', async () => {
    const api = new FakeApi();
    api.items = [widget('a', 'prod'), widget('b', 'dev')];
    const { informer } = await started(api);
    try {
      informer.addIndex('env', envIndex);
      assert.deepEqual(names(informer.byIndex('env', 'ns/prod')), ['a']);
      api.event('MODIFIED', widget('b', 'prod'));
      assert.deepEqual(names(informer.byIndex('env', 'ns/prod')), ['a', 'b']);
      assert.deepEqual(informer.byIndex('env', 'ns/dev'), []);
    } finally {
      await informer.stop();
    }
  });

  test('repeated values file an object once; an index function that throws leaves the object out', async () => {
    const api = new FakeApi();
    api.items = [widget('a', 'prod', ['x', 'x']), widget('bad', 'prod')];
    const { informer } = await started(api, (i) =>
      i.addIndex('tag', (w) => {
        if (w.metadata?.name === 'bad') throw new Error('boom');
        return w.spec?.tags ?? [];
      }),
    );
    try {
      assert.deepEqual(names(informer.byIndex('tag', 'x')), ['a']);
      assert.ok(informer.get('ns/bad'), 'the object is still cached');
      api.event('ADDED', widget('c', 'dev', ['x']));
      assert.deepEqual(names(informer.byIndex('tag', 'x')), ['a', 'c'], 'the watch loop carried on');
    } finally {
      await informer.stop();
    }
  });
});

describe('Informer without a resync timer', () => {
  test('does not replay cached objects as updates however long it runs', async () => {
    const api = new FakeApi();
    api.items = [widget('a', 'prod'), widget('b', 'dev')];
    const updates: string[] = [];
    const { clock, informer } = await started(api);
    informer.addHandlers({ onUpdate: (_old, obj) => updates.push(keyOf(obj)) });
    try {
      assert.equal(clock.pendingTimers, 1, 'only the watchdog is waiting');
      await clock.advance(60 * 60_000); // six times the old ten-minute resync period
      assert.deepEqual(updates, []);
      api.event('MODIFIED', widget('a', 'dev'));
      assert.deepEqual(updates, ['ns/a'], 'real changes are still delivered');
    } finally {
      await informer.stop();
    }
    assert.equal(clock.pendingTimers, 0, 'stop leaves no timer behind');
  });
});

async function eventuallyFlushed(check: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !check(); i++) await flushMicrotasks();
  assert.ok(check(), 'condition reached');
}

describe('Informer readiness', () => {
  test('is not synced while the API server cannot be reached, and is again once a watch is re-established', async () => {
    const api = new FakeApi();
    api.items = [widget('a', 'prod')];
    let down = false;
    const watch = api.watch;
    const flaky: WatchFunction = async (...args) => {
      if (down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
      return watch(...args);
    };
    const { clock, informer } = await started(Object.assign(api, { watch: flaky }));
    try {
      assert.equal(informer.hasSynced(), true);
      // The server goes away: the open watch ends with an error, and the next one cannot connect.
      down = true;
      api.watches.at(-1)!.onDone(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      await eventuallyFlushed(() => !informer.hasSynced());
      assert.equal(informer.get('ns/a')?.metadata?.name, 'a', 'the cache is kept meanwhile');
      // It comes back: the next watch after the backoff connects, and the informer is synced again.
      down = false;
      for (let i = 0; i < 20 && !informer.hasSynced(); i++) await clock.advance(1_000);
      assert.equal(informer.hasSynced(), true);
    } finally {
      await informer.stop();
    }
  });
});

describe('interned', () => {
  test('keeps every value of a parsed object as it was, nested arrays, nulls, numbers and long strings included', () => {
    const long = 'x'.repeat(1_000);
    const source = {
      metadata: { name: 'a', labels: { k: 'v' } },
      status: {
        conditions: [{ type: 'Ready', status: 'True', reason: 'Reconciled', observedGeneration: 3 }],
        resources: [{ kind: 'elbv2.TargetGroup', identifier: 'arn:aws:x', tags: ['a', 'b', 'a'] }],
        drift: [],
        cost: { usd: 1.5, lines: [{ basis: long, usd: null }] },
        ready: true,
      },
    };
    const parsed = JSON.parse(JSON.stringify(source)) as typeof source;
    assert.equal(interned(parsed), parsed);
    assert.deepEqual(parsed, source);
    // A second object with the same values comes out equal too (served from the pool).
    assert.deepEqual(interned(JSON.parse(JSON.stringify(source))), source);
  });
});
