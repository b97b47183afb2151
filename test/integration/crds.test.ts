// The CRDs against a real kube-apiserver (v1.33): they install and become Established (so their CEL rules compile
// within the cost budget), the examples are accepted with strict field validation and defaulted, every invalid
// fixture is rejected with an error naming its field, immutable fields stay put, status is writable through the
// status subresource, and kubectl shows the printer columns.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { GROUP } from '../../src/api/index.js';
import type { Environment, PreviewDeployment, Service } from '../../src/api/index.js';
import { getTestEnv } from '../support/env.js';
import {
  CRD_DIR,
  EXAMPLES_DIR,
  REPO_ROOT,
  loadCrds,
  loadExamples,
  loadImmutableChanges,
  loadInvalidFixtures,
  normalisePath,
} from '../unit/api/crd-schema.js';

const FIELD_MANAGER = 'slipway-crds-test';
const NAMESPACE = 'commerce';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function kubectl(...args: string[]): Promise<Run> {
  const { kubeconfigPath } = getTestEnv();
  return new Promise((resolve) => {
    execFile(
      'kubectl',
      ['--kubeconfig', kubeconfigPath, ...args],
      { cwd: REPO_ROOT, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function kubectlOk(...args: string[]): Promise<string> {
  const run = await kubectl(...args);
  assert.equal(run.code, 0, `kubectl ${args.join(' ')} failed:\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

interface Rejection {
  readonly code: number;
  readonly message: string;
  readonly fields: string[];
}

/** The Status an API error carries: its code, message and the field of each cause. */
function rejectionOf(err: unknown): Rejection {
  const e = err as { code?: number; body?: unknown };
  assert.equal(typeof e.code, 'number', `not an API error: ${String(err)}`);
  const body = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as {
    message?: string;
    details?: { causes?: { field?: string; message?: string }[] };
  };
  const causes = body.details?.causes ?? [];
  const fields = causes
    // "some validation rules were not checked because the object was invalid" comes without a real field.
    .filter((c) => c.field && c.field !== '<nil>' && !c.message?.includes('validation rules were not checked'))
    .map((c) => c.field!);
  return { code: e.code!, message: body.message ?? '', fields };
}

async function rejected(action: () => Promise<unknown>): Promise<Rejection> {
  try {
    await action();
  } catch (err) {
    return rejectionOf(err);
  }
  assert.fail('the API server accepted it');
}

let api: KubernetesObjectApi;
const crds = loadCrds(CRD_DIR);
const crdNames = crds.map((c) => `${c.plural}.${GROUP}`);

before(() => {
  api = KubernetesObjectApi.makeApiClient(getTestEnv().kubeConfig);
});

after(async () => {
  // Leave the CRDs (other suites use them) but not the examples, so that no later controller test reconciles them.
  await kubectl('delete', '-f', EXAMPLES_DIR, '--ignore-not-found', '--wait=false');
});

test('the CRDs install with server-side apply and become Established', async () => {
  await kubectlOk('apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', CRD_DIR);
  await kubectlOk('wait', '--for=condition=Established', '--timeout=60s', ...crdNames.map((n) => `crd/${n}`));
  for (const name of crdNames) {
    const conditions = JSON.parse(await kubectlOk('get', `crd/${name}`, '-o', 'jsonpath={.status.conditions}')) as {
      type: string;
      status: string;
    }[];
    assert.equal(conditions.find((c) => c.type === 'NamesAccepted')?.status, 'True', name);
  }
});

test('the examples are accepted with strict field validation and stored with their defaults', async () => {
  const out = await kubectlOk(
    'apply',
    '--server-side',
    '--force-conflicts',
    '--validate=strict',
    `--field-manager=${FIELD_MANAGER}`,
    '-f',
    EXAMPLES_DIR,
  );
  const examples = loadExamples();
  for (const o of examples)
    assert.match(out, new RegExp(`/${o.metadata.name} serverside-applied`), `${o.kind}/${o.metadata.name}`);

  const dev = (await api.read({
    apiVersion: 'slipway.dev/v1alpha1',
    kind: 'Environment',
    metadata: { name: 'dev', namespace: NAMESPACE },
  })) as unknown as Environment;
  assert.equal(dev.spec.cluster.containerInsights, 'Disabled');
  assert.equal(dev.spec.loadBalancer.scheme, 'internet-facing');
  assert.equal(dev.spec.network.assignPublicIp, false);
  assert.equal(dev.spec.access?.cognito?.required, false);
  assert.equal(dev.spec.access?.cognito?.sessionTimeoutSeconds, 43200);
  assert.equal(
    dev.spec.access?.cognito?.enabled,
    undefined,
    'absent enabled stays absent: it means "tier != production"',
  );
  assert.equal(dev.spec.driftPolicy, 'Correct');
  assert.equal(dev.spec.deletionPolicy, 'Delete');
  assert.equal(dev.spec.resyncInterval, '5m');

  const admin = (await api.read({
    apiVersion: 'slipway.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'admin-dev', namespace: NAMESPACE },
  })) as unknown as Service;
  assert.equal(admin.spec.containerPort, 8080);
  assert.equal(admin.spec.cpu, 256);
  assert.equal(admin.spec.memory, 512);
  assert.equal(admin.spec.desiredCount, 1);
  assert.deepEqual(admin.spec.routing.pathPatterns, ['/*']);
  assert.deepEqual(admin.spec.healthCheck, {
    path: '/healthz',
    gracePeriodSeconds: 60,
    intervalSeconds: 30,
    timeoutSeconds: 5,
    healthyThreshold: 3,
    unhealthyThreshold: 3,
    matcher: '200-399',
  });
  assert.deepEqual(admin.spec.deployment, {
    circuitBreaker: { enabled: true, rollback: true },
    minimumHealthyPercent: 100,
    maximumPercent: 200,
  });
  assert.deepEqual(admin.spec.cdn, { enabled: false, priceClass: 'PriceClass_100' });
  assert.equal(admin.spec.logs.retentionDays, 7);
  assert.equal(admin.spec.cpuArchitecture, 'X86_64');
  assert.equal(admin.spec.driftPolicy, undefined, 'absent driftPolicy means: inherit the Environment');
  assert.equal(admin.spec.subdomain, 'admin');

  const preview = (await api.read({
    apiVersion: 'slipway.dev/v1alpha1',
    kind: 'PreviewDeployment',
    metadata: { name: 'web-dev-pr-482', namespace: NAMESPACE },
  })) as unknown as PreviewDeployment;
  assert.equal(preview.spec.pullRequest.state, 'open');
  assert.equal(preview.spec.subdomain, undefined, 'the default subdomain is derived by Slipway, not stored');
});

test('every invalid fixture is rejected with an error naming its field', async (t) => {
  const fixtures = loadInvalidFixtures();
  assert.ok(fixtures.length >= 45);
  for (const fixture of fixtures) {
    await t.test(`${fixture.object.kind} ${fixture.object.metadata.name}: ${fixture.expectError}`, async () => {
      const r = await rejected(() => api.create(fixture.object as KubernetesObject, undefined, 'All', FIELD_MANAGER));
      assert.equal(r.code, 422, r.message);
      assert.ok(
        r.message.includes(`${fixture.expectError}:`),
        `the error does not name ${fixture.expectError}: ${r.message}`,
      );
      if (fixture.expectMessage)
        assert.ok(r.message.includes(fixture.expectMessage), `expected "${fixture.expectMessage}" in: ${r.message}`);
      // Rejected for that reason alone: every cause is on the expected field (or below it).
      const expected = normalisePath(fixture.expectError);
      assert.ok(r.fields.length > 0, r.message);
      for (const field of r.fields.map(normalisePath)) {
        assert.ok(
          field === expected || field.startsWith(`${expected}.`) || field.startsWith(`${expected}[`),
          `unexpected error on ${field}: ${r.message}`,
        );
      }
    });
  }
});

function target(kind: string, name: string, spec: unknown): KubernetesObject & { spec: unknown } {
  return { apiVersion: 'slipway.dev/v1alpha1', kind, metadata: { name, namespace: NAMESPACE }, spec };
}

/** The objects of immutable changes that live outside examples/*.yaml, created for them and deleted afterwards. */
const extraExamples = [...new Set(loadImmutableChanges().flatMap((c) => (c.example ? [c.example] : [])))].map((f) =>
  join(EXAMPLES_DIR, f),
);

test('immutable fields of existing objects cannot change', async (t) => {
  for (const file of extraExamples)
    await kubectlOk('apply', '--server-side', '--validate=strict', `--field-manager=${FIELD_MANAGER}`, '-f', file);
  try {
    for (const change of loadImmutableChanges()) {
      await t.test(`${change.kind}/${change.name}: ${change.expectError}`, async () => {
        const patch = { ...target(change.kind, change.name, undefined), ...change.patch };
        const r = await rejected(() =>
          api.patch(patch, undefined, 'All', FIELD_MANAGER, undefined, PatchStrategy.MergePatch),
        );
        assert.equal(r.code, 422, r.message);
        assert.ok(r.message.includes(`${change.expectError}:`), r.message);
        assert.ok(r.message.includes(change.expectMessage), r.message);
        assert.deepEqual([...new Set(r.fields)], [change.expectError], r.message);
      });
    }
  } finally {
    // Gone before the later tests, which count the examples (nothing reconciles them here: no finalizer).
    for (const file of extraExamples) await kubectl('delete', '-f', file, '--ignore-not-found', '--wait=true');
  }
});

test('spec.tier cannot change: a workload moves to production through a new Environment', async () => {
  const spec = {
    tier: 'non-production',
    region: 'eu-west-1',
    domain: { baseDomain: 'tier.shop.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ' },
    network: {
      vpcId: 'vpc-0a1b2c3d4e5f60718',
      subnetIds: ['subnet-0a1b2c3d4e5f60711', 'subnet-0b2c3d4e5f6071822'],
    },
    loadBalancer: {
      certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/30fdfdc0-7ce4-40ce-8ab0-0b11fc5416af',
    },
  };
  // Created for real (not a dry run), since a transition rule needs an old object.
  const created = await api.create(target('Environment', 'tier-change', spec), undefined, undefined, FIELD_MANAGER);
  try {
    // A full update (PUT) of the live object with only the tier changed.
    const promoted = { ...created, spec: { ...(created as { spec: object }).spec, tier: 'production' } };
    const r = await rejected(() => api.replace(promoted, undefined, undefined, FIELD_MANAGER));
    assert.equal(r.code, 422, r.message);
    assert.ok(r.message.includes('spec.tier: Invalid value'), r.message);
    assert.ok(
      r.message.includes('spec.tier is immutable: a workload moves to production by creating a new'),
      r.message,
    );
    assert.ok(r.message.includes('(spec.environmentRef)'), r.message);
    assert.deepEqual([...new Set(r.fields)], ['spec.tier'], r.message);
    // The other way round too (the production example, by merge patch).
    const back = await rejected(() =>
      api.patch(
        target('Environment', 'production', { tier: 'non-production' }),
        undefined,
        'All',
        FIELD_MANAGER,
        undefined,
        PatchStrategy.MergePatch,
      ),
    );
    assert.equal(back.code, 422, back.message);
    assert.deepEqual([...new Set(back.fields)], ['spec.tier'], back.message);
    // Keeping the tier, the same object still updates.
    const kept = { ...created, spec: { ...(created as { spec: object }).spec, resyncInterval: '15m' } };
    await api.replace(kept, undefined, undefined, FIELD_MANAGER);
  } finally {
    await api.delete(target('Environment', 'tier-change', undefined));
  }
});

test('kubectl apply of a changed spec.network.create.cidr is refused naming the field; an unchanged re-apply and the other create fields pass', async () => {
  const original = readFileSync(join(EXAMPLES_DIR, 'network', 'private-network.yaml'), 'utf8').replace(
    'name: private',
    'name: cidr-change',
  );
  assert.ok(original.includes('cidr: 10.60.0.0/16\n'), 'the example still has the CIDR this test changes');
  const dir = mkdtempSync(join(tmpdir(), 'slipway-crds-'));
  const file = (name: string, yaml: string) => {
    writeFileSync(join(dir, name), yaml);
    return join(dir, name);
  };
  const applyFile = (path: string) =>
    kubectl('apply', '--server-side', '--validate=strict', `--field-manager=${FIELD_MANAGER}`, '-f', path);
  const read = async () =>
    (await api.read({
      apiVersion: 'slipway.dev/v1alpha1',
      kind: 'Environment',
      metadata: { name: 'cidr-change', namespace: NAMESPACE },
    })) as unknown as Environment;
  try {
    const originalFile = file('original.yaml', original);
    assert.equal((await applyFile(originalFile)).code, 0);
    const generation = (await read()).metadata.generation;

    const changed = await applyFile(file('cidr.yaml', original.replace('cidr: 10.60.0.0/16', 'cidr: 10.61.0.0/16')));
    assert.notEqual(changed.code, 0, 'the API server accepted a new CIDR');
    assert.match(changed.stderr, /spec\.network\.create\.cidr: Invalid value/);
    assert.match(changed.stderr, /spec\.network\.create\.cidr is immutable: a VPC's CIDR cannot change/);
    assert.match(changed.stderr, /create a new Environment with the other range/);
    assert.equal((await read()).spec.network.create?.cidr, '10.60.0.0/16');

    const again = await applyFile(originalFile);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await read()).metadata.generation, generation, 'the unchanged re-apply changed nothing');

    // The zones and NAT gateways change in place (subnets, gateways and routes are added or removed).
    const grown = original
      .replace('availabilityZones: 2', 'availabilityZones: 3')
      .replace('natGateways: Single', 'natGateways: PerAZ');
    const mutable = await applyFile(file('grown.yaml', grown));
    assert.equal(mutable.code, 0, mutable.stderr);
    const stored = (await read()).spec.network.create;
    assert.deepEqual([stored?.cidr, stored?.availabilityZones, stored?.natGateways], ['10.60.0.0/16', 3, 'PerAZ']);
  } finally {
    await kubectl('delete', '-f', join(dir, 'original.yaml'), '--ignore-not-found', '--wait=true');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mutable fields of existing objects still change', async () => {
  const accepted: [string, string, unknown][] = [
    // previews.maxActive at its bound (1,001 is an invalid fixture).
    ['Environment', 'dev', { tags: { Owner: 'checkout-team' }, previews: { maxActive: 1000 } }],
    // staging has a cluster name: other changes must pass its transition rule.
    [
      'Environment',
      'staging',
      { cluster: { containerInsights: 'Enhanced', name: 'commerce-staging' }, resyncInterval: '15m' },
    ],
    ['Environment', 'production', { access: { cognito: { enabled: true } } }],
    [
      'Service',
      'web-dev',
      { image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/commerce/web:1.43.0', cpu: 1024, memory: 3072 },
    ],
    ['Service', 'catalog-api-dev', { autoscaling: { maxTasks: 4, cpuTargetPercent: 70 }, routing: { priority: 120 } }],
    [
      'PreviewDeployment',
      'web-dev-pr-482',
      { imageTag: 'pr-482-0b1c2d3', pullRequest: { commitSha: '0b1c2d3e4f', state: 'merged' }, ttl: '24h' },
    ],
  ];
  for (const [kind, name, spec] of accepted) {
    const result = (await api.patch(
      target(kind, name, spec),
      undefined,
      'All',
      FIELD_MANAGER,
      undefined,
      PatchStrategy.MergePatch,
    )) as {
      metadata: { name: string };
    };
    assert.equal(result.metadata.name, name);
  }
});

const NOW = '2026-11-22T10:00:00Z';
const readyCondition = (message: string) => ({
  type: 'Ready',
  status: 'True',
  reason: 'Reconciled',
  message,
  lastTransitionTime: NOW,
  observedGeneration: 1,
});

test('status is written through the status subresource in the schema shape', async () => {
  const statuses: [string, string, unknown][] = [
    [
      'environments',
      'dev',
      {
        observedGeneration: 1,
        conditions: [readyCondition('load balancer, cluster and gate are in place')],
        driftCount: 0,
        lastSyncTime: NOW,
        clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/slipway-commerce-dev',
        loadBalancer: {
          dnsName: 'sw-commerce-dev-1234567890.eu-west-1.elb.amazonaws.com',
          canonicalHostedZoneId: 'Z32O12XQLNTSW2',
        },
        quota: { listenerRules: { used: 7, limit: 100 }, targetGroups: { used: 7, limit: 100 } },
        heldBy: [
          { kind: 'Service', name: 'web-dev' },
          { kind: 'PreviewDeployment', name: 'web-dev-pr-482' },
        ],
        heldByCount: 2,
      },
    ],
    [
      'services',
      'web-dev',
      {
        observedGeneration: 1,
        conditions: [
          readyCondition('3/3 tasks running revision 7'),
          { ...readyCondition('2 fields drifted'), type: 'Drifted' },
        ],
        url: 'https://web.dev.shop.example.com',
        revision: 7,
        desiredCount: 1,
        runningCount: 1,
        priority: 10,
        driftCount: 2,
        drift: [
          {
            kind: 'ListenerRule',
            logicalId: 'rule',
            path: 'conditions.hostHeader.values[0]',
            desired: '"web.dev.shop.example.com"',
            actual: '"web2.dev.shop.example.com"',
            detectedAt: NOW,
            action: 'Corrected',
          },
          {
            kind: 'TargetGroup',
            logicalId: 'tg',
            path: 'healthCheck.path',
            desired: '"/api/health"',
            actual: '"/"',
            detectedAt: NOW,
            action: 'Corrected',
          },
        ],
        resources: [
          {
            kind: 'TargetGroup',
            logicalId: 'tg',
            arn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/sw-web-dev-3f2a/0123456789abcdef',
          },
        ],
      },
    ],
    [
      'previewdeployments',
      'web-dev-pr-482',
      {
        observedGeneration: 1,
        conditions: [readyCondition('serving')],
        phase: 'Active',
        url: 'https://pr-482-web-dev.dev.shop.example.com',
        expiresAt: '2026-11-25T10:00:00Z',
        driftCount: 0,
        service: { revision: 3, runningCount: 1, desiredCount: 1, priority: 4001 },
      },
    ],
  ];
  for (const [plural, name, status] of statuses) {
    await kubectlOk(
      'patch',
      `${plural}.${GROUP}`,
      name,
      '-n',
      NAMESPACE,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    );
  }
  // Status follows its schema too.
  const bad = await kubectl(
    'patch',
    `previewdeployments.${GROUP}`,
    'web-dev-pr-482',
    '-n',
    NAMESPACE,
    '--subresource=status',
    '--type=merge',
    '-p',
    '{"status":{"phase":"Running"}}',
  );
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /status\.phase: Unsupported value: "Running"/);
});

function table(output: string, kind: string): { header: string[]; rows: string[][] } {
  const blocks = output.trim().split(/\n\s*\n/);
  const block = blocks.find((b) =>
    b
      .split('\n')
      .slice(1)
      .some((l) => l.startsWith(`${kind}.${GROUP}/`)),
  );
  assert.ok(block, `no ${kind} table in:\n${output}`);
  const [header, ...rows] = block.split('\n');
  return { header: header!.trim().split(/\s{2,}/), rows: rows.map((r) => r.trim().split(/\s{2,}/)) };
}

test('kubectl get environments,ssvc,previewdeployments shows the printer columns', async () => {
  const out = await kubectlOk('get', 'environments,ssvc,previewdeployments', '-n', NAMESPACE);
  const envs = table(out, 'environment');
  assert.deepEqual(envs.header, ['NAME', 'TIER', 'REGION', 'DOMAIN', 'READY', 'DRIFT', '$/MONTH', 'AGE']);
  const dev = envs.rows.find((r) => r[0] === `environment.${GROUP}/dev`);
  assert.deepEqual(dev?.slice(0, 6), [
    `environment.${GROUP}/dev`,
    'non-production',
    'eu-west-1',
    'dev.shop.example.com',
    'True',
    '0',
  ]);
  assert.equal(envs.rows.length, 3);

  const services = table(out, 'service');
  assert.deepEqual(services.header, [
    'NAME',
    'ENVIRONMENT',
    'IMAGE',
    'REVISION',
    'READY',
    'URL',
    'DRIFT',
    '$/MONTH',
    'AGE',
  ]);
  const web = services.rows.find((r) => r[0] === `service.${GROUP}/web-dev`);
  assert.deepEqual(web?.slice(0, 7), [
    `service.${GROUP}/web-dev`,
    'dev',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/commerce/web:1.43.0-rc.2',
    '7',
    'True',
    'https://web.dev.shop.example.com',
    '2',
  ]);
  assert.equal(services.rows.length, 18);

  const previews = table(out, 'previewdeployment');
  assert.deepEqual(previews.header, [
    'NAME',
    'SERVICE',
    'PR',
    'PHASE',
    'READY',
    'URL',
    'EXPIRES',
    'DRIFT',
    '$/MONTH',
    'AGE',
  ]);
  assert.deepEqual(previews.rows[0]?.slice(0, 8), [
    `previewdeployment.${GROUP}/web-dev-pr-482`,
    'web-dev',
    '482',
    'Active',
    'True',
    'https://pr-482-web-dev.dev.shop.example.com',
    '2026-11-25T10:00:00Z',
    '0',
  ]);

  const wide = await kubectlOk('get', 'ssvc', '-n', NAMESPACE, '-o', 'wide');
  assert.match(wide.split('\n')[0]!, /RUNNING\s+DESIRED/);
});

test('the slipway category and the short names reach all three kinds', async () => {
  const out = await kubectlOk('get', 'slipway', '-n', NAMESPACE, '-o', 'name');
  const kinds = new Set(
    out
      .trim()
      .split('\n')
      .map((l) => l.split('/')[0]),
  );
  assert.deepEqual([...kinds].sort(), [`environment.${GROUP}`, `previewdeployment.${GROUP}`, `service.${GROUP}`]);
  for (const short of ['slenv', 'ssvc', 'preview']) {
    assert.notEqual((await kubectlOk('get', short, '-n', NAMESPACE, '-o', 'name')).trim(), '', short);
  }
});
