// The Environment and Service controllers end to end: a real kube-apiserver, the real operator in-process, and
// moto as AWS. AWS state is asserted through the SDK, status through the API server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DescribeServicesCommand,
  UpdateServiceCommand,
  CreateClusterCommand,
  DescribeClustersCommand,
  DescribeTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import {
  CreateTargetGroupCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  ModifyRuleCommand,
  ModifyTargetGroupCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import {
  DescribeUserPoolClientCommand,
  DescribeUserPoolCommand,
  UpdateUserPoolClientCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import type { Environment, Service } from '../../src/api/index.js';
import { ENVIRONMENT_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import type { Operator } from '../../src/operator.js';
import type { AwsClients } from '../../src/aws/clients.js';
import { createLandscape, emulatorState, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
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
import { nudge as nudgeNow, waitQuiet } from '../support/nudge.js';
import { reconcileCount, startOperator } from '../support/operator.js';
import { RESYNC_ANNOTATION as RESYNC } from '../../src/controllers/waves.js';
import {
  apply,
  environmentYaml as environmentYaml_,
  serviceYaml as serviceYaml_,
  type ServiceOptions,
} from '../support/manifests.js';

const suffix = uniqueSuffix();
const ns = `ctl-${suffix}`;
const baseDomain = `ctl-${suffix}.shop.test`;
const kube = kubeClient();
const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
const services = kube.resource<Service>(SERVICE_TYPE);

let aws: AwsClients;
let land: Landscape;
let operator: Operator;

const environmentYaml = (name: string, extra = '') => environmentYaml_(ns, land, name, extra);
const serviceYaml = (name: string, opts: ServiceOptions = {}) => serviceYaml_(ns, name, opts);

/** Forces a reconcile now and waits until it has run and the operator has gone quiet (support/nudge.ts). */
const nudge = (kind: 'environment' | 'service', name: string) => nudgeNow(operator, kind, ns, name);

/** Deletes Services and waits for their finalizers (kubectl's own --wait would block this process, and the
 * operator runs in it). */
async function deleteAndWait(...names: string[]): Promise<void> {
  kubectl(['delete', 'services.slipway.dev', ...names, '-n', ns, '--wait=false']);
  for (const name of names) {
    await eventually(
      `Service ${name} to be gone`,
      async () => ((await services.find({ namespace: ns, name })) ? undefined : true),
      180_000,
    );
  }
}

async function ruleFor(host: string) {
  const svc = await services.get({ namespace: ns, name: 'catalog' });
  const out = await aws.elbv2.send(new DescribeRulesCommand({ RuleArns: [svc.status!.ruleArn!] }));
  const rule = out.Rules![0]!;
  const hosts = (rule.Conditions ?? [])
    .filter((c) => c.Field === 'host-header')
    .flatMap((c) => c.HostHeaderConfig?.Values ?? c.Values ?? []);
  assert.deepEqual(hosts, [host], 'the rule routes the service host');
  return rule;
}

async function records(): Promise<ResourceRecordSet[]> {
  const out = await aws.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: land.hostedZoneId }));
  return out.ResourceRecordSets ?? [];
}

describe('Environment and Service controllers', { timeout: 600_000 }, () => {
  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    land = await createLandscape(aws, baseDomain);
    operator = await startOperator();
  });
  after(async () => {
    await operator?.stop();
    aws?.destroy();
  });

  test('a Service whose Environment is missing gets a clear condition, then becomes Ready once it appears', async () => {
    apply(serviceYaml('catalog'));
    const waiting = await waitForCondition(services, { namespace: ns, name: 'catalog' }, 'Ready', 'False', {
      reason: 'EnvironmentNotFound',
    });
    assert.match(condition(waiting, 'Ready')!.message!, /spec\.environmentRef\.name: Environment dev does not exist/);

    apply(environmentYaml('dev'));
    const env = await waitForCondition(environments, { namespace: ns, name: 'dev' }, 'Ready', 'True', {
      timeoutMs: 120_000,
    });
    assert.ok(env.status?.loadBalancer?.dnsName, 'the ALB DNS name is in status');
    assert.ok(env.status?.cognito?.clientId, 'the gate app client is in status');
    assert.ok(env.metadata.finalizers?.includes('slipway.dev/cleanup'));

    const svc = await waitForCondition(services, { namespace: ns, name: 'catalog' }, 'Ready', 'True', {
      timeoutMs: 120_000,
    });
    assert.equal(svc.status?.url, `https://catalog.${baseDomain}`);
    assert.match(svc.status?.taskDefinitionArn ?? '', /task-definition\/.+:1$/);
    assert.ok(svc.status?.priority && svc.status.priority >= 1 && svc.status.priority <= 50_000);
  });

  test('AWS holds the Fargate service, the gated listener rule, the DNS alias and the callback URL', async () => {
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const svc = await services.get({ namespace: ns, name: 'catalog' });
    const ecs = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: ['catalog'] }),
    );
    const service = ecs.services![0]!;
    assert.equal(service.launchType, 'FARGATE');
    assert.equal(service.taskDefinition, svc.status!.taskDefinitionArn);
    assert.equal(service.loadBalancers?.[0]?.targetGroupArn, svc.status!.targetGroupArn);

    const rule = await ruleFor(`catalog.${baseDomain}`);
    assert.deepEqual(
      rule.Actions!.map((a) => a.Type),
      ['authenticate-cognito', 'forward'],
    );
    // The index from AWS identifiers to owners answers who owns what AWS reports a change of.
    assert.deepEqual(operator.ownersOf(svc.status!.targetGroupArn!), [`Service/${ns}/catalog`]);
    assert.deepEqual(operator.ownersOf(env.status!.loadBalancer!.arn!), [`Environment/${ns}/dev`]);
    assert.deepEqual(operator.ownersOf('arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/none/0'), []);
    const rs = await records();
    const a = rs.find((r) => r.Name === `catalog.${baseDomain}.` && r.Type === 'A');
    assert.ok(a?.AliasTarget?.DNSName, 'alias A record');
    assert.ok(
      rs.some((r) => r.Name === `catalog.${baseDomain}.` && r.Type === 'TXT'),
      'ownership TXT record',
    );

    const client = await aws.cognito.send(
      new DescribeUserPoolClientCommand({
        UserPoolId: env.status!.cognito!.userPoolId!,
        ClientId: env.status!.cognito!.clientId!,
      }),
    );
    await eventually('the callback URL for the service host', async () => {
      const c = await aws.cognito.send(
        new DescribeUserPoolClientCommand({
          UserPoolId: env.status!.cognito!.userPoolId!,
          ClientId: env.status!.cognito!.clientId!,
        }),
      );
      return c.UserPoolClient?.CallbackURLs?.includes(`https://catalog.${baseDomain}/oauth2/idpresponse`)
        ? true
        : undefined;
    });
    assert.ok(client.UserPoolClient?.ClientSecret, 'the app client has a secret');
  });

  test('an image update registers a new revision and updates the service; the next pass writes nothing', async () => {
    apply(serviceYaml('catalog', { image: 'registry.shop.test/catalog:1.1.0' }));
    const svc = await eventually('revision 2', async () => {
      const s = await services.get({ namespace: ns, name: 'catalog' });
      return s.status?.revision === 2 && s.status.observedGeneration === s.metadata.generation ? s : undefined;
    });
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const ecs = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: ['catalog'] }),
    );
    assert.equal(ecs.services![0]!.taskDefinition, svc.status!.taskDefinitionArn);

    const before = operator.calls.snapshot();
    await nudge('service', 'catalog');
    assert.deepEqual(operator.calls.writesSince(before), {}, 'a pass over a Service in sync makes no AWS write calls');
  });

  test('out-of-band changes are corrected under driftPolicy Correct, with drift in status and an Event', async () => {
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const svc = await services.get({ namespace: ns, name: 'catalog' });
    const host = `catalog.${baseDomain}`;
    // A rule's host, a target group's health check, the DNS record, the service's task definition.
    await aws.elbv2.send(
      new ModifyRuleCommand({
        RuleArn: svc.status!.ruleArn!,
        Conditions: [
          { Field: 'host-header', Values: [`hijacked.${baseDomain}`] },
          { Field: 'path-pattern', Values: ['/*'] },
        ],
      }),
    );
    await aws.elbv2.send(
      new ModifyTargetGroupCommand({ TargetGroupArn: svc.status!.targetGroupArn!, HealthCheckPath: '/changed' }),
    );
    const a = (await records()).find((r) => r.Name === `${host}.` && r.Type === 'A')!;
    await aws.route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: land.hostedZoneId,
        ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: a }] },
      }),
    );
    const oldRevision = svc.status!.taskDefinitionArn!.replace(/:2$/, ':1');
    await aws.ecs.send(
      new UpdateServiceCommand({ cluster: env.status!.clusterArn!, service: 'catalog', taskDefinition: oldRevision }),
    );

    await nudge('service', 'catalog');
    const after = await services.get({ namespace: ns, name: 'catalog' });
    const paths = (after.status?.drift ?? []).map((d) => `${d.logicalId} ${d.path} ${d.action}`);
    assert.ok(
      paths.some((p) => /^listener-rule .*host.* Corrected$/.test(p)),
      `rule host drift in ${paths.join('; ')}`,
    );
    assert.ok(
      paths.some((p) => /^target-group healthCheck\.path Corrected$/.test(p)),
      `health check drift in ${paths.join('; ')}; conditions ${JSON.stringify(after.status?.conditions)}`,
    );
    assert.ok(
      paths.some((p) => /^dns-record \(resource\) Corrected$/.test(p)),
      `deleted record in ${paths.join('; ')}`,
    );
    assert.ok(
      paths.some((p) => /^ecs-service taskDefinitionArn Corrected$/.test(p)),
      `task definition drift in ${paths.join('; ')}`,
    );
    assert.equal(condition(after, 'Ready')?.status, 'True');

    await ruleFor(host);
    const tg = await aws.elbv2.send(
      new DescribeTargetGroupsCommand({ TargetGroupArns: [svc.status!.targetGroupArn!] }),
    );
    assert.equal(tg.TargetGroups![0]!.HealthCheckPath, '/healthz');
    assert.ok(
      (await records()).some((r) => r.Name === `${host}.` && r.Type === 'A'),
      'the record is back',
    );
    const ecs = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: ['catalog'] }),
    );
    assert.equal(ecs.services![0]!.taskDefinition, svc.status!.taskDefinitionArn);
    assert.ok(eventsOf(ns, { reason: 'DriftCorrected' }).length > 0, 'a DriftCorrected event was recorded');
  });

  test('a callback URL removed from the app client out of band is put back', async () => {
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const ids = { UserPoolId: env.status!.cognito!.userPoolId!, ClientId: env.status!.cognito!.clientId! };
    const described = await aws.cognito.send(new DescribeUserPoolClientCommand(ids));
    const c = described.UserPoolClient!;
    await aws.cognito.send(
      new UpdateUserPoolClientCommand({
        ...ids,
        CallbackURLs: ['https://elsewhere.shop.test/oauth2/idpresponse'],
        AllowedOAuthFlows: c.AllowedOAuthFlows,
        AllowedOAuthScopes: c.AllowedOAuthScopes,
        AllowedOAuthFlowsUserPoolClient: c.AllowedOAuthFlowsUserPoolClient,
        SupportedIdentityProviders: c.SupportedIdentityProviders,
      }),
    );
    await nudge('environment', 'dev');
    const fixed = await aws.cognito.send(new DescribeUserPoolClientCommand(ids));
    assert.deepEqual(fixed.UserPoolClient!.CallbackURLs, [`https://catalog.${baseDomain}/oauth2/idpresponse`]);
    const after = await environments.get({ namespace: ns, name: 'dev' });
    assert.ok(
      after.status?.drift?.some(
        (d) => d.logicalId === 'user-pool-client' && d.path === 'callbackUrls' && d.action === 'Corrected',
      ),
    );
  });

  test('under driftPolicy Report, drift is reported and AWS is left untouched', async () => {
    apply(serviceYaml('catalog', { image: 'registry.shop.test/catalog:1.1.0', extra: '  driftPolicy: Report\n' }));
    await eventually('the policy change to be observed', async () => {
      const s = await services.get({ namespace: ns, name: 'catalog' });
      return s.status?.observedGeneration === s.metadata.generation ? s : undefined;
    });
    const svc = await services.get({ namespace: ns, name: 'catalog' });
    await aws.elbv2.send(
      new ModifyTargetGroupCommand({ TargetGroupArn: svc.status!.targetGroupArn!, HealthCheckPath: '/reported' }),
    );
    const before = operator.calls.snapshot();
    await nudge('service', 'catalog');
    const after = await services.get({ namespace: ns, name: 'catalog' });
    assert.equal(condition(after, 'Drifted')?.status, 'True');
    assert.match(condition(after, 'Drifted')!.message!, /healthCheck\.path is \/reported, want \/healthz/);
    assert.ok(
      after.status?.drift?.some(
        (d) => d.path === 'healthCheck.path' && d.action === 'Reported' && d.actual === '/reported',
      ),
    );
    assert.deepEqual(operator.calls.writesSince(before), {}, 'Report makes no AWS writes');
    const tg = await aws.elbv2.send(
      new DescribeTargetGroupsCommand({ TargetGroupArns: [svc.status!.targetGroupArn!] }),
    );
    assert.equal(tg.TargetGroups![0]!.HealthCheckPath, '/reported');
    // Back to Correct: the next pass fixes it.
    apply(serviceYaml('catalog', { image: 'registry.shop.test/catalog:1.1.0' }));
    await waitForCondition(services, { namespace: ns, name: 'catalog' }, 'Drifted', 'False');
  });

  test('a requested resync wave lists each kind once, writes nothing in sync, and corrects drift', async () => {
    apply(serviceYaml('wave-a', { subdomain: 'wave-a' }));
    apply(serviceYaml('wave-b', { subdomain: 'wave-b' }));
    try {
      for (const name of ['wave-a', 'wave-b'])
        await waitForCondition(services, { namespace: ns, name }, 'Ready', 'True', { timeoutMs: 120_000 });
      await waitQuiet(operator);
      const members = 3; // catalog, wave-a, wave-b
      /** Asks the Environment for a resync wave and waits until its members have passed. */
      const wave = async () => {
        const reconciles = await reconcileCount(operator, 'service');
        const before = operator.calls.snapshot();
        kubectl(['annotate', '--overwrite', 'environments.slipway.dev', 'dev', '-n', ns, `${RESYNC}=${Date.now()}`]);
        await eventually('the wave to reach every member', async () =>
          (await reconcileCount(operator, 'service')) >= reconciles + members ? true : undefined,
        );
        await waitQuiet(operator);
        const calls: Record<string, number> = {};
        for (const [key, n] of operator.calls.snapshot()) {
          const op = key.split(':').slice(0, 2).join(':');
          if (n > (before.get(key) ?? 0)) calls[op] = (calls[op] ?? 0) + n - (before.get(key) ?? 0);
        }
        return {
          calls,
          writes: operator.calls.writesSince(before),
          passes: (await reconcileCount(operator, 'service')) - reconciles,
        };
      };

      const quiet = await wave();
      assert.equal(quiet.passes, members, 'one pass per member: the annotation itself wakes no Service');
      assert.deepEqual(quiet.writes, {}, 'a wave over Services in sync writes nothing');
      // Each kind once for the three members, where reading per Service would make three calls each. The Environment's
      // own pass reads besides: its load balancer's target groups, and the rules and the zone for its quota and sweep.
      const most = {
        'elbv2:DescribeTargetGroups': 2,
        'ecs:ListServices': 1,
        'ecs:ListTaskDefinitions': 1,
        'logs:DescribeLogGroups': 1,
        'elbv2:DescribeRules': 3,
        'route53:ListResourceRecordSets': 2,
      };
      for (const [op, n] of Object.entries(most))
        assert.ok((quiet.calls[op] ?? 0) <= n, `${op}: ${quiet.calls[op]} calls in ${JSON.stringify(quiet.calls)}`);
      assert.equal(quiet.calls['elbv2:DescribeTargetGroupAttributes'], members, 'drift events off: each one is read');

      // Drift on one member: the wave's shared read of the rules sees it, and that member's pass corrects it.
      const a = await services.get({ namespace: ns, name: 'wave-a' });
      await aws.elbv2.send(
        new ModifyRuleCommand({
          RuleArn: a.status!.ruleArn!,
          Conditions: [
            { Field: 'host-header', Values: [`hijacked.${baseDomain}`] },
            { Field: 'path-pattern', Values: ['/*'] },
          ],
        }),
      );
      const drifted = await wave();
      assert.equal(drifted.passes, members);
      assert.deepEqual(drifted.writes, { 'elbv2:ModifyRule': 1 });
      const fixed = await aws.elbv2.send(new DescribeRulesCommand({ RuleArns: [a.status!.ruleArn!] }));
      assert.deepEqual(
        fixed
          .Rules![0]!.Conditions!.filter((c) => c.Field === 'host-header')
          .flatMap((c) => c.HostHeaderConfig?.Values ?? c.Values ?? []),
        [`wave-a.${baseDomain}`],
      );
      const after = await services.get({ namespace: ns, name: 'wave-a' });
      assert.ok(after.status?.drift?.some((d) => d.logicalId === 'listener-rule' && d.action === 'Corrected'));
    } finally {
      // The Environment's deletion below expects only catalog.
      await deleteAndWait('wave-a', 'wave-b');
    }
  });

  // One worker per controller: the Services' passes run one after another, so placements made by each Service at
  // the start of its own pass would trickle in over the whole burst, and every few would wake the Environment again
  // (about 20 AWS reads a pass). The Environment's pass places the waiting Services itself instead.
  test('a burst of Services on a ready Environment: it passes once or twice, and each Service has its place', async () => {
    await operator.stop();
    operator = await startOperator({ SLIPWAY_WORKERS: '1' });
    apply(environmentYaml('burst'));
    await waitForCondition(environments, { namespace: ns, name: 'burst' }, 'Ready', 'True', { timeoutMs: 120_000 });
    await waitQuiet(operator);
    const before = await reconcileCount(operator, 'environment');
    const calls = operator.calls.snapshot();
    const names = Array.from({ length: 8 }, (_, i) => `burst-${i + 1}`);
    apply(names.map((name) => serviceYaml(name, { env: 'burst', subdomain: name })).join('\n---\n'));
    for (const name of names) {
      await waitForCondition(services, { namespace: ns, name }, 'Ready', 'True', { timeoutMs: 180_000 });
    }
    await waitQuiet(operator);
    // Their arrival, and one more should the creates straddle two gathering windows.
    const passes = (await reconcileCount(operator, 'environment')) - before;
    assert.ok(passes <= 2, `the Environment passed ${passes} times for a burst of ${names.length} Services`);
    // The pass that placed them put all their callback URLs on the app client at once.
    assert.equal(operator.calls.writesSince(calls)['cognito-idp:UpdateUserPoolClient'], 1);

    const env = await environments.get({ namespace: ns, name: 'burst' });
    assert.deepEqual(
      env.status?.shards?.map((s) => [s.index, s.workloads]),
      [[0, names.length]],
    );
    for (const name of names) {
      assert.equal((await services.get({ namespace: ns, name })).status?.loadBalancerShard, 0, `${name} is placed`);
    }
    const client = await aws.cognito.send(
      new DescribeUserPoolClientCommand({
        UserPoolId: env.status!.cognito!.userPoolId!,
        ClientId: env.status!.cognito!.clientId!,
      }),
    );
    assert.deepEqual(
      [...(client.UserPoolClient?.CallbackURLs ?? [])].sort(),
      names.map((name) => `https://${name}.${baseDomain}/oauth2/idpresponse`).sort(),
    );
    await operator.stop();
    operator = await startOperator();
  });

  test('a second Service claiming a taken priority or host gets a condition naming the owner', async () => {
    const taken = (await services.get({ namespace: ns, name: 'catalog' })).status!.priority!;
    apply(serviceYaml('orders', { priority: taken, subdomain: 'orders' }));
    // Each with its own reason, on Synced and Ready alike, so Argo CD and kubectl tell them apart.
    const orders = await waitForCondition(services, { namespace: ns, name: 'orders' }, 'Synced', 'False', {
      reason: 'PriorityInUse',
      timeoutMs: 90_000,
    });
    assert.equal(condition(orders, 'Ready')!.reason, 'PriorityInUse');
    assert.match(condition(orders, 'Synced')!.message!, new RegExp(`Service/${ns}/catalog`));
    assert.match(condition(orders, 'Synced')!.message!, /\(rule arn:aws:elasticloadbalancing:[^)]*listener-rule\//);
    assert.match(condition(orders, 'Synced')!.message!, /pick another spec\.routing\.priority or omit it/);

    apply(serviceYaml('catalog-copy', { subdomain: 'catalog' }));
    const copy = await waitForCondition(services, { namespace: ns, name: 'catalog-copy' }, 'Synced', 'False', {
      reason: 'HostInUse',
      timeoutMs: 90_000,
    });
    assert.equal(condition(copy, 'Ready')!.reason, 'HostInUse');
    assert.match(condition(copy, 'Synced')!.message!, new RegExp(`by Service/${ns}/catalog`));
    assert.match(condition(copy, 'Synced')!.message!, /\(rule arn:aws:elasticloadbalancing:[^)]*listener-rule\//);
    assert.match(condition(copy, 'Synced')!.message!, /Pick another spec\.subdomain or spec\.routing\.pathPatterns/);
    // Both are terminal (a person must act): each gets a Warning Event with its reason, which only terminal
    // outcomes produce, instead of being retried quietly.
    for (const [name, reason] of [
      ['orders', 'PriorityInUse'],
      ['catalog-copy', 'HostInUse'],
    ] as const) {
      await eventually(`a Warning ${reason} Event for ${name}`, async () => {
        return eventsOf(ns, { reason, type: 'Warning', name }).length > 0 ? true : undefined;
      });
    }
    await deleteAndWait('orders', 'catalog-copy');
  });

  test('deleting removes everything Slipway owns and nothing else', async () => {
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const catalogStatus = (await services.get({ namespace: ns, name: 'catalog' })).status!;
    // Unowned neighbours: a target group in the same VPC and a cluster, which must survive.
    await aws.elbv2.send(
      new CreateTargetGroupCommand({
        Name: `keep-${suffix}`,
        Protocol: 'HTTP',
        Port: 80,
        VpcId: land.vpcId,
        TargetType: 'ip',
      }),
    );
    await aws.ecs.send(new CreateClusterCommand({ clusterName: `keep-${suffix}` }));

    kubectl(['delete', 'environments.slipway.dev', 'dev', '-n', ns, '--wait=false']);
    const held = await waitForCondition(environments, { namespace: ns, name: 'dev' }, 'Ready', 'False', {
      reason: 'InUse',
    });
    assert.deepEqual(held.status?.heldBy, [{ kind: 'Service', name: 'catalog' }]);
    assert.equal(held.status?.heldByCount, 1);

    await deleteAndWait('catalog');
    await eventually(
      'the Environment to be gone',
      async () => ((await environments.find({ namespace: ns, name: 'dev' })) ? undefined : true),
      180_000,
    );

    // Everything the Environment and the Service owned is gone (ECS keeps deleted clusters and services as INACTIVE).
    await assert.rejects(
      aws.elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [env.status!.loadBalancer!.arn!] })),
      /LoadBalancerNotFound/,
    );
    await assert.rejects(
      aws.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [catalogStatus.targetGroupArn!] })),
      /TargetGroupNotFound/,
    );
    await assert.rejects(
      aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [env.status!.loadBalancer!.securityGroupId!] })),
      /InvalidGroup/,
    );
    await assert.rejects(
      aws.cognito.send(new DescribeUserPoolCommand({ UserPoolId: env.status!.cognito!.userPoolId! })),
      /ResourceNotFound/,
    );
    const cluster = await aws.ecs.send(new DescribeClustersCommand({ clusters: [env.status!.clusterArn!] }));
    assert.notEqual(cluster.clusters?.[0]?.status, 'ACTIVE', 'the cluster is deleted');
    const td = await aws.ecs
      .send(new DescribeTaskDefinitionCommand({ taskDefinition: catalogStatus.taskDefinitionArn! }))
      .catch(() => undefined);
    assert.ok(!td || td.taskDefinition?.status !== 'ACTIVE', 'the task definition is deregistered (or deleted)');
    assert.deepEqual(
      (await records())
        .filter((r) => r.Name?.startsWith('catalog.') || r.Name?.startsWith('orders.'))
        .map((r) => `${r.Name} ${r.Type}`),
      [],
      'the DNS records are gone',
    );
    const state = await emulatorState();
    assert.ok(state.includes(`keep-${suffix}`), 'the emulator dump still holds the unowned neighbours');
    const keptTg = await aws.elbv2.send(new DescribeTargetGroupsCommand({ Names: [`keep-${suffix}`] }));
    assert.equal(keptTg.TargetGroups?.length, 1, 'the unowned target group is untouched');
    const keptCluster = await aws.ecs.send(new DescribeClustersCommand({ clusters: [`keep-${suffix}`] }));
    assert.equal(keptCluster.clusters?.[0]?.status, 'ACTIVE', 'the unowned cluster is untouched');
  });
});
