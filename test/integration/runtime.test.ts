// The runtime against a real kube-apiserver. ConfigMaps stand in for "some watched kind" (the runtime is generic);
// a Widget CRD defined here exercises the /status subresource.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { getTestEnv } from '../support/env.js';
import { kubectl } from '../support/kube.js';
import { SilenceableRelay } from '../support/silenceable-relay.js';
import {
  Controller,
  CoreTypes,
  EventRecorder,
  Informer,
  type KubeEvent,
  type KubeObject,
  KubeClient,
  LeaderElector,
  type ResourceType,
  StatusWriter,
  addFinalizer,
  hasFinalizer,
  isBeingDeleted,
  isConflict,
  keyOf,
  removeFinalizer,
  setCondition,
  startHealthServer,
} from '../../src/runtime/index.js';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

interface WidgetStatus {
  observedGeneration?: number;
  phase?: string;
  note?: string;
  conditions?: ReturnType<typeof setCondition>;
}

interface Widget extends KubeObject {
  spec?: { size?: number };
  status?: WidgetStatus;
}

const logger = pino({ level: process.env.SLIPWAY_TEST_LOG ?? 'silent' });
const env = getTestEnv();
const client = new KubeClient(env.kubeConfig);
const namespace = `runtime-${randomBytes(4).toString('hex')}`;
const configMaps = client.resource<ConfigMap>(CoreTypes.configMap);

const crdType: ResourceType = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  plural: 'customresourcedefinitions',
  kind: 'CustomResourceDefinition',
  namespaced: false,
};
const widgetType: ResourceType = {
  group: 'runtime-test.slipway.dev',
  version: 'v1',
  plural: 'widgets',
  kind: 'Widget',
  namespaced: true,
};

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
async function eventually<R>(
  what: string,
  check: () => R | undefined | false | Promise<R | undefined | false>,
  timeoutMs = 10_000,
): Promise<R> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The test environment's kubeconfig, with the API server reached at `server` instead. */
function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(env.kubeConfig.exportConfig());
  const current = kc.getCurrentCluster()!.name;
  kc.clusters = kc.clusters.map((c) => (c.name === current ? { ...c, server } : c));
  return kc;
}

function cm(name: string, data: Record<string, string> = {}): ConfigMap {
  return { metadata: { name, namespace }, data };
}

before(async () => {
  await client.resource(CoreTypes.namespace).create({ metadata: { name: namespace } });
});

after(async () => {
  await client.resource(CoreTypes.namespace).delete({ name: namespace });
});

