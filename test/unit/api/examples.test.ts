// examples/ is a consistent commerce platform: structurally valid objects (unknown fields would be silently pruned
// by the API server, so they are errors here), references that resolve, and the Services the examples promise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { Environment, PreviewDeployment, Service } from '../../../src/api/index.js';
import { CRD_DIR, EXAMPLES_DIR, applyDefaults, crdFor, loadCrds, loadExamples } from './crd-schema.js';
import { validateStructure } from './crd-schema.js';

const crds = loadCrds(CRD_DIR);
const raw = loadExamples();
// Defaulted, as the API server stores them.
const objects = raw.map((o) =>
  o.kind === 'Namespace' ? o : (applyDefaults(crdFor(crds, o.kind).schema, o) as typeof o),
);
const environments = objects.filter((o) => o.kind === 'Environment') as unknown as Environment[];
const services = objects.filter((o) => o.kind === 'Service') as unknown as Service[];
const previews = objects.filter((o) => o.kind === 'PreviewDeployment') as unknown as PreviewDeployment[];

/** The task sizes Fargate accepts (the same table as the CEL rule on spec.memory). */
function fargateAccepts(cpu: number, memory: number): boolean {
  const range = (from: number, to: number, step: number) => memory >= from && memory <= to && memory % step === 0;
  switch (cpu) {
    case 256:
      return [512, 1024, 2048].includes(memory);
    case 512:
      return range(1024, 4096, 1024);
    case 1024:
      return range(2048, 8192, 1024);
    case 2048:
      return range(4096, 16384, 1024);
    case 4096:
      return range(8192, 30720, 1024);
    case 8192:
      return range(16384, 61440, 4096);
    case 16384:
      return range(32768, 122880, 8192);
    default:
      return false;
  }
}

const gateOn = (env: Environment): boolean => env.spec.access?.cognito?.enabled ?? env.spec.tier !== 'production';
const gateAvailable = (env: Environment): boolean =>
  env.spec.access?.cognito !== undefined || env.spec.tier !== 'production';

test('files apply in order: the namespace first, then Environments, Services and previews', () => {
  const files = readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  assert.equal(files[0], '00-namespace.yaml');
  const kinds = raw.map((o) => o.kind);
  const order = ['Namespace', 'Environment', 'Service', 'PreviewDeployment'];
  assert.deepEqual(
    [...kinds].sort((a, b) => order.indexOf(a) - order.indexOf(b)),
    kinds,
  );
  for (const o of raw) if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'commerce', o.metadata.name);
});

test('every example is structurally valid, with no unknown fields', () => {
  for (const o of objects) {
    if (o.kind === 'Namespace') continue;
    assert.deepEqual(validateStructure(crdFor(crds, o.kind).schema, o), [], `${o.kind}/${o.metadata.name}`);
  }
});

test('dev, staging and production: dev and staging gated, previews only on dev, production ungated', () => {
  const byName = new Map(environments.map((e) => [e.metadata.name, e]));
  const [dev, staging, production] = ['dev', 'staging', 'production'].map((n) => byName.get(n)!);
  assert.ok(dev && staging && production);
  assert.equal(dev.spec.tier, 'non-production');
  assert.equal(staging.spec.tier, 'non-production');
  assert.equal(production.spec.tier, 'production');
  assert.deepEqual([gateOn(dev), gateOn(staging), gateOn(production)], [true, true, false]);
  assert.deepEqual(
    [dev.spec.previews.enabled, staging.spec.previews.enabled, production.spec.previews.enabled],
    [true, false, false],
  );
  for (const env of environments) {
    if (env.spec.loadBalancer.certificateArn)
      assert.equal(env.spec.loadBalancer.certificateArn.split(':')[3], env.spec.region);
    assert.ok((env.spec.network.subnetIds ?? []).length >= 2);
  }
});

test('each Environment runs the six Services of the platform', () => {
  const apps = ['admin', 'catalog-api', 'checkout', 'payment-webhooks', 'reconciler', 'web'];
  for (const env of environments) {
    const here = services.filter((s) => s.spec.environmentRef.name === env.metadata.name);
    assert.deepEqual(here.map((s) => s.metadata.labels?.['app.kubernetes.io/name']).sort(), apps, env.metadata.name);
  }
});

test('Services: Fargate sizes, unique hosts that fit an ALB host condition, gates the Environment can honour', () => {
  for (const svc of services) {
    const env = environments.find((e) => e.metadata.name === svc.spec.environmentRef.name);
    assert.ok(env, `${svc.metadata.name}: no Environment ${svc.spec.environmentRef.name}`);
    assert.ok(
      fargateAccepts(svc.spec.cpu, svc.spec.memory),
      `${svc.metadata.name}: ${svc.spec.cpu}/${svc.spec.memory}`,
    );
    const host = `${svc.spec.subdomain ?? svc.metadata.name}.${env.spec.domain.baseDomain}`;
    assert.ok(host.length <= 128, host);
    if (svc.spec.auth.cognito === 'Enabled')
      assert.ok(gateAvailable(env), `${svc.metadata.name}: no gate in ${env.metadata.name}`);
    if (svc.spec.auth.cognito === 'Disabled') assert.ok(!env.spec.access?.cognito?.required, svc.metadata.name);
    if (svc.spec.cdn.enabled) assert.equal(svc.spec.cdn.certificateArn?.split(':')[3], 'us-east-1');
    const names = [...(svc.spec.env ?? []), ...(svc.spec.secrets ?? [])].map((v) => v.name);
    assert.equal(new Set(names).size, names.length, `${svc.metadata.name}: env and secrets overlap`);
  }
  for (const env of environments) {
    const hosts = services
      .filter((s) => s.spec.environmentRef.name === env.metadata.name)
      .map((s) => s.spec.subdomain ?? s.metadata.name);
    assert.equal(new Set(hosts).size, hosts.length, `${env.metadata.name}: two Services share a subdomain`);
  }
});

test('the roles the examples promise: web behind a CDN outside dev, webhooks ungated on /webhooks/*, admin always gated', () => {
  const app = (s: Service) => s.metadata.labels?.['app.kubernetes.io/name'];
  for (const svc of services) {
    const env = svc.spec.environmentRef.name;
    if (app(svc) === 'web' && env !== 'dev') assert.equal(svc.spec.cdn.enabled, true, svc.metadata.name);
    if (app(svc) === 'payment-webhooks') {
      assert.equal(svc.spec.auth.cognito, 'Disabled', svc.metadata.name);
      assert.deepEqual(svc.spec.routing.pathPatterns, ['/webhooks/*']);
    }
    if (app(svc) === 'admin') assert.equal(svc.spec.auth.cognito, 'Enabled', svc.metadata.name);
    if (env === 'production')
      assert.match(svc.spec.image, /@sha256:[0-9a-f]{64}$/, `${svc.metadata.name}: production pins digests`);
  }
});

test('the preview copies web on dev, an Environment that takes previews', () => {
  assert.equal(previews.length, 1);
  const [preview] = previews;
  const service = services.find((s) => s.metadata.name === preview!.spec.serviceRef.name);
  const env = environments.find((e) => e.metadata.name === preview!.spec.environmentRef.name);
  assert.equal(service?.metadata.labels?.['app.kubernetes.io/name'], 'web');
  assert.equal(service?.spec.environmentRef.name, env?.metadata.name);
  assert.equal(env?.spec.tier, 'non-production');
  assert.equal(env?.spec.previews.enabled, true);
  assert.equal(preview!.spec.pullRequest.state, 'open');
});
