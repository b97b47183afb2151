import assert from 'node:assert/strict';
import { test } from 'node:test';
import { environmentManifest, previewManifest } from '../../../bench/manifests.js';
import { parseBenchOptions } from '../../../bench/options.js';
import { MAX_PREVIEWS_PER_ENVIRONMENT, benchPlan, previewsOn, resultFileName } from '../../../bench/scale.js';
import { CRD_DIR, loadCrds } from '../api/crd-schema.js';

test('one Environment without previews keeps the names runs had before', () => {
  const plan = benchPlan(1, 3, 0);
  assert.deepEqual(
    plan.environments.map((e) => e.name),
    ['bench'],
  );
  assert.deepEqual(
    plan.services.map((s) => s.name),
    ['svc-000', 'svc-001', 'svc-002'],
  );
  assert.deepEqual(plan.previews, []);
});

test('N Services on each of E Environments, with names unique in the namespace', () => {
  const plan = benchPlan(3, 2, 0);
  assert.deepEqual(
    plan.services.map((s) => `${s.environment}/${s.name}/${s.index}`),
    [
      'bench/svc-000/0',
      'bench/svc-001/1',
      'bench-1/e1-svc-000/0',
      'bench-1/e1-svc-001/1',
      'bench-2/e2-svc-000/0',
      'bench-2/e2-svc-001/1',
    ],
  );
  assert.deepEqual(
    plan.environments.map((e) => e.landscape),
    [0, 1, 2],
  );
});

test('previews are dealt round-robin over the Environments, then over their Services, each on its own Environment', () => {
  const plan = benchPlan(2, 2, 5);
  assert.deepEqual(
    plan.previews.map((p) => `${p.name} ${p.environment} ${p.service}`),
    [
      'pr-0001 bench svc-000',
      'pr-0002 bench-1 e1-svc-000',
      'pr-0003 bench svc-001',
      'pr-0004 bench-1 e1-svc-001',
      'pr-0005 bench svc-000',
    ],
  );
  assert.equal(previewsOn(plan, 'bench'), 3);
  assert.equal(previewsOn(plan, 'bench-1'), 2);
  const services = new Map(plan.services.map((s) => [s.name, s.environment]));
  for (const p of plan.previews) assert.equal(services.get(p.service), p.environment);
});

test('an Environment accepts previews only when it gets some, up to its share', () => {
  const land = {
    vpcId: 'vpc-1',
    subnetIds: ['subnet-1'],
    securityGroupId: 'sg-1',
    certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/x',
    hostedZoneId: 'Z1',
    baseDomain: 'bench.shop.test',
  };
  assert.equal(environmentManifest('ns', land).spec.previews, undefined);
  assert.deepEqual(environmentManifest('ns', land, 'bench', 3).spec.previews, { enabled: true, maxActive: 3 });
  const p = previewManifest('ns', { name: 'pr-0001', environment: 'bench', service: 'svc-000', number: 1 });
  assert.deepEqual(p.spec.serviceRef, { name: 'svc-000' });
  assert.deepEqual(p.spec.environmentRef, { name: 'bench' });
});

test('the options: defaults, and the bounds of E, N and P with the reason', () => {
  const o = parseBenchOptions([], {});
  assert.deepEqual([o.environments, o.services, o.previews], [1, 30, 0]);
  const big = parseBenchOptions(['--environments', '2', '--services', '10', '--previews', '100'], {});
  assert.deepEqual([big.environments, big.services, big.previews], [2, 10, 100]);
  assert.equal(parseBenchOptions(['--previews', '1000'], {}).previews, 1000);
  assert.throws(() => parseBenchOptions(['--previews', '1001'], {}), /from 0 to 1000 .*maxActive/);
  assert.equal(parseBenchOptions(['--environments', '2', '--previews', '2000'], {}).previews, 2000);
  assert.throws(() => parseBenchOptions(['--environments', '0'], {}), /--environments/);
  assert.throws(() => parseBenchOptions(['--environments', '21'], {}), /from 1 to 20/);
  assert.throws(() => parseBenchOptions(['--services', '1001'], {}), /--services/);
  assert.throws(() => parseBenchOptions(['--previews', '-1'], {}), /--previews/);
  assert.throws(() => parseBenchOptions(['--previews', 'two'], {}), /--previews/);
});

test('a phase may wait as long as the run: up to 4 hours', () => {
  assert.equal(parseBenchOptions(['--phase-timeout', '14400'], {}).phaseTimeoutMs, 14_400_000);
  assert.equal(parseBenchOptions(['--timeout', '14400'], {}).runTimeoutMs, 14_400_000);
  assert.throws(() => parseBenchOptions(['--phase-timeout', '14401'], {}), /--phase-timeout .*from 10 to 14400/);
});

test('a result file never replaces an earlier run of the same size and day', () => {
  const one = { environments: 1, services: 30, previews: 0 };
  const many = { environments: 2, services: 10, previews: 5 };
  const none = () => false;
  assert.equal(resultFileName('2026-11-29', one, false, none), '2026-11-29-30svc.json');
  assert.equal(resultFileName('2026-11-29', one, true, none), '2026-11-29-30svc-rollouts-never.json');
  assert.equal(resultFileName('2026-11-29', many, false, none), '2026-11-29-2env-10svc-5prev.json');
  const taken = new Set(['2026-11-29-30svc.json', '2026-11-29-30svc-2.json']);
  assert.equal(
    resultFileName('2026-11-29', one, false, (f) => taken.has(f)),
    '2026-11-29-30svc-3.json',
  );
});

test("the benchmark's preview bound per Environment is the CRD's bound of previews.maxActive", () => {
  const env = loadCrds(CRD_DIR).find((c) => c.kind === 'Environment')!;
  const maxActive = env.schema.properties?.spec?.properties?.previews?.properties?.maxActive;
  assert.equal(maxActive?.maximum, MAX_PREVIEWS_PER_ENVIRONMENT);
});
