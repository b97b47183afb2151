// Ownership by tags end to end: an Environment's spec.tags reaching every AWS resource it and its Services own, tag
// drift corrected or reported per driftPolicy, and a Service deleted behind the operator's back and re-created with
// an empty status converging onto the resources its tags say it owns (with and without slipway.dev/adopt).
//
// One Environment for the whole file, without the Cognito gate: Cognito user pools carry real tags, but moto does not
// implement Cognito's TagResource/UntagResource, so a spec.tags change could not be written to a pool here.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DescribeServicesCommand,
  ListServicesCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecs';
import {
  AddTagsCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  RemoveTagsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import type { Environment, Service } from '../../src/api/index.js';
import type { AwsClients } from '../../src/aws/clients.js';
import { ENVIRONMENT_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import type { Operator } from '../../src/operator.js';
import { TAG_OWNER } from '../../src/planner/naming.js';
import type { ResourceKind } from '../../src/planner/plan.js';
import { SERVICE_LOGICAL } from '../../src/planner/service.js';
import { registry } from '../../src/reconcilers/index.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
import { KINDS_WITH_TAGS, tagsOf, type Tags } from '../support/aws-tags.js';
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
import { apply, serviceYaml } from '../support/manifests.js';
import { nudge } from '../support/nudge.js';
import { startOperator } from '../support/operator.js';

const suffix = uniqueSuffix();
const ns = `tags-${suffix}`;
const baseDomain = `tags-${suffix}.shop.test`;
const kube = kubeClient();
const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
const services = kube.resource<Service>(SERVICE_TYPE);
const web = { namespace: ns, name: 'web' };

let aws: AwsClients;
let land: Landscape;
let operator: Operator;

const TAGS_BEFORE = { team: 'platform', 'cost-center': 'cc-100' };
const TAGS_AFTER = { team: 'payments', project: 'checkout' };

/** The file's one Environment: no gate (see above), the shortest resync the CRD allows, and `tags`. */
function environmentYaml(tags: Readonly<Record<string, string>>): string {
  const tagLines = Object.entries(tags)
    .map(([k, v]) => `    ${k}: ${v}`)
    .join('\n');
  return `
apiVersion: slipway.dev/v1alpha1
kind: Environment
metadata: { name: dev, namespace: ${ns} }
spec:
  tier: non-production
  region: us-east-1
  domain: { baseDomain: ${land.baseDomain}, hostedZoneId: ${land.hostedZoneId} }
  network: { vpcId: ${land.vpcId}, subnetIds: [${land.subnetIds.join(', ')}], securityGroupIds: [${land.securityGroupId}] }
  loadBalancer: { certificateArn: "${land.certificateArn}" }
  access: { cognito: { enabled: false } }
  resyncInterval: 30s
  tags:
${tagLines}
`;
}

interface Item {
  readonly owner: string;
  readonly kind: ResourceKind;
  readonly logicalId: string;
  readonly identifier: string;
}

function inventoryOf(owner: string, obj: Environment | Service): Item[] {
  return (obj.status?.resources ?? []).map((r) => ({
    owner,
    kind: r.kind as ResourceKind,
    logicalId: r.logicalId,
    identifier: r.arn ?? r.id ?? '',
  }));
}

function itemOf(svc: Service, logicalId: string): Item {
  const item = inventoryOf('Service', svc).find((i) => i.logicalId === logicalId);
  assert.ok(item, `${logicalId} is in the inventory of ${svc.metadata.name}`);
  return item;
}

const hasTags = (kind: ResourceKind): boolean => (KINDS_WITH_TAGS as readonly string[]).includes(kind);

/** The Environment's and the Service's inventories, split into items with real tags and items with derived ones. */
async function inventories(): Promise<{ tagged: Item[]; derived: Item[]; env: Environment }> {
  const env = await environments.get({ namespace: ns, name: 'dev' });
  const svc = await services.get(web);
  const items = [...inventoryOf(`Environment/${ns}/dev`, env), ...inventoryOf(`Service/${ns}/web`, svc)];
  return { tagged: items.filter((i) => hasTags(i.kind)), derived: items.filter((i) => !hasTags(i.kind)), env };
}

/** What is wrong with an item's tags, measured against the spec tags `want` and the keys that must be gone. */
function tagProblems(item: Item, tags: Tags, want: Tags, gone: readonly string[]): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(want)) {
    if (tags[k] !== v) problems.push(`${item.logicalId} ${k}=${tags[k] ?? '(absent)'}, want ${v}`);
  }
  for (const k of gone) if (k in tags) problems.push(`${item.logicalId} still has ${k}=${tags[k]}`);
  if (tags[TAG_OWNER] !== item.owner) problems.push(`${item.logicalId} owner tag is ${tags[TAG_OWNER] ?? '(absent)'}`);
  return problems;
}

