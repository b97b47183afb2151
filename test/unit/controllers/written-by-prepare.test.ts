// A workload's first pass writes its placement to status in prepare, which moves the object's resourceVersion on:
// the finalizer must then be added on the object as that write answered it, or the merge patch (which carries the
// resourceVersion it read) fails with 409 and the whole pass is retried behind every other key in the queue.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { Service } from '../../../src/api/index.js';
import type { AwsClients } from '../../../src/aws/clients.js';
import { customResourceReconciler } from '../../../src/controllers/reconcile.js';
import type { ResourceClient } from '../../../src/runtime/index.js';
import { reconcilerDeps } from '../../support/reconciler-deps.js';

test('the finalizer goes on the object as prepare wrote it, with that write’s resourceVersion', async () => {
  const log = pino({ level: 'silent' });
  const read = {
    apiVersion: 'slipway.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'cart', namespace: 'shop', generation: 1, resourceVersion: '7' },
    spec: {},
  } as unknown as Service;
  const written = { ...read, metadata: { ...read.metadata, resourceVersion: '8' }, status: { loadBalancerShard: 0 } };
  const finalizerPatches: unknown[] = [];
  const client = {
    find: async () => read,
    mergePatch: async (_ref: unknown, body: { metadata: { resourceVersion: string } }) => {
      finalizerPatches.push(body.metadata.resourceVersion);
      // Stops the pass here: what follows needs AWS.
      throw new Error('stop after the finalizer');
    },
    patchStatus: async () => written,
  } as unknown as ResourceClient<Service>;
  const deps = reconcilerDeps({ passDeadlineMs: 10_000 });
  const reconcile = customResourceReconciler(deps, {
    client,
    prepare: async () => ({
      aws: {} as AwsClients,
      plan: { owner: { clusterId: 'c', kind: 'Service', namespace: 'shop', name: 'cart' }, resources: [] },
      driftPolicy: 'Correct' as const,
      adopt: false,
      resyncMs: 60_000,
      written,
    }),
    prepareDeletion: async () => 'release' as const,
    statusFields: () => ({}),
  });
  await reconcile('shop/cart', {
    controller: 'service',
    reconcileId: '1',
    log,
    signal: new AbortController().signal,
  }).catch(() => undefined);
  assert.deepEqual(finalizerPatches, ['8']);
});
