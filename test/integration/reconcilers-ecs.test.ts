// The ECS side of an application against moto: log group, task definition, service, scalable target and scaling
// policy reconcilers, the DescribeServices batcher, and the applier's ownership rule for these kinds.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import {
  CreateLogGroupCommand,
  PutRetentionPolicyCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand } from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { CreateTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CallCounter } from '../../src/aws/calls.js';
import { AwsClients } from '../../src/aws/clients.js';
import { familyOf, RateLimits } from '../../src/aws/rate-limits.js';
import { ownerKey, ownershipTags, TAG_CLUSTER, TAG_LOGICAL_ID, TAG_OWNER } from '../../src/planner/naming.js';
import {
  ref,
  type Owner,
  type Plan,
  type PlannedResource,
  type PropsByKind,
  type ResourceKind,
  type Resolved,
} from '../../src/planner/plan.js';
import { applyPlan, type ApplyReport } from '../../src/reconcilers/applier.js';
import { ROTATION_SLOTS } from '../../src/controllers/waves.js';
import {
  arnBaseOf,
  newContext,
  rotationSlotOf,
  WaveReads,
  withPassContext,
  type Desired,
  type KindReconciler,
  type Observed,
  type ReconcileContext,
  type ReconcilerRegistry,
} from '../../src/reconcilers/contract.js';
import { ecsServiceReconciler, serviceUpdateInput } from '../../src/reconcilers/ecs-service.js';
import { logGroupReconciler } from '../../src/reconcilers/log-group.js';
import { ecsDesiredCount, scalableTargetReconciler } from '../../src/reconcilers/scalable-target.js';
import { scalingPolicyReconciler } from '../../src/reconcilers/scaling-policy.js';
import { registrationInput, taskDefinitionReconciler } from '../../src/reconcilers/task-definition.js';
import { testAws } from '../support/aws-fixtures.js';
import { getTestEnv } from '../support/env.js';

const env = getTestEnv();
const counter = new CallCounter();
const aws = testAws(counter.listener);
/** One reconcile pass: a fresh memo, as the controller gives each pass. */
const pass = () => newContext(aws);
const suffix = randomBytes(3).toString('hex');
const owner: Owner = { clusterId: 'itest-ecs', kind: 'Service', namespace: 'team', name: `web-${suffix}` };
const region = env.awsRegion;

// Only the kinds this file exercises; the applier looks up nothing else for these plans.
const registry = {
  'logs.LogGroup': logGroupReconciler,
  'ecs.TaskDefinition': taskDefinitionReconciler,
  'ecs.Service': ecsServiceReconciler,
  'autoscaling.ScalableTarget': scalableTargetReconciler,
  'autoscaling.ScalingPolicy': scalingPolicyReconciler,
} as unknown as ReconcilerRegistry;

function desired<K extends ResourceKind>(
  kind: K,
  id: string,
  props: Resolved<PropsByKind[K]>,
  who: Owner = owner,
): Desired<K> {
  return { id, kind, props, tags: { ...ownershipTags(who, id), team: 'platform' } };
}

function calls(operation: string, before: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const [key, count] of counter.snapshot()) {
    if (key.split(':')[1] === operation) n += count - (before.get(key) ?? 0);
  }
  return n;
}

/** Write calls since `before`, by operation (the service prefix dropped). */
function writesBy(before: ReadonlyMap<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counter.writesSince(before)).map(([k, n]) => [k.split(':')[1], n]));
}

/**
 * setTags within one pass (so a memoised read holding tags must be dropped by the write): an empty call sends
 * nothing; then a key is added and `team` overwritten; then `team` is restored and the key removed. The tags are
 * read back through the kind's own observe after each step. Returns the last observation and each step's writes.
 */
async function checkSetTags<K extends ResourceKind>(
  r: KindReconciler<K>,
  read: (c: ReconcileContext) => Promise<Observed<K> | undefined>,
): Promise<{ readonly observed: Observed<K>; readonly writes: readonly Record<string, number>[] }> {
  assert.equal(r.tagging, 'tags');
  const one = pass();
  const start = await read(one);
  assert.ok(start, 'observed before tagging');
  const base = { ...start.tags };
  assert.ok(base.team, 'starts with a team tag to overwrite');
  let before = counter.snapshot();
  await r.setTags(one, start, {}, []);
  assert.deepEqual(writesBy(before), {}, 'nothing to set or remove: no call');

  before = counter.snapshot();
  await r.setTags(one, start, { team: 'payments', 'cost-centre': 'cc-42' }, []);
  const added = await read(one);
  assert.deepEqual(added?.tags, { ...base, team: 'payments', 'cost-centre': 'cc-42' }, 'added and overwritten');
  const addWrites = writesBy(before);

  before = counter.snapshot();
  await r.setTags(one, added, { team: base.team }, ['cost-centre']);
  const back = await read(one);
  assert.ok(back);
  assert.deepEqual(back.tags, base, 'overwritten back and the key removed');
  return { observed: back, writes: [addWrites, writesBy(before)] };
}

let clusterArn = '';
let clusterName = '';
let subnetIds: string[] = [];
let securityGroupIds: string[] = [];
let targetGroupArn = '';

/** Creates an ECS service behind the operator's back (someone else's, or one found by a later observe). */
async function createServiceOutOfBand(
  serviceName: string,
  taskDefinition: string,
  desiredCount: number,
  tags: Readonly<Record<string, string>>,
): Promise<void> {
  await aws.ecs.send(
    new CreateServiceCommand({
      cluster: clusterArn,
      serviceName,
      taskDefinition,
      desiredCount,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: subnetIds, securityGroups: securityGroupIds } },
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    }),
  );
}

function taskDefinitionProps(family: string, image = 'nginx:1.27'): Resolved<PropsByKind['ecs.TaskDefinition']> {
  return {
    family,
    cpuArchitecture: 'ARM64',
    cpu: 256,
    memory: 512,
    container: {
      name: 'app',
      image,
      port: 8080,
      // Out of order on purpose: ECS keeps the order given, the diff must not care.
      environment: [
        { name: 'ZED', value: 'last' },
        { name: 'ALPHA', value: 'first' },
      ],
      secrets: [
        { name: 'TOKEN', valueFrom: `arn:aws:secretsmanager:${region}:123456789012:secret:token-abc` },
        { name: 'DB_URL', valueFrom: `arn:aws:secretsmanager:${region}:123456789012:secret:db-abc:url::` },
      ],
      logGroup: `/slipway/${family}`,
      logRegion: region,
      logStreamPrefix: 'app',
    },
  };
}

function serviceProps(
  name: string,
  taskDefinitionArn: string,
  desiredCount?: number,
): Resolved<PropsByKind['ecs.Service']> {
  return {
    name,
    clusterArn,
    taskDefinitionArn,
    ...(desiredCount === undefined ? {} : { desiredCount }),
    subnetIds,
    securityGroupIds,
    assignPublicIp: false,
    targetGroupArn,
    containerName: 'app',
    containerPort: 8080,
    healthCheckGracePeriodSeconds: 30,
    circuitBreaker: { enable: true, rollback: true },
    minimumHealthyPercent: 100,
    maximumPercent: 200,
  };
}

/** A task definition registered through the reconciler, for the services to run. */
async function taskDefinitionArn(family: string): Promise<string> {
  const created = await taskDefinitionReconciler.create(
    pass(),
    desired('ecs.TaskDefinition', 'td', taskDefinitionProps(family)),
  );
  return created.attrs.arn!;
}

before(async () => {
  const vpcId = (await aws.ec2.send(new CreateVpcCommand({ CidrBlock: '10.42.0.0/16' }))).Vpc!.VpcId!;
  subnetIds = [];
  for (const cidr of ['10.42.1.0/24', '10.42.2.0/24']) {
    subnetIds.push((await aws.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr }))).Subnet!.SubnetId!);
  }
  securityGroupIds = [];
  for (const n of ['a', 'b']) {
    securityGroupIds.push(
      (
        await aws.ec2.send(
          new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `ecs-${suffix}-${n}`, Description: 'test' }),
        )
      ).GroupId!,
    );
  }
  clusterName = `slipway-ecs-${suffix}`;
  clusterArn = (await aws.ecs.send(new CreateClusterCommand({ clusterName }))).cluster!.clusterArn!;
  targetGroupArn = (
    await aws.elbv2.send(
      new CreateTargetGroupCommand({
        Name: `ecs-${suffix}`,
        Protocol: 'HTTP',
        Port: 8080,
        VpcId: vpcId,
        TargetType: 'ip',
      }),
    )
  ).TargetGroups![0]!.TargetGroupArn!;
});

