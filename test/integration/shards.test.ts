// Load-balancer shards end to end: the real operator in-process with a shard capacity of 2 (the setting that lowers
// the account's quotas), a real kube-apiserver, and moto as AWS. A third Service opens a second load balancer;
// every Service's rule and DNS alias are on its own shard's load balancer; placements survive an operator restart;
// an emptied shard is removed from AWS; spec.loadBalancer.shard moves a Service; an Environment on an existing
// listener that is full says so, with the Services that do not fit Blocked; and an Environment that needs another
// load balancer while the region's quota of them is used up creates none, says so, and blocks the Service that
// does not fit until it finds that a load balancer elsewhere in the account went; `slipway plan` given the same quota plans no
// more load balancers either and says why.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { CreateSecurityGroupCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { DescribeUserPoolClientCommand } from '@aws-sdk/client-cognito-identity-provider';
import type { Environment, Service } from '../../src/api/index.js';
import type { AwsClients } from '../../src/aws/clients.js';
import { regionalLoadBalancers } from '../../src/aws/load-balancer-limits.js';
import type { CustomResourcePlan, PlanDocument } from '../../src/cli/document.js';
import { runCli } from '../../src/cli/run.js';
import { ENVIRONMENT_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import type { Operator } from '../../src/operator.js';
import { shardLogical } from '../../src/planner/environment.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
import { getTestEnv } from '../support/env.js';
import {
  condition,
  createNamespace,
  eventually,
  eventsOf,
  installCrds,
  kubeClient,
  kubectl,
  waitForCondition,
} from '../support/kube.js';
import { annotateNudge } from '../support/nudge.js';
import { apply, environmentYaml, serviceYaml } from '../support/manifests.js';
import { operatorWrites, startOperator } from '../support/operator.js';

const suffix = uniqueSuffix();
const ns = `shards-${suffix}`;
const baseDomain = `shards-${suffix}.shop.test`;
const kube = kubeClient();
const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
const services = kube.resource<Service>(SERVICE_TYPE);
const SETTINGS = { SLIPWAY_MAX_WORKLOADS_PER_LOAD_BALANCER: '2' };

let aws: AwsClients;
let land: Landscape;
let operator: Operator;

const ready = (name: string) =>
  waitForCondition(services, { namespace: ns, name }, 'Ready', 'True', { timeoutMs: 180_000 });
const shardsOf = async (env = 'dev') => (await environments.get({ namespace: ns, name: env })).status?.shards ?? [];

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

/** The rule ARNs on a listener, read from AWS. */
async function rulesOn(listenerArn: string): Promise<string[]> {
  const out = await aws.elbv2.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
  return (out.Rules ?? []).filter((r) => !r.IsDefault).map((r) => r.RuleArn!);
}

const normalise = (dns: string | undefined) => (dns ?? '').toLowerCase().replace(/\.$/, '');

/** Each Service's rule is on its shard's listener, and its DNS alias names its shard's load balancer. */
async function assertRoutedOnShards(names: readonly string[]): Promise<void> {
  const shards = await shardsOf();
  const records = (await aws.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: land.hostedZoneId })))
    .ResourceRecordSets!;
  for (const name of names) {
    const svc = await services.get({ namespace: ns, name });
    const shard = shards.find((s) => s.index === svc.status?.loadBalancerShard);
    assert.ok(shard?.listenerArn && shard.dnsName, `${name}'s shard ${svc.status?.loadBalancerShard} is in status`);
    assert.ok((await rulesOn(shard.listenerArn)).includes(svc.status!.ruleArn!), `${name}'s rule is on its shard`);
    const alias = records.find((r) => r.Name === `${name}.${baseDomain}.` && r.Type === 'A');
    assert.equal(normalise(alias?.AliasTarget?.DNSName), normalise(shard.dnsName), `${name}'s alias`);
  }
}

/**
 * `slipway plan --output json` of dev and its Services as the cluster holds them (planning dev's file alone would
 * plan its Services' removal), with the CLI's environment `env`: dev's entry.
 */