describe('Informer', () => {
  test('sees adds, updates and deletes, and keeps its cache in step', { timeout: 30_000 }, async () => {
    const seen: string[] = [];
    const informer = new Informer<ConfigMap>({ client, type: CoreTypes.configMap, namespace, logger });
    informer.addHandlers({
      onAdd: (o) => seen.push(`add ${o.metadata?.name} ${o.data?.v ?? ''}`),
      onUpdate: (_old, o) => seen.push(`update ${o.metadata?.name} ${o.data?.v ?? ''}`),
      onDelete: (o) => seen.push(`delete ${o.metadata?.name}`),
    });
    await configMaps.create(cm('before-start', { v: '0' }));
    informer.start();
    try {
      await informer.waitForSync(AbortSignal.timeout(10_000));
      assert.equal(informer.hasSynced(), true);
      assert.deepEqual(seen, ['add before-start 0'], 'existing objects arrive as adds from the initial list');

      await configMaps.create(cm('informed', { v: '1' }));
      await eventually('add', () => seen.includes('add informed 1'));
      await configMaps.mergePatch({ namespace, name: 'informed' }, { data: { v: '2' } });
      await eventually('update', () => seen.includes('update informed 2'));
      assert.equal(informer.get(`${namespace}/informed`)?.data?.v, '2');
      assert.equal(informer.get(`${namespace}/informed`)?.kind, 'ConfigMap');

      await configMaps.delete({ namespace, name: 'informed' });
      await eventually('delete', () => seen.includes('delete informed'));
      assert.equal(informer.get(`${namespace}/informed`), undefined);
      assert.deepEqual(informer.keys(), [`${namespace}/before-start`]);
      // kubectl apply leaves managedFields and a full copy of the manifest on the object; the cache keeps neither.
      kubectl(
        ['apply', '-f', '-'],
        `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied","namespace":"${namespace}",` +
          `"annotations":{"team":"platform"}},"data":{"v":"3"}}`,
      );
      const applied = await eventually('the applied object', () => informer.get(`${namespace}/applied`));
      assert.equal(applied.metadata?.managedFields, undefined);
      assert.deepEqual(applied.metadata?.annotations, { team: 'platform' });
      assert.ok(
        (await configMaps.get({ namespace, name: 'applied' })).metadata?.managedFields?.length,
        'the server holds managedFields, the cache does not',
      );
      await configMaps.delete({ namespace, name: 'applied' });
    } finally {
      await informer.stop();
      await configMaps.delete({ namespace, name: 'before-start' });
    }
  });

  test(
    'restarts a silent watch and resumes from its resourceVersion without re-delivering',
    { timeout: 30_000 },
    async () => {
      const adds: string[] = [];
      // A quiet namespace sends nothing for a minute (bookmarks are rare), so a 700 ms watchdog fires repeatedly.
      const informer = new Informer<ConfigMap>({
        client,
        type: CoreTypes.configMap,
        namespace,
        labelSelector: 'test=watchdog',
        watchdogMs: 700,
        logger,
      });
      informer.addHandlers({ onAdd: (o) => adds.push(o.metadata?.name ?? '') });
      informer.start();
      try {
        await informer.waitForSync(AbortSignal.timeout(10_000));
        await configMaps.create({ metadata: { name: 'wd-1', namespace, labels: { test: 'watchdog' } } });
        await eventually('first add', () => adds.includes('wd-1'));
        await delay(2500); // several watchdog restarts
        await configMaps.create({ metadata: { name: 'wd-2', namespace, labels: { test: 'watchdog' } } });
        await eventually('add after restarts', () => adds.includes('wd-2'));
        assert.deepEqual(adds, ['wd-1', 'wd-2'], 'each object added exactly once across watch restarts');
        assert.equal(informer.isWedged(), false);
      } finally {
        await informer.stop();
        await configMaps.delete({ namespace, name: 'wd-1' });
        await configMaps.delete({ namespace, name: 'wd-2' });
      }
    },
  );

  test(
    're-lists when the server says its history is gone (410), noticing deletes it missed',
    { timeout: 30_000 },
    async () => {
      const labels = { test: 'gone' };
      const events: string[] = [];
      const watches: AbortController[] = [];
      const watchQueries: (string | number | boolean | undefined)[] = [];
      let openGate: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      const realWatch = new Watch(env.kubeConfig);
      const informer = new Informer<ConfigMap>({
        client,
        type: CoreTypes.configMap,
        namespace,
        labelSelector: 'test=gone',
        backoffBaseMs: 100,
        logger,
        // The second watch waits for the test, then asks for a resourceVersion the server no longer keeps.
        watch: async (path, query, onEvent, onDone) => {
          const n = watchQueries.length;
          watchQueries.push(query.resourceVersion);
          if (n === 1) {
            await gate;
            query = { ...query, resourceVersion: '1' };
          }
          const controller = await realWatch.watch(path, query, onEvent, onDone);
          watches.push(controller);
          return controller;
        },
      });
      informer.addHandlers({
        onAdd: (o) => events.push(`add ${o.metadata?.name}`),
        onDelete: (o) => events.push(`delete ${o.metadata?.name}`),
      });
      await configMaps.create({ metadata: { name: 'gone-1', namespace, labels } });
      informer.start();
      try {
        await informer.waitForSync(AbortSignal.timeout(10_000));
        await eventually('first watch open', () => watches.length === 1);
        assert.deepEqual(events, ['add gone-1']);

        // Cut the first watch; while the informer is blind, delete one object and create another.
        watches[0]?.abort();
        await eventually('second watch requested', () => watchQueries.length === 2);
        await configMaps.delete({ namespace, name: 'gone-1' });
        await configMaps.create({ metadata: { name: 'gone-2', namespace, labels } });
        openGate();

        await eventually('re-list caught up', () => events.includes('delete gone-1') && events.includes('add gone-2'));
        assert.ok(watchQueries.length >= 3, 'a third watch follows the re-list');
        await configMaps.create({ metadata: { name: 'gone-3', namespace, labels } });
        await eventually('watching again after the re-list', () => events.includes('add gone-3'));
        assert.deepEqual(informer.keys().sort(), [`${namespace}/gone-2`, `${namespace}/gone-3`]);
      } finally {
        await informer.stop();
        await configMaps.delete({ namespace, name: 'gone-2' });
        await configMaps.delete({ namespace, name: 'gone-3' });
      }
    },
  );

  test(
    'resumes from its resourceVersion each time the server closes the watch, without re-delivering',
    { timeout: 30_000 },
    async () => {
      const labels = { test: 'server-close' };
      const adds: string[] = [];
      const resumedFrom: (string | number | boolean | undefined)[] = [];
      let closedByServer = 0;
      const realWatch = new Watch(env.kubeConfig);
      const informer = new Informer<ConfigMap>({
        client,
        type: CoreTypes.configMap,
        namespace,
        labelSelector: 'test=server-close',
        // The server ends each watch after a second; the watchdog is far away, so it is never what ends one.
        watchTimeoutSeconds: 1,
        watchdogMs: 60_000,
        logger,
        watch: (path, query, onEvent, onDone) => {
          resumedFrom.push(query.resourceVersion);
          return realWatch.watch(path, query, onEvent, (err) => {
            if (!err) closedByServer++;
            onDone(err);
          });
        },
      });
      informer.addHandlers({ onAdd: (o) => adds.push(o.metadata?.name ?? '') });
      informer.start();
      try {
        await informer.waitForSync(AbortSignal.timeout(10_000));
        await configMaps.create({ metadata: { name: 'sc-1', namespace, labels } });
        await eventually('first add', () => adds.includes('sc-1'));
        const closedBefore = closedByServer;
        await eventually('two watches closed by the server', () => closedByServer >= closedBefore + 2, 15_000);
        await configMaps.create({ metadata: { name: 'sc-2', namespace, labels } });
        await eventually('an add after the server closed the watch', () => adds.includes('sc-2'));
        assert.deepEqual(adds, ['sc-1', 'sc-2'], 'each object added exactly once across server-side closes');
        assert.ok(resumedFrom.length >= 3, `${resumedFrom.length} watches`);
        assert.ok(
          resumedFrom.every((rv) => typeof rv === 'string' && rv !== ''),
          'every watch resumed from a resourceVersion',
        );
        assert.equal(informer.hasSynced(), true);
      } finally {
        await informer.stop();
        await configMaps.delete({ namespace, name: 'sc-1' });
        await configMaps.delete({ namespace, name: 'sc-2' });
      }
    },
  );

  test('indexes answer who references what, through adds, moves and deletes', { timeout: 30_000 }, async () => {
    const labels = { test: 'index' };
    const ref = (name: string, env: string): ConfigMap => ({ metadata: { name, namespace, labels }, data: { env } });
    await configMaps.create(ref('idx-web', 'prod'));
    await configMaps.create(ref('idx-api', 'prod'));
    const informer = new Informer<ConfigMap>({
      client,
      type: CoreTypes.configMap,
      namespace,
      labelSelector: 'test=index',
      logger,
    });
    const environmentKey = (c: ConfigMap): readonly string[] => (c.data?.env ? [`${namespace}/${c.data.env}`] : []);
    informer.addIndex('environment', environmentKey);
    const referrers = (env: string): string[] =>
      informer
        .byIndex('environment', `${namespace}/${env}`)
        .map((c) => c.metadata?.name ?? '')
        .sort();
    informer.start();
    try {
      await informer.waitForSync(AbortSignal.timeout(10_000));
      assert.deepEqual(referrers('prod'), ['idx-api', 'idx-web'], 'the initial list is indexed');

      await configMaps.create(ref('idx-worker', 'dev'));
      await eventually('a new referrer', () => referrers('dev').length === 1);
      assert.deepEqual(referrers('dev'), ['idx-worker']);

      await configMaps.mergePatch({ namespace, name: 'idx-api' }, { data: { env: 'dev' } });
      await eventually('a moved referrer', () => referrers('dev').includes('idx-api'));
      assert.deepEqual(referrers('prod'), ['idx-web'], 'it left its old bucket');
      assert.deepEqual(referrers('dev'), ['idx-api', 'idx-worker']);

      await configMaps.delete({ namespace, name: 'idx-web' });
      await eventually('a deleted referrer', () => referrers('prod').length === 0);
      assert.equal(informer.get(`${namespace}/idx-web`), undefined);

      // An index added to a running informer files what it already holds.
      informer.addIndex('name', (c) => [c.metadata?.name ?? '']);
      assert.deepEqual(
        informer.byIndex('name', 'idx-worker').map((c) => c.data?.env),
        ['dev'],
      );
    } finally {
      await informer.stop();
      for (const name of ['idx-api', 'idx-worker']) await configMaps.delete({ namespace, name });
    }
  });
});

