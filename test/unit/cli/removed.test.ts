// Which custom resources in the cluster a set of manifests removes (pure): only what the manifests cover.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseManifests } from '../../../src/cli/manifests.js';
import { removedBy, type LiveObject } from '../../../src/cli/removed.js';

const manifests = parseManifests(
  `
apiVersion: slipway.dev/v1alpha1
kind: Environment
metadata: { name: dev, namespace: shop, labels: { argocd.argoproj.io/instance: shop-dev } }
spec: {}
---
apiVersion: slipway.dev/v1alpha1
kind: Service
metadata: { name: web, namespace: shop, labels: { argocd.argoproj.io/instance: shop-dev } }
spec: { environmentRef: { name: dev } }
`,
  'deploy.yaml',
  'default',
).manifests;

const live = (name: string, env: string, meta: Partial<NonNullable<LiveObject['metadata']>> = {}, ns = 'shop') => ({
  metadata: { name, namespace: ns, ...meta },
  spec: { environmentRef: { name: env } },
});

test('a Service on an Environment of the manifests, not in them, is removed; others are not', () => {
  const services = [
    live('web', 'dev'), // in the manifests
    live('cart', 'dev'), // removed
    live('search', 'staging'), // another Environment, not covered
    live('cart', 'dev', {}, 'other'), // another namespace
    live('old', 'dev', { deletionTimestamp: '2026-11-29T00:00:00Z' }), // on its way out already
  ];
  assert.deepEqual(
    removedBy(manifests, 'Service', services).map((s) => `${s.metadata.namespace}/${s.metadata.name}`),
    ['shop/cart'],
  );
});

test('a preview goes only by a tracking label the manifests carry; so does an Environment or a Service elsewhere', () => {
  const previews = [
    live('web-pr-1', 'dev'), // created by CI: not covered
    live('web-pr-2', 'dev', { labels: { 'argocd.argoproj.io/instance': 'shop-dev' } }),
    live('web-pr-3', 'dev', { labels: { 'argocd.argoproj.io/instance': 'shop-prod' } }),
  ];
  assert.deepEqual(
    removedBy(manifests, 'PreviewDeployment', previews).map((p) => p.metadata.name),
    ['web-pr-2'],
  );
  const environments = [
    live('staging', '', {
      annotations: { 'argocd.argoproj.io/tracking-id': 'shop-dev:slipway.dev/Environment:shop/staging' },
    }),
    live('qa', ''),
  ];
  assert.deepEqual(removedBy(manifests, 'Environment', environments), [], 'tracking-id of another application');
  const services = [live('search', 'staging', { labels: { 'argocd.argoproj.io/instance': 'shop-dev' } })];
  assert.deepEqual(
    removedBy(manifests, 'Service', services).map((s) => s.metadata.name),
    ['search'],
  );
});