async function records(host: string): Promise<string[]> {
  const out = await aws.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: land.hostedZoneId }));
  return (out.ResourceRecordSets ?? [])
    .filter((r) => r.Name === `${host}.`)
    .map((r) => r.Type ?? '')
    .sort();
}

/** The ARNs of the target groups in the landscape's VPC that carry the Service's owner tag. */
async function ownedTargetGroups(): Promise<string[]> {
  const groups = (await aws.elbv2.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
  const arns = groups.filter((g) => g.VpcId === land.vpcId).map((g) => g.TargetGroupArn!);
  const owned: string[] = [];
  for (let i = 0; i < arns.length; i += 20) {
    const out = await aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: arns.slice(i, i + 20) }));
    for (const d of out.TagDescriptions ?? []) {
      if (d.Tags?.some((t) => t.Key === TAG_OWNER && t.Value === `Service/${ns}/web`)) owned.push(d.ResourceArn!);
    }
  }
  return owned.sort();
}

/** The listener's rules other than its default rule. */
async function listenerRules(env: Environment) {
  const out = await aws.elbv2.send(new DescribeRulesCommand({ ListenerArn: env.status!.loadBalancer!.listenerArn! }));
  return (out.Rules ?? []).filter((r) => !r.IsDefault);
}

/** The ACTIVE ECS services of the Environment's cluster. */
async function activeEcsServices(env: Environment) {
  const cluster = env.status!.clusterArn!;
  const arns = (await aws.ecs.send(new ListServicesCommand({ cluster }))).serviceArns ?? [];
  if (arns.length === 0) return [];
  const out = await aws.ecs.send(new DescribeServicesCommand({ cluster, services: arns }));
  return (out.services ?? []).filter((s) => s.status === 'ACTIVE');
}

/** The AWS resources of the Service that must survive a re-creation, as AWS itself reports them. */
async function awsFootprint(env: Environment) {
  const ecs = await activeEcsServices(env);
  const rules = await listenerRules(env);
  return {
    targetGroups: await ownedTargetGroups(),
    rules: rules.map((r) => r.RuleArn!).sort(),
    ecsServices: ecs.map((s) => `${s.serviceArn} created ${s.createdAt?.toISOString()}`),
  };
}

/**
 * Deletes the Service so that its AWS resources outlive it, then creates it again with an empty status. The
 * operator is stopped meanwhile: running, it would see the deletion and the Environment's sweep would delete the
 * resources of a Service that no longer exists (which is right, but not what this tests), and without the finalizer
 * the Service's own deletion path never runs. The new operator starts with the Service already re-created.
 */
