// A pass abandoned at its deadline releases its worker even when the API server does not answer the writes that
// report it: the status write is cut short and the Event is not waited for past a short grace.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { Service } from '../../../src/api/index.js';
import { customResourceReconciler } from '../../../src/controllers/reconcile.js';
import type { ResourceClient } from '../../../src/runtime/index.js';
import { reconcilerDeps } from '../../support/reconciler-deps.js';

test('an abandoned pass does not hold its worker on a status write or an Event the API server never answers', async () => {
  const log = pino({ level: 'silent' });
  const svc = {
    apiVersion: 'slipway.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'cart', namespace: 'shop', generation: 1 },
    spec: {},
    status: {},
  } as unknown as Service;
  const statusSignals: (AbortSignal | undefined)[] = [];
  const client = {
    find: async () => svc,
    // An API server that takes the write and never answers: only an abort ends it.
    patchStatus: (_ref: unknown, _body: unknown, signal?: AbortSignal) => {
      statusSignals.push(signal);
      return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
    },
  } as unknown as ResourceClient<Service>;
  const deps = reconcilerDeps({
    passDeadlineMs: 100,
    events: {
      warning: () => new Promise(() => undefined),
      normal: () => new Promise(() => undefined),
    },
  });
  const reconcile = customResourceReconciler(deps, {
    client,
    // A pass that never finishes and ignores its signal: only the deadline ends it.
    prepare: () => new Promise<never>(() => undefined),
    prepareDeletion: async () => 'release' as const,
    statusFields: () => ({}),
  });
  // The operator's timers (the deadline, the grace) do not keep a process alive; its informers and server do.
  const alive = setInterval(() => undefined, 1_000);
  await assert.rejects(
    reconcile('shop/cart', {
      controller: 'service',
      reconcileId: '1',
      log,
      signal: new AbortController().signal,
    }).finally(() => clearInterval(alive)),
    /DeadlineExceeded/,
    'the runtime gets the deadline outcome and backs the key off',
  );
  assert.equal(statusSignals.length, 1, 'the abandoned pass reports itself in status');
  assert.equal(statusSignals[0]?.aborted, true, 'and the write it could not finish was cut short, not left running');
});

test('a worker is released after the deadline and its graces even when reading the object never ends', async () => {
  const log = pino({ level: 'silent' });
  const client = {
    // An API server that takes the read and never answers, and a client that does not listen to its signal.
    find: () => new Promise(() => undefined),
  } as unknown as ResourceClient<Service>;
  const deps = reconcilerDeps({ passDeadlineMs: 100 });
  const reconcile = customResourceReconciler(deps, {
    client,
    prepare: async () => {
      throw new Error('never reached');
    },
    prepareDeletion: async () => 'release' as const,
    statusFields: () => ({}),
  });
  const alive = setInterval(() => undefined, 1_000);
  await assert.rejects(
    reconcile('shop/cart', {
      controller: 'service',
      reconcileId: '2',
      log,
      signal: new AbortController().signal,
    }).finally(() => clearInterval(alive)),
    /did not finish within its deadline/,
    'the runtime gets the deadline outcome and backs the key off',
  );
});

test('a pass abandoned because the controller stops is settled only once its status write is done', async () => {
  const log = pino({ level: 'silent' });
  const svc = {
    apiVersion: 'slipway.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'cart', namespace: 'shop', generation: 1 },
    spec: {},
    status: {},
  } as unknown as Service;
  const order: string[] = [];
  let answer: () => void = () => undefined;
  const written = new Promise<void>((resolve) => (answer = resolve));
  const client = {
    find: async () => svc,
    // The status that says the operator stopped: the API server answers it when the test says so.
    patchStatus: async () => {
      await written;
      order.push('status written');
      return svc;
    },
  } as unknown as ResourceClient<Service>;
  const deps = reconcilerDeps({ passDeadlineMs: 60_000 });
  let prepared: () => void = () => undefined;
  const reconcile = customResourceReconciler(deps, {
    client,
    prepare: () =>
      new Promise<never>(() => {
        prepared();
      }),
    prepareDeletion: async () => 'release' as const,
    statusFields: () => ({}),
  });
  const stopping = new AbortController();
  const inPrepare = new Promise<void>((resolve) => (prepared = resolve));
  const pass = reconcile('shop/cart', {
    controller: 'service',
    reconcileId: '3',
    log,
    signal: stopping.signal,
  });
  await inPrepare;
  stopping.abort(new Error('controller service is stopping'));
  await assert.rejects(pass, /operator stopped during the pass/, 'the worker is released at once');
  const settled = reconcile.settled().then(() => order.push('settled'));
  answer();
  await settled;
  assert.deepEqual(order, ['status written', 'settled'], 'settled waits for the abandoned pass to write');
});