describe('Controller', () => {
  test('reconciles a key once for a burst of updates made while it waited', { timeout: 30_000 }, async () => {
    const reconciled: { key: string; v: string | undefined }[] = [];
    let releaseBlocker: () => void = () => undefined;
    const blocker = new Promise<void>((resolve) => (releaseBlocker = resolve));
    const informer = new Informer<ConfigMap>({
      client,
      type: CoreTypes.configMap,
      namespace,
      labelSelector: 'test=burst',
      logger,
    });
    const registry = new Registry();
    const controller = new Controller({
      name: 'configmaps',
      logger,
      registry,
      workers: 1,
      reconcile: async (key) => {
        if (key.endsWith('/blocker')) await blocker;
        reconciled.push({ key, v: informer.get(key)?.data?.v });
        return {};
      },
    }).watch(informer);
    const labels = { test: 'burst' };
    await configMaps.create({ metadata: { name: 'target', namespace, labels }, data: { v: '0' } });
    informer.start();
    await informer.waitForSync(AbortSignal.timeout(10_000));
    controller.start();
    try {
      await eventually('initial reconcile', () => reconciled.some((r) => r.key === `${namespace}/target`));
      reconciled.length = 0;

      // Occupy the only worker, then change the target five times while it waits in the queue.
      await configMaps.create({ metadata: { name: 'blocker', namespace, labels } });
      await eventually('blocker picked up', () => controller.queue.processingLength === 1);
      let last = '';
      for (let i = 1; i <= 5; i++) {
        const updated = await configMaps.mergePatch({ namespace, name: 'target' }, { data: { v: String(i) } });
        last = updated.metadata?.resourceVersion ?? '';
      }
      await eventually(
        'informer saw the last update',
        () => informer.get(`${namespace}/target`)?.metadata?.resourceVersion === last,
      );
      assert.equal(controller.queue.length, 1, 'five updates collapsed into one waiting key');
      releaseBlocker();

      await eventually('target reconciled', () => reconciled.some((r) => r.key === `${namespace}/target`));
      await delay(500);
      const targetRuns = reconciled.filter((r) => r.key === `${namespace}/target`);
      assert.deepEqual(targetRuns, [{ key: `${namespace}/target`, v: '5' }]);

      const metrics = await registry.metrics();
      assert.match(metrics, /controller_runtime_reconcile_total\{controller="configmaps",result="success"\} \d+/);
    } finally {
      await controller.stop();
      await informer.stop();
      await configMaps.delete({ namespace, name: 'target' });
      await configMaps.delete({ namespace, name: 'blocker' });
    }
  });
});

