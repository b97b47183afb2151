// Drift events end to end: a real kube-apiserver, the operator in-process and moto. An Environment with
// spec.drift.events owns an EventBridge rule and an SQS queue; CloudTrail-shaped events, injected with PutEvents
// (moto delivers EventBridge to SQS but emits no CloudTrail events), reach the queue through the rule, and the
// operator reconciles exactly the custom resource owning the changed resource, ignores its own calls and malformed
// events, and deletes every message. An Environment in eu-west-1 owns a second pair in us-east-1, where Route53's and
// CloudFront's events arrive. Reconciles are counted per key from the controllers' own log lines.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { DescribeUserPoolClientCommand, UpdateUserPoolClientCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  DescribeLoadBalancerAttributesCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  RemoveTagsCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeRuleCommand, ListTagsForResourceCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import pino from 'pino';
import type { Environment, Service } from '../../src/api/index.js';
import type { AwsClients } from '../../src/aws/clients.js';
import { ENVIRONMENT_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import { RESYNC_ANNOTATION, ROTATION_SLOTS } from '../../src/controllers/waves.js';
import { clusterScanKey } from '../../src/reconcilers/cluster-tags.js';
import { runsSettled } from '../../src/controllers/workload.js';
import { TAG_ENVIRONMENT } from '../../src/planner/naming.js';
import { rotationSlotOf } from '../../src/reconcilers/contract.js';
import type { Operator } from '../../src/operator.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
import { createNamespace, eventually, installCrds, kubeClient, kubectl, waitForCondition } from '../support/kube.js';
import { apply, environmentYaml, serviceYaml } from '../support/manifests.js';
import { waitQuiet } from '../support/nudge.js';
import { TEST_CLUSTER_ID, startOperator } from '../support/operator.js';
import { CLOUDTRAIL_DETAIL_TYPE, modifyRuleHostCall, putCloudTrailEvent, putEntry } from '../support/cloudtrail.js';

const suffix = uniqueSuffix();
const ns = `drift-${suffix}`;
const baseDomain = `drift-${suffix}.shop.test`;
const kube = kubeClient();
const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
const services = kube.resource<Service>(SERVICE_TYPE);
/** The operator's session name in these tests: SLIPWAY_AWS_SESSION_NAME's default for cluster id `test`. */
const OWN_SESSION = 'slipway-test';
/** The region of the Environment whose Route53 and CloudFront events arrive in us-east-1 (moto serves both). */
const FAR_REGION = 'eu-west-1';

let aws: AwsClients;
let farAws: AwsClients;
let land: Landscape;
let operator: Operator;

/** Reconciles finished per `controller/namespace/name`, from the controllers' log lines. */
const reconciles = new Map<string, number>();
const FINISHED = /^(reconciled|reconcile failed)/;
/** The `why` of each "malformed event dropped" warning the operator logged. */
const malformedLogged: string[] = [];
/** The number of each resync wave the operator opened, from its log. */
const wavesLogged: number[] = [];
const logSink = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.includes('"drift events: malformed event dropped"'))
        malformedLogged.push((JSON.parse(line) as { why?: string }).why ?? '');
      if (line.includes('"msg":"resync wave"')) wavesLogged.push((JSON.parse(line) as { wave: number }).wave);
      if (!line.includes('"reconcileId"')) continue;
      const entry = JSON.parse(line) as { controller?: string; key?: string; msg?: string };
      if (entry.controller && entry.key && FINISHED.test(entry.msg ?? '')) {
        const k = `${entry.controller}/${entry.key}`;
        reconciles.set(k, (reconciles.get(k) ?? 0) + 1);
      }
    }
    done();
  },
});

/** The operator, logging at debug level into the sink that counts reconciles. */
function startCountingOperator(): Promise<Operator> {
  return startOperator({}, { logger: pino({ level: 'debug' }, logSink) });
}

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await operator.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((n, v) => n + v.value, 0);
}

const inventory = (obj: { status?: { resources?: readonly { kind: string; arn?: string; id?: string }[] } }) =>
  obj.status?.resources ?? [];

/** The region of an EventBridge rule or SQS queue ARN. */
const regionOf = (arn: string) => arn.split(':')[3]!;

/** The clients of `region`: the test environment's (us-east-1) or FAR_REGION's. */
const awsIn = (region: string): AwsClients => (region === FAR_REGION ? farAws : aws);

