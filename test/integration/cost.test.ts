// Cost in status against kube-apiserver and moto: two fixed Services and a preview on one Environment, their
// figures checked against values computed by hand from the literal table prices; the Environment's total; a region
// the table lacks; and no status write at rest.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Environment, PreviewDeployment, Service } from '../../src/api/index.js';
import type { AwsClients } from '../../src/aws/clients.js';
import { ENVIRONMENT_TYPE, PREVIEW_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import type { Operator } from '../../src/operator.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
import {
  condition,
  createNamespace,
  eventually,
  installCrds,
  kubeClient,
  kubectl,
  waitForCondition,
} from '../support/kube.js';
import { apply, environmentYaml, previewYaml, serviceYaml } from '../support/manifests.js';
import { nudge, waitQuiet } from '../support/nudge.js';
import { startOperator } from '../support/operator.js';

const suffix = uniqueSuffix();
const ns = `cost-${suffix}`;
const kube = kubeClient();
const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
const services = kube.resource<Service>(SERVICE_TYPE);
const previews = kube.resource<PreviewDeployment>(PREVIEW_TYPE);
/** A region the price table does not have (and moto serves). */
const FAR_REGION = 'eu-south-2';

let aws: AwsClients;
let farAws: AwsClients;
let land: Landscape;
let operator: Operator;

type Costed = { status?: { cost?: { components?: readonly { name: string; detail?: string }[] } } };

/** The object, once its cost has been estimated with `workloads` sharing its load balancer. */
function sharedBy(obj: Costed | undefined, workloads: number): boolean {
  const share = obj?.status?.cost?.components?.find((c) => c.name === 'load-balancer-share');
  return !!share?.detail?.endsWith(`shared by ${workloads} workload(s)`);
}

const byName = (cost: { components?: readonly { name: string; monthlyUsd: number }[] } | undefined) =>
  Object.fromEntries((cost?.components ?? []).map((c) => [c.name, c.monthlyUsd]));

describe('Cost in status', { timeout: 300_000 }, () => {
  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    farAws = testAws(undefined, FAR_REGION);
    let far: Landscape;
    [land, far] = await Promise.all([
      createLandscape(aws, `cost-${suffix}.shop.test`),
      createLandscape(farAws, `far-${suffix}.shop.test`, FAR_REGION),
    ]);
    operator = await startOperator();
    apply(
      [
        environmentYaml(ns, land, 'dev', '  previews: { enabled: true, maxActive: 2 }\n'),
        // Without a gate: the fewer resources, the sooner it converges.
        environmentYaml(ns, far, 'far')
          .replace('region: us-east-1', `region: ${FAR_REGION}`)
          .replace(/\n {2}access: .*\n/, '\n  access: { cognito: { enabled: false } }\n'),
        serviceYaml(ns, 'small', { subdomain: 'small' }).replace(
          /cpu: 256\n {2}memory: 512/,
          'cpu: 512\n  memory: 1024\n  desiredCount: 2\n  cpuArchitecture: X86_64',
        ),
        serviceYaml(ns, 'arm', {
          subdomain: 'arm',
          extra:
            '  autoscaling: { minTasks: 3, maxTasks: 6, cpuTargetPercent: 60 }\n' +
            `  cdn: { enabled: true, certificateArn: "${land.certificateArn}" }\n`,
        }).replace(/cpu: 256\n {2}memory: 512/, 'cpu: 1024\n  memory: 2048\n  cpuArchitecture: ARM64'),
        previewYaml(ns, 'small-pr-1', 1, { service: 'small' }),
      ].join('\n---\n'),
    );
    await waitForCondition(environments, { namespace: ns, name: 'dev' }, 'Ready', 'True', { timeoutMs: 120_000 });
  });
  after(async () => {
    await operator?.stop();
    aws?.destroy();
    farAws?.destroy();
  });

  test('two fixed Services and a preview cost what the table prices say, computed by hand', async () => {
    // The three share load balancer shard 0. A figure estimated before the last of them was placed is brought up
    // to date by the Environment's pass that the placement wakes (README, Cost), with no pass of its own.
    const objects = await eventually(
      'the three workloads estimated as sharing shard 0',
      async () => {
        const found = {
          small: await services.find({ namespace: ns, name: 'small' }),
          arm: await services.find({ namespace: ns, name: 'arm' }),
          preview: await previews.find({ namespace: ns, name: 'small-pr-1' }),
        };
        return Object.values(found).every((o) => sharedBy(o, 3)) ? found : undefined;
      },
      120_000,
      500,
    );
    // us-east-1 in the table: Fargate x86 $0.04048/vCPU-hour and $0.004445/GB-hour, ARM $0.03238 and $0.00356;
    // ALB $0.0225/hour and $0.008/LCU-hour; CloudWatch Logs $0.50/GB; CloudFront $0.085/GB and $0.01/10,000 HTTPS
    // requests. 730 hours a month; 1 LCU, 1 GB of logs per task, 10 GB and 1M requests for CloudFront's base.
    const small = objects.small!.status!.cost!;
    assert.deepEqual(byName(small), {
      'fargate-vcpu': 29.55, // 2 tasks x 0.5 vCPU x 0.04048 x 730 = 29.5504
      'fargate-memory': 6.49, // 2 x 1 GB x 0.004445 x 730 = 6.4897
      'load-balancer-share': 5.48, // 0.0225 x 730 / 3 workloads = 5.475
      'load-balancer-lcu': 5.84, // 1 x 0.008 x 730
      logs: 1, // 2 tasks x 1 GB x 0.50
    });
    assert.equal(small.monthlyUsd, 48.36);
    assert.equal(small.currency, 'USD');
    assert.match(small.priceTable ?? '', /^\d{4}-\d{2}-\d{2}$/);

    const arm = objects.arm!.status!.cost!;
    assert.deepEqual(byName(arm), {
      'fargate-vcpu': 70.91, // autoscaling minimum 3 x 1 vCPU x 0.03238 x 730 = 70.9122
      'fargate-memory': 15.59, // 3 x 2 GB x 0.00356 x 730 = 15.5928
      'load-balancer-share': 5.48,
      'load-balancer-lcu': 5.84,
      cloudfront: 1.85, // 10 x 0.085 + 100 x 0.01
      logs: 1.5, // 3 x 1 x 0.50
    });
    assert.equal(arm.monthlyUsd, 101.17);
    const armVcpu = arm.components!.find((c) => c.name === 'fargate-vcpu')!;
    assert.match(armVcpu.detail!, /3 task\(s\) \(autoscaling\.minTasks\) x 1 vCPU x \$0\.03238\/vCPU-hour/);

    // The preview runs one task of its Service's size, without CloudFront.
    const preview = objects.preview!;
    assert.deepEqual(byName(preview.status!.cost), {
      'fargate-vcpu': 14.78, // 1 x 0.5 x 0.04048 x 730 = 14.7752
      'fargate-memory': 3.24, // 1 x 1 x 0.004445 x 730 = 3.24485
      'load-balancer-share': 5.48,
      'load-balancer-lcu': 5.84,
      logs: 0.5,
    });
    assert.equal(preview.status!.cost!.monthlyUsd, 29.84);
    assert.equal(preview.status!.cost!.since, preview.metadata.creationTimestamp);
    assert.equal(preview.status!.cost!.toDateUsd, 0, 'less than an hour old');
    for (const o of Object.values(objects)) assert.equal(condition(o, 'CostEstimated')?.status, 'True');
  });

  test("the Environment's total is its own components plus its Services and previews", async () => {
    const env = await eventually(
      'the Environment to count its three workloads',
      async () => {
        const e = await environments.get({ namespace: ns, name: 'dev' });
        return e.status?.cost?.totalMonthlyUsd === 179.37 ? e : undefined;
      },
      60_000,
    );
    const cost = env.status!.cost!;
    // Shard 0 carries three workloads, so its hourly charge is in their figures, not the Environment's.
    assert.deepEqual(byName(cost), { 'load-balancer-shard-0': 0 });
    assert.equal(cost.monthlyUsd, 0);
    const figures = [
      (await services.get({ namespace: ns, name: 'small' })).status!.cost!.monthlyUsd!,
      (await services.get({ namespace: ns, name: 'arm' })).status!.cost!.monthlyUsd!,
      (await previews.get({ namespace: ns, name: 'small-pr-1' })).status!.cost!.monthlyUsd!,
    ];
    const cents = (x: number) => Math.round(x * 100);
    assert.equal(cents(cost.totalMonthlyUsd!), cents(cost.monthlyUsd!) + figures.reduce((n, f) => n + cents(f), 0));
    assert.equal(cost.totalMonthlyUsd, 179.37); // 0 + 48.36 + 101.17 + 29.84
    assert.equal(condition(env, 'CostEstimated')?.reason, 'Estimated');
    // The printer columns.
    const table = kubectl(['get', 'environments.slipway.dev,services.slipway.dev', '-n', ns]);
    assert.match(table, /\$\/MONTH/);
    assert.match(table, /dev\s.*179\.37/);
    assert.match(table, /small\s.*48\.36/);
  });

  test('a region missing from the table gives CostEstimated=False naming it and the fix, and no figure', async () => {
    const far = await waitForCondition(environments, { namespace: ns, name: 'far' }, 'Ready', 'True', {
      timeoutMs: 120_000,
    });
    const cond = await eventually('the CostEstimated condition of far', async () => {
      const e = await environments.get({ namespace: ns, name: 'far' });
      return condition(e, 'CostEstimated');
    });
    assert.equal(cond.status, 'False');
    assert.equal(cond.reason, 'PriceUnknown');
    assert.match(cond.message ?? '', /spec\.region: .*no prices for region eu-south-2/);
    assert.match(cond.message ?? '', /npx tsx scripts\/gen-price-table\.ts eu-south-2/);
    const now = await environments.get({ namespace: ns, name: 'far' });
    assert.equal(now.status?.cost, undefined);
    assert.equal(condition(now, 'Ready')?.status, 'True', 'Ready is not changed by it');
    assert.ok(far);
  });

  test('at rest, a pass with an unchanged cost writes no status', async () => {
    await waitQuiet(operator);
    // Settled first: the Environment's quota usage is in status once a pass has read it (a first read that failed
    // under load leaves it out, and the next pass writes it: catching up, not a write at rest).
    await eventually("the dev Environment's quota usage in status", async () =>
      (await environments.get({ namespace: ns, name: 'dev' })).status?.quota ? true : undefined,
    );
    // And counted after the last rule: a workload's rule created after the Environment's last pass (the placement that
    // woke it comes first) is counted by its next pass, again catching up. One pass of it now makes it current.
    await nudge(operator, 'environment', ns, 'dev');
    await waitQuiet(operator);
    const svc = await services.get({ namespace: ns, name: 'small' });
    const env = await environments.get({ namespace: ns, name: 'dev' });
    // A pass of the Service, and of its Environment (an annotation change of a Service wakes it too), with
    // nothing changed: neither status is written.
    await nudge(operator, 'service', ns, 'small');
    assert.deepEqual((await services.get({ namespace: ns, name: 'small' })).status, svc.status);
    assert.deepEqual((await environments.get({ namespace: ns, name: 'dev' })).status, env.status);
  });
});