async function planEnvironment(env: Record<string, string>): Promise<CustomResourcePlan> {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-shards-plan-'));
  try {
    writeFileSync(join(dir, 'dev.yaml'), environmentYaml(ns, land, 'dev'));
    for (const svc of (await services.listAll({ namespace: ns })).items) {
      if (svc.spec.environmentRef.name !== 'dev') continue;
      const { name, namespace } = svc.metadata;
      const apiVersion = `${SERVICE_TYPE.group}/${SERVICE_TYPE.version}`;
      const manifest = { apiVersion, kind: 'Service', metadata: { name, namespace }, spec: svc.spec };
      writeFileSync(join(dir, `${name}.yaml`), JSON.stringify(manifest));
    }
    const test = getTestEnv();
    let stdout = '';
    let stderr = '';
    const args = ['plan', '-f', dir, '--kubeconfig', test.kubeconfigPath, '--cluster-id', 'test'];
    const io = { stdout: (t: string) => (stdout += t), stderr: (t: string) => (stderr += t), env };
    const code = await runCli([...args, '--aws-endpoint', test.awsEndpoint, '--output', 'json'], io);
    assert.notEqual(code, 1, stderr);
    const doc = JSON.parse(stdout) as PlanDocument;
    return doc.resources.find((r) => r.kind === 'Environment' && r.name === 'dev')!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('load-balancer shards', { timeout: 900_000 }, () => {
  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    land = await createLandscape(aws, baseDomain);
    operator = await startOperator(SETTINGS);
  });
  after(async () => {
    await operator?.stop();
    aws?.destroy();
  });

  test('a third Service opens a second load balancer; each is routed on its own shard', async () => {
    apply(environmentYaml(ns, land, 'dev'));
    // Three at once: the workers place them concurrently, and no shard may take more than two.
    for (const name of ['alpha', 'bravo', 'charlie']) apply(serviceYaml(ns, name, { subdomain: name }));
    for (const name of ['alpha', 'bravo', 'charlie']) await ready(name);

    const env = await eventually('two shards with all three placed', async () => {
      const e = await environments.get({ namespace: ns, name: 'dev' });
      const placed = (e.status?.shards ?? []).reduce((n, s) => n + (s.workloads ?? 0), 0);
      return e.status?.shards?.length === 2 && placed === 3 ? e : undefined;
    });
    assert.equal(env.status?.shardCapacity, 2);
    const [first, second] = env.status!.shards!;
    assert.equal(first!.index, 0);
    assert.equal(first!.loadBalancerArn, env.status?.loadBalancer?.arn, 'shard 0 is the load balancer it always was');
    assert.equal(first!.workloads, 2);
    assert.equal(second!.index, 1);
    assert.equal(second!.workloads, 1);
    assert.notEqual(second!.loadBalancerArn, first!.loadBalancerArn);

    const placed = await Promise.all(
      ['alpha', 'bravo', 'charlie'].map(async (n) => (await services.get({ namespace: ns, name: n })).status),
    );
    assert.deepEqual(placed.map((s) => s?.loadBalancerShard).sort(), [0, 0, 1]);
    await assertRoutedOnShards(['alpha', 'bravo', 'charlie']);

    // The second load balancer has its HTTPS listener (same certificate, 404 default), the HTTP redirect, its own
    // security group, and its own app client with exactly the callback URL of the host placed on it.
    const listeners = await aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: second!.loadBalancerArn }));
    const https = listeners.Listeners!.find((l) => l.Port === 443)!;
    assert.equal(https.ListenerArn, second!.listenerArn);
    assert.equal(https.Certificates?.[0]?.CertificateArn, land.certificateArn);
    assert.equal(https.DefaultActions?.[0]?.FixedResponseConfig?.StatusCode, '404');
    assert.equal(listeners.Listeners!.find((l) => l.Port === 80)?.DefaultActions?.[0]?.Type, 'redirect');
    const lb = (
      await aws.elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [second!.loadBalancerArn!] }))
    ).LoadBalancers![0]!;
    assert.deepEqual(lb.SecurityGroups, [second!.securityGroupId]);
    assert.ok(lb.LoadBalancerName!.length <= 32);
    const onSecond = placed.filter((s) => s?.loadBalancerShard === 1).map((s) => s!.url!.replace('https://', ''));
    const onFirst = placed.filter((s) => s?.loadBalancerShard === 0).map((s) => s!.url!.replace('https://', ''));
    const callbacks = async (clientId: string | undefined) => {
      const c = await aws.cognito.send(
        new DescribeUserPoolClientCommand({ UserPoolId: env.status!.cognito!.userPoolId!, ClientId: clientId! }),
      );
      return [...(c.UserPoolClient?.CallbackURLs ?? [])].sort();
    };
    assert.notEqual(second!.clientId, first!.clientId);
    await eventually('each app client to hold the callbacks of its own hosts', async () => {
      const [a, b] = [await callbacks(first!.clientId), await callbacks(second!.clientId)];
      const want = (hosts: string[]) => hosts.map((h) => `https://${h}/oauth2/idpresponse`).sort();
      return JSON.stringify([a, b]) === JSON.stringify([want(onFirst), want(onSecond)]) ? true : undefined;
    });
  });

  test('placements survive an operator restart: a new Service fills the room left, nothing moves', async () => {
    const before = await Promise.all(
      ['alpha', 'bravo', 'charlie'].map(async (n) => (await services.get({ namespace: ns, name: n })).status!),
    );
    const lbs = (await shardsOf()).map((s) => s.loadBalancerArn);
    await operator.stop();
    operator = await startOperator(SETTINGS);

    apply(serviceYaml(ns, 'delta', { subdomain: 'delta' }));
    const delta = await ready('delta');
    // The new operator knows the placements from the statuses alone: shard 0 is full, shard 1 has one place left.
    assert.equal(delta.status?.loadBalancerShard, 1);
    const after = await Promise.all(
      ['alpha', 'bravo', 'charlie'].map(async (n) => (await services.get({ namespace: ns, name: n })).status!),
    );
    assert.deepEqual(
      after.map((s) => [s.loadBalancerShard, s.ruleArn, s.targetGroupArn]),
      before.map((s) => [s.loadBalancerShard, s.ruleArn, s.targetGroupArn]),
      'the same shard, rule and target group for each Service',
    );
    const shards = await eventually('shard 1 to count delta', async () => {
      const list = await shardsOf();
      return list.find((s) => s.index === 1)?.workloads === 2 ? list : undefined;
    });
    assert.deepEqual(
      shards.map((s) => s.loadBalancerArn),
      lbs,
      'no load balancer was added or replaced',
    );
    await assertRoutedOnShards(['alpha', 'bravo', 'charlie', 'delta']);
  });

  test('a shard that empties is removed: its load balancer, listeners, security group and app client', async () => {
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const second = env.status!.shards!.find((s) => s.index === 1)!;
    const onSecond: string[] = [];
    for (const name of ['alpha', 'bravo', 'charlie', 'delta']) {
      const s = await services.get({ namespace: ns, name });
      if (s.status?.loadBalancerShard === 1) onSecond.push(name);
    }
    assert.equal(onSecond.length, 2);
    await deleteAndWait(...onSecond);

    await eventually(
      'the Environment to list shard 0 only',
      async () => {
        const list = await shardsOf();
        return list.length === 1 && list[0]!.index === 0 ? true : undefined;
      },
      180_000,
    );
    await assert.rejects(
      aws.elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [second.loadBalancerArn!] })),
      /LoadBalancerNotFound/,
    );
    await assert.rejects(
      aws.elbv2.send(new DescribeListenersCommand({ ListenerArns: [second.listenerArn!] })),
      /ListenerNotFound|LoadBalancerNotFound/,
    );
    await eventually('the security group of shard 1 to be deleted', async () => {
      const found = await aws.ec2
        .send(new DescribeSecurityGroupsCommand({ GroupIds: [second.securityGroupId!] }))
        .then((r) => r.SecurityGroups?.length ?? 0)
        .catch((err: Error) => (/InvalidGroup/.test(err.name) ? 0 : Promise.reject(err)));
      return found === 0 ? true : undefined;
    });
    await assert.rejects(
      aws.cognito.send(
        new DescribeUserPoolClientCommand({ UserPoolId: env.status!.cognito!.userPoolId!, ClientId: second.clientId! }),
      ),
      /ResourceNotFound/,
    );
    // Shard 0 and what is placed on it are untouched.
    const shards = await shardsOf();
    assert.equal(shards[0]!.loadBalancerArn, env.status!.loadBalancer!.arn);
    const remaining = ['alpha', 'bravo', 'charlie', 'delta'].filter((n) => !onSecond.includes(n));
    for (const name of remaining) assert.equal(condition(await ready(name), 'Ready')?.status, 'True');
    await assertRoutedOnShards(remaining);
  });

  test('spec.loadBalancer.shard moves a Service: a new target group and rule on that shard, the old pair deleted', async () => {
    const remaining: Service[] = [];
    for (const name of ['alpha', 'bravo', 'charlie', 'delta']) {
      const s = await services.find({ namespace: ns, name });
      if (s) remaining.push(s);
    }
    const mover = remaining[0]!;
    const name = mover.metadata.name;
    assert.equal(mover.status?.loadBalancerShard, 0);
    const old = { rule: mover.status!.ruleArn!, targetGroup: mover.status!.targetGroupArn! };
    apply(serviceYaml(ns, name, { subdomain: name, extra: '  loadBalancer: { shard: 1 }\n' }));

    const moved = await eventually(
      `${name} Ready on shard 1`,
      async () => {
        const s = await services.get({ namespace: ns, name });
        return s.status?.loadBalancerShard === 1 &&
          s.status.observedGeneration === s.metadata.generation &&
          condition(s, 'Ready')?.status === 'True'
          ? s
          : undefined;
      },
      180_000,
    );
    assert.notEqual(moved.status!.ruleArn, old.rule);
    assert.notEqual(moved.status!.targetGroupArn, old.targetGroup);
    await assertRoutedOnShards([name]);
    await assert.rejects(
      aws.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [old.targetGroup] })),
      /TargetGroupNotFound/,
    );
    await assert.rejects(aws.elbv2.send(new DescribeRulesCommand({ RuleArns: [old.rule] })), /RuleNotFound/);
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const ecs = await aws.ecs.send(new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: [name] }));
    assert.equal(ecs.services![0]!.loadBalancers?.[0]?.targetGroupArn, moved.status!.targetGroupArn);
  });

  // The sweep reads rules from shard 0's listener only; a vanished workload's rule on shard k >= 1 goes with its
  // target group (the target group's deletion removes the owned rules forwarding to it, on any load balancer).
  test('the sweep deletes the rule and target group of a vanished Service on shard 1', async () => {
    // Shard 1 holds the Service moved there; hotel joins it, so the shard stays when hotel goes.
    apply(serviceYaml(ns, 'hotel', { subdomain: 'hotel', extra: '  loadBalancer: { shard: 1 }\n' }));
    const hotel = await ready('hotel');
    assert.equal(hotel.status?.loadBalancerShard, 1);
    const listenerArn = (await shardsOf()).find((s) => s.index === 1)!.listenerArn!;
    const { ruleArn, targetGroupArn } = hotel.status!;
    assert.ok((await rulesOn(listenerArn)).includes(ruleArn!));
    // The finalizer removed by hand while the operator is down (running, it would put it back or clean up itself):
    // the object goes, its AWS resources stay behind.
    await operator.stop();
    kubectl([
      'patch',
      'services.slipway.dev',
      'hotel',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    ]);
    await deleteAndWait('hotel');
    operator = await startOperator(SETTINGS);
    annotateNudge('environment', ns, 'dev');
    await eventually(
      "hotel's rule on shard 1 and its target group to be swept",
      async () => {
        if ((await rulesOn(listenerArn)).includes(ruleArn!)) return undefined;
        const tg = await aws.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [targetGroupArn!] })).then(
          () => 'there',
          () => 'gone',
        );
        return tg === 'gone' ? true : undefined;
      },
      120_000,
    );
    assert.equal((await shardsOf()).find((s) => s.index === 1)?.listenerArn, listenerArn, 'shard 1 stays');
    await eventually('a Swept event for hotel', async () =>
      eventsOf(ns, { reason: 'Swept', name: 'dev' }).some((e) => e.message.includes(`Service/${ns}/hotel`))
        ? true
        : undefined,
    );
  });

  test('an existing listener that is full: the Environment says so, and the Service that does not fit is Blocked', async () => {
    const sg = await aws.ec2.send(
      new CreateSecurityGroupCommand({ GroupName: `shared-${suffix}`, Description: 'shared', VpcId: land.vpcId }),
    );
    const lb = await aws.elbv2.send(
      new CreateLoadBalancerCommand({
        Name: `shared-${suffix}`,
        Subnets: [...land.subnetIds],
        SecurityGroups: [sg.GroupId!],
        Type: 'application',
      }),
    );
    const listener = await aws.elbv2.send(
      new CreateListenerCommand({
        LoadBalancerArn: lb.LoadBalancers![0]!.LoadBalancerArn!,
        Port: 443,
        Protocol: 'HTTPS',
        Certificates: [{ CertificateArn: land.certificateArn }],
        DefaultActions: [
          { Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain' } },
        ],
      }),
    );
    const listenerArn = listener.Listeners![0]!.ListenerArn!;
    apply(`
apiVersion: slipway.dev/v1alpha1
kind: Environment
metadata: { name: shared, namespace: ${ns} }
spec:
  tier: non-production
  region: us-east-1
  domain: { baseDomain: ${land.baseDomain}, hostedZoneId: ${land.hostedZoneId} }
  network: { vpcId: ${land.vpcId}, subnetIds: [${land.subnetIds.join(', ')}], securityGroupIds: [${land.securityGroupId}] }
  loadBalancer: { existingListenerArn: "${listenerArn}" }
  access: { cognito: { enabled: false } }
`);
    await waitForCondition(environments, { namespace: ns, name: 'shared' }, 'Ready', 'True', { timeoutMs: 120_000 });
    const names = ['echo', 'foxtrot', 'golf'];
    for (const name of names) apply(serviceYaml(ns, name, { env: 'shared', subdomain: name }));

    const settled = await eventually(
      'two Services Ready and one Blocked',
      async () => {
        const list = await Promise.all(names.map((name) => services.get({ namespace: ns, name })));
        const readyOnes = list.filter((s) => condition(s, 'Ready')?.status === 'True');
        const blocked = list.filter((s) => condition(s, 'Ready')?.reason === 'LoadBalancerFull');
        return readyOnes.length === 2 && blocked.length === 1 ? { readyOnes, blocked: blocked[0]! } : undefined;
      },
      180_000,
    );
    const message = condition(settled.blocked, 'Ready')!.message!;
    assert.match(message, /spec\.loadBalancer\.existingListenerArn/);
    assert.match(message, /set spec\.loadBalancer\.certificateArn/);
    assert.equal(settled.blocked.status?.loadBalancerShard, undefined, 'the blocked Service is not placed');
    assert.equal(settled.blocked.status?.ruleArn, undefined, 'and created no rule');
    const rules = await rulesOn(listenerArn);
    assert.deepEqual(rules.sort(), settled.readyOnes.map((s) => s.status!.ruleArn!).sort());

    // The Environment counts placements as the Services report them, so its message settles a pass after the
    // Services do: wait for the settled count rather than the first LoadBalancerFull it writes.
    const env = await eventually(
      'the Environment to report its listener full with both placements counted',
      async () => {
        const current = await environments.get({ namespace: ns, name: 'shared' });
        const c = condition(current, 'LoadBalancerCapacity');
        return c?.status === 'False' && c.reason === 'LoadBalancerFull' && /holds 2 of at most 2/.test(c.message ?? '')
          ? current
          : undefined;
      },
      120_000,
    );
    const capacity = condition(env, 'LoadBalancerCapacity')!.message!;
    assert.match(capacity, /spec\.loadBalancer\.existingListenerArn/);
    assert.match(capacity, /holds 2 of at most 2/);
    assert.match(capacity, /1 more wait/);
    assert.deepEqual(
      env.status?.shards?.map((s) => [s.index, s.listenerArn, s.workloads]),
      [[0, listenerArn, 2]],
    );
    assert.equal(condition(env, 'Ready')?.status, 'True', 'the Environment itself is fine');
  });

  // moto enforces no quota of load balancers and answers 20 for it; the operator is given the region's count as its
  // quota (SLIPWAY_LOAD_BALANCER_QUOTA), with one load balancer of "another team" among them.
  test("the region's quota of load balancers used up: no create, the condition, a Blocked Service, then room", async () => {
    const other = await aws.elbv2.send(
      new CreateLoadBalancerCommand({ Name: `other-${suffix}`, Subnets: [...land.subnetIds], Type: 'application' }),
    );
    const full = (await regionalLoadBalancers(aws)).count;
    await operator.stop();
    // Its count of them again after 0.2 s, then at doubling intervals up to every 2 s (15 s up to 2 minutes outside).
    const quotaRetry = { firstMs: 200, maxMs: 2_000 };
    operator = await startOperator({ ...SETTINGS, SLIPWAY_LOAD_BALANCER_QUOTA: String(full) }, { quotaRetry });
    // dev holds one Service on each of its two shards: two of these fit, the third needs a third load balancer.
    assert.deepEqual(
      (await shardsOf()).map((s) => [s.index, s.workloads]),
      [
        [0, 1],
        [1, 1],
      ],
    );
    const names = ['india', 'juliet', 'kilo'];
    for (const name of names) apply(serviceYaml(ns, name, { subdomain: name }));
    const settled = await eventually(
      'two Services Ready and one Blocked by the quota',
      async () => {
        const list = await Promise.all(names.map((name) => services.get({ namespace: ns, name })));
        const readyOnes = list.filter((s) => condition(s, 'Ready')?.status === 'True');
        const blocked = list.filter((s) => condition(s, 'Ready')?.reason === 'LoadBalancerQuotaExceeded');
        return readyOnes.length === 2 && blocked.length === 1 ? blocked[0]! : undefined;
      },
      180_000,
    );
    const blockedMessage = condition(settled, 'Ready')!.message!;
    assert.match(blockedMessage, /^spec\.environmentRef\.name: the Environment cannot add a load balancer: /);
    assert.equal(settled.status?.ruleArn, undefined, 'the blocked Service created no rule');
    const env = await eventually('the Environment to report the quota', async () => {
      const current = await environments.get({ namespace: ns, name: 'dev' });
      const c = condition(current, 'LoadBalancerCapacity');
      return c?.status === 'False' && c.reason === 'LoadBalancerQuotaExceeded' && /1 Services/.test(c.message ?? '')
        ? current
        : undefined;
    });
    const message = condition(env, 'LoadBalancerCapacity')!.message!;
    assert.match(
      message,
      new RegExp(`is ${full} \\(the operator's SLIPWAY_LOAD_BALANCER_QUOTA\\) and the account has ${full}, 2 of them`),
    );
    assert.match(message, /wait for 1 more load balancer/);
    assert.match(message, /Service Quotas/);
    assert.deepEqual(
      env.status?.shards?.map((s) => s.index),
      [0, 1],
    );
    assert.equal(condition(env, 'Ready')?.status, 'True', 'the Environment itself is fine');
    assert.equal((await operatorWrites(operator))['elbv2:CreateLoadBalancer'], undefined, 'no create was tried');

    // lima comes once the Environment has said the quota is used up, so no pass places it: its own refuses, and the
    // Environment's places nothing on a shard it withholds. (The blocked one of the three may have placed itself on
    // shard 2 before the Environment said so, or not.)
    apply(serviceYaml(ns, 'lima', { subdomain: 'lima' }));
    const waiting = await eventually('lima Blocked by the quota and the Environment counting it', async () => {
      const lima = await services.get({ namespace: ns, name: 'lima' });
      if (condition(lima, 'Ready')?.reason !== 'LoadBalancerQuotaExceeded') return undefined;
      const c = condition(await environments.get({ namespace: ns, name: 'dev' }), 'LoadBalancerCapacity');
      return c?.reason === 'LoadBalancerQuotaExceeded' && /: 2 Services/.test(c.message ?? '') ? c.message : undefined;
    });
    assert.equal((await services.get({ namespace: ns, name: 'lima' })).status?.loadBalancerShard, undefined);

    // `slipway plan`, given the same quota, plans no third load balancer either, and says why as the condition does:
    // a Service not placed yet waits there as it does in the operator (not taken as placed on shard 0).
    const planned = await planEnvironment({ SLIPWAY_LOAD_BALANCER_QUOTA: String(full) });
    assert.equal(planned.message, `LoadBalancerQuotaExceeded: ${waiting}`);
    const third = shardLogical(2).loadBalancer;
    assert.deepEqual(
      planned.aws.filter((a) => a.logicalId === third),
      [],
      'the plan holds no load balancer for shard 2',
    );

    // Another team's load balancer goes: nothing in the cluster changes, and the Environment, counting again on its
    // backoff (not only at its 5-minute resync), finds the room.
    await aws.elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: other.LoadBalancers![0]!.LoadBalancerArn! }));
    for (const name of [settled.metadata.name, 'lima']) {
      assert.equal((await ready(name)).status?.loadBalancerShard, 2, `${name} on the third load balancer`);
    }
    await assertRoutedOnShards([settled.metadata.name, 'lima']);
    const after = await eventually('the Environment to have room again', async () => {
      const current = await environments.get({ namespace: ns, name: 'dev' });
      return condition(current, 'LoadBalancerCapacity')?.status === 'True' ? current : undefined;
    });
    assert.deepEqual(
      after.status?.shards?.map((s) => s.index),
      [0, 1, 2],
    );
  });
});