/** The URL of Environment `name`'s queue in `region`. */
async function queueUrl(name = 'dev', region = 'us-east-1'): Promise<string> {
  const env = await environments.get({ namespace: ns, name });
  const arn = inventory(env).find((r) => r.kind === 'sqs.Queue' && regionOf(r.arn ?? '') === region)!.arn!;
  const queue = arn.split(':').at(-1)!;
  return (await awsIn(region).sqs.send(new GetQueueUrlCommand({ QueueName: queue }))).QueueUrl!;
}

/** Injects one CloudTrail management event, in the shape CloudTrail gives EventBridge. */
function injectCloudTrail(
  service: string,
  eventName: string,
  requestParameters: Record<string, unknown>,
  opts: { session?: string; responseElements?: unknown } = {},
): Promise<void> {
  return putCloudTrailEvent(aws.events, { service, eventName, requestParameters, region: 'us-east-1', ...opts });
}

function injectRaw(source: string, detail: unknown): Promise<void> {
  return putEntry(aws.events, { Source: source, DetailType: CLOUDTRAIL_DETAIL_TYPE, Detail: JSON.stringify(detail) });
}

/**
 * Waits until the operator has received `n` more events than `before`, the queue holds no message (every one was
 * deleted) and the controllers have gone quiet.
 */
async function handled(before: number, n: number, queue = { env: 'dev', region: 'us-east-1' }): Promise<void> {
  const url = await queueUrl(queue.env, queue.region);
  await eventually(
    `${n} drift events received, deleted and their reconciles finished`,
    async () => {
      if ((await counter('slipway_drift_events_received_total')) < before + n) return undefined;
      const q = await awsIn(queue.region).sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      const left =
        Number(q.Attributes?.ApproximateNumberOfMessages ?? 1) +
        Number(q.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 1);
      return left === 0 && operator.idle() ? true : undefined;
    },
    60_000,
    100,
  );
}

/** The keys whose reconcile count changed since `snapshot`, with by how much. */
function reconciledSince(snapshot: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of reconciles) if (n !== (snapshot.get(k) ?? 0)) out[k] = n - (snapshot.get(k) ?? 0);
  return out;
}

/** Asks the dev Environment for a resync wave and waits until it opened and every pass it caused finished: its calls. */
async function resyncWave(): Promise<Record<string, number>> {
  const next = (wavesLogged.at(-1) ?? 0) + 1;
  await waitQuiet(operator);
  const before = operator.calls.snapshot();
  kubectl(['annotate', '--overwrite', 'environments.slipway.dev', 'dev', '-n', ns, `${RESYNC_ANNOTATION}=${next}`]);
  await eventually(`wave ${next} to open`, async () => (wavesLogged.includes(next) ? true : undefined));
  await waitQuiet(operator);
  const calls: Record<string, number> = {};
  for (const [key, n] of operator.calls.snapshot()) {
    const op = key.split(':').slice(0, 2).join(':');
    if (n > (before.get(key) ?? 0)) calls[op] = (calls[op] ?? 0) + n - (before.get(key) ?? 0);
  }
  return calls;
}

async function ruleHosts(ruleArn: string): Promise<string[]> {
  const out = await aws.elbv2.send(new DescribeRulesCommand({ RuleArns: [ruleArn] }));
  return (out.Rules?.[0]?.Conditions ?? [])
    .filter((c) => c.Field === 'host-header')
    .flatMap((c) => c.HostHeaderConfig?.Values ?? c.Values ?? []);
}

/** Milliseconds from now until `check` holds, polled every 100 ms (a measurement, not a synchronisation). */
async function timeUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = Date.now();
  await eventually(what, async () => ((await check()) ? true : undefined), timeoutMs, 100);
  return Date.now() - start;
}

const measured: Record<string, number> = {};

