// `slipway plan` against kube-apiserver and moto: an Environment and a Service applied and Ready, then plans of
// manifests unchanged, changed and extended, with every AWS call the plan makes counted (no write) and every
// Kubernetes object's resourceVersion compared (no change); then the plan-only annotation in the cluster.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DescribeUserPoolClientCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Environment, Service } from '../../src/api/index.js';
import type { AwsClients } from '../../src/aws/clients.js';
import { CallCounter } from '../../src/aws/calls.js';
import type { PlanDocument } from '../../src/cli/document.js';
import { runCli } from '../../src/cli/run.js';
import { PRICE_TABLE } from '../../src/cost/prices.js';
import { ENVIRONMENT_TYPE, PREVIEW_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import type { Operator } from '../../src/operator.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
import { getTestEnv } from '../support/env.js';
import {
  eventsOf,
  condition,
  createNamespace,
  eventually,
  installCrds,
  kubeClient,
  kubectl,
  waitForCondition,
} from '../support/kube.js';
import { apply, environmentYaml, previewYaml, serviceYaml, type ServiceOptions } from '../support/manifests.js';
import { operatorWrites, startOperator } from '../support/operator.js';
import { planSchemaErrors } from '../support/plan-schema.js';
import { crdFor, loadCrds, CRD_DIR, validateStructure } from '../unit/api/crd-schema.js';

const ROOT = join(import.meta.dirname, '..', '..');
const suffix = uniqueSuffix();
const ns = `plan-${suffix}`;
const kube = kubeClient();
const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
const services = kube.resource<Service>(SERVICE_TYPE);

let aws: AwsClients;
let land: Landscape;
let operator: Operator | undefined;
let dir: string;

const envYaml = () => environmentYaml(ns, land, 'dev');
const svcYaml = (name: string, opts: ServiceOptions = {}) => serviceYaml(ns, name, opts);

/** IAM prefix of each AwsClients service label. */
const IAM_PREFIX: Readonly<Record<string, string>> = {
  ecs: 'ecs',
  elbv2: 'elasticloadbalancing',
  ec2: 'ec2',
  logs: 'logs',
  'application-autoscaling': 'application-autoscaling',
  'cognito-idp': 'cognito-idp',
  route53: 'route53',
  cloudfront: 'cloudfront',
  tagging: 'tag',
  events: 'events',
  sqs: 'sqs',
  sts: 'sts',
};

/** Every Slipway object in the namespace, by kind/name, with its resourceVersion. */
async function resourceVersions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const type of [ENVIRONMENT_TYPE, SERVICE_TYPE, PREVIEW_TYPE]) {
    const { items } = await kube.resource<KubeObject>(type).listAll({ namespace: ns });
    for (const o of items) out[`${type.kind}/${o.metadata?.name}`] = o.metadata?.resourceVersion ?? '';
  }
  return out;
}

interface PlanRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** service:operation of each AWS call the plan made. */
  readonly calls: readonly string[];
  readonly writes: Record<string, number>;
}