describe('finalizers', () => {
  const finalizer = 'runtime-test.slipway.dev/cleanup';

  test('are added and removed with resourceVersion-guarded patches', { timeout: 30_000 }, async () => {
    const created = await configMaps.create(cm('finalized'));
    const withFinalizer = await addFinalizer(configMaps, created, finalizer);
    assert.equal(hasFinalizer(withFinalizer, finalizer), true);
    assert.equal(await addFinalizer(configMaps, withFinalizer, finalizer), withFinalizer, 'no write when present');

    // A stale read must not overwrite a newer finalizer list.
    await assert.rejects(addFinalizer(configMaps, created, 'someone-else.example/x'), (err) => isConflict(err));

    await configMaps.delete({ namespace, name: 'finalized' });
    const deleting = await configMaps.get({ namespace, name: 'finalized' });
    assert.equal(isBeingDeleted(deleting), true, 'the finalizer holds the object');

    const result = await removeFinalizer(configMaps, deleting, finalizer);
    assert.equal(result === undefined || !hasFinalizer(result, finalizer), true);
    await eventually(
      'object gone',
      async () => (await configMaps.find({ namespace, name: 'finalized' })) === undefined,
    );
  });

  test('a JSON patch with a resourceVersion test fails on a stale object', async () => {
    const created = await configMaps.create(cm('json-patched', { a: '1' }));
    const patched = await configMaps.jsonPatch({ namespace, name: 'json-patched' }, [
      { op: 'test', path: '/metadata/resourceVersion', value: created.metadata?.resourceVersion },
      { op: 'replace', path: '/data/a', value: '2' },
    ]);
    assert.equal(patched.data?.a, '2');
    await assert.rejects(
      configMaps.jsonPatch({ namespace, name: 'json-patched' }, [
        { op: 'test', path: '/metadata/resourceVersion', value: created.metadata?.resourceVersion },
        { op: 'replace', path: '/data/a', value: '3' },
      ]),
      (err) => (err as { code?: number }).code === 422 || isConflict(err),
    );
    await configMaps.delete({ namespace, name: 'json-patched' });
  });
});