after(() => aws.destroy());

describe('logs.LogGroup', () => {
  test('create, observe, drift, update, delete', async () => {
    const want = desired('logs.LogGroup', 'logs', { name: `/slipway/lg-${suffix}`, retentionDays: 14 });
    const created = await logGroupReconciler.create(pass(), want);
    assert.equal(created.attrs.name, want.props.name);

    const seen = await logGroupReconciler.observe(pass(), want);
    assert.ok(seen);
    assert.deepEqual(seen.props, want.props);
    assert.deepEqual(seen.tags, want.tags);
    assert.equal(seen.attrs.arn, `arn:aws:logs:${region}:123456789012:log-group:${want.props.name}`);
    assert.equal(seen.identifier, seen.attrs.arn);
    assert.deepEqual(logGroupReconciler.diff(want, seen), []);

    await aws.logs.send(new PutRetentionPolicyCommand({ logGroupName: want.props.name, retentionInDays: 30 }));
    const drifted = (await logGroupReconciler.observe(pass(), want))!;
    assert.deepEqual(logGroupReconciler.diff(want, drifted), [{ path: 'retentionDays', desired: '14', actual: '30' }]);
    await logGroupReconciler.update(pass(), want, drifted, logGroupReconciler.diff(want, drifted));
    assert.deepEqual(logGroupReconciler.diff(want, (await logGroupReconciler.observe(pass(), want))!), []);

    const byId = await logGroupReconciler.observeByIdentifier(pass(), seen.identifier);
    assert.equal(byId?.props.name, want.props.name);

    await logGroupReconciler.delete(pass(), seen);
    assert.equal(await logGroupReconciler.observe(pass(), want), undefined);
    assert.equal(await logGroupReconciler.observeByIdentifier(pass(), seen.identifier), undefined);
  });
});

describe('ecs.TaskDefinition', () => {
  test('create, observe, out-of-band revision, update registers a new revision, delete deregisters', async () => {
    const family = `td-${suffix}`;
    const want = desired('ecs.TaskDefinition', 'td', taskDefinitionProps(family));
    const created = await taskDefinitionReconciler.create(pass(), want);
    assert.equal(created.attrs.revision, '1');
    assert.equal(created.attrs.family, family);
    assert.match(created.attrs.arn!, new RegExp(`:task-definition/${family}:1$`));

    const seen = (await taskDefinitionReconciler.observe(pass(), want))!;
    assert.deepEqual(seen.tags, want.tags);
    assert.equal(seen.identifier, created.attrs.arn);
    assert.deepEqual(seen.attrs, created.attrs);
    assert.deepEqual(
      taskDefinitionReconciler.diff(want, seen),
      [],
      'what AWS adds and the order of env/secrets are not drift',
    );

    // Someone registers a new revision by hand (the console copies the tags): the latest ACTIVE revision is it.
    const manual = registrationInput(
      { ...want.props, container: { ...want.props.container, image: 'nginx:hotfix' } },
      want.tags,
    );
    await aws.ecs.send(new RegisterTaskDefinitionCommand(manual));
    const drifted = (await taskDefinitionReconciler.observe(pass(), want))!;
    assert.equal(drifted.attrs.revision, '2');
    const changes = taskDefinitionReconciler.diff(want, drifted);
    assert.deepEqual(changes, [{ path: 'container.image', desired: 'nginx:1.27', actual: 'nginx:hotfix' }]);

    const updated = await taskDefinitionReconciler.update(pass(), want, drifted, changes);
    assert.equal(updated.attrs.revision, '3');
    // The update retires what is older than the revision it replaced: the family keeps the new one and the one the
    // circuit breaker would roll back to, so a deletion never has a long tail of revisions to deregister.
    const kept = await aws.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE' }));
    assert.deepEqual((kept.taskDefinitionArns ?? []).map((a) => a.split(':').pop()).sort(), ['2', '3']);
    const after3 = (await taskDefinitionReconciler.observe(pass(), want))!;
    assert.equal(after3.attrs.revision, '3');
    assert.deepEqual(taskDefinitionReconciler.diff(want, after3), []);

    // The inventory may hold an older revision: the family's newest ACTIVE one is what exists.
    const byId = await taskDefinitionReconciler.observeByIdentifier(pass(), created.identifier);
    assert.equal(byId?.attrs.revision, '3');

    await taskDefinitionReconciler.delete(pass(), after3);
    assert.equal(await taskDefinitionReconciler.observe(pass(), want), undefined);
    const active = await aws.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE' }));
    assert.deepEqual(active.taskDefinitionArns ?? [], []);
  });

  test('an update leaves older revisions while the task-definition bucket is busy, and a later one retires them', async () => {
    const family = `td-busy-${suffix}`;
    const limits = new RateLimits();
    const limited = new AwsClients({
      region: env.awsRegion,
      endpoint: env.awsEndpoint,
      credentials: env.awsCredentials,
      rateLimitRegistry: limits,
    });
    const bucket = limits.bucketFor('default', env.awsRegion, familyOf('ecs', 'RegisterTaskDefinition')!);
    const active = async () =>
      (
        (await aws.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE' })))
          .taskDefinitionArns ?? []
      )
        .map((a) => Number(a.split(':').pop()))
        .sort((a, b) => a - b);
    const image = (tag: string) => {
      const props = taskDefinitionProps(family);
      return desired('ecs.TaskDefinition', 'td', {
        ...props,
        container: { ...props.container, image: `nginx:${tag}` },
      });
    };
    const update = async (tag: string) => {
      const want = image(tag);
      const seen = (await taskDefinitionReconciler.observe(newContext(limited), want))!;
      return taskDefinitionReconciler.update(
        newContext(limited),
        want,
        seen,
        taskDefinitionReconciler.diff(want, seen),
      );
    };
    await taskDefinitionReconciler.create(newContext(limited), image('a'));
    await update('b');
    // A wave of registrations has used the bucket: tidying would make them wait, so it waits instead.
    while (bucket.available() >= 5) await bucket.take();
    await update('c');
    assert.deepEqual(await active(), [1, 2, 3]);
    // Once the bucket has refilled, the next update retires everything older than the revision it replaces.
    const refilled = new AwsClients({
      region: env.awsRegion,
      endpoint: env.awsEndpoint,
      credentials: env.awsCredentials,
      rateLimitRegistry: new RateLimits(),
    });
    const want = image('d');
    const seen = (await taskDefinitionReconciler.observe(newContext(refilled), want))!;
    await taskDefinitionReconciler.update(newContext(refilled), want, seen, taskDefinitionReconciler.diff(want, seen));
    assert.deepEqual(await active(), [3, 4]);
  });

  test('delete leaves revisions without our owner tags registered', async () => {
    const family = `td-mixed-${suffix}`;
    const want = desired('ecs.TaskDefinition', 'td', taskDefinitionProps(family));
    await aws.ecs.send(new RegisterTaskDefinitionCommand(registrationInput(want.props, { team: 'someone-else' })));
    // Registered by hand: create refuses a family that holds someone else's revision.
    await aws.ecs.send(new RegisterTaskDefinitionCommand(registrationInput(want.props, want.tags)));
    const ours = (await taskDefinitionReconciler.observe(pass(), want))!;
    assert.equal(ours.attrs.revision, '2');
    await taskDefinitionReconciler.delete(pass(), ours);
    const left = (await taskDefinitionReconciler.observe(pass(), want))!;
    assert.equal(left.attrs.revision, '1');
    assert.equal(left.tags[TAG_OWNER], undefined);
  });
});

describe('ecs.Service', () => {
  test('create, observe, drift, update, delete', async () => {
    const td = await taskDefinitionArn(`svc-td-${suffix}`);
    const want = desired('ecs.Service', 'svc', serviceProps(`svc-${suffix}`, td, 2));
    const created = await ecsServiceReconciler.create(pass(), want);
    assert.equal(created.attrs.name, want.props.name);

    const seen = (await ecsServiceReconciler.observe(pass(), want))!;
    assert.ok(seen);
    assert.deepEqual(seen.tags, want.tags);
    assert.deepEqual(
      seen.props.circuitBreaker,
      { enable: true, rollback: true },
      'deploymentConfiguration survives create',
    );
    assert.deepEqual(ecsServiceReconciler.diff(want, seen), []);
    assert.equal(seen.attrs.arn, `arn:aws:ecs:${region}:123456789012:service/${clusterName}/${want.props.name}`);
    assert.equal(seen.attrs.clusterArn, clusterArn);
    assert.equal(seen.attrs.desiredCount, '2');
    assert.ok(seen.attrs.runningCount !== undefined);
    assert.equal(seen.attrs.rolloutState, 'IN_PROGRESS', 'deployments never progress in moto');

    // Out of band: a longer grace period and more tasks; security groups reordered (a set: no drift).
    await aws.ecs.send(
      new UpdateServiceCommand({
        cluster: clusterArn,
        service: want.props.name,
        desiredCount: 5,
        healthCheckGracePeriodSeconds: 99,
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: [...subnetIds].reverse(),
            securityGroups: [...securityGroupIds].reverse(),
            assignPublicIp: 'DISABLED',
          },
        },
      }),
    );
    const drifted = (await ecsServiceReconciler.observe(pass(), want))!;
    const changes = ecsServiceReconciler.diff(want, drifted);
    assert.deepEqual(
      changes.map((c) => c.path),
      ['desiredCount', 'healthCheckGracePeriodSeconds'],
    );
    await ecsServiceReconciler.update(pass(), want, drifted, changes);
    const fixed = (await ecsServiceReconciler.observe(pass(), want))!;
    assert.deepEqual(ecsServiceReconciler.diff(want, fixed), []);
    assert.equal(fixed.attrs.desiredCount, '2');

    const byId = await ecsServiceReconciler.observeByIdentifier(pass(), seen.identifier);
    assert.equal(byId?.props.name, want.props.name);

    await ecsServiceReconciler.delete(pass(), fixed);
    assert.equal(await ecsServiceReconciler.observe(pass(), want), undefined, 'an INACTIVE service is absent');
    assert.equal(await ecsServiceReconciler.observeByIdentifier(pass(), seen.identifier), undefined);
  });

  test('observing 12 services at once makes exactly 2 DescribeServices calls', async () => {
    const td = await taskDefinitionArn(`batch-td-${suffix}`);
    const wants = Array.from({ length: 12 }, (_, i) =>
      desired('ecs.Service', `svc${i}`, serviceProps(`batch-${suffix}-${i}`, td, 1)),
    );
    for (const w of wants) {
      await createServiceOutOfBand(w.props.name, td, 1, w.tags);
    }
    const before = counter.snapshot();
    const ctx = pass();
    const seen = await Promise.all(wants.map((w) => ecsServiceReconciler.observe(ctx, w)));
    assert.equal(calls('DescribeServices', before), 2);
    assert.deepEqual(
      seen.map((s) => s?.props.name),
      wants.map((w) => w.props.name),
    );
    assert.ok(seen.every((s, i) => s?.tags[TAG_LOGICAL_ID] === `svc${i}`));
    for (const s of seen) await ecsServiceReconciler.delete(pass(), s!);
  });
});