describe('drift events', { timeout: 900_000 }, () => {
  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    farAws = testAws(undefined, FAR_REGION);
    land = await createLandscape(aws, baseDomain);
    operator = await startCountingOperator();
  });
  after(async () => {
    await operator?.stop();
    aws?.destroy();
    farAws?.destroy();
    if (Object.keys(measured).length > 0) console.log(`drift events timings (ms): ${JSON.stringify(measured)}`);
  });

  test('an Environment with drift.events owns an EventBridge rule whose only target is a queue admitting only it', async () => {
    // A resync far away, so every reconcile in the next tests is one an event (or a test) caused.
    apply(environmentYaml(ns, land, 'dev', '  drift: { events: true }\n  resyncInterval: 24h'));
    apply(serviceYaml(ns, 'catalog'));
    const env = await waitForCondition(environments, { namespace: ns, name: 'dev' }, 'Ready', 'True', {
      timeoutMs: 180_000,
    });
    await waitForCondition(services, { namespace: ns, name: 'catalog' }, 'Ready', 'True', { timeoutMs: 180_000 });
    const rule = inventory(env).find((r) => r.kind === 'events.Rule');
    const queue = inventory(env).find((r) => r.kind === 'sqs.Queue');
    assert.ok(rule?.arn && queue?.arn, 'the rule and the queue are in the inventory');
    assert.equal(
      inventory(env).filter((r) => r.kind === 'events.Rule').length,
      1,
      'in us-east-1 one rule serves the regional and the global services',
    );

    const ruleName = rule.arn.split('/').at(-1)!;
    const described = await aws.events.send(new DescribeRuleCommand({ Name: ruleName }));
    assert.equal(described.State, 'ENABLED');
    const pattern = JSON.parse(described.EventPattern!) as { $or: { 'detail-type': string[]; source: string[] }[] };
    assert.deepEqual(pattern.$or[0]!['detail-type'], ['AWS API Call via CloudTrail']);
    for (const s of ['aws.elasticloadbalancing', 'aws.ecs', 'aws.cognito-idp', 'aws.route53', 'aws.cloudfront'])
      assert.ok(pattern.$or[0]!.source.includes(s), `the rule matches ${s}`);
    const targets = await aws.events.send(new ListTargetsByRuleCommand({ Rule: ruleName }));
    assert.deepEqual(
      targets.Targets?.map((t) => t.Arn),
      [queue.arn],
    );
    const tags = await aws.events.send(new ListTagsForResourceCommand({ ResourceARN: rule.arn }));
    assert.ok(
      tags.Tags?.some((t) => t.Key === 'slipway.dev/owner' && t.Value === `Environment/${ns}/dev`),
      'the rule carries the ownership tags',
    );

    const attrs = await aws.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: await queueUrl(), AttributeNames: ['Policy'] }),
    );
    const policy = JSON.parse(attrs.Attributes!.Policy!) as {
      Statement: { Principal: unknown; Action: string; Resource: string; Condition: unknown }[];
    };
    assert.equal(policy.Statement.length, 1);
    assert.deepEqual(policy.Statement[0]!.Principal, { Service: 'events.amazonaws.com' });
    assert.equal(policy.Statement[0]!.Resource, queue.arn);
    assert.deepEqual(policy.Statement[0]!.Condition, { ArnEquals: { 'aws:SourceArn': rule.arn } });

    await eventually('the operator to poll the queue', async () =>
      operator.driftEvents.polling.includes(queue.arn!) ? true : undefined,
    );
  });

  test('ModifyRule out of band: the Service owning the rule is reconciled, and no other resource; the rule is corrected', async () => {
    const svc = await services.get({ namespace: ns, name: 'catalog' });
    const ruleArn = svc.status!.ruleArn!;
    const host = `catalog.${baseDomain}`;
    assert.deepEqual(await ruleHosts(ruleArn), [host]);
    // Counted from a quiet operator: a pass still queued from the previous step would be counted as this event's.
    await waitQuiet(operator);
    const snapshot = new Map(reconciles);
    const received = await counter('slipway_drift_events_received_total');
    const handledBefore = await counter('slipway_drift_events_handled_total');

    const conditions = [{ Field: 'host-header', HostHeaderConfig: { Values: [`evil.${baseDomain}`] } }];
    await aws.elbv2.send(new ModifyRuleCommand({ RuleArn: ruleArn, Conditions: conditions }));
    const started = Date.now();
    await putCloudTrailEvent(
      aws.events,
      modifyRuleHostCall(ruleArn, [`evil.${baseDomain}`], 'us-east-1', { priority: svc.status!.priority }),
    );
    await eventually('the rule to route the Service host again', async () =>
      (await ruleHosts(ruleArn)).join() === host ? true : undefined,
    );
    measured.eventsOnModifyRuleMs = Date.now() - started;
    await handled(received, 1);

    assert.deepEqual(reconciledSince(snapshot), { [`service/${ns}/catalog`]: 1 });
    assert.equal(await counter('slipway_drift_events_handled_total'), handledBefore + 1);
  });

  test('ChangeResourceRecordSets in the zone: the Service owning the record is reconciled and the alias restored', async () => {
    const name = `catalog.${baseDomain}`;
    const aRecord = async () =>
      (
        await aws.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: land.hostedZoneId }))
      ).ResourceRecordSets?.find((r) => r.Type === 'A' && r.Name?.replace(/\.$/, '') === name);
    const original = await aRecord();
    assert.ok(original?.AliasTarget, 'the Service has its alias record');
    // Counted from a quiet operator: a pass still queued from the previous step would be counted as this event's.
    await waitQuiet(operator);
    const snapshot = new Map(reconciles);
    const received = await counter('slipway_drift_events_received_total');

    const change = {
      Action: 'UPSERT' as const,
      ResourceRecordSet: {
        Name: name,
        Type: 'A' as const,
        AliasTarget: {
          HostedZoneId: original.AliasTarget.HostedZoneId!,
          DNSName: 'elsewhere.example.net',
          EvaluateTargetHealth: false,
        },
      },
    };
    await aws.route53.send(
      new ChangeResourceRecordSetsCommand({ HostedZoneId: land.hostedZoneId, ChangeBatch: { Changes: [change] } }),
    );
    await injectCloudTrail('route53', 'ChangeResourceRecordSets', {
      hostedZoneId: land.hostedZoneId,
      changeBatch: {
        changes: [
          {
            action: 'UPSERT',
            resourceRecordSet: {
              name,
              type: 'A',
              aliasTarget: { hostedZoneId: original.AliasTarget.HostedZoneId, dNSName: 'elsewhere.example.net' },
            },
          },
        ],
      },
    });
    await handled(received, 1);
    assert.deepEqual(reconciledSince(snapshot), { [`service/${ns}/catalog`]: 1 });
    const restored = await aRecord();
    assert.equal(restored?.AliasTarget?.DNSName, original.AliasTarget.DNSName, 'the alias points at the ALB again');
  });

  test('UpdateService by cluster and service name: the Service is reconciled, and no other resource', async () => {
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const clusterArn = env.status!.clusterArn!;
    // Counted from a quiet operator: a pass still queued from the previous step would be counted as this event's.
    await waitQuiet(operator);
    const snapshot = new Map(reconciles);
    const received = await counter('slipway_drift_events_received_total');
    await aws.ecs.send(
      new UpdateServiceCommand({
        cluster: clusterArn,
        service: 'catalog',
        deploymentConfiguration: { minimumHealthyPercent: 0, maximumPercent: 100 },
      }),
    );
    await injectCloudTrail(
      'ecs',
      'UpdateService',
      {
        cluster: clusterArn.split('/').at(-1),
        service: 'catalog',
        deploymentConfiguration: { minimumHealthyPercent: 0, maximumPercent: 100 },
      },
      { responseElements: { service: { serviceName: 'catalog', clusterArn } } },
    );
    await handled(received, 1);
    assert.deepEqual(reconciledSince(snapshot), { [`service/${ns}/catalog`]: 1 });
    const out = await aws.ecs.send(new DescribeServicesCommand({ cluster: clusterArn, services: ['catalog'] }));
    assert.notEqual(
      out.services?.[0]?.deploymentConfiguration?.minimumHealthyPercent,
      0,
      'the deployment configuration is corrected',
    );
  });

  test("ECS's own event of a task STOPPED: the Service running it is reconciled; another cluster's task is not delivered", async () => {
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const clusterArn = env.status!.clusterArn!;
    // Counted from a quiet operator: a pass still queued from the previous step would be counted as this event's.
    await waitQuiet(operator);
    const snapshot = new Map(reconciles);
    const received = await counter('slipway_drift_events_received_total');
    const stopped = (cluster: string) => ({
      Source: 'aws.ecs',
      DetailType: 'ECS Task State Change',
      Resources: [`${cluster.replace(':cluster/', ':task/')}/0123456789abcdef`],
      Detail: JSON.stringify({
        clusterArn: cluster,
        group: 'service:catalog',
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        stopCode: 'EssentialContainerExited',
      }),
    });
    // First another cluster's (the rule does not match it), then this Environment's: one event reaches the queue.
    await putEntry(aws.events, stopped(clusterArn.replace(/cluster\/.*$/, 'cluster/someone-else')));
    await putEntry(aws.events, stopped(clusterArn));
    await handled(received, 1);
    assert.equal(await counter('slipway_drift_events_received_total'), received + 1, 'only the own cluster event');
    assert.deepEqual(reconciledSince(snapshot), { [`service/${ns}/catalog`]: 1 });
  });

  test("a rotating wave reads a shard's load balancer, listeners and app client only in their turn; a change to one out of turn is seen by its drift event", async () => {
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const lbArn = env.status!.loadBalancer!.arn!;
    const client = `${env.status!.cognito!.userPoolId}/${env.status!.cognito!.clientId}`;
    assert.ok(!env.status?.driftCount, 'no drift reported: the Environment reads with the rotation');
    const idleTimeout = async () =>
      (await aws.elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lbArn }))).Attributes?.find(
        (a) => a.Key === 'idle_timeout.timeout_seconds',
      )?.Value;
    // A wave whose slot is neither the shard's (its load balancer and listeners) nor its app client's.
    const turns = new Set([rotationSlotOf(lbArn, ROTATION_SLOTS), rotationSlotOf(client, ROTATION_SLOTS)]);
    while (turns.has(((wavesLogged.at(-1) ?? 0) + 1) % ROTATION_SLOTS)) await resyncWave();

    await aws.elbv2.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: lbArn,
        Attributes: [{ Key: 'idle_timeout.timeout_seconds', Value: '61' }],
      }),
    );
    const calls = await resyncWave();
    for (const op of [
      'elbv2:DescribeLoadBalancerAttributes',
      'elbv2:DescribeListeners',
      'cognito-idp:DescribeUserPoolClient',
      'cognito-idp:ListUserPoolClients',
    ])
      assert.equal(calls[op], undefined, `${op} in ${JSON.stringify(calls)}`);
    assert.equal(await idleTimeout(), '61', 'left unread: not corrected by the wave');
    assert.ok(!(await environments.get({ namespace: ns, name: 'dev' })).status?.driftCount, 'and no drift reported');

    // Its drift event: the Environment's next pass reads every shard.
    const snapshot = new Map(reconciles);
    const received = await counter('slipway_drift_events_received_total');
    await injectCloudTrail('elasticloadbalancing', 'ModifyLoadBalancerAttributes', {
      loadBalancerArn: lbArn,
      attributes: [{ key: 'idle_timeout.timeout_seconds', value: '61' }],
    });
    await handled(received, 1);
    assert.deepEqual(reconciledSince(snapshot), { [`environment/${ns}/dev`]: 1 });
    assert.equal(await idleTimeout(), '60', 'corrected');
  });

  test("a rotating wave out of the turn of the cluster's tag scan reads no page of it, neither for the sweep nor for a member; an unsettled member reads its own resources and restores a removed tag", async () => {
    const svc = await services.get({ namespace: ns, name: 'catalog' });
    // The emulator never completes a deployment: the Service is not settled, so it reads every resource every wave
    // (PassScope.unsettled), its own, one by one, rather than start the scan for itself.
    assert.ok(!runsSettled(svc.status));
    const tgArn = inventory(svc).find((r) => r.kind === 'elbv2.TargetGroup')!.arn!;
    const environmentTag = async () =>
      (await aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: [tgArn] }))).TagDescriptions?.[0]?.Tags?.find(
        (t) => t.Key === TAG_ENVIRONMENT,
      )?.Value;
    const tagged = await environmentTag();
    assert.ok(tagged);
    const scanTurn = rotationSlotOf(clusterScanKey(TEST_CLUSTER_ID), ROTATION_SLOTS);
    /** The calls of the next wave out of the scan's turn. */
    const offTurnWave = async () => {
      while (((wavesLogged.at(-1) ?? 0) + 1) % ROTATION_SLOTS === scanTurn) await resyncWave();
      return resyncWave();
    };
    const drift = async () => (await services.get({ namespace: ns, name: 'catalog' })).status?.drift;
    const reported = await drift();
    const quiet = await offTurnWave();
    assert.equal(quiet['tagging:GetResources'], undefined, JSON.stringify(quiet));
    assert.deepEqual(
      Object.keys(quiet).filter((op) => !/:(Describe|List|Get)/.test(op)),
      [],
      'no write',
    );
    assert.deepEqual(await drift(), reported, 'no drift reported');

    await aws.elbv2.send(new RemoveTagsCommand({ ResourceArns: [tgArn], TagKeys: [TAG_ENVIRONMENT] }));
    const calls = await offTurnWave();
    assert.equal(calls['tagging:GetResources'], undefined, JSON.stringify(calls));
    assert.equal(calls['elbv2:AddTags'], 1, 'the removed tag, seen by its own read of the tags');
    assert.equal(await environmentTag(), tagged);
  });

  test("UpdateUserPoolClient: the Environment owning the gate's app client is reconciled and its callback URL restored", async () => {
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const userPoolId = env.status!.cognito!.userPoolId!;
    const clientId = env.status!.cognito!.clientId!;
    const callback = `https://catalog.${baseDomain}/oauth2/idpresponse`;
    const callbacks = async () =>
      (await aws.cognito.send(new DescribeUserPoolClientCommand({ UserPoolId: userPoolId, ClientId: clientId })))
        .UserPoolClient?.CallbackURLs ?? [];
    assert.deepEqual(await callbacks(), [callback]);
    // Counted from a quiet operator: a pass still queued from the previous step would be counted as this event's.
    await waitQuiet(operator);
    const snapshot = new Map(reconciles);
    const received = await counter('slipway_drift_events_received_total');
    await aws.cognito.send(
      new UpdateUserPoolClientCommand({
        UserPoolId: userPoolId,
        ClientId: clientId,
        CallbackURLs: ['https://evil.example.net/oauth2/idpresponse'],
      }),
    );
    await injectCloudTrail('cognito-idp', 'UpdateUserPoolClient', {
      userPoolId,
      clientId,
      callbackURLs: ['https://evil.example.net/oauth2/idpresponse'],
    });
    await handled(received, 1);
    assert.deepEqual(reconciledSince(snapshot), { [`environment/${ns}/dev`]: 1 });
    assert.deepEqual(await callbacks(), [callback]);
  });

  test("the operator's own calls and malformed events are ignored, and their messages deleted; a malformed one is logged and the next event still handled", async () => {
    const svc = await services.get({ namespace: ns, name: 'catalog' });
    const logged = malformedLogged.length;
    // Counted from a quiet operator: a pass still queued from the previous step would be counted as this event's.
    await waitQuiet(operator);
    const snapshot = new Map(reconciles);
    const received = await counter('slipway_drift_events_received_total');
    const own = await counter('slipway_drift_events_ignored_total', { reason: 'own-call' });
    const malformed = await counter('slipway_drift_events_ignored_total', { reason: 'malformed' });

    await injectCloudTrail(
      'elasticloadbalancing',
      'ModifyRule',
      { ruleArn: svc.status!.ruleArn! },
      { session: OWN_SESSION },
    );
    // A CloudTrail detail-type without the fields of an API call, and one whose request is not an object.
    await injectRaw('aws.elasticloadbalancing', { eventVersion: '1.09', surprise: true });
    await injectRaw('aws.ecs', {
      eventSource: 'ecs.amazonaws.com',
      eventName: 'UpdateService',
      requestParameters: 'x',
    });
    await handled(received, 3);

    assert.deepEqual(reconciledSince(snapshot), {}, 'nothing was reconciled');
    assert.equal(await counter('slipway_drift_events_ignored_total', { reason: 'own-call' }), own + 1);
    assert.equal(await counter('slipway_drift_events_ignored_total', { reason: 'malformed' }), malformed + 1);
    assert.equal(
      (await counter('slipway_drift_events_ignored_total', { reason: 'no-resource' })) > 0,
      true,
      'a request that names nothing is dropped',
    );
    assert.deepEqual(malformedLogged.slice(logged), ['no eventSource or eventName'], 'the malformed event is logged');

    // Without harm: the queue's next event is handled as usual (a person's ModifyRule that left the rule as it was).
    await injectCloudTrail('elasticloadbalancing', 'ModifyRule', { ruleArn: svc.status!.ruleArn! });
    await handled(received + 3, 1);
    assert.deepEqual(reconciledSince(snapshot), { [`service/${ns}/catalog`]: 1 });
  });

  test('measured: an out-of-band change corrected by the resync alone (no event), for comparison', async () => {
    // Events off for this change: nothing is injected, so only the periodic resync (30 s here) can see it.
    kubectl([
      'patch',
      'environments.slipway.dev',
      'dev',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"resyncInterval":"30s"}}',
    ]);
    const svc = await services.get({ namespace: ns, name: 'catalog' });
    const ruleArn = svc.status!.ruleArn!;
    const host = `catalog.${baseDomain}`;
    // The patch reconciles the Environment and its Services, which then resync every 30 s.
    await eventually('the Environment to apply the patch', async () => {
      const env = await environments.get({ namespace: ns, name: 'dev' });
      return env.status?.observedGeneration === env.metadata.generation && operator.idle() ? true : undefined;
    });
    const conditions = [{ Field: 'host-header', HostHeaderConfig: { Values: [`evil.${baseDomain}`] } }];
    await aws.elbv2.send(new ModifyRuleCommand({ RuleArn: ruleArn, Conditions: conditions }));
    measured.resyncOnlyModifyRuleMs = await timeUntil(
      'the resync to correct the rule',
      async () => (await ruleHosts(ruleArn)).join() === host,
      120_000,
    );
  });

  test('deleting the Environment deletes its rule and queue', async () => {
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const rule = inventory(env).find((r) => r.kind === 'events.Rule')!.arn!;
    const queue = inventory(env).find((r) => r.kind === 'sqs.Queue')!.arn!;
    kubectl(['delete', 'services.slipway.dev', 'catalog', '-n', ns, '--wait=false']);
    kubectl(['delete', 'environments.slipway.dev', 'dev', '-n', ns, '--wait=false']);
    await eventually(
      'the Environment to be gone',
      async () => ((await environments.find({ namespace: ns, name: 'dev' })) ? undefined : true),
      240_000,
    );
    // And its Service with it: the later tests count the reconciles an event causes, and a deletion still retrying
    // would be counted among them.
    await eventually(
      'the Service catalog to be gone',
      async () => ((await services.find({ namespace: ns, name: 'catalog' })) ? undefined : true),
      240_000,
    );
    // Nor is its ECS service followed any more: a rollout poll finding it gone queued a pass of the deleted Service.
    assert.equal(operator.rollouts.size, 0, 'no rollout followed');
    await assert.rejects(
      aws.events.send(new DescribeRuleCommand({ Name: rule.split('/').at(-1)! })),
      /ResourceNotFound|does not exist/,
    );
    await assert.rejects(
      aws.sqs.send(new GetQueueUrlCommand({ QueueName: queue.split(':').at(-1)! })),
      /NonExistentQueue|does not exist/i,
    );
    assert.ok(!operator.driftEvents.polling.includes(queue), 'the queue is no longer polled');
  });
  // After dev is gone, so that a Route53 event reaches one rule only (dev's, in us-east-1, matches Route53 too).
  test('an Environment in eu-west-1 owns a rule and queue there and another pair in us-east-1 for Route53 and CloudFront', async () => {
    const farLand = await createLandscape(farAws, `far-${suffix}.shop.test`, FAR_REGION);
    apply(
      [
        environmentYaml(ns, farLand, 'far', '  drift: { events: true }\n  resyncInterval: 24h')
          .replace('region: us-east-1', `region: ${FAR_REGION}`)
          // Without a gate: the fewer resources, the sooner it converges.
          .replace(/\n {2}access: .*\n/, '\n  access: { cognito: { enabled: false } }\n'),
        serviceYaml(ns, 'web', { env: 'far', subdomain: 'web' }),
      ].join('\n---\n'),
    );
    const env = await waitForCondition(environments, { namespace: ns, name: 'far' }, 'Ready', 'True', {
      timeoutMs: 180_000,
    });
    await waitForCondition(services, { namespace: ns, name: 'web' }, 'Ready', 'True', { timeoutMs: 180_000 });
    const pairs = Object.fromEntries(
      [FAR_REGION, 'us-east-1'].map((region) => {
        const inRegion = inventory(env).filter((r) => r.arn && regionOf(r.arn) === region);
        return [
          region,
          {
            rule: inRegion.filter((r) => r.kind === 'events.Rule').map((r) => r.arn!),
            queue: inRegion.filter((r) => r.kind === 'sqs.Queue').map((r) => r.arn!),
          },
        ];
      }),
    );
    for (const region of [FAR_REGION, 'us-east-1']) {
      assert.equal(pairs[region]!.rule.length, 1, `one rule in ${region}`);
      assert.equal(pairs[region]!.queue.length, 1, `one queue in ${region}`);
    }
    assert.equal(inventory(env).filter((r) => r.kind === 'events.Rule' || r.kind === 'sqs.Queue').length, 4);

    const described = async (region: string) => {
      const rule = pairs[region]!.rule[0]!;
      const name = rule.split('/').at(-1)!;
      const events = awsIn(region).events;
      const out = await events.send(new DescribeRuleCommand({ Name: name }));
      const targets = await events.send(new ListTargetsByRuleCommand({ Rule: name }));
      assert.equal(out.State, 'ENABLED');
      assert.deepEqual(
        targets.Targets?.map((t) => t.Arn),
        pairs[region]!.queue,
        `the ${region} rule sends to the ${region} queue`,
      );
      return JSON.parse(out.EventPattern!) as { source?: string[]; $or?: { source: string[] }[] };
    };
    const regional = await described(FAR_REGION);
    assert.ok(regional.$or?.[0]?.source.includes('aws.elasticloadbalancing'));
    assert.ok(!regional.$or?.[0]?.source.includes('aws.route53'), 'Route53 events never arrive in eu-west-1');
    assert.deepEqual((await described('us-east-1')).source, ['aws.cloudfront', 'aws.route53']);

    await eventually('the operator to poll both queues', async () =>
      [FAR_REGION, 'us-east-1'].every((r) => operator.driftEvents.polling.includes(pairs[r]!.queue[0]!))
        ? true
        : undefined,
    );
  });

  test("ChangeResourceRecordSets on us-east-1's bus: the eu-west-1 Service owning the record is reconciled and its alias restored", async () => {
    const far = await environments.get({ namespace: ns, name: 'far' });
    const zone = far.spec.domain.hostedZoneId;
    const name = `web.${far.spec.domain.baseDomain}`;
    const aRecord = async () =>
      (await aws.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone }))).ResourceRecordSets?.find(
        (r) => r.Type === 'A' && r.Name?.replace(/\.$/, '') === name,
      );
    const original = await aRecord();
    assert.ok(original?.AliasTarget, 'the Service has its alias record');
    await waitQuiet(operator);
    const snapshot = new Map(reconciles);
    const received = await counter('slipway_drift_events_received_total');

    const alias = { HostedZoneId: original.AliasTarget.HostedZoneId!, DNSName: 'elsewhere.example.net' };
    await aws.route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zone,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: { Name: name, Type: 'A', AliasTarget: { ...alias, EvaluateTargetHealth: false } },
            },
          ],
        },
      }),
    );
    // aws.events is us-east-1's: where CloudTrail delivers Route53's events whatever the caller's region.
    await injectCloudTrail('route53', 'ChangeResourceRecordSets', {
      hostedZoneId: zone,
      changeBatch: {
        changes: [
          {
            action: 'UPSERT',
            resourceRecordSet: {
              name,
              type: 'A',
              aliasTarget: { hostedZoneId: alias.HostedZoneId, dNSName: alias.DNSName },
            },
          },
        ],
      },
    });
    await handled(received, 1, { env: 'far', region: 'us-east-1' });
    assert.deepEqual(reconciledSince(snapshot), { [`service/${ns}/web`]: 1 });
    const restored = await aRecord();
    assert.equal(restored?.AliasTarget?.DNSName, original.AliasTarget.DNSName, 'the alias points at the ALB again');
  });

  test('deleting the eu-west-1 Environment deletes both its rules and both its queues', async () => {
    const env = await environments.get({ namespace: ns, name: 'far' });
    const owned = inventory(env).filter((r) => r.kind === 'events.Rule' || r.kind === 'sqs.Queue');
    assert.equal(owned.length, 4);
    kubectl(['delete', 'services.slipway.dev', 'web', '-n', ns, '--wait=false']);
    kubectl(['delete', 'environments.slipway.dev', 'far', '-n', ns, '--wait=false']);
    await eventually(
      'the Environment to be gone',
      async () => ((await environments.find({ namespace: ns, name: 'far' })) ? undefined : true),
      240_000,
    );
    for (const r of owned) {
      const clients = awsIn(regionOf(r.arn!));
      const name = r.arn!.split(r.kind === 'events.Rule' ? '/' : ':').at(-1)!;
      if (r.kind === 'events.Rule') {
        await assert.rejects(
          clients.events.send(new DescribeRuleCommand({ Name: name })),
          /ResourceNotFound|does not exist/,
          r.arn,
        );
      } else {
        await assert.rejects(
          clients.sqs.send(new GetQueueUrlCommand({ QueueName: name })),
          /NonExistentQueue|does not exist/i,
          r.arn,
        );
        assert.ok(!operator.driftEvents.polling.includes(r.arn!), `${r.arn} is no longer polled`);
      }
    }
  });
});