/** Runs `slipway plan` on the given files (written to a fresh directory), checking it changed nothing in the cluster. */
async function plan(files: Record<string, string>, ...flags: string[]): Promise<PlanRun> {
  rmSync(dir, { recursive: true, force: true });
  dir = mkdtempSync(join(tmpdir(), 'slipway-plan-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const env = getTestEnv();
  const counter = new CallCounter();
  const before = counter.snapshot();
  const versions = await resourceVersions();
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    [
      'plan',
      '-f',
      dir,
      '--kubeconfig',
      env.kubeconfigPath,
      '--cluster-id',
      'test',
      '--aws-endpoint',
      env.awsEndpoint,
      ...flags,
    ],
    { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {}, onAwsCall: counter.listener },
  );
  assert.deepEqual(await resourceVersions(), versions, 'no Kubernetes object was created or changed');
  const calls = [...counter.snapshot().keys()].map((k) => k.split(':').slice(0, 2).join(':'));
  return { code, stdout, stderr, calls, writes: counter.writesSince(before) };
}

/** The AWS-resource lines of one custom resource's block in the text. */
function block(text: string, header: string): string[] {
  const blocks = text.split('\n\n');
  const found = blocks.find((b) => b.split('\n')[0] === header);
  assert.ok(found, `a block headed ${header} in:\n${text}`);
  return found.split('\n').slice(1);
}

/** The cost section of the text (after the summary line), each run of spaces as one: alignment is a unit test's. */
function costBlock(text: string): string[] {
  const at = text.indexOf('\n\nMonthly cost (estimated, USD, price table of ');
  assert.ok(at >= 0, `a cost section in:\n${text}`);
  return text
    .slice(at + 2)
    .trimEnd()
    .split('\n')
    .map((l) => l.trim().replace(/ +/g, ' '));
}

const COST_HEADER = `Monthly cost (estimated, USD, price table of ${PRICE_TABLE.date}):`;

describe('slipway plan', { timeout: 600_000 }, () => {
  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    land = await createLandscape(aws, `plan-${suffix}.shop.test`);
    dir = mkdtempSync(join(tmpdir(), 'slipway-plan-'));
    operator = await startOperator();
    apply(envYaml());
    apply(svcYaml('catalog'));
    await waitForCondition(environments, { namespace: ns, name: 'dev' }, 'Ready', 'True', { timeoutMs: 120_000 });
    await waitForCondition(services, { namespace: ns, name: 'catalog' }, 'Ready', 'True', { timeoutMs: 120_000 });
    // The Service's host joins the app client's callback URLs in the Environment's next pass, after the Service is
    // Ready: until then the plan rightly shows that update.
    const env = await environments.get({ namespace: ns, name: 'dev' });
    await eventually('the callback URL of catalog on the app client', async () => {
      const c = await aws.cognito.send(
        new DescribeUserPoolClientCommand({
          UserPoolId: env.status!.cognito!.userPoolId!,
          ClientId: env.status!.cognito!.clientId!,
        }),
      );
      return c.UserPoolClient?.CallbackURLs?.some((u) => u.startsWith('https://catalog.')) ? true : undefined;
    });
    // The plan needs no operator; stopped, it cannot change an object while a plan compares resourceVersions.
    await operator.stop();
    operator = undefined;
  });
  after(async () => {
    await operator?.stop();
    aws?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the manifests as applied plan to no changes: exit 0, reads only; the cost is the same before and after', async () => {
    const files = { 'env.yaml': envYaml(), 'catalog.yaml': svcYaml('catalog') };
    const run = await plan(files);
    assert.equal(run.stderr, '');
    assert.match(
      run.stdout,
      /^No changes: AWS and the cluster match the manifests\. Plan: 0 to create, 0 to update, 0 to delete \(AWS resources\); custom resources: 0 new, 0 changed, 2 unchanged\.\n\n/,
    );
    assert.equal(run.code, 0);
    assert.deepEqual(run.writes, {}, 'no AWS write');
    assert.ok(run.calls.length > 5, `the plan read AWS: ${run.calls.join(', ')}`);
    // catalog, us-east-1, X86_64, 1 task (desiredCount default) of 256 CPU units and 512 MiB, alone on shard 0:
    //   vCPU 1 x 0.25 x $0.04048 x 730 h = 7.3876 → 7.39; memory 1 x 0.5 GB x $0.004445 x 730 = 1.622425 → 1.62;
    //   load balancer $0.0225 x 730 / 1 workload = 16.425 → 16.43; 1 LCU x $0.008 x 730 = 5.84; logs 1 GB x $0.50
    //   = 0.50; total 31.78. The Environment's own part is 0 (its shard is carried by catalog, no NAT, the zone
    //   is not its own), so it has no line.
    assert.deepEqual(costBlock(run.stdout), [
      COST_HEADER,
      `Service ${ns}/catalog 31.78 → 31.78 0.00`,
      'Total 31.78 → 31.78 0.00',
    ]);
    const doc = JSON.parse((await plan(files, '--output', 'json')).stdout) as PlanDocument;
    assert.deepEqual(planSchemaErrors(doc), [], 'the JSON conforms to docs/plan-schema.json');
    assert.deepEqual(doc.cost, {
      currency: 'USD',
      priceTable: PRICE_TABLE.date,
      before: 31.78,
      after: 31.78,
      delta: 0,
      unknown: 0,
      // In the order the files are read.
      resources: [
        { kind: 'Service', namespace: ns, name: 'catalog', before: 31.78, after: 31.78, delta: 0 },
        { kind: 'Environment', namespace: ns, name: 'dev', before: 0, after: 0, delta: 0 },
      ],
    });
    // The plan and status.cost agree: the same functions.
    const svc = await services.get({ namespace: ns, name: 'catalog' });
    const env = await environments.get({ namespace: ns, name: 'dev' });
    assert.equal(svc.status?.cost?.monthlyUsd, 31.78);
    assert.equal(env.status?.cost?.monthlyUsd, 0);
  });

  test('a changed image and health-check path show as ~ lines with old → new: exit 2', async () => {
    const changed = svcYaml('catalog', { image: 'registry.shop.test/catalog:2.0.0' }).replace(
      'healthCheck: { path: /healthz }',
      'healthCheck: { path: /ready }',
    );
    const run = await plan({ 'env.yaml': envYaml(), 'catalog.yaml': changed });
    assert.equal(run.stderr, '');
    assert.equal(run.code, 2, run.stdout);
    assert.deepEqual(run.writes, {}, 'no AWS write');
    const svc = await services.get({ namespace: ns, name: 'catalog' });
    const tg = svc.status!.targetGroupArn!;
    const td = svc.status!.taskDefinitionArn!;
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const described = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: ['catalog'] }),
    );
    const svcArn = described.services![0]!.serviceArn!;
    assert.deepEqual(block(run.stdout, `~ Service ${ns}/catalog (${join(dir, 'catalog.yaml')})`), [
      '  ~ spec.healthCheck.path: /healthz → /ready',
      '  ~ spec.image: registry.shop.test/catalog:1.0.0 → registry.shop.test/catalog:2.0.0',
      `  ~ ecs.TaskDefinition task-definition (${td})`,
      '      container.image: registry.shop.test/catalog:1.0.0 → registry.shop.test/catalog:2.0.0',
      `  ~ elbv2.TargetGroup target-group (${tg})`,
      '      healthCheck.path: /healthz → /ready',
      // The new revision's ARN is known once it is registered.
      `  ~ ecs.Service ecs-service (${svcArn})`,
      `      taskDefinitionArn: ${td} → (known after apply: task-definition.arn)`,
    ]);
    assert.match(
      run.stdout,
      /\nPlan: 0 to create, 3 to update, 0 to delete \(AWS resources\); custom resources: 0 new, 1 changed, 1 unchanged\.\n\n/,
    );
    assert.deepEqual(costBlock(run.stdout).slice(1), [
      `Service ${ns}/catalog 31.78 → 31.78 0.00`,
      'Total 31.78 → 31.78 0.00',
    ]);
    // Nothing changed in AWS either.
    const ecsTd = await aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: td }));
    assert.equal(ecsTd.taskDefinition?.containerDefinitions?.[0]?.image, 'registry.shop.test/catalog:1.0.0');
    const tgs = await aws.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tg] }));
    assert.equal(tgs.TargetGroups?.[0]?.HealthCheckPath, '/healthz');
  });

  test('an Environment change shows the change to its load balancer: exit 2', async () => {
    const changed = envYaml().replace(
      'loadBalancer: { certificateArn:',
      'loadBalancer: { idleTimeoutSeconds: 120, certificateArn:',
    );
    const run = await plan({ 'env.yaml': changed, 'catalog.yaml': svcYaml('catalog') });
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.deepEqual(run.writes, {}, 'no AWS write');
    const env = await environments.get({ namespace: ns, name: 'dev' });
    assert.deepEqual(block(run.stdout, `~ Environment ${ns}/dev (${join(dir, 'env.yaml')})`), [
      '  ~ spec.loadBalancer.idleTimeoutSeconds: (none) → 120',
      `  ~ elbv2.LoadBalancer load-balancer (${env.status!.loadBalancer!.arn})`,
      '      idleTimeoutSeconds: 60 → 120',
    ]);
  });

  test("a Service's size and count change its cost by the price table: exit 2", async () => {
    const bigger = svcYaml('catalog', { extra: '  desiredCount: 2' })
      .replace('cpu: 256', 'cpu: 512')
      .replace('memory: 512', 'memory: 1024');
    const files = { 'env.yaml': envYaml(), 'catalog.yaml': bigger };
    const run = await plan(files);
    assert.equal(run.stderr, '');
    assert.equal(run.code, 2, run.stdout);
    assert.deepEqual(run.writes, {}, 'no AWS write');
    assert.deepEqual(block(run.stdout, `~ Service ${ns}/catalog (${join(dir, 'catalog.yaml')})`).slice(0, 3), [
      '  ~ spec.cpu: 256 → 512',
      '  ~ spec.desiredCount: 1 → 2',
      '  ~ spec.memory: 512 → 1024',
    ]);
    // Before 31.78 (the first test). After, 2 tasks of 0.5 vCPU and 1 GB, still alone on shard 0:
    //   vCPU 2 x 0.5 x $0.04048 x 730 = 29.5504 → 29.55; memory 2 x 1 GB x $0.004445 x 730 = 6.4897 → 6.49;
    //   load balancer 16.43 and 1 LCU 5.84 as before; logs 2 x 1 GB x $0.50 = 1.00; total 59.31, delta +27.53.
    assert.deepEqual(costBlock(run.stdout), [
      COST_HEADER,
      `Service ${ns}/catalog 31.78 → 59.31 +27.53`,
      'Total 31.78 → 59.31 +27.53',
    ]);
    const json = await plan(files, '--output', 'json');
    assert.equal(json.code, 2, 'the exit code of the text');
    const doc = JSON.parse(json.stdout) as PlanDocument;
    assert.deepEqual(
      { ...doc.cost, resources: doc.cost.resources.filter((r) => r.kind === 'Service') },
      {
        currency: 'USD',
        priceTable: PRICE_TABLE.date,
        before: 31.78,
        after: 59.31,
        delta: 27.53,
        unknown: 0,
        resources: [{ kind: 'Service', namespace: ns, name: 'catalog', before: 31.78, after: 59.31, delta: 27.53 }],
      },
    );
  });

  test('a new Service shows + for the custom resource and for each AWS resource; the JSON conforms to its schema', async () => {
    const files = { 'env.yaml': envYaml(), 'catalog.yaml': svcYaml('catalog'), 'cart.yaml': svcYaml('cart') };
    const text = await plan(files);
    assert.equal(text.code, 2, text.stdout + text.stderr);
    assert.deepEqual(block(text.stdout, `+ Service ${ns}/cart (${join(dir, 'cart.yaml')})`), [
      '  + logs.LogGroup log-group',
      '  + ecs.TaskDefinition task-definition',
      '  + elbv2.TargetGroup target-group',
      '  + elbv2.ListenerRule listener-rule',
      '  + ecs.Service ecs-service',
      '  + route53.Record dns-record',
    ]);
    assert.deepEqual(text.writes, {}, 'no AWS write');
    // Once placed, the new Service's host is routed through the gate: the Environment's app client gains its URL.
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const url = (name: string) => `https://${name}.plan-${suffix}.shop.test/oauth2/idpresponse`;
    assert.deepEqual(block(text.stdout, `  Environment ${ns}/dev (${join(dir, 'env.yaml')})`), [
      `  ~ cognito.UserPoolClient user-pool-client (${env.status!.cognito!.userPoolId}/${env.status!.cognito!.clientId})`,
      `      callbackUrls: ${JSON.stringify([url('catalog')])} → ${JSON.stringify([url('cart'), url('catalog')])}`,
    ]);
    const json = await plan(files, '--output', 'json');
    assert.equal(json.code, 2);
    assert.deepEqual(json.writes, {}, 'no AWS write');
    const doc = JSON.parse(json.stdout) as PlanDocument;
    assert.deepEqual(planSchemaErrors(doc), [], 'the JSON conforms to docs/plan-schema.json');
    assert.equal(doc.version, 1);
    assert.equal(doc.changed, true);
    const cart = doc.resources.find((r) => r.name === 'cart');
    assert.equal(cart?.action, 'create');
    assert.ok(cart && cart.aws.length === 6 && cart.aws.every((a) => a.action === 'create' && !a.identifier));
    assert.deepEqual(doc.summary.customResources, { create: 1, update: 0, delete: 0, unchanged: 2 });
    assert.equal(doc.summary.aws.create, 6);
    // cart joins catalog on shard 0: each carries half the load balancer, $0.0225 x 730 / 2 = 8.2125 → 8.21, so
    // each is 7.39 + 1.62 + 8.21 + 5.84 + 0.50 = 23.56 (catalog was 31.78).
    assert.deepEqual(
      doc.cost.resources.map((r) => [r.name, r.before, r.after, r.delta]),
      [
        ['cart', 0, 23.56, 23.56],
        ['catalog', 31.78, 23.56, -8.22],
        ['dev', 0, 0, 0],
      ],
    );
    assert.deepEqual([doc.cost.before, doc.cost.after, doc.cost.delta], [31.78, 47.12, 15.34]);
    // The dry run stored nothing.
    assert.equal(await services.find({ namespace: ns, name: 'cart' }), undefined);
  });

  test('a new PreviewDeployment of the Service shows + for each AWS resource of its copy', async () => {
    const preview = previewYaml(ns, 'catalog-pr-7', 7, { service: 'catalog' });
    const run = await plan({ 'env.yaml': envYaml(), 'catalog.yaml': svcYaml('catalog'), 'preview.yaml': preview });
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.deepEqual(run.writes, {}, 'no AWS write');
    assert.deepEqual(block(run.stdout, `+ PreviewDeployment ${ns}/catalog-pr-7 (${join(dir, 'preview.yaml')})`), [
      '  + logs.LogGroup log-group',
      '  + ecs.TaskDefinition task-definition',
      '  + elbv2.TargetGroup target-group',
      '  + elbv2.ListenerRule listener-rule',
      '  + ecs.Service ecs-service',
      '  + route53.Record dns-record',
    ]);
  });

  test('a Service removed from the manifests of its Environment shows - for it and each AWS resource it owns: exit 2', async () => {
    const run = await plan({ 'env.yaml': envYaml() });
    assert.equal(run.stderr, '');
    assert.equal(run.code, 2, run.stdout);
    assert.deepEqual(run.writes, {}, 'no AWS write');
    const svc = await services.get({ namespace: ns, name: 'catalog' });
    const owned = new Map((svc.status!.resources ?? []).map((r) => [r.logicalId, r.arn ?? r.id ?? r.name]));
    // In the order the operator deletes them: dependents first.
    const line = (kind: string, id: string) => `  - ${kind} ${id} (${owned.get(id)})`;
    assert.deepEqual(block(run.stdout, `- Service ${ns}/catalog (not in the manifests)`), [
      line('route53.Record', 'dns-record'),
      line('ecs.Service', 'ecs-service'),
      line('elbv2.ListenerRule', 'listener-rule'),
      line('elbv2.TargetGroup', 'target-group'),
      line('ecs.TaskDefinition', 'task-definition'),
      line('logs.LogGroup', 'log-group'),
    ]);
    // Without it, the Environment's gate no longer needs its callback URL.
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const url = `https://catalog.plan-${suffix}.shop.test/oauth2/idpresponse`;
    assert.deepEqual(block(run.stdout, `  Environment ${ns}/dev (${join(dir, 'env.yaml')})`), [
      `  ~ cognito.UserPoolClient user-pool-client (${env.status!.cognito!.userPoolId}/${env.status!.cognito!.clientId})`,
      `      callbackUrls: ${JSON.stringify([url])} → []`,
    ]);
    assert.match(
      run.stdout,
      /\nPlan: 0 to create, 1 to update, 6 to delete \(AWS resources\); custom resources: 0 new, 0 changed, 1 unchanged, 1 removed\.\n\n/,
    );
    // catalog goes (31.78 → 0); its shard then has no workload, so the Environment carries the load balancer:
    // $0.0225 x 730 = 16.425 → 16.43. Total 31.78 → 16.43, delta -15.35.
    assert.deepEqual(costBlock(run.stdout), [
      COST_HEADER,
      `Environment ${ns}/dev 0.00 → 16.43 +16.43`,
      `Service ${ns}/catalog 31.78 → 0.00 -31.78`,
      'Total 31.78 → 16.43 -15.35',
    ]);
    const json = await plan({ 'env.yaml': envYaml() }, '--output', 'json');
    const doc = JSON.parse(json.stdout) as PlanDocument;
    assert.deepEqual(planSchemaErrors(doc), [], 'the JSON conforms to docs/plan-schema.json');
    assert.deepEqual(doc.summary.customResources, { create: 0, update: 0, delete: 1, unchanged: 1 });
    assert.deepEqual(doc.cost.resources[1], {
      kind: 'Service',
      namespace: ns,
      name: 'catalog',
      before: 31.78,
      after: 0,
      delta: -31.78,
    });
    assert.deepEqual([doc.cost.before, doc.cost.after, doc.cost.delta], [31.78, 16.43, -15.35]);
    // A Service only (its Environment not in the manifests) covers no other Service: nothing is removed.
    const alone = await plan({ 'catalog.yaml': svcYaml('catalog') });
    assert.equal(alone.code, 0, alone.stdout);
  });

  test('every AWS call the plan makes is allowed by docs/iam-plan-policy.json', async () => {
    const run = await plan({ 'env.yaml': envYaml(), 'catalog.yaml': svcYaml('catalog'), 'cart.yaml': svcYaml('cart') });
    const policy = JSON.parse(readFileSync(join(ROOT, 'docs', 'iam-plan-policy.json'), 'utf8')) as {
      Statement: { Action: string[] }[];
    };
    const allowed = new Set(policy.Statement.flatMap((s) => s.Action));
    const actions = [...new Set(run.calls)].map((c) => {
      const [service, operation] = c.split(':') as [string, string];
      return `${IAM_PREFIX[service.replace(/-global$/, '')] ?? service}:${operation}`;
    });
    assert.deepEqual(
      actions.filter((a) => !allowed.has(a)),
      [],
      `calls made: ${actions.join(', ')}`,
    );
  });

  test('the executable, and kubectl slipway as a plugin, exit with the plan exit code on their own (nothing keeps the process alive)', async () => {
    const env = getTestEnv();
    const changed = svcYaml('catalog', { image: 'registry.shop.test/catalog:2.0.0' });
    const file = join(dir, 'catalog.yaml');
    writeFileSync(file, changed);
    const run = (path: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'plan', '-f', path], {
        env: {
          ...process.env,
          KUBECONFIG: env.kubeconfigPath,
          SLIPWAY_CLUSTER_ID: 'test',
          SLIPWAY_AWS_ENDPOINT: env.awsEndpoint,
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const changes = run(file);
    assert.equal(changes.status, 2, changes.stderr);
    assert.match(
      changes.stdout,
      /container\.image: registry\.shop\.test\/catalog:1\.0\.0 → registry\.shop\.test\/catalog:2\.0\.0/,
    );
    writeFileSync(file, svcYaml('catalog'));
    // The same as a kubectl plugin: kubectl finds kubectl-slipway on PATH (the package's bin of that name; here a
    // shim running the source) and hands it the arguments after `slipway`.
    const shims = mkdtempSync(join(tmpdir(), 'slipway-plugin-'));
    const shim = join(shims, 'kubectl-slipway');
    writeFileSync(
      shim,
      `#!/bin/sh\nexec "${process.execPath}" --import tsx "${join(ROOT, 'src', 'cli', 'main.ts')}" "$@"\n`,
    );
    chmodSync(shim, 0o755);
    const none = spawnSync('kubectl', ['slipway', 'plan', '-f', file], {
      cwd: ROOT,
      env: {
        ...process.env,
        PATH: `${shims}:${process.env.PATH ?? ''}`,
        KUBECONFIG: env.kubeconfigPath,
        SLIPWAY_CLUSTER_ID: 'test',
        SLIPWAY_AWS_ENDPOINT: env.awsEndpoint,
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    rmSync(shims, { recursive: true, force: true });
    assert.equal(none.status, 0, none.stderr);
    assert.match(none.stdout, /^No changes: AWS and the cluster match the manifests\./);
    const missing = run(join(dir, 'missing.yaml'));
    assert.equal(missing.status, 1);
    assert.equal(missing.stderr, `Error: ${join(dir, 'missing.yaml')}: no such file or directory\n`);
  });

  test('bad input exits 1 naming the file and the field', async () => {
    const noEnv = await plan({ 'cart.yaml': svcYaml('cart', { env: 'staging' }) });
    assert.equal(noEnv.code, 1);
    assert.equal(
      noEnv.stderr,
      `Error: ${join(dir, 'cart.yaml')}: spec.environmentRef.name: Environment staging does not exist in namespace ${ns} (nor in the manifests); create it or fix the name\n`,
    );
    const invalid = await plan({ 'cart.yaml': svcYaml('cart').replace('cpu: 256', 'cpu: 100') });
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, new RegExp(`^Error: ${join(dir, 'cart.yaml')}: .*spec\\.cpu: Unsupported value: 100`));
    const unknownKind = await plan({ 'cart.yaml': svcYaml('cart').replace('kind: Service', 'kind: Servce') });
    assert.equal(unknownKind.code, 1);
    assert.match(unknownKind.stderr, new RegExp(`^Error: ${join(dir, 'cart.yaml')}: kind: unknown kind Servce`));
    assert.equal(noEnv.stdout + invalid.stdout + unknownKind.stdout, '');
  });

  test('plan-only: the operator writes status.plan and makes no AWS write for the annotated resource', async () => {
    operator = await startOperator();
    const annotated = annotatedYaml;
    // A new Service, planned only and behind the gate: every resource would be created, none is, and the gate's app
    // client does not get its callback URL either (that would be the Environment's write on its behalf).
    apply(annotated(svcYaml('cart')));
    const cart = await eventually(
      'status.plan of cart',
      async () => {
        const s = await services.get({ namespace: ns, name: 'cart' });
        return s.status?.plan ? s : undefined;
      },
      60_000,
    );
    const crd = crdFor(loadCrds(CRD_DIR), 'Service');
    const statusSchema = crd.schema.properties!.status!;
    assert.deepEqual(validateStructure(statusSchema, cart.status), [], 'status conforms to the CRD');
    assert.deepEqual(cart.status!.plan!.summary, { create: 6, update: 0, delete: 0, unchanged: 0, errors: 0 });
    assert.deepEqual(
      cart.status!.plan!.aws!.map((a) => `${a.action} ${a.kind} ${a.logicalId}`),
      [
        'create logs.LogGroup log-group',
        'create ecs.TaskDefinition task-definition',
        'create elbv2.TargetGroup target-group',
        'create elbv2.ListenerRule listener-rule',
        'create ecs.Service ecs-service',
        'create route53.Record dns-record',
      ],
    );
    assert.equal(cart.metadata.finalizers, undefined, 'no finalizer: nothing was created');
    const planOnly = condition(cart, 'PlanOnly');
    assert.equal(planOnly?.status, 'True');
    assert.equal(
      planOnly?.message,
      'annotated slipway.dev/plan-only: planned, not applied (AWS resources: 6 to create, 0 to update, 0 to delete; see status.plan); remove the annotation to apply',
    );
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const ecs = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: ['cart'] }),
    );
    assert.deepEqual(
      (ecs.services ?? []).filter((s) => s.status !== 'INACTIVE'),
      [],
      'no ECS service was created',
    );
    // Its cost: 0 now, nothing applied; placed on shard 0 beside catalog, it would carry half the load balancer,
    // $0.0225 x 730 / 2 = 8.21, so 7.39 + 1.62 + 8.21 + 5.84 + 0.50 = 23.56 (as `slipway plan` prices it).
    assert.deepEqual(cart.status!.plan!.cost, {
      currency: 'USD',
      priceTable: PRICE_TABLE.date,
      before: 0,
      after: 23.56,
      delta: 23.56,
    });
    const writes = await operatorWrites(operator!);
    assert.deepEqual(writes, {}, 'the operator made no AWS write');
    // cart's placement halves catalog's share of the load balancer: the Environment rewrites catalog's status.cost.
    await eventually('catalog at its share beside cart', async () =>
      (await services.get({ namespace: ns, name: 'catalog' })).status?.cost?.monthlyUsd === 23.56 ? true : undefined,
    );

    // An applied Service, planned only after a change of image and count: the change is planned and not made.
    apply(annotated(svcYaml('catalog', { image: 'registry.shop.test/catalog:3.0.0', extra: '  desiredCount: 2' })));
    const catalog = await eventually(
      'status.plan of catalog',
      async () => {
        const s = await services.get({ namespace: ns, name: 'catalog' });
        return s.status?.plan?.aws?.length ? s : undefined;
      },
      60_000,
    );
    assert.deepEqual(
      catalog.status!.plan!.aws!.map((a) => [a.action, a.logicalId, a.changes]),
      [
        [
          'update',
          'task-definition',
          [
            {
              path: 'container.image',
              old: 'registry.shop.test/catalog:1.0.0',
              new: 'registry.shop.test/catalog:3.0.0',
            },
          ],
        ],
        [
          'update',
          'ecs-service',
          [
            {
              path: 'taskDefinitionArn',
              old: catalog.status!.taskDefinitionArn!,
              new: '(known after apply: task-definition.arn)',
            },
            { path: 'desiredCount', old: '1', new: '2' },
          ],
        ],
      ],
    );
    // Before, as applied: its status.cost, 23.56. After, 2 tasks: vCPU 2 x 0.25 x $0.04048 x 730 = 14.7752 → 14.78;
    // memory 2 x 0.5 GB x $0.004445 x 730 = 3.24485 → 3.24; load balancer 8.21 and 1 LCU 5.84 as before; logs
    // 2 x 1 GB x $0.50 = 1.00; total 33.07, delta +9.51.
    assert.deepEqual(catalog.status!.plan!.cost, {
      currency: 'USD',
      priceTable: PRICE_TABLE.date,
      before: 23.56,
      after: 33.07,
      delta: 9.51,
    });
    assert.equal(catalog.status!.cost!.monthlyUsd, 23.56, 'status.cost stays what was applied');
    const td = await aws.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: catalog.status!.taskDefinitionArn! }),
    );
    assert.equal(td.taskDefinition?.containerDefinitions?.[0]?.image, 'registry.shop.test/catalog:1.0.0');
    assert.deepEqual(await operatorWrites(operator!), {}, 'still no AWS write');

    // Without the annotation the spec is applied and status.plan goes.
    apply(svcYaml('catalog', { image: 'registry.shop.test/catalog:3.0.0' }));
    const applied = await eventually(
      'catalog applied',
      async () => {
        const s = await services.get({ namespace: ns, name: 'catalog' });
        return s.status?.plan === undefined && s.status?.taskDefinitionArn !== catalog.status!.taskDefinitionArn
          ? s
          : undefined;
      },
      60_000,
    );
    const applyingTd = await aws.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: applied.status!.taskDefinitionArn! }),
    );
    assert.equal(applyingTd.taskDefinition?.containerDefinitions?.[0]?.image, 'registry.shop.test/catalog:3.0.0');
    assert.ok((await operatorWrites(operator!))['ecs:RegisterTaskDefinition'], 'applying writes again');
    assert.equal(condition(applied, 'PlanOnly'), undefined, 'the PlanOnly condition went with the annotation');
  });

  test('deleting a plan-only object makes no AWS write: it plans the deletion and waits for the annotation to go', async () => {
    operator ??= await startOperator();
    const owned = (await services.get({ namespace: ns, name: 'catalog' })).status!.resources!.length;
    apply(annotatedYaml(svcYaml('catalog', { image: 'registry.shop.test/catalog:3.0.0' })));
    await waitForCondition(services, { namespace: ns, name: 'catalog' }, 'PlanOnly', 'True', { timeoutMs: 60_000 });
    const writes = await operatorWrites(operator!);
    kubectl(['delete', '--wait=false', 'services.slipway.dev', 'catalog', '-n', ns]);
    const held = await eventually(
      'the deletion planned and waiting',
      async () => {
        const s = await services.get({ namespace: ns, name: 'catalog' });
        return condition(s, 'Deleting')?.reason === 'PlanOnly' ? s : undefined;
      },
      60_000,
    );
    assert.match(
      condition(held, 'Deleting')?.message ?? '',
      new RegExp(
        `^annotated slipway\\.dev/plan-only: deleting it would delete ${owned} AWS resource\\(s\\) \\(see status\\.plan\\), an AWS write, so the deletion waits; remove the annotation`,
      ),
    );
    assert.deepEqual(held.metadata.finalizers, ['slipway.dev/cleanup']);
    assert.equal(condition(held, 'Ready')?.status, 'False');
    assert.deepEqual(held.status!.plan!.summary, { create: 0, update: 0, delete: owned, unchanged: 0, errors: 0 });
    assert.ok(held.status!.plan!.aws!.every((a) => a.action === 'delete'));
    // Deleting it would save what it costs as applied: 23.56 (its share beside cart, the test before).
    assert.deepEqual(held.status!.plan!.cost, {
      currency: 'USD',
      priceTable: PRICE_TABLE.date,
      before: 23.56,
      after: 0,
      delta: -23.56,
    });
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const active = async () =>
      (
        await aws.ecs.send(new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: ['catalog'] }))
      ).services?.filter((s) => s.status === 'ACTIVE').length ?? 0;
    assert.equal(await active(), 1, 'the ECS service is still there');
    assert.deepEqual(await operatorWrites(operator!), writes, 'no AWS write');
    assert.equal(eventsOf(ns, { reason: 'DeletionPlanOnly' }).length, 1, 'one Warning Event');
    // Without the annotation the deletion proceeds.
    kubectl(['annotate', 'services.slipway.dev', 'catalog', '-n', ns, 'slipway.dev/plan-only-']);
    await eventually(
      'catalog deleted',
      async () => ((await services.find({ namespace: ns, name: 'catalog' })) ? undefined : true),
      60_000,
    );
    assert.equal(await active(), 0, 'the ECS service is deleted');
  });
});

/** The manifest with the annotation slipway.dev/plan-only: "true". */
function annotatedYaml(yaml: string): string {
  return yaml.replace(
    /metadata: \{ name: (\S+), namespace: (\S+) \}/,
    'metadata: { name: $1, namespace: $2, annotations: { slipway.dev/plan-only: "true" } }',
  );
}
