// PreviewDeployments end to end: a gated copy of a Service per pull request, the Environment's cap, removal when
// the pull request closes or the TTL runs out, and the sweeper for AWS resources whose preview is gone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DescribeUserPoolClientCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import {
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  ModifyTargetGroupCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import type { Environment, PreviewDeployment } from '../../src/api/index.js';
import type { AwsClients } from '../../src/aws/clients.js';
import { ENVIRONMENT_TYPE, PREVIEW_TYPE } from '../../src/controllers/resource-types.js';
import { PRICE_TABLE } from '../../src/cost/prices.js';
import type { Operator } from '../../src/operator.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
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
import { apply, environmentYaml, previewYaml, serviceYaml } from '../support/manifests.js';
import { annotateNudge, nudge } from '../support/nudge.js';
import { operatorWrites, startOperator } from '../support/operator.js';

const suffix = uniqueSuffix();
const ns = `pv-${suffix}`;
const kube = kubeClient();
const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
const previews = kube.resource<PreviewDeployment>(PREVIEW_TYPE);

let aws: AwsClients;
let land: Landscape;
let operator: Operator;
/** The operator's clock runs this far ahead of the wall clock: the TTL test moves it. */
let clockOffsetMs = 0;

async function callbackUrls(): Promise<string[]> {
  const env = await environments.get({ namespace: ns, name: 'dev' });
  const out = await aws.cognito.send(
    new DescribeUserPoolClientCommand({
      UserPoolId: env.status!.cognito!.userPoolId!,
      ClientId: env.status!.cognito!.clientId!,
    }),
  );
  return [...(out.UserPoolClient?.CallbackURLs ?? [])].sort();
}

async function hostRecords(host: string): Promise<string[]> {
  const out = await aws.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: land.hostedZoneId }));
  return (out.ResourceRecordSets ?? []).filter((r) => r.Name === `${host}.`).map((r) => r.Type ?? '');
}

async function waitGone(name: string): Promise<void> {
  await eventually(
    `preview ${name} to be gone`,
    async () => ((await previews.find({ namespace: ns, name })) ? undefined : true),
    120_000,
  );
}

/** The types (Normal, Warning) of the Events with this reason recorded for one object of the namespace. */
function eventTypes(reason: string, name: string): string {
  return eventsOf(ns, { reason, name })
    .map((e) => e.type)
    .join(' ');
}

async function activePreview(name: string): Promise<PreviewDeployment> {
  return eventually(
    `preview ${name} Active`,
    async () => {
      const p = await previews.find({ namespace: ns, name });
      return p?.status?.phase === 'Active' ? p : undefined;
    },
    120_000,
  );
}