async function recreateService(yaml: string, opts: { adopt: boolean }): Promise<Service> {
  await operator.stop();
  kubectl(['patch', 'services.slipway.dev', 'web', '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  kubectl(['delete', 'services.slipway.dev', 'web', '-n', ns, '--wait=false']);
  await eventually('the Service to be gone', async () => ((await services.find(web)) ? undefined : true));
  apply(yaml);
  if (opts.adopt) kubectl(['annotate', 'services.slipway.dev', 'web', '-n', ns, 'slipway.dev/adopt=true']);
  const fresh = await services.get(web);
  assert.equal(fresh.status, undefined, 'the re-created Service starts with an empty status');
  assert.ok(!fresh.metadata.finalizers?.length, 'and without the finalizer');
  operator = await startOperator();
  return fresh;
}

/** Write calls that would create a second copy of something the Service already owns. */
function creates(writes: Record<string, number>): string[] {
  return Object.keys(writes).filter((k) => /:(Create|Register)/.test(k));
}

describe('ownership by tags: spec.tags, tag drift, and re-created Services', { timeout: 600_000 }, () => {
  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    land = await createLandscape(aws, baseDomain);
    operator = await startOperator();
    apply(environmentYaml(TAGS_BEFORE));
    apply(serviceYaml(ns, 'web'));
    await waitForCondition(environments, { namespace: ns, name: 'dev' }, 'Ready', 'True', { timeoutMs: 120_000 });
    await waitForCondition(services, web, 'Ready', 'True', { timeoutMs: 120_000 });
  });
  after(async () => {
    await operator?.stop();
    aws?.destroy();
  });

  test('a spec.tags change reaches every owned resource that carries tags, and a removed tag goes', async () => {
    // Kinds with derived ownership carry no tags of their own and are not asserted: Route53 records (a companion
    // TXT record names the owner), Cognito app clients, domains and users (the user pool's tags), and Application
    // Auto Scaling targets and policies (the ECS service's). In this file only the Service's DNS record is one.
    const initial = await inventories();
    for (const item of initial.tagged) {
      const problems = tagProblems(item, await tagsOf(aws, item.kind, item.identifier), TAGS_BEFORE, []);
      assert.deepEqual(problems, [], 'before the change every resource carries the spec tags');
    }

    apply(environmentYaml(TAGS_AFTER));
    let last: string[] = [];
    const done = await eventually(
      'the new spec.tags on every owned resource',
      async () => {
        const inv = await inventories();
        if (inv.env.status?.observedGeneration !== inv.env.metadata.generation) return undefined;
        last = [];
        for (const item of inv.tagged) {
          last.push(...tagProblems(item, await tagsOf(aws, item.kind, item.identifier), TAGS_AFTER, ['cost-center']));
        }
        return last.length === 0 ? inv : undefined;
      },
      90_000,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\nstill wrong: ${last.join('; ')}`);
    });

    // Not vacuous: every kind with tags that the Environment and the Service own was read.
    assert.deepEqual([...new Set(done.tagged.map((i) => i.kind))].sort(), [
      'ec2.SecurityGroup',
      'ecs.Cluster',
      'ecs.Service',
      'ecs.TaskDefinition',
      'elbv2.Listener',
      'elbv2.ListenerRule',
      'elbv2.LoadBalancer',
      'elbv2.TargetGroup',
      'logs.LogGroup',
    ]);
    assert.deepEqual(
      done.derived.map((i) => i.kind),
      ['route53.Record'],
      'the only item skipped is the derived one',
    );
    for (const item of done.derived) assert.equal(registry[item.kind].tagging, 'derived');
    for (const item of done.tagged) assert.equal(registry[item.kind].tagging, 'tags');
  });

  test('under driftPolicy Correct a tag removed or changed by hand comes back, with a DriftCorrected Event', async () => {
    const svc = await services.get(web);
    const tg = itemOf(svc, SERVICE_LOGICAL.targetGroup);
    const ecs = itemOf(svc, SERVICE_LOGICAL.service);
    await aws.elbv2.send(new RemoveTagsCommand({ ResourceArns: [tg.identifier], TagKeys: ['team'] }));
    await aws.ecs.send(
      new TagResourceCommand({ resourceArn: ecs.identifier, tags: [{ key: 'project', value: 'tampered' }] }),
    );
    // No read-back here: a periodic pass may already be putting them back. The drift items below (actual values
    // "(absent)" and "tampered") show that the operator saw both changes.
    await nudge(operator, 'service', ns, 'web');
    assert.equal((await tagsOf(aws, tg.kind, tg.identifier)).team, 'payments', 'the removed tag is back');
    assert.equal((await tagsOf(aws, ecs.kind, ecs.identifier)).project, 'checkout', 'the changed value is back');

    const after = await services.get(web);
    const drift = (after.status?.drift ?? []).map((d) => `${d.logicalId} ${d.path} ${d.actual} ${d.action}`);
    assert.ok(drift.includes('target-group tags.team (absent) Corrected'), drift.join('; '));
    assert.ok(drift.includes('ecs-service tags.project tampered Corrected'), drift.join('; '));
    assert.equal(condition(after, 'Ready')?.status, 'True');
    const events = eventsOf(ns, { reason: 'DriftCorrected' })
      .map((e) => e.message)
      .join('\n');
    assert.match(events, /corrected drift on target-group: [^,]*tags\.team/);
    assert.match(events, /corrected drift on ecs-service: [^,]*tags\.project/);
  });

  test('under driftPolicy Report tag drift is reported as tags.<key> and AWS is left untouched', async () => {
    apply(serviceYaml(ns, 'web', { extra: '  driftPolicy: Report\n' }));
    await eventually('the Report policy to be observed', async () => {
      const s = await services.get(web);
      return s.status?.observedGeneration === s.metadata.generation ? s : undefined;
    });
    const svc = await services.get(web);
    const tg = itemOf(svc, SERVICE_LOGICAL.targetGroup);
    const ecs = itemOf(svc, SERVICE_LOGICAL.service);
    await aws.ecs.send(new UntagResourceCommand({ resourceArn: ecs.identifier, tagKeys: ['team'] }));
    await aws.elbv2.send(
      new AddTagsCommand({ ResourceArns: [tg.identifier], Tags: [{ Key: 'project', Value: 'tampered' }] }),
    );

    const calls = operator.calls.snapshot();
    await nudge(operator, 'service', ns, 'web');
    const after = await services.get(web);
    const drifted = condition(after, 'Drifted');
    assert.equal(drifted?.status, 'True');
    assert.equal(drifted?.reason, 'DriftReported');
    assert.match(drifted!.message!, /ecs-service tags\.team is \(absent\), want payments/);
    assert.match(drifted!.message!, /target-group tags\.project is tampered, want checkout/);
    const drift = (after.status?.drift ?? []).map((d) => `${d.logicalId} ${d.path} ${d.actual} ${d.action}`);
    assert.ok(drift.includes('ecs-service tags.team (absent) Reported'), drift.join('; '));
    assert.ok(drift.includes('target-group tags.project tampered Reported'), drift.join('; '));
    assert.deepEqual(operator.calls.writesSince(calls), {}, 'Report makes no AWS writes');
    assert.equal((await tagsOf(aws, ecs.kind, ecs.identifier)).team, undefined, 'the removed tag stays removed');
    assert.equal((await tagsOf(aws, tg.kind, tg.identifier)).project, 'tampered', 'the changed value stays');

    // Back to Correct: the next pass puts both back.
    apply(serviceYaml(ns, 'web'));
    await waitForCondition(services, web, 'Drifted', 'False');
    assert.equal((await tagsOf(aws, ecs.kind, ecs.identifier)).team, 'payments');
    assert.equal((await tagsOf(aws, tg.kind, tg.identifier)).project, 'checkout');
  });

  test('a Service re-created without slipway.dev/adopt finds its old resources by tag, creating no copies', async () => {
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const old = await services.get(web);
    const footprint = await awsFootprint(env);
    assert.equal(footprint.targetGroups.length, 1);
    assert.equal(footprint.rules.length, 1);
    assert.equal(footprint.ecsServices.length, 1);

    await recreateService(serviceYaml(ns, 'web'), { adopt: false });
    const svc = await waitForCondition(services, web, 'Ready', 'True', { timeoutMs: 90_000 });
    assert.equal(svc.status?.targetGroupArn, old.status?.targetGroupArn, 'the same target group');
    assert.equal(svc.status?.ruleArn, old.status?.ruleArn, 'the same listener rule');
    assert.equal(itemOf(svc, SERVICE_LOGICAL.service).identifier, itemOf(old, SERVICE_LOGICAL.service).identifier);
    assert.deepEqual(
      inventoryOf('Service', svc).map((i) => `${i.kind} ${i.identifier}`),
      inventoryOf('Service', old).map((i) => `${i.kind} ${i.identifier}`),
      'the status inventory is rebuilt from what AWS holds',
    );
    assert.deepEqual(await awsFootprint(env), footprint, 'nothing was created, replaced or duplicated in AWS');
    const writes = operator.calls.writesSince(new Map());
    assert.deepEqual(creates(writes), [], `no create calls (writes: ${JSON.stringify(writes)})`);
  });

  test('a Service re-created with slipway.dev/adopt and a new subdomain keeps its resources and drops the old record', async () => {
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const old = await services.get(web);
    const footprint = await awsFootprint(env);
    const oldHost = `web.${baseDomain}`;
    const newHost = `shop.${baseDomain}`;
    assert.deepEqual(await records(oldHost), ['A', 'TXT']);

    await recreateService(serviceYaml(ns, 'web', { subdomain: 'shop' }), { adopt: true });
    const svc = await waitForCondition(services, web, 'Ready', 'True', { timeoutMs: 90_000 });
    assert.equal(svc.status?.url, `https://${newHost}`);
    assert.equal(svc.status?.targetGroupArn, old.status?.targetGroupArn, 'the same target group');
    assert.equal(svc.status?.ruleArn, old.status?.ruleArn, 'the same listener rule, now routing the new host');
    assert.equal(itemOf(svc, SERVICE_LOGICAL.service).identifier, itemOf(old, SERVICE_LOGICAL.service).identifier);
    assert.deepEqual(await awsFootprint(env), footprint, 'nothing was created, replaced or duplicated in AWS');
    const writes = operator.calls.writesSince(new Map());
    assert.deepEqual(
      creates(writes).filter((k) => !k.startsWith('route53:')),
      [],
      `only the new DNS record is created (writes: ${JSON.stringify(writes)})`,
    );

    const [rule] = await listenerRules(env);
    const hosts = (rule?.Conditions ?? [])
      .filter((c) => c.Field === 'host-header')
      .flatMap((c) => c.HostHeaderConfig?.Values ?? c.Values ?? []);
    assert.deepEqual(hosts, [newHost]);
    assert.deepEqual(await records(newHost), ['A', 'TXT'], 'the record at the new subdomain exists');
    assert.deepEqual(
      await records(oldHost),
      [],
      'the leftover at the old subdomain, found by its owner record, is gone',
    );
    const recordItems = inventoryOf('Service', svc).filter((i) => i.kind === 'route53.Record');
    assert.equal(recordItems.length, 1, JSON.stringify(recordItems));
    assert.match(recordItems[0]!.identifier, /shop\./);
  });
});
