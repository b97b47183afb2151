// The one reconcile sequence and status.plan: a stop before the pass (nothing planned) removes a plan an earlier
// plan-only pass wrote, since it no longer says what applying would do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { Service } from '../../../src/api/index.js';
import { customResourceReconciler } from '../../../src/controllers/reconcile.js';
import { outcome, WATCH } from '../../../src/outcome/outcome.js';
import type { ResourceClient } from '../../../src/runtime/index.js';
import { reconcilerDeps } from '../../support/reconciler-deps.js';

test('a stop before the pass removes an earlier status.plan', async () => {
  const log = pino({ level: 'silent' });
  const svc = {
    apiVersion: 'slipway.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'cart', namespace: 'shop', generation: 3, annotations: { 'slipway.dev/plan-only': 'true' } },
    spec: {},
    status: {
      observedGeneration: 2,
      plan: { version: 1, summary: { create: 1, update: 0, delete: 0, unchanged: 0, errors: 0 }, aws: [] },
    },
  } as unknown as Service;
  const patches: unknown[] = [];
  const client = {
    find: async () => svc,
    patchStatus: async (_ref: unknown, body: unknown) => {
      patches.push(body);
      return svc;
    },
  } as unknown as ResourceClient<Service>;
  const deps = reconcilerDeps({ passDeadlineMs: 10_000 });
  const reconcile = customResourceReconciler(deps, {
    client,
    prepare: async () => ({
      stop: outcome('EnvironmentNotFound', 'spec.environmentRef.name: no such Environment', WATCH),
    }),
    prepareDeletion: async () => 'release' as const,
    statusFields: () => ({}),
  });
  await reconcile('shop/cart', {
    controller: 'service',
    reconcileId: '1',
    log,
    signal: new AbortController().signal,
  });
  assert.equal(patches.length, 1);
  const status = (patches[0] as { status: Record<string, unknown> }).status;
  assert.equal(status.plan, null, 'status.plan is removed (merge patch null)');
  assert.equal(status.observedGeneration, 3);
});

test('a stop of a plan-only object says in PlanOnly that nothing was planned; of another object, PlanOnly goes', async () => {
  const log = pino({ level: 'silent' });
  const run = async (annotations: Record<string, string>) => {
    const svc = {
      metadata: { name: 'cart', namespace: 'shop', generation: 1, annotations },
      spec: {},
      status: {
        conditions: [
          { type: 'PlanOnly', status: 'True', reason: 'PlanOnly', message: 'planned', lastTransitionTime: 'x' },
        ],
      },
    } as unknown as Service;
    const patches: { status: { conditions: { type: string; reason: string; message: string }[] } }[] = [];
    const client = {
      find: async () => svc,
      patchStatus: async (_ref: unknown, body: (typeof patches)[number]) => (patches.push(body), svc),
    } as unknown as ResourceClient<Service>;
    const deps = reconcilerDeps({ passDeadlineMs: 10_000 });
    const reconcile = customResourceReconciler(deps, {
      client,
      prepare: async () => ({ stop: outcome('EnvironmentNotFound', 'no such Environment', WATCH) }),
      prepareDeletion: async () => 'release' as const,
      statusFields: () => ({}),
    });
    await reconcile('shop/cart', {
      controller: 'service',
      reconcileId: '1',
      log,
      signal: new AbortController().signal,
    });
    return patches[0]!.status.conditions.find((c) => c.type === 'PlanOnly');
  };
  const planOnly = await run({ 'slipway.dev/plan-only': 'true' });
  assert.equal(planOnly?.reason, 'NotPlanned');
  assert.match(
    planOnly!.message,
    /^annotated slipway\.dev\/plan-only: no AWS write, and nothing planned: EnvironmentNotFound/,
  );
  assert.equal(await run({}), undefined, 'without the annotation the PlanOnly condition is removed');
});