describe('Application Auto Scaling', () => {
  test('scalable target and policy: derived ownership, drift, and the autoscaler owning desiredCount', async () => {
    const td = await taskDefinitionArn(`as-td-${suffix}`);
    const svcName = `as-${suffix}`;
    const resourceId = `service/${clusterName}/${svcName}`;
    const svcWant = desired('ecs.Service', 'svc', serviceProps(svcName, td)); // no desiredCount: autoscaling owns it
    await ecsServiceReconciler.create(pass(), svcWant);

    const targetWant = desired('autoscaling.ScalableTarget', 'scaling', { resourceId, minCapacity: 2, maxCapacity: 6 });
    const target = await scalableTargetReconciler.create(pass(), targetWant);
    assert.match(target.attrs.arn!, /^arn:aws:application-autoscaling:/);
    assert.equal(target.attrs.resourceId, resourceId);
    const targetSeen = (await scalableTargetReconciler.observe(pass(), targetWant))!;
    assert.equal(targetSeen.tags[TAG_OWNER], svcWant.tags[TAG_OWNER], 'ownership derived from the service');
    assert.equal(targetSeen.tags[TAG_CLUSTER], svcWant.tags[TAG_CLUSTER]);
    assert.equal(targetSeen.tags[TAG_LOGICAL_ID], undefined, "the service's logical id is not the target's");
    assert.deepEqual(scalableTargetReconciler.diff(targetWant, targetSeen), []);

    const policyWant = desired('autoscaling.ScalingPolicy', 'cpu', {
      name: `cpu-${suffix}`,
      resourceId,
      metric: 'ECSServiceAverageCPUUtilization',
      targetValue: 60,
      scaleInCooldownSeconds: 120,
      scaleOutCooldownSeconds: 30,
    });
    const policy = await scalingPolicyReconciler.create(pass(), policyWant);
    assert.match(policy.attrs.arn!, /:scalingPolicy:.*:policyName\//);
    const policySeen = (await scalingPolicyReconciler.observe(pass(), policyWant))!;
    assert.deepEqual(policySeen.props, policyWant.props);
    assert.equal(policySeen.tags[TAG_OWNER], svcWant.tags[TAG_OWNER]);
    assert.deepEqual(scalingPolicyReconciler.diff(policyWant, policySeen), []);

    // The autoscaler changes the count: not drift, because the props leave the count to it.
    await aws.ecs.send(new UpdateServiceCommand({ cluster: clusterArn, service: svcName, desiredCount: 4 }));
    const scaled = (await ecsServiceReconciler.observe(pass(), svcWant))!;
    assert.equal(scaled.attrs.desiredCount, '4');
    assert.deepEqual(ecsServiceReconciler.diff(svcWant, scaled), []);

    // A real drift on the same service: the update fixes it and leaves the count alone.
    await aws.ecs.send(
      new UpdateServiceCommand({ cluster: clusterArn, service: svcName, healthCheckGracePeriodSeconds: 45 }),
    );
    const drifted = (await ecsServiceReconciler.observe(pass(), svcWant))!;
    const changes = ecsServiceReconciler.diff(svcWant, drifted);
    assert.deepEqual(
      changes.map((c) => c.path),
      ['healthCheckGracePeriodSeconds'],
    );
    assert.equal('desiredCount' in serviceUpdateInput(svcWant.props, changes), false);
    await ecsServiceReconciler.update(pass(), svcWant, drifted, changes);
    const afterUpdate = (await aws.ecs.send(new DescribeServicesCommand({ cluster: clusterArn, services: [svcName] })))
      .services![0]!;
    assert.equal(afterUpdate.desiredCount, 4, 'update never sends desiredCount when autoscaling owns it');
    assert.equal(afterUpdate.healthCheckGracePeriodSeconds, 30);

    // Drift on the target and the policy.
    await aws.autoscaling.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'ecs',
        ScalableDimension: 'ecs:service:DesiredCount',
        ResourceId: resourceId,
        MinCapacity: 2,
        MaxCapacity: 10,
      }),
    );
    const targetDrifted = (await scalableTargetReconciler.observe(pass(), targetWant))!;
    const targetChanges = scalableTargetReconciler.diff(targetWant, targetDrifted);
    assert.deepEqual(targetChanges, [{ path: 'maxCapacity', desired: '6', actual: '10' }]);
    await scalableTargetReconciler.update(pass(), targetWant, targetDrifted, targetChanges);
    assert.deepEqual(
      scalableTargetReconciler.diff(targetWant, (await scalableTargetReconciler.observe(pass(), targetWant))!),
      [],
    );

    await aws.autoscaling.send(
      new PutScalingPolicyCommand({
        PolicyName: policyWant.props.name,
        ServiceNamespace: 'ecs',
        ScalableDimension: 'ecs:service:DesiredCount',
        ResourceId: resourceId,
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 80,
          PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
          ScaleInCooldown: 120,
          ScaleOutCooldown: 30,
        },
      }),
    );
    const policyDrifted = (await scalingPolicyReconciler.observe(pass(), policyWant))!;
    const policyChanges = scalingPolicyReconciler.diff(policyWant, policyDrifted);
    assert.deepEqual(policyChanges, [{ path: 'targetValue', desired: '60', actual: '80' }]);
    const policyFixed = await scalingPolicyReconciler.update(pass(), policyWant, policyDrifted, policyChanges);
    assert.deepEqual(
      scalingPolicyReconciler.diff(policyWant, (await scalingPolicyReconciler.observe(pass(), policyWant))!),
      [],
    );

    // Located again from the identifiers an inventory keeps.
    const targetById = await scalableTargetReconciler.observeByIdentifier(pass(), targetSeen.identifier);
    assert.equal(targetById?.props.resourceId, resourceId);
    assert.equal(
      (await scalableTargetReconciler.observeByIdentifier(pass(), resourceId))?.attrs.arn,
      targetSeen.attrs.arn,
    );
    const policyById = await scalingPolicyReconciler.observeByIdentifier(pass(), policyFixed.identifier);
    assert.equal(policyById?.props.name, policyWant.props.name);

    await scalingPolicyReconciler.delete(pass(), policyById!);
    assert.equal(await scalingPolicyReconciler.observe(pass(), policyWant), undefined);
    // A policy the deletion did not see (written after it looked) goes with its target, as AWS removes it.
    await aws.autoscaling.send(
      new PutScalingPolicyCommand({
        PolicyName: `late-${suffix}`,
        ServiceNamespace: 'ecs',
        ScalableDimension: 'ecs:service:DesiredCount',
        ResourceId: resourceId,
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 50,
          PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        },
      }),
    );
    await scalableTargetReconciler.delete(pass(), targetById!);
    assert.equal(await scalableTargetReconciler.observe(pass(), targetWant), undefined);
    const left = await aws.autoscaling.send(
      new DescribeScalingPoliciesCommand({
        ServiceNamespace: 'ecs',
        ScalableDimension: 'ecs:service:DesiredCount',
        ResourceId: resourceId,
      }),
    );
    assert.deepEqual(left.ScalingPolicies ?? [], [], 'no policy outlives its target');
    await ecsServiceReconciler.delete(pass(), scaled);
  });
});