describe('StatusWriter', () => {
  const widgets = client.resource<Widget>(widgetType);

  before(async () => {
    const crds = client.resource<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
      crdType,
    );
    const existing = await crds.find({ name: 'widgets.runtime-test.slipway.dev' });
    if (!existing) {
      await crds.create({
        metadata: { name: 'widgets.runtime-test.slipway.dev' },
        spec: {
          group: widgetType.group,
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              subresources: { status: {} },
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: { type: 'object', properties: { size: { type: 'integer' } } },
                    status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  },
                },
              },
            },
          ],
        },
      } as KubeObject);
    }
    await eventually(
      'CRD established',
      async () => {
        const crd = await crds.get({ name: 'widgets.runtime-test.slipway.dev' });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      },
      20_000,
    );
    // Established can precede the REST endpoint being served by a moment.
    await eventually('widgets served', async () => {
      try {
        await widgets.list({ namespace });
        return true;
      } catch {
        return false;
      }
    });
  });

  test(
    'writes a changed status and skips one that only differs in condition timestamps',
    { timeout: 30_000 },
    async () => {
      const writer = new StatusWriter(widgets, logger);
      const created = await widgets.create({ metadata: { name: 'w1', namespace }, spec: { size: 1 } });
      const t0 = new Date('2025-01-01T00:00:00Z');
      const status: WidgetStatus = {
        observedGeneration: created.metadata?.generation,
        phase: 'Provisioning',
        note: 'first',
        conditions: setCondition(
          [],
          { type: 'Ready', status: 'False', reason: 'Provisioning', message: 'creating' },
          t0,
        ),
      };
      const first = await writer.write(created, status);
      assert.equal(first.written, true);
      assert.equal(first.object.status?.phase, 'Provisioning');
      assert.notEqual(first.object.metadata?.resourceVersion, created.metadata?.resourceVersion);

      // Rebuilt from scratch an hour later: same content, new timestamps. Must not write (or we'd retrigger ourselves).
      const rebuilt: WidgetStatus = {
        ...status,
        conditions: setCondition(
          [],
          { type: 'Ready', status: 'False', reason: 'Provisioning', message: 'creating' },
          new Date('2025-01-01T01:00:00Z'),
        ),
      };
      const second = await writer.write(first.object, rebuilt);
      assert.equal(second.written, false);
      const fresh = await widgets.get({ namespace, name: 'w1' });
      assert.equal(
        fresh.metadata?.resourceVersion,
        first.object.metadata?.resourceVersion,
        'no write reached the server',
      );

      // A real change is written; the dropped field is removed; the unchanged condition keeps its time.
      const { note: _dropped, ...withoutNote } = status;
      const third = await writer.write(fresh, {
        ...withoutNote,
        phase: 'Ready',
        conditions: setCondition(
          [],
          { type: 'Ready', status: 'False', reason: 'Provisioning', message: 'still creating' },
          new Date('2025-01-01T02:00:00Z'),
        ),
      });
      assert.equal(third.written, true);
      assert.equal(third.object.status?.phase, 'Ready');
      assert.equal(third.object.status?.note, undefined);
      assert.equal(third.object.status?.conditions?.[0]?.message, 'still creating');
      assert.equal(third.object.status?.conditions?.[0]?.lastTransitionTime, '2025-01-01T00:00:00Z');
      assert.equal(third.object.spec?.size, 1, 'the status subresource leaves spec alone');
    },
  );

  after(async () => {
    await client.resource(crdType).delete({ name: 'widgets.runtime-test.slipway.dev' });
  });
});