describe('PreviewDeployments', { timeout: 600_000 }, () => {
  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    land = await createLandscape(aws, `pv-${suffix}.shop.test`);
    operator = await startOperator({}, { now: () => new Date(Date.now() + clockOffsetMs) });
    apply(environmentYaml(ns, land, 'dev', '  previews: { enabled: true, maxActive: 2, defaultTTL: 48h }\n'));
    apply(serviceYaml(ns, 'web', { image: 'registry.shop.test/web:2.3.0', extra: '  auth: { cognito: Disabled }\n' }));
    await waitForCondition(environments, { namespace: ns, name: 'dev' }, 'Ready', 'True', { timeoutMs: 120_000 });
  });
  after(async () => {
    await operator?.stop();
    aws?.destroy();
  });

  test('a preview runs a gated copy of its Service on its own host, with its own callback URL', async () => {
    apply(previewYaml(ns, 'web-pr-7', 7, { ttl: '240h' }));
    const p = await activePreview('web-pr-7');
    const host = `pr-7-web.${land.baseDomain}`;
    assert.equal(p.status?.url, `https://${host}`);
    assert.ok(p.status?.expiresAt, 'expiresAt is set');
    assert.equal(
      Date.parse(p.status!.expiresAt!) - Date.parse(p.metadata.creationTimestamp!),
      240 * 3600_000,
      'spec.ttl applies',
    );

    const env = await environments.get({ namespace: ns, name: 'dev' });
    const svc = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: ['web-pr-7'], include: ['TAGS'] }),
    );
    assert.equal(svc.services?.[0]?.status, 'ACTIVE');
    assert.ok(svc.services![0]!.tags!.some((t) => t.key === 'slipway.dev/preview' && t.value === 'true'));
    const rule = (await aws.elbv2.send(new DescribeRulesCommand({ RuleArns: [p.status!.service!.ruleArn!] })))
      .Rules![0]!;
    // The Service itself opts out of the gate; its preview never does.
    assert.deepEqual(
      rule.Actions!.map((a) => a.Type),
      ['authenticate-cognito', 'forward'],
    );
    assert.deepEqual((await hostRecords(host)).sort(), ['A', 'TXT']);
    await eventually('the preview callback URL', async () =>
      (await callbackUrls()).includes(`https://${host}/oauth2/idpresponse`) ? true : undefined,
    );
  });

  test('a preview gets the Events a Service gets: DriftCorrected for a fix, a Warning for what a person must fix', async () => {
    const p = await previews.get({ namespace: ns, name: 'web-pr-7' });
    await aws.elbv2.send(
      new ModifyTargetGroupCommand({ TargetGroupArn: p.status!.service!.targetGroupArn!, HealthCheckPath: '/changed' }),
    );
    await nudge(operator, 'preview', ns, 'web-pr-7');
    const fixed = await previews.get({ namespace: ns, name: 'web-pr-7' });
    assert.ok(
      (fixed.status?.drift ?? []).some((d) => d.path === 'healthCheck.path' && d.action === 'Corrected'),
      JSON.stringify(fixed.status?.drift),
    );
    assert.match(eventTypes('DriftCorrected', 'web-pr-7'), /Normal/);

    // A host the Service's own rule routes: terminal, and a Warning Event says so, as for a Service.
    apply(previewYaml(ns, 'web-pr-11', 11).replace('\nspec:\n', '\nspec:\n  subdomain: web\n'));
    const clash = await waitForCondition(previews, { namespace: ns, name: 'web-pr-11' }, 'Synced', 'False', {
      reason: 'HostInUse',
    });
    assert.match(condition(clash, 'Synced')!.message!, new RegExp(`Service/${ns}/web`));
    await eventually('a HostInUse Warning on the preview', async () =>
      eventTypes('HostInUse', 'web-pr-11').includes('Warning') ? true : undefined,
    );
    kubectl(['delete', 'previewdeployments.slipway.dev', 'web-pr-11', '-n', ns, '--wait=false']);
    await waitGone('web-pr-11');
  });

  test('one preview over the Environment cap gets a clear condition and creates nothing', async () => {
    apply(previewYaml(ns, 'web-pr-8', 8));
    await activePreview('web-pr-8');
    apply(previewYaml(ns, 'web-pr-9', 9));
    const blocked = await waitForCondition(previews, { namespace: ns, name: 'web-pr-9' }, 'Ready', 'False', {
      reason: 'PreviewQuotaExceeded',
    });
    assert.equal(blocked.status?.phase, 'Blocked');
    assert.match(condition(blocked, 'Ready')!.message!, /already has 2 active previews \(previews\.maxActive\)/);
    assert.deepEqual(blocked.status?.resources ?? [], [], 'nothing was created');
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const svc = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: ['web-pr-9'] }),
    );
    assert.ok(!svc.services?.some((s) => s.status === 'ACTIVE'), 'no ECS service for the blocked preview');
  });

  test('a closed pull request removes the preview and everything it owns', async () => {
    const p = await previews.get({ namespace: ns, name: 'web-pr-8' });
    apply(previewYaml(ns, 'web-pr-8', 8, { state: 'merged' }));
    await waitGone('web-pr-8');
    const host = `pr-8-web.${land.baseDomain}`;
    assert.deepEqual(await hostRecords(host), []);
    await assert.rejects(
      aws.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [p.status!.service!.targetGroupArn!] })),
      /TargetGroupNotFound/,
    );
    await eventually('the callback URL to be dropped', async () =>
      (await callbackUrls()).includes(`https://${host}/oauth2/idpresponse`) ? undefined : true,
    );
    const events = eventsOf(ns, { reason: 'PullRequestClosed' })
      .map((e) => e.message)
      .join('\n');
    assert.match(events, /pull request #8 is merged/);
    // The slot it held is free again: the blocked preview goes ahead.
    const next = await activePreview('web-pr-9');
    assert.equal(
      Date.parse(next.status!.expiresAt!) - Date.parse(next.metadata.creationTimestamp!),
      48 * 3600_000,
      'the Environment default TTL applies',
    );
  });

  test('a preview whose TTL has run out is deleted by the operator, with an Event', async () => {
    clockOffsetMs = 49 * 3600_000;
    annotateNudge('preview', ns, 'web-pr-9');
    await waitGone('web-pr-9');
    const events = eventsOf(ns, { reason: 'Expired' })
      .map((e) => e.message)
      .join('\n');
    assert.match(events, /TTL ran out/);
    assert.deepEqual(await hostRecords(`pr-9-web.${land.baseDomain}`), []);
    clockOffsetMs = 0;
  });

  test('the sweeper removes AWS resources of a preview that vanished without cleanup', async () => {
    const p = await activePreview('web-pr-7');
    // Remove the finalizer by hand and delete: the object goes, its AWS resources stay behind.
    kubectl([
      'patch',
      'previewdeployments.slipway.dev',
      'web-pr-7',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    ]);
    kubectl(['delete', 'previewdeployments.slipway.dev', 'web-pr-7', '-n', ns, '--wait=false']);
    await waitGone('web-pr-7');
    const tgArn = p.status!.service!.targetGroupArn!;
    annotateNudge('environment', ns, 'dev');
    await eventually(
      'the orphaned target group to be swept',
      async () =>
        await aws.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tgArn] })).then(
          () => undefined,
          () => true,
        ),
      60_000,
    );
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const svc = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: ['web-pr-7'] }),
    );
    assert.ok(!svc.services?.some((s) => s.status === 'ACTIVE'), 'the orphaned ECS service is gone');
    // DNS goes last in the sweep: wait for it rather than race the sweeper.
    await eventually(
      'the orphaned DNS records to be swept',
      async () => ((await hostRecords(`pr-7-web.${land.baseDomain}`)).length === 0 ? true : undefined),
      60_000,
    );
    const web = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: ['web'] }),
    );
    assert.equal(web.services?.[0]?.status, 'ACTIVE', 'the Service the preview copied is untouched');
    await eventually('a Swept event', async () => (eventsOf(ns, { reason: 'Swept' }).length > 0 ? true : undefined));
  });

  test('a preview of a Service that runs on another Environment is Blocked, naming the field', async () => {
    // Service api names Environment staging; the preview names dev. The check compares the two references, so
    // staging need not exist (the Service waits for it, creating nothing); dev is the Environment the preview
    // would be created in.
    apply(serviceYaml(ns, 'api', { env: 'staging', subdomain: 'api' }));
    apply(previewYaml(ns, 'api-pr-11', 11, { service: 'api' }));
    const blocked = await waitForCondition(previews, { namespace: ns, name: 'api-pr-11' }, 'Ready', 'False', {
      reason: 'EnvironmentMismatch',
    });
    assert.equal(blocked.status?.phase, 'Blocked');
    assert.match(
      condition(blocked, 'Ready')!.message!,
      /^spec\.environmentRef\.name: Service api runs on Environment staging, not dev; point the preview at staging/,
    );
    assert.deepEqual(blocked.status?.resources ?? [], [], 'nothing was created');
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const svc = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: ['api-pr-11'] }),
    );
    assert.ok(!svc.services?.some((s) => s.status === 'ACTIVE'), 'no ECS service for the blocked preview');
    assert.deepEqual(await hostRecords(`pr-11-api.${land.baseDomain}`), [], 'no DNS record for it either');
    kubectl(['delete', 'previewdeployments.slipway.dev', 'api-pr-11', '-n', ns, '--wait=false']);
    kubectl(['delete', 'services.slipway.dev', 'api', '-n', ns, '--wait=false']);
    await waitGone('api-pr-11');
  });

  test('a plan-only preview being deleted keeps its callback URL on the app client: no AWS write until the annotation goes', async () => {
    apply(previewYaml(ns, 'web-pr-12', 12));
    await activePreview('web-pr-12');
    const url = `https://pr-12-web.${land.baseDomain}/oauth2/idpresponse`;
    await eventually('the preview callback URL', async () => ((await callbackUrls()).includes(url) ? true : undefined));
    kubectl(['annotate', 'previewdeployments.slipway.dev', 'web-pr-12', '-n', ns, 'slipway.dev/plan-only=true']);
    const planned = await waitForCondition(previews, { namespace: ns, name: 'web-pr-12' }, 'PlanOnly', 'True');
    // web-pr-12 shares shard 0 with web: 1 task of 0.25 vCPU and 0.5 GB in us-east-1, 7.39 + 1.62, half the load
    // balancer $0.0225 x 730 / 2 = 8.21, 1 LCU 5.84, logs 0.50: 23.56, as applied (status.cost) and as planned.
    assert.equal(planned.status?.cost?.monthlyUsd, 23.56);
    assert.deepEqual(planned.status?.plan?.cost, {
      currency: 'USD',
      priceTable: PRICE_TABLE.date,
      before: 23.56,
      after: 23.56,
      delta: 0,
    });
    const writes = await operatorWrites(operator);
    const activeBefore = (await environments.get({ namespace: ns, name: 'dev' })).status?.activePreviews;
    kubectl(['delete', '--wait=false', 'previewdeployments.slipway.dev', 'web-pr-12', '-n', ns]);
    const held = await eventually(
      'the deletion planned and waiting',
      async () => {
        const p = await previews.get({ namespace: ns, name: 'web-pr-12' });
        return condition(p, 'Deleting')?.reason === 'PlanOnly' ? p : undefined;
      },
      60_000,
    );
    assert.deepEqual(held.status?.plan?.cost, {
      currency: 'USD',
      priceTable: PRICE_TABLE.date,
      before: 23.56,
      after: 0,
      delta: -23.56,
    });
    // The Environment passes with the preview no longer live (it counts one active preview less): the preview's
    // route stays, and so does its callback URL.
    await nudge(operator, 'environment', ns, 'dev');
    const env = await environments.get({ namespace: ns, name: 'dev' });
    assert.equal(env.status?.activePreviews, (activeBefore ?? 0) - 1);
    assert.ok((await callbackUrls()).includes(url), 'the callback URL is still on the app client');
    assert.deepEqual(await operatorWrites(operator), writes, 'no AWS write');
    // Without the annotation the deletion proceeds, and the URL goes with the preview.
    kubectl(['annotate', 'previewdeployments.slipway.dev', 'web-pr-12', '-n', ns, 'slipway.dev/plan-only-']);
    await waitGone('web-pr-12');
    await eventually('the callback URL to be dropped', async () =>
      (await callbackUrls()).includes(url) ? undefined : true,
    );
  });
});