/** An ECS service running task definition `td` and its scalable target (1 to 3 tasks), as a Service plans them. */
function scaledService(name: string, tags: (id: string) => Record<string, string>): PlannedResource[] {
  return [
    {
      id: 'svc',
      kind: 'ecs.Service',
      props: { ...serviceProps(name, ''), taskDefinitionArn: ref('td', 'arn') },
      tags: tags('svc'),
    },
    {
      id: 'scaling',
      kind: 'autoscaling.ScalableTarget',
      props: { resourceId: `service/${clusterName}/${name}`, minCapacity: 1, maxCapacity: 3 },
      tags: tags('scaling'),
      after: ['svc'],
    },
  ];
}

describe('applyPlan with the ECS kinds', () => {
  const plan = (who: Owner, resources: readonly PlannedResource[]): Plan => ({ owner: who, resources });

  test('apply creates everything, a pass in sync writes nothing, delete removes it all', async () => {
    const who: Owner = { ...owner, name: `full-${suffix}` };
    const tags = (id: string) => ownershipTags(who, id);
    const family = `full-${suffix}`;
    const svcName = `full-${suffix}`;
    const resourceId = `service/${clusterName}/${svcName}`;
    const td = taskDefinitionProps(family);
    const resources: PlannedResource[] = [
      {
        id: 'logs',
        kind: 'logs.LogGroup',
        props: { name: `/slipway/${family}`, retentionDays: 7 },
        tags: tags('logs'),
      },
      {
        id: 'td',
        kind: 'ecs.TaskDefinition',
        props: { ...td, container: { ...td.container, logGroup: ref('logs', 'name') } },
        tags: tags('td'),
      },
      ...scaledService(svcName, tags),
      {
        id: 'cpu',
        kind: 'autoscaling.ScalingPolicy',
        props: {
          name: `cpu-${family}`,
          resourceId,
          metric: 'ECSServiceAverageMemoryUtilization',
          targetValue: 70,
          scaleInCooldownSeconds: 300,
          scaleOutCooldownSeconds: 60,
        },
        tags: tags('cpu'),
        after: ['scaling'],
      },
      {
        id: 'second',
        kind: 'autoscaling.ScalingPolicy',
        props: {
          name: `second-${family}`,
          resourceId,
          metric: 'ECSServiceAverageCPUUtilization',
          targetValue: 60,
          scaleInCooldownSeconds: 300,
          scaleOutCooldownSeconds: 60,
        },
        tags: tags('second'),
        after: ['scaling'],
      },
    ];
    const p = plan(who, resources);
    const ids = ['logs', 'td', 'svc', 'scaling', 'cpu', 'second'];

    const start = counter.snapshot();
    // A workload's pass knows its account from the Environment's cluster ARN.
    const account = arnBaseOf(clusterArn);
    assert.ok(account);
    const first = await applyPlan(newContext(aws, undefined, { owner: 'o', steady: false, account }), registry, p, {
      mode: 'apply',
      inventory: [],
    });
    assert.deepEqual(
      first.outcomes.map((o) => [o.id, o.action, o.message]),
      ids.map((id) => [id, 'created', undefined]),
    );
    assert.equal(first.inventory.length, 6);
    // Nothing a create just answered is read back, and what cannot exist apart from a create is not read first: the
    // log group is created first (CreateLogGroup refuses a name that exists) and its ARN built from the account; the
    // ECS service is observed once (not again for the ownership of its scalable target and policies); the target
    // and its policies, keyed by the service this pass created, are not observed before their upserts.
    const reads = [
      'DescribeLogGroups',
      'ListTagsForResource',
      'DescribeServices',
      'DescribeScalableTargets',
      'DescribeScalingPolicies',
    ];
    assert.deepEqual(Object.fromEntries(reads.map((op) => [op, calls(op, start)])), {
      DescribeLogGroups: 0,
      ListTagsForResource: 0,
      DescribeServices: 1,
      DescribeScalableTargets: 0,
      DescribeScalingPolicies: 0,
    });
    const logs = await logGroupReconciler.observe(
      pass(),
      desired('logs.LogGroup', 'logs', resources[0]!.props as never),
    );
    assert.equal(first.inventory[0]?.identifier, logs?.identifier, 'the built ARN is the one AWS reports');

    // The status lost (an empty inventory), and the target changed out of band: the service is found, not created,
    // so the target is observed before it is written (and updated, not created), and the log group's create is
    // refused and settled as found.
    await aws.autoscaling.send(
      new RegisterScalableTargetCommand({ ...ecsDesiredCount(resourceId), MinCapacity: 2, MaxCapacity: 5 }),
    );
    const lost = await applyPlan(pass(), registry, p, { mode: 'apply', inventory: [] });
    assert.deepEqual(
      lost.outcomes.map((o) => [o.id, o.action]),
      ids.map((id) => [id, id === 'scaling' ? 'updated' : 'in-sync']),
    );
    assert.deepEqual(lost.inventory, first.inventory);

    const before = counter.snapshot();
    const second = await applyPlan(pass(), registry, p, { mode: 'apply', inventory: first.inventory });
    assert.deepEqual(
      second.outcomes.map((o) => [o.id, o.action, o.changes]),
      ids.map((id) => [id, 'in-sync', []]),
    );
    assert.deepEqual(counter.writesSince(before), {}, 'a pass in sync makes zero write calls');
    assert.equal(second.attrs.svc?.rolloutState, 'IN_PROGRESS');

    const gone = await applyPlan(pass(), registry, p, { mode: 'delete', inventory: second.inventory });
    assert.deepEqual(
      gone.outcomes.map((o) => [o.id, o.action]),
      ids.map((id) => [id, 'deleted']),
    );
    const check = await applyPlan(pass(), registry, p, { mode: 'report', inventory: second.inventory });
    assert.deepEqual(
      check.outcomes.map((o) => [o.id, o.action]),
      [
        ['logs', 'missing'],
        ['td', 'blocked'],
        ['svc', 'blocked'],
        ['scaling', 'blocked'],
        ['cpu', 'blocked'],
        ['second', 'blocked'],
      ],
    );
  });

  test('delete keeps the ECS service while its scalable target cannot be removed, so the target is never leaked', async () => {
    const who: Owner = { ...owner, name: `held-${suffix}` };
    const tags = (id: string) => ownershipTags(who, id);
    const name = `held-${suffix}`;
    const resourceId = `service/${clusterName}/${name}`;
    const resources: PlannedResource[] = [
      { id: 'td', kind: 'ecs.TaskDefinition', props: taskDefinitionProps(name), tags: tags('td') },
      ...scaledService(name, tags),
    ];
    const p = plan(who, resources);
    const first = await applyPlan(pass(), registry, p, { mode: 'apply', inventory: [] });
    assert.deepEqual(
      first.outcomes.map((o) => o.action),
      ['created', 'created', 'created'],
    );

    // Application Auto Scaling fails every deregistration of this pass (an outage outlasting the SDK's retries).
    const failing = new AwsClients({
      region: env.awsRegion,
      endpoint: env.awsEndpoint,
      credentials: env.awsCredentials,
    });
    failing.autoscaling.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DeregisterScalableTargetCommand') {
          throw Object.assign(new Error('We encountered an internal error'), {
            name: 'InternalFailure',
            $fault: 'server',
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'failDeregister' },
    );
    const held = await applyPlan(newContext(failing), registry, p, { mode: 'delete', inventory: first.inventory });
    assert.deepEqual(
      held.outcomes.map((o) => [o.id, o.action, o.message]),
      [
        ['td', 'blocked', 'waiting for svc'],
        ['svc', 'blocked', 'waiting for scaling'],
        ['scaling', 'failed', held.outcomes[2]?.message],
      ],
    );
    assert.match(held.outcomes[2]?.message ?? '', /internal error/);
    assert.deepEqual(held.inventory.map((i) => i.logicalId).sort(), ['scaling', 'svc', 'td']);
    const service = (await aws.ecs.send(new DescribeServicesCommand({ cluster: clusterArn, services: [name] })))
      .services?.[0];
    assert.equal(service?.status, 'ACTIVE', 'the service, the proof that the target is ours, is still there');

    // The next pass, with AWS answering again, deletes all three, dependents first.
    const gone = await applyPlan(pass(), registry, p, { mode: 'delete', inventory: held.inventory });
    assert.deepEqual(
      gone.outcomes.map((o) => [o.id, o.action]),
      [
        ['td', 'deleted'],
        ['svc', 'deleted'],
        ['scaling', 'deleted'],
      ],
    );
    assert.deepEqual(gone.inventory, []);
    const targets = await aws.autoscaling.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [resourceId] }),
    );
    assert.deepEqual(targets.ScalableTargets ?? [], []);
  });

  test("a wave's steady pass observes from bulk listings, still corrects drift, and never re-reads a revision", async () => {
    const who: Owner = { ...owner, name: `bulk-${suffix}` };
    const tags = (id: string) => ({ ...ownershipTags(who, id), team: 'platform' });
    const name = `bulk-${suffix}`;
    const resourceId = `service/${clusterName}/${name}`;
    const td = taskDefinitionProps(name);
    const resources: PlannedResource[] = [
      { id: 'logs', kind: 'logs.LogGroup', props: { name: `/slipway/${name}`, retentionDays: 7 }, tags: tags('logs') },
      {
        id: 'td',
        kind: 'ecs.TaskDefinition',
        props: { ...td, container: { ...td.container, logGroup: ref('logs', 'name') } },
        tags: tags('td'),
      },
      ...scaledService(name, tags),
    ];
    const p = plan(who, resources);
    const first = await applyPlan(pass(), registry, p, { mode: 'apply', inventory: [] });
    assert.deepEqual(
      first.outcomes.map((o) => o.action),
      ['created', 'created', 'created', 'created'],
    );
    const callsSince = (before: ReadonlyMap<string, number>) => {
      const out: Record<string, number> = {};
      for (const [key, n] of counter.snapshot()) {
        const op = key.split(':').slice(0, 2).join(':');
        if (n > (before.get(key) ?? 0)) out[op] = (out[op] ?? 0) + n - (before.get(key) ?? 0);
      }
      return out;
    };
    // A steady pass of a wave: what withPassContext gives a member of a resync wave, with the wave's snapshot. Each
    // wave is its own clients and snapshot here, so it shares nothing with the one before.
    const newWave = () => testAws(counter.listener);
    const snapshots = new WeakMap<AwsClients, WaveReads>();
    const snapshotOf = (wave: AwsClients) => {
      let reads = snapshots.get(wave);
      if (!reads) snapshots.set(wave, (reads = new WaveReads(Date.now())));
      return reads;
    };
    const steady = (wave: AwsClients, inventory: typeof first.inventory) =>
      withPassContext(wave, (ctx) => applyPlan(ctx, registry, p, { mode: 'apply', inventory }), {
        owner: `${who.clusterId}/${who.kind}/${who.namespace}/${who.name}`,
        steady: true,
        wave: snapshotOf(wave),
      });

    // A pass outside a wave describes the revision once; no wave describes it again, the first one included.
    await applyPlan(pass(), registry, p, { mode: 'apply', inventory: first.inventory });
    const quiet = newWave();
    const beforeWave = counter.snapshot();
    await steady(quiet, first.inventory);
    assert.equal(callsSince(beforeWave)['ecs:DescribeTaskDefinition'], undefined, 'the first wave reads no revision');
    const again = counter.snapshot();
    const inSync = await steady(quiet, first.inventory);
    assert.deepEqual(
      inSync.outcomes.map((o) => [o.id, o.action]),
      ['logs', 'td', 'svc', 'scaling'].map((id) => [id, 'in-sync']),
    );
    assert.deepEqual(counter.writesSince(again), {}, 'a steady pass in sync writes nothing');
    // The listings serve it, except for the ECS service: its deployment is still rolling out (the emulator here never
    // completes one), so it is read fresh.
    assert.deepEqual(
      callsSince(again),
      { 'ecs:DescribeServices': 1 },
      'the second pass reads only the rolling service',
    );
    quiet.destroy();

    // Drift out of band: the retention, a cost tag removed by hand, the scalable target's maximum.
    const logArn = first.attrs.logs!.arn!;
    await aws.logs.send(new PutRetentionPolicyCommand({ logGroupName: `/slipway/${name}`, retentionInDays: 30 }));
    await aws.logs.send(new UntagResourceCommand({ resourceArn: logArn, tagKeys: ['team'] }));
    await aws.autoscaling.send(
      new RegisterScalableTargetCommand({ ...ecsDesiredCount(resourceId), MinCapacity: 1, MaxCapacity: 9 }),
    );

    // The next wave sees all of it and corrects it.
    const next = newWave();
    const before = counter.snapshot();
    const corrected = await steady(next, first.inventory);
    assert.deepEqual(
      corrected.outcomes.map((o) => [o.id, o.action, o.changes.map((c) => `${c.path}: ${c.actual} → ${c.desired}`)]),
      [
        ['logs', 'updated', ['retentionDays: 30 → 7', 'tags.team: (absent) → platform']],
        ['td', 'in-sync', []],
        ['svc', 'in-sync', []],
        ['scaling', 'updated', ['maxCapacity: 9 → 3']],
      ],
    );
    const calls = callsSince(before);
    // The log group, observed first, comes from the listings: its tags from the cluster's tag scan. Once the pass
    // has written (the retention), the owner's later resources are read one by one: a listing begun before a write
    // is not trusted by that owner.
    assert.equal(calls['logs:ListTagsForResource'], undefined, 'log group tags come from the cluster tag scan');
    assert.equal(calls['logs:DescribeLogGroups'], 1);
    assert.ok((calls['tagging:GetResources'] ?? 0) >= 1);
    assert.equal(calls['ecs:DescribeTaskDefinition'], 1, 'after the write, the task definition is read by itself');
    next.destroy();
    const fixed = await scalableTargetReconciler.observe(
      pass(),
      desired('autoscaling.ScalableTarget', 'scaling', { resourceId, minCapacity: 1, maxCapacity: 3 }, who),
    );
    assert.equal(fixed?.props.maxCapacity, 3);

    await applyPlan(pass(), registry, p, { mode: 'delete', inventory: corrected.inventory });
  });

  test("with a rotation a wave reads the cluster's tag scan and the log groups' listing only in their turns; a removed ownership tag is seen by a drift event's pass, a drifted owner and the scan's turn", async () => {
    const who: Owner = { ...owner, name: `lst-${suffix}` };
    const tags = (id: string) => ownershipTags(who, id);
    const name = `lst-${suffix}`;
    const td = taskDefinitionProps(name);
    const p = plan(who, [
      { id: 'logs', kind: 'logs.LogGroup', props: { name: `/slipway/${name}`, retentionDays: 7 }, tags: tags('logs') },
      {
        id: 'td',
        kind: 'ecs.TaskDefinition',
        props: { ...td, container: { ...td.container, logGroup: ref('logs', 'name') } },
        tags: tags('td'),
      },
    ]);
    const first = await applyPlan(pass(), registry, p, { mode: 'apply', inventory: [] });
    assert.deepEqual(
      first.outcomes.map((o) => o.action),
      ['created', 'created'],
    );
    // Outside a wave the revision is described once; no wave describes it again.
    await applyPlan(pass(), registry, p, { mode: 'apply', inventory: first.inventory });
    const scanSlot = rotationSlotOf(`tagging:${who.clusterId}`, ROTATION_SLOTS);
    const logsSlot = rotationSlotOf('logs:groups:/slipway/', ROTATION_SLOTS);
    const neither = [...Array(ROTATION_SLOTS).keys()].find((s) => s !== scanSlot && s !== logsSlot)!;
    const READS = ['tagging:GetResources', 'logs:DescribeLogGroups', 'logs:ListTagsForResource'];
    /** One steady pass under driftPolicy Report: a member of a wave in `slot` (none: no wave), or outside a wave. */
    const steady = async (slot: number | 'outside', drifted = false) => {
      const before = counter.snapshot();
      const wave = slot === 'outside' ? {} : { wave: new WaveReads(Date.now(), { slot, of: ROTATION_SLOTS }) };
      const report = await withPassContext(
        aws,
        (ctx) => applyPlan(ctx, registry, p, { mode: 'report', inventory: first.inventory }),
        { owner: `${who.clusterId}/${ownerKey(who)}`, steady: true, ...wave, ...(drifted ? { drifted } : {}) },
      );
      const reads: Record<string, number> = {};
      for (const [key, n] of counter.snapshot()) {
        const op = key.split(':').slice(0, 2).join(':');
        if (READS.includes(op) && n > (before.get(key) ?? 0)) reads[op] = (reads[op] ?? 0) + n - (before.get(key) ?? 0);
      }
      const writes = writesBy(before);
      return { logs: report.outcomes.find((o) => o.id === 'logs')!.action, outcomes: report.outcomes, reads, writes };
    };
    try {
      // Neither's turn: nothing of either listing is read, and nothing is reported.
      const off = await steady(neither);
      assert.deepEqual(
        off.outcomes.map((o) => [o.id, o.action, o.changes.length]),
        [
          ['logs', 'in-sync', 0],
          ['td', 'in-sync', 0],
        ],
      );
      assert.deepEqual([off.reads, off.writes], [{}, {}]);
      // The scan's turn: the tags from the scan, none read one by one.
      const scanned = await steady(scanSlot);
      assert.equal(scanned.logs, 'in-sync');
      assert.ok((scanned.reads['tagging:GetResources'] ?? 0) >= 1);
      assert.equal(scanned.reads['logs:ListTagsForResource'], undefined);
      if (logsSlot !== scanSlot) {
        const listed = await steady(logsSlot);
        assert.equal(listed.logs, 'in-sync');
        assert.deepEqual(listed.reads, { 'logs:DescribeLogGroups': 1 }, "the prefix's listing; the tags as planned");
      }

      // The cluster tag removed by hand: the scan no longer carries the log group.
      const logArn = first.attrs.logs!.arn!;
      await aws.logs.send(new UntagResourceCommand({ resourceArn: logArn, tagKeys: [TAG_CLUSTER] }));
      // Off the turns it is left to its drift event, whose pass (outside any wave) reads the log group and sees it.
      const unseen = await steady(neither);
      assert.deepEqual([unseen.logs, unseen.reads], ['in-sync', {}]);
      const event = await steady('outside');
      assert.equal(event.logs, 'conflict');
      assert.equal(event.reads['tagging:GetResources'], undefined);
      // An owner with drift reported reads its own resources, one by one, and starts no scan for itself.
      const drifted = await steady(neither, true);
      assert.equal(drifted.logs, 'conflict');
      assert.deepEqual(drifted.reads, { 'logs:DescribeLogGroups': 1, 'logs:ListTagsForResource': 1 });
      // The scan's turn, the backstop for a lost event: the scan does not carry it, so its tags are read.
      const backstop = await steady(scanSlot);
      assert.equal(backstop.logs, 'conflict');
      assert.equal(backstop.reads['logs:ListTagsForResource'], 1);
      await aws.logs.send(new TagResourceCommand({ resourceArn: logArn, tags: { [TAG_CLUSTER]: who.clusterId } }));
      // The retention changed by hand, listed in the prefix's turn with its tags taken as planned: about to be
      // changed (reported here), it is read again fresh first, by name and with its tags (applier.ts observeOwned).
      await aws.logs.send(new PutRetentionPolicyCommand({ logGroupName: `/slipway/${name}`, retentionInDays: 30 }));
      if (logsSlot !== scanSlot) {
        const listed = await steady(logsSlot);
        assert.equal(listed.logs, 'drifted');
        assert.deepEqual(listed.reads, { 'logs:DescribeLogGroups': 2, 'logs:ListTagsForResource': 1 });
      }
    } finally {
      await aws.logs.send(
        new TagResourceCommand({ resourceArn: first.attrs.logs!.arn!, tags: { [TAG_CLUSTER]: who.clusterId } }),
      );
      await applyPlan(pass(), registry, p, { mode: 'delete', inventory: first.inventory });
    }
  });

  test('a steady wave member takes the task-definition revision its inventory records as registered, without describing it, also in the first wave of a process; an owner with drift reported describes it', async () => {
    const who: Owner = { ...owner, name: `rev-${suffix}` };
    const p = plan(who, [
      {
        id: 'td',
        kind: 'ecs.TaskDefinition',
        props: taskDefinitionProps(`rev-${suffix}`),
        tags: ownershipTags(who, 'td'),
      },
    ]);
    // Registered and not described since, as after a restart: this process has not seen the revision's content.
    const first = await applyPlan(pass(), registry, p, { mode: 'apply', inventory: [] });
    const steady = async (drifted: boolean) => {
      const before = counter.snapshot();
      const report = await withPassContext(
        aws,
        (ctx) => applyPlan(ctx, registry, p, { mode: 'report', inventory: first.inventory }),
        // A wave without a rotation, as the first of a process is.
        { owner: `${who.clusterId}/${ownerKey(who)}`, steady: true, wave: new WaveReads(Date.now()), drifted },
      );
      let describes = 0;
      for (const [key, n] of counter.snapshot())
        if (key.startsWith('ecs:DescribeTaskDefinition')) describes += n - (before.get(key) ?? 0);
      return { action: report.outcomes[0]!.action, describes, writes: writesBy(before) };
    };
    try {
      assert.deepEqual(await steady(false), { action: 'in-sync', describes: 0, writes: {} });
      assert.deepEqual(await steady(true), { action: 'in-sync', describes: 1, writes: {} });
    } finally {
      await applyPlan(pass(), registry, p, { mode: 'delete', inventory: first.inventory });
    }
  });

  test("with a rotation a wave reads the scaling policies only of the services whose turn it is; scalable targets by the listed services' ids", async () => {
    // Two owners whose ECS services fall in different slots of the rotation.
    const slotOf = (name: string) => rotationSlotOf(`service/${clusterName}/${name}`, ROTATION_SLOTS);
    const names: string[] = [];
    for (let i = 0; names.length < 2; i++) {
      const name = `rot${i}-${suffix}`;
      if (names.length === 0 || slotOf(name) !== slotOf(names[0]!)) names.push(name);
    }
    const owners = names.map((name) => {
      const who: Owner = { ...owner, name };
      const tags = (id: string) => ownershipTags(who, id);
      const resourceId = `service/${clusterName}/${name}`;
      const policy = {
        name: `cpu-${name}`,
        resourceId,
        metric: 'ECSServiceAverageCPUUtilization' as const,
        targetValue: 60,
        scaleInCooldownSeconds: 300,
        scaleOutCooldownSeconds: 60,
      };
      const p = plan(who, [
        { id: 'td', kind: 'ecs.TaskDefinition', props: taskDefinitionProps(name), tags: tags('td') },
        ...scaledService(name, tags),
        { id: 'cpu', kind: 'autoscaling.ScalingPolicy', props: policy, tags: tags('cpu'), after: ['scaling'] },
      ]);
      return { name, resourceId, plan: p, key: `${who.clusterId}/${who.kind}/${who.namespace}/${who.name}` };
    });
    const inventories: ApplyReport['inventory'][] = [];
    for (const o of owners)
      inventories.push((await applyPlan(pass(), registry, o.plan, { mode: 'apply', inventory: [] })).inventory);
    /** The policy's target value changed by hand. */
    const drift = (o: (typeof owners)[number]) =>
      aws.autoscaling.send(
        new PutScalingPolicyCommand({
          PolicyName: `cpu-${o.name}`,
          ...ecsDesiredCount(o.resourceId),
          PolicyType: 'TargetTrackingScaling',
          TargetTrackingScalingPolicyConfiguration: {
            TargetValue: 90,
            PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
            ScaleInCooldown: 300,
            ScaleOutCooldown: 60,
          },
        }),
      );
    const targetValue = async (o: (typeof owners)[number]) => {
      const out = await aws.autoscaling.send(
        new DescribeScalingPoliciesCommand({ ...ecsDesiredCount(o.resourceId), PolicyNames: [`cpu-${o.name}`] }),
      );
      return out.ScalingPolicies?.[0]?.TargetTrackingScalingPolicyConfiguration?.TargetValue;
    };
    /** One wave over both owners, one pass after the other: each pass's policy outcome, and the wave's reads. */
    const wave = async (rotation?: { slot: number; of: number }) => {
      const reads = new WaveReads(Date.now(), rotation);
      const before = counter.snapshot();
      const outcomes: string[][] = [];
      for (const [i, o] of owners.entries()) {
        const report = await withPassContext(
          aws,
          (ctx) => applyPlan(ctx, registry, o.plan, { mode: 'apply', inventory: inventories[i]! }),
          { owner: o.key, steady: true, wave: reads },
        );
        const cpu = report.outcomes.find((x) => x.id === 'cpu')!;
        outcomes.push([cpu.action, ...cpu.changes.map((c) => `${c.path}: ${c.actual} → ${c.desired}`)]);
      }
      return {
        outcomes,
        policyReads: calls('DescribeScalingPolicies', before),
        targetReads: calls('DescribeScalableTargets', before),
      };
    };
    try {
      await Promise.all(owners.map(drift));
      // The wave whose turn is the first owner's: its policy is read (one call for its service) and corrected; the
      // second's is taken as planned, unread, and its change stays until its drift event or its turn.
      const first = await wave({ slot: slotOf(names[0]!), of: ROTATION_SLOTS });
      assert.deepEqual(first.outcomes, [['updated', 'targetValue: 90 → 60'], ['in-sync']]);
      assert.equal(first.policyReads, 1, 'only the policies whose turn it is are read, per service');
      // Both services' targets in one call: the ids of the cluster's listed services, 50 a call (the cluster holds
      // fewer than 50 services here).
      assert.equal(first.targetReads, 1);
      assert.deepEqual([await targetValue(owners[0]!), await targetValue(owners[1]!)], [60, 90]);
      // The second owner's turn: its policy is read and corrected.
      const second = await wave({ slot: slotOf(names[1]!), of: ROTATION_SLOTS });
      assert.deepEqual(second.outcomes, [['in-sync'], ['updated', 'targetValue: 90 → 60']]);
      assert.equal(second.policyReads, 1);
      // Drift events off (no rotation): every policy, from the listing of all of them.
      await drift(owners[0]!);
      const all = await wave();
      assert.deepEqual(all.outcomes, [['updated', 'targetValue: 90 → 60'], ['in-sync']]);
      assert.ok(all.policyReads >= 1);
      assert.deepEqual([await targetValue(owners[0]!), await targetValue(owners[1]!)], [60, 60]);
    } finally {
      for (const [i, o] of owners.entries())
        await applyPlan(pass(), registry, o.plan, { mode: 'delete', inventory: inventories[i]! });
    }
  });

  test("a wave asks for the scalable targets of Services' ECS services, not of a preview's (whose plan has none)", async () => {
    const scaled: Owner = { ...owner, name: `scaled-${suffix}` };
    const preview: Owner = { ...owner, kind: 'PreviewDeployment', name: `pr-${suffix}` };
    const planOf = (who: Owner, withTarget: boolean) => {
      const tags = (id: string) => ownershipTags(who, id);
      const [svc, target] = scaledService(who.name, tags);
      return plan(who, [
        { id: 'td', kind: 'ecs.TaskDefinition', props: taskDefinitionProps(who.name), tags: tags('td') },
        svc!,
        ...(withTarget ? [target!] : []),
      ]);
    };
    const owners = [
      { who: scaled, plan: planOf(scaled, true), resourceId: `service/${clusterName}/${scaled.name}` },
      { who: preview, plan: planOf(preview, false), resourceId: `service/${clusterName}/${preview.name}` },
    ];
    const inventories: ApplyReport['inventory'][] = [];
    for (const o of owners)
      inventories.push((await applyPlan(pass(), registry, o.plan, { mode: 'apply', inventory: [] })).inventory);
    const clients = testAws(counter.listener);
    const asked: string[] = [];
    clients.autoscaling.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DescribeScalableTargetsCommand')
          asked.push(...((args.input as { ResourceIds?: string[] }).ResourceIds ?? []));
        return next(args);
      },
      { step: 'initialize', name: 'itRecordTargetReads' },
    );
    try {
      const reads = new WaveReads(Date.now());
      for (const [i, o] of owners.entries()) {
        const report = await withPassContext(
          clients,
          (ctx) => applyPlan(ctx, registry, o.plan, { mode: 'apply', inventory: inventories[i]! }),
          { owner: `${o.who.clusterId}/${ownerKey(o.who)}`, steady: true, wave: reads },
        );
        for (const x of report.outcomes) assert.equal(x.action, 'in-sync', `${o.who.name} ${x.id}`);
      }
      assert.ok(asked.includes(owners[0]!.resourceId), "the Service's ECS service is asked");
      assert.ok(!asked.includes(owners[1]!.resourceId), "the preview's is not");
    } finally {
      clients.destroy();
      for (const [i, o] of owners.entries())
        await applyPlan(pass(), registry, o.plan, { mode: 'delete', inventory: inventories[i]! });
    }
  });

  test("brand-new owners learn that their ECS services' names are free from one shared listing", async () => {
    const tdArn = await taskDefinitionArn(`fresh-${suffix}`);
    const taken = `taken-${suffix}`;
    await createServiceOutOfBand(taken, tdArn, 0, { team: 'other' });
    /** One pass of a single-service plan, for an owner new (or not) to this process's shared reads. */
    const passOf = (name: string, newOwner: boolean, logs = false) => {
      const who: Owner = { ...owner, name };
      const p = plan(who, [
        ...(logs
          ? [
              {
                id: 'logs',
                kind: 'logs.LogGroup' as const,
                props: { name: `/slipway/${name}`, retentionDays: 0 },
                tags: ownershipTags(who, 'logs'),
              },
            ]
          : []),
        { id: 'svc', kind: 'ecs.Service', props: serviceProps(name, tdArn, 1), tags: ownershipTags(who, 'svc') },
      ]);
      const scope = { owner: `fresh/${name}`, steady: false, newOwner };
      return withPassContext(aws, (ctx) => applyPlan(ctx, registry, p, { mode: 'apply', inventory: [] }), scope);
    };
    const reads = async (run: () => Promise<ApplyReport>) => {
      const before = counter.snapshot();
      const report = await run();
      const action = report.outcomes.find((o) => o.id === 'svc')?.action;
      return {
        action,
        ListServices: calls('ListServices', before),
        DescribeServices: calls('DescribeServices', before),
      };
    };
    const a = `fresh-a-${suffix}`;
    // The first new owner lists the cluster's names and, its own not among them, creates without a read.
    assert.deepEqual(await reads(() => passOf(a, true)), { action: 'created', ListServices: 1, DescribeServices: 0 });
    // The next shares that listing, though it wrote its log group after the listing began: writes count per kind.
    assert.deepEqual(await reads(() => passOf(`fresh-b-${suffix}`, true, true)), {
      action: 'created',
      ListServices: 0,
      DescribeServices: 0,
    });
    // A name the listing holds is read as before: someone else's service is the conflict it was.
    assert.deepEqual(await reads(() => passOf(taken, true)), {
      action: 'conflict',
      ListServices: 0,
      DescribeServices: 1,
    });
    // An owner that wrote a service after the listing began does not trust it: a new listing, then its service read.
    assert.deepEqual(await reads(() => passOf(a, true)), { action: 'in-sync', ListServices: 1, DescribeServices: 1 });
    // An owner that is not new reads its service for itself.
    assert.deepEqual(await reads(() => passOf(`fresh-c-${suffix}`, false)), {
      action: 'created',
      ListServices: 0,
      DescribeServices: 1,
    });
  });

  test('brand-new owners learn that their task definition families are free from one shared listing', async () => {
    const taken = `td-taken-${suffix}`;
    await aws.ecs.send(new RegisterTaskDefinitionCommand(registrationInput(taskDefinitionProps(taken), { team: 'o' })));
    /** One pass of a plan of one task definition, for an owner new (or not) to this process's shared reads. */
    const passOf = async (family: string, newOwner: boolean) => {
      const who: Owner = { ...owner, name: family };
      const p = plan(who, [
        { id: 'td', kind: 'ecs.TaskDefinition', props: taskDefinitionProps(family), tags: ownershipTags(who, 'td') },
      ]);
      const scope = { owner: `fresh-td/${family}`, steady: false, newOwner };
      const before = counter.snapshot();
      const report = await withPassContext(
        aws,
        (ctx) => applyPlan(ctx, registry, p, { mode: 'apply', inventory: [] }),
        scope,
      );
      const o = report.outcomes.find((x) => x.id === 'td');
      return {
        action: o?.action,
        ...(o?.outcome ? { reason: o.outcome.reason } : {}),
        ListTaskDefinitionFamilies: calls('ListTaskDefinitionFamilies', before),
        DescribeTaskDefinition: calls('DescribeTaskDefinition', before),
      };
    };
    const a = `td-fresh-a-${suffix}`;
    // The first new owner lists the active families and, its own not among them, registers without a describe.
    assert.deepEqual(await passOf(a, true), {
      action: 'created',
      ListTaskDefinitionFamilies: 1,
      DescribeTaskDefinition: 0,
    });
    // The next new owner shares that listing.
    assert.deepEqual(await passOf(`td-fresh-b-${suffix}`, true), {
      action: 'created',
      ListTaskDefinitionFamilies: 0,
      DescribeTaskDefinition: 0,
    });
    // A family the listing holds is described as before: someone else's revision is the conflict it was.
    assert.deepEqual(await passOf(taken, true), {
      action: 'conflict',
      reason: 'OwnershipConflict',
      ListTaskDefinitionFamilies: 0,
      DescribeTaskDefinition: 1,
    });
    // An owner that registered after the listing began does not trust it: a new listing, then its family described.
    assert.deepEqual(await passOf(a, true), {
      action: 'in-sync',
      ListTaskDefinitionFamilies: 1,
      DescribeTaskDefinition: 1,
    });
    // An owner that is not new describes its family for itself.
    assert.deepEqual(await passOf(`td-fresh-c-${suffix}`, false), {
      action: 'created',
      ListTaskDefinitionFamilies: 0,
      DescribeTaskDefinition: 1,
    });
    // Someone registers a family after the listing began: a new owner's registration into it is not revision 1, so it
    // looks at the family's other revisions, takes its own back and reports the conflict.
    const late = `td-late-${suffix}`;
    const theirs = await aws.ecs.send(
      new RegisterTaskDefinitionCommand(registrationInput(taskDefinitionProps(late), { team: 'o' })),
    );
    assert.deepEqual(await passOf(late, true), {
      action: 'failed',
      reason: 'OwnershipConflict',
      ListTaskDefinitionFamilies: 0,
      DescribeTaskDefinition: 1,
    });
    const active = await aws.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: late, status: 'ACTIVE' }));
    assert.deepEqual(active.taskDefinitionArns, [theirs.taskDefinition!.taskDefinitionArn]);
  });

  test('same-named resources without our tags are conflicts and stay untouched', async () => {
    const who: Owner = { ...owner, name: `clash-${suffix}` };
    const tags = (id: string) => ownershipTags(who, id);
    const name = `clash-${suffix}`;
    const foreignTd = await aws.ecs.send(
      new RegisterTaskDefinitionCommand(registrationInput(taskDefinitionProps(name), { team: 'other' })),
    );
    const tdArn = foreignTd.taskDefinition!.taskDefinitionArn!;
    await aws.logs.send(new CreateLogGroupCommand({ logGroupName: `/slipway/${name}`, tags: { team: 'other' } }));
    await createServiceOutOfBand(name, tdArn, 1, { team: 'other' });
    const resourceId = `service/${clusterName}/${name}`;
    await aws.autoscaling.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'ecs',
        ScalableDimension: 'ecs:service:DesiredCount',
        ResourceId: resourceId,
        MinCapacity: 1,
        MaxCapacity: 2,
      }),
    );
    const policyProps = {
      name: `cpu-${name}`,
      resourceId,
      metric: 'ECSServiceAverageCPUUtilization',
      targetValue: 50,
      scaleInCooldownSeconds: 300,
      scaleOutCooldownSeconds: 300,
    } as const;
    await aws.autoscaling.send(
      new PutScalingPolicyCommand({
        PolicyName: policyProps.name,
        ServiceNamespace: 'ecs',
        ScalableDimension: 'ecs:service:DesiredCount',
        ResourceId: resourceId,
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 50,
          PredefinedMetricSpecification: { PredefinedMetricType: policyProps.metric },
        },
      }),
    );

    const p = plan(who, [
      { id: 'logs', kind: 'logs.LogGroup', props: { name: `/slipway/${name}`, retentionDays: 7 }, tags: tags('logs') },
      { id: 'td', kind: 'ecs.TaskDefinition', props: taskDefinitionProps(name, 'nginx:other'), tags: tags('td') },
      { id: 'svc', kind: 'ecs.Service', props: serviceProps(name, tdArn, 3), tags: tags('svc') },
      {
        id: 'scaling',
        kind: 'autoscaling.ScalableTarget',
        props: { resourceId, minCapacity: 2, maxCapacity: 8 },
        tags: tags('scaling'),
      },
      { id: 'cpu', kind: 'autoscaling.ScalingPolicy', props: { ...policyProps, targetValue: 75 }, tags: tags('cpu') },
    ]);
    const before = counter.snapshot();
    const report = await applyPlan(pass(), registry, p, { mode: 'apply', inventory: [] });
    assert.deepEqual(
      report.outcomes.map((o) => [o.id, o.action]),
      [
        ['logs', 'conflict'],
        ['td', 'conflict'],
        ['svc', 'conflict'],
        ['scaling', 'conflict'],
        ['cpu', 'conflict'],
      ],
    );
    assert.match(report.outcomes[0]!.message!, /not created by Slipway/);
    // The log group's create, sent without a read first, was refused: the name exists.
    assert.deepEqual(counter.writesSince(before), { 'logs:CreateLogGroup': 1 }, 'nothing else was written');
    assert.deepEqual((await logGroupReconciler.observeByIdentifier(pass(), `/slipway/${name}`))?.tags, {
      team: 'other',
    });
    assert.deepEqual(report.inventory, []);

    const svc = (await aws.ecs.send(new DescribeServicesCommand({ cluster: clusterArn, services: [name] })))
      .services![0]!;
    assert.equal(svc.desiredCount, 1);
    const target = (
      await aws.autoscaling.send(
        new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [resourceId] }),
      )
    ).ScalableTargets![0]!;
    assert.deepEqual([target.MinCapacity, target.MaxCapacity], [1, 2]);
    const policy = await scalingPolicyReconciler.observeByIdentifier(pass(), report.outcomes[4]!.identifier!);
    assert.equal(policy?.props.targetValue, 50);
    assert.deepEqual(policy?.tags, { team: 'other' }, "the foreign service's tags, as observed");
    const td = await taskDefinitionReconciler.observeByIdentifier(pass(), tdArn);
    assert.equal(td?.attrs.revision, '1');
    assert.equal(td?.props.container.image, 'nginx:1.27');
  });
});