describe('LeaderElector', () => {
  test('exactly one of two candidates leads, and releasing hands over at once', { timeout: 60_000 }, async () => {
    const leading = new Set<string>();
    const stopped: string[] = [];
    const elector = (id: string): LeaderElector =>
      new LeaderElector({
        client,
        namespace,
        name: 'runtime-test',
        identity: id,
        // The default 15 s lease: a takeover much faster than that proves the release worked.
        retryPeriodMs: 200,
        onStartedLeading: () => void leading.add(id),
        onStoppedLeading: () => {
          leading.delete(id);
          stopped.push(id);
        },
        logger,
      });
    const a = elector('candidate-a');
    const b = elector('candidate-b');
    a.start();
    b.start();
    try {
      await eventually('a leader', () => leading.size === 1);
      await delay(1500); // several retry periods: the standby must keep standing by
      assert.equal(leading.size, 1);
      assert.equal([a, b].filter((e) => e.isLeader()).length, 1);
      const [leader, standby] = a.isLeader() ? [a, b] : [b, a];
      assert.equal(standby.observedLeader, leader.identity);

      const handoverStarted = Date.now();
      await leader.stop();
      assert.deepEqual(stopped, [leader.identity]);
      await eventually('standby takes over', () => standby.isLeader(), 10_000);
      const handoverMs = Date.now() - handoverStarted;
      assert.ok(handoverMs < 5000, `handover took ${handoverMs} ms`);
      assert.deepEqual([...leading], [standby.identity]);

      const lease = await client
        .resource<KubeObject & { spec?: { holderIdentity?: string; leaseTransitions?: number } }>(CoreTypes.lease)
        .get({ namespace, name: 'runtime-test' });
      assert.equal(lease.spec?.holderIdentity, standby.identity);
      assert.equal(lease.spec?.leaseTransitions, 1);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

describe('LeaderElector when the lease is taken over', () => {
  test('the leader steps down as soon as a renewal finds another holder', { timeout: 30_000 }, async () => {
    let leadingSignal: AbortSignal | undefined;
    let stoppedLeading = 0;
    const elector = new LeaderElector({
      client,
      namespace,
      name: 'runtime-test-stolen',
      identity: 'victim',
      retryPeriodMs: 200,
      renewIntervalMs: 300,
      onStartedLeading: (signal) => {
        leadingSignal = signal;
      },
      onStoppedLeading: () => {
        stoppedLeading++;
      },
      logger,
    });
    elector.start();
    try {
      await eventually('leading', () => elector.isLeader());
      const leases = client.resource<KubeObject & { spec?: Record<string, unknown> }>(CoreTypes.lease);
      const lease = await leases.get({ namespace, name: 'runtime-test-stolen' });
      await leases.replace({
        ...lease,
        spec: { ...lease.spec, holderIdentity: 'intruder', leaseDurationSeconds: 3600 },
      });
      await eventually('stepped down', () => stoppedLeading === 1, 5000);
      assert.equal(elector.isLeader(), false);
      assert.equal(leadingSignal?.aborted, true, 'work started as leader is told to stop');
      await delay(1000);
      assert.equal(elector.isLeader(), false, 'a live foreign lease is respected');
      assert.equal(elector.observedLeader, 'intruder');
    } finally {
      await elector.stop();
    }
  });
});

describe('LeaderElector whose connection to the API server goes silent', () => {
  test(
    'the leader stops leading before its lease can expire, and only then does the standby take over',
    { timeout: 60_000 },
    async () => {
      const timings = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };
      const name = 'runtime-test-silent';
      // The leader reaches the API server through a relay that will go silent; the standby's connection stays fine.
      const relay = new SilenceableRelay(new URL(env.kubeConfig.getCurrentCluster()!.server));
      const leaderClient = new KubeClient(kubeConfigFor(await relay.listen('https')));
      let leaderSignal: AbortSignal | undefined;
      let stoppedAt: number | undefined;
      let standbyStartedAt: number | undefined;
      const leader = new LeaderElector({
        client: leaderClient,
        namespace,
        name,
        identity: 'cut-off',
        ...timings,
        onStartedLeading: (signal) => {
          leaderSignal = signal;
        },
        onStoppedLeading: () => {
          stoppedAt ??= Date.now();
        },
        logger,
      });
      const standby = new LeaderElector({
        client,
        namespace,
        name,
        identity: 'standby',
        ...timings,
        onStartedLeading: () => {
          standbyStartedAt ??= Date.now();
        },
        onStoppedLeading: () => undefined,
        logger,
      });
      // The leader's renewals as the API server stored them (the standby's healthy client reads the Lease).
      const leases = client.resource<KubeObject & { spec?: { holderIdentity?: string; renewTime?: string } }>(
        CoreTypes.lease,
      );
      let lastRenewal = 0;
      let watching = true;
      const watchRenewals = (async () => {
        while (watching) {
          const lease = await leases.find({ namespace, name }).catch(() => undefined);
          if (lease?.spec?.holderIdentity === 'cut-off' && lease.spec.renewTime)
            lastRenewal = Math.max(lastRenewal, Date.parse(lease.spec.renewTime));
          await delay(50);
        }
      })();
      leader.start();
      try {
        await eventually('the relayed candidate leads', () => leader.isLeader());
        standby.start();
        await eventually('the standby sees the leader', () => standby.observedLeader === 'cut-off');
        await eventually('a renewal seen by the standby', () => lastRenewal > 0);

        relay.goSilent();
        const silencedAt = Date.now();
        await eventually('the standby takes over', () => standbyStartedAt !== undefined, 20_000);
        watching = false;
        await watchRenewals;

        assert.ok(stoppedAt !== undefined, 'the cut-off leader stepped down');
        assert.equal(leaderSignal?.aborted, true, 'its work was told to stop');
        assert.equal(leader.isLeader(), false);
        assert.ok(lastRenewal <= silencedAt, 'no renewal got through the silent connection');
        assert.ok(
          stoppedAt < lastRenewal + timings.leaseDurationMs,
          `stepped down ${stoppedAt - lastRenewal} ms after its last renewal, past the ${timings.leaseDurationMs} ms lease`,
        );
        assert.ok(
          stoppedAt < standbyStartedAt!,
          `the standby led ${stoppedAt - standbyStartedAt!} ms before the old leader stopped`,
        );
        const lease = await leases.get({ namespace, name });
        assert.equal(lease.spec?.holderIdentity, 'standby');
        process.stderr.write(
          `[leader] last renewal → stepped down ${stoppedAt - lastRenewal} ms, → standby leading ` +
            `${standbyStartedAt! - lastRenewal} ms (renew deadline ${timings.renewDeadlineMs} ms, ` +
            `lease ${timings.leaseDurationMs} ms)\n`,
        );
      } finally {
        watching = false;
        await watchRenewals;
        // Closing the relay refuses the leader's connections, so its stop() does not wait on a silent one.
        await relay.close();
        await leader.stop();
        await standby.stop();
      }
    },
  );
});

describe('EventRecorder', () => {
  test('records events and folds repeats into a series', { timeout: 30_000 }, async () => {
    const subject = await configMaps.create(cm('eventful'));
    const recorder = new EventRecorder({ client, reportingInstance: 'runtime-test-pod', logger });
    await recorder.warning(subject, 'ReconcileFailed', 'target group quota exceeded');
    await recorder.warning(subject, 'ReconcileFailed', 'target group quota exceeded');
    await recorder.warning(subject, 'ReconcileFailed', 'target group quota exceeded');
    await recorder.normal(subject, 'Created', 'created the load balancer');

    const events = (await client.resource<KubeEvent>(CoreTypes.event).list({ namespace })).items.filter(
      (e) => e.regarding.uid === subject.metadata?.uid,
    );
    assert.equal(events.length, 2);
    const failed = events.find((e) => e.reason === 'ReconcileFailed');
    assert.equal(failed?.type, 'Warning');
    assert.equal(failed?.series?.count, 3);
    assert.equal(failed?.reportingController, 'slipway.dev/operator');
    assert.equal(failed?.regarding.kind, 'ConfigMap');
    const created = events.find((e) => e.reason === 'Created');
    assert.equal(created?.series, undefined);
    assert.equal(created?.note, 'created the load balancer');
    await configMaps.delete({ namespace, name: 'eventful' });
  });
});

describe('health server', () => {
  test('is ready once informers sync, always ready as a standby, and serves metrics', { timeout: 30_000 }, async () => {
    const registry = new Registry();
    const informer = new Informer<ConfigMap>({ client, type: CoreTypes.configMap, namespace, logger });
    let leader = true;
    const server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      registry,
      informers: () => [informer],
      isLeader: () => leader,
    });
    const get = async (path: string): Promise<{ status: number; body: string }> => {
      const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
      return { status: res.status, body: await res.text() };
    };
    try {
      assert.equal((await get('/readyz')).status, 503, 'not synced yet');
      leader = false;
      assert.equal((await get('/readyz')).status, 200, 'a standby is ready');
      leader = true;
      informer.start();
      await informer.waitForSync(AbortSignal.timeout(10_000));
      assert.equal((await get('/readyz')).status, 200);
      assert.equal((await get('/healthz')).status, 200);
      new Controller({ name: 'probe', logger, registry, reconcile: async () => ({}) }).enqueue(keyOf(cm('x')));
      const metrics = await get('/metrics');
      assert.match(metrics.body, /workqueue_depth\{name="probe"\} 1/);
      assert.equal((await get('/nope')).status, 404);
    } finally {
      await informer.stop();
      await server.close();
    }
  });
});