describe('setTags: each kind adds, overwrites and removes tags with its own API', () => {
  test('logs.LogGroup: TagResource and UntagResource by ARN', async () => {
    const r = logGroupReconciler;
    const want = desired('logs.LogGroup', 'logs', { name: `/slipway/tags-${suffix}`, retentionDays: 7 });
    await r.create(pass(), want);
    const { observed, writes } = await checkSetTags(r, (c) => r.observe(c, want));
    assert.deepEqual(writes, [{ TagResource: 1 }, { TagResource: 1, UntagResource: 1 }]);
    assert.deepEqual((await r.observeByIdentifier(pass(), observed.identifier))?.tags, want.tags);
    await r.delete(pass(), observed);
  });

  test('ecs.TaskDefinition: TagResource and UntagResource on the revision observed', async () => {
    const r = taskDefinitionReconciler;
    const want = desired('ecs.TaskDefinition', 'td', taskDefinitionProps(`td-tags-${suffix}`));
    await r.create(pass(), want);
    const { observed, writes } = await checkSetTags(r, (c) => r.observe(c, want));
    assert.deepEqual(writes, [{ TagResource: 1 }, { TagResource: 1, UntagResource: 1 }]);
    assert.equal(observed.attrs.revision, '1', 'tagging registers no revision');
    await r.delete(pass(), observed);
  });

  test('ecs.Service: TagResource and UntagResource; the memoised description is read again', async () => {
    const r = ecsServiceReconciler;
    const td = await taskDefinitionArn(`svc-tags-td-${suffix}`);
    const want = desired('ecs.Service', 'svc', serviceProps(`svc-tags-${suffix}`, td, 1));
    await r.create(pass(), want);
    const { observed, writes } = await checkSetTags(r, (c) => r.observe(c, want));
    assert.deepEqual(writes, [{ TagResource: 1 }, { TagResource: 1, UntagResource: 1 }]);
    await r.delete(pass(), observed);
  });

  test('the scaling kinds derive their tags: setTags writes nothing', async () => {
    for (const r of [scalableTargetReconciler, scalingPolicyReconciler] as const) {
      assert.equal(r.tagging, 'derived');
      const before = counter.snapshot();
      const observed = { identifier: 'x', props: {}, tags: {}, attrs: {} } as unknown as Observed<never>;
      await (r as unknown as KindReconciler<never>).setTags(pass(), observed, { team: 'x' }, ['y']);
      assert.deepEqual(writesBy(before), {});
    }
  });
});
