// Pure helpers of the ECS-side reconcilers (normalisation, diff options, update inputs, identifier parsing) and
// the DescribeServices batcher's grouping, with a stand-in ECS client that records what it is asked.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ECSClient, type DescribeServicesCommand, type Service, type TaskDefinition } from '@aws-sdk/client-ecs';
import type { AwsClients } from '../../../src/aws/clients.js';
import { clusterName, EcsDescribeBatcher } from '../../../src/aws/ecs-describe-batcher.js';
import type { PropsByKind, Resolved } from '../../../src/planner/plan.js';
import { diffFields } from '../../../src/reconcilers/diff.js';
import {
  ecsServiceDiffOptions,
  ecsServiceProps,
  ecsServiceReconciler,
  ecsServiceTurn,
  parseServiceArn,
  serviceUpdateInput,
  wasRead,
  waveServices,
} from '../../../src/reconcilers/ecs-service.js';
import { logGroupArnOf, logGroupNameOf } from '../../../src/reconcilers/log-group.js';
import type { ReconcileContext } from '../../../src/reconcilers/contract.js';
import {
  isMissingScaling,
  parseResourceId,
  scalableTargetReconciler,
  targetsByIds,
} from '../../../src/reconcilers/scalable-target.js';
import {
  DEFAULT_ECS_COOLDOWN_SECONDS,
  parsePolicyArn,
  scalingPolicyProps,
  scalingPolicyReconciler,
} from '../../../src/reconcilers/scaling-policy.js';
import { recordingContext, type SentCommand } from '../../support/recording-context.js';
import {
  familyOf,
  parseTaskSize,
  registrationInput,
  taskDefinitionDiffOptions,
  taskDefinitionProps,
  taskDefinitionReconciler,
} from '../../../src/reconcilers/task-definition.js';

type TdProps = Resolved<PropsByKind['ecs.TaskDefinition']>;
type SvcProps = Resolved<PropsByKind['ecs.Service']>;

const tdProps: TdProps = {
  family: 'web',
  cpuArchitecture: 'X86_64',
  cpu: 512,
  memory: 1024,
  executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
  container: {
    name: 'app',
    image: 'nginx:1.27',
    port: 8080,
    environment: [
      { name: 'B', value: '2' },
      { name: 'A', value: '1' },
    ],
    secrets: [
      { name: 'Z', valueFrom: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:z' },
      { name: 'Y', valueFrom: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:y:key::' },
    ],
    logGroup: '/slipway/web',
    logRegion: 'us-east-1',
    logStreamPrefix: 'app',
  },
};

/** What DescribeTaskDefinition returns for tdProps: AWS's additions included, order as registered by someone else. */
function described(overrides: Partial<TaskDefinition> = {}): TaskDefinition {
  return {
    taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:7',
    family: 'web',
    revision: 7,
    status: 'ACTIVE',
    networkMode: 'awsvpc',
    requiresCompatibilities: ['FARGATE'],
    compatibilities: ['EC2', 'FARGATE'],
    cpu: '512',
    memory: '1024',
    executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
    volumes: [],
    placementConstraints: [],
    containerDefinitions: [
      {
        name: 'app',
        image: 'nginx:1.27',
        cpu: 0,
        essential: true,
        portMappings: [{ containerPort: 8080, hostPort: 8080, protocol: 'tcp' }],
        environment: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
        secrets: [
          { name: 'Y', valueFrom: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:y:key::' },
          { name: 'Z', valueFrom: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:z' },
        ],
        mountPoints: [],
        volumesFrom: [],
        systemControls: [],
        logConfiguration: {
          logDriver: 'awslogs',
          options: {
            'awslogs-group': '/slipway/web',
            'awslogs-region': 'us-east-1',
            'awslogs-stream-prefix': 'app',
            mode: 'non-blocking',
          },
          secretOptions: [],
        },
      },
    ],
    ...overrides,
  };
}

describe('task definition normalisation', () => {
  test('what AWS adds and the order of environment and secrets are not a change', () => {
    assert.deepEqual(diffFields(tdProps, taskDefinitionProps(described()), taskDefinitionDiffOptions), []);
  });

  test('a real change is reported by path', () => {
    const td = described();
    const c = td.containerDefinitions![0]!;
    const changed = described({
      containerDefinitions: [
        { ...c, image: 'nginx:1.28', environment: [...c.environment!, { name: 'C', value: '3' }] },
      ],
    });
    assert.deepEqual(
      diffFields(tdProps, taskDefinitionProps(changed), taskDefinitionDiffOptions).map((x) => x.path),
      ['container.image', 'container.environment'],
    );
  });

  test('a sidecar added out of band shows in the container name', () => {
    const td = described();
    const withSidecar = described({
      containerDefinitions: [td.containerDefinitions![0]!, { name: 'envoy', image: 'envoy' }],
    });
    assert.deepEqual(diffFields(tdProps, taskDefinitionProps(withSidecar), taskDefinitionDiffOptions), [
      { path: 'container.name', desired: 'app', actual: 'app,envoy' },
    ]);
  });

  test('another log driver reads as no log group', () => {
    const td = described();
    const c = td.containerDefinitions![0]!;
    const props = taskDefinitionProps(
      described({ containerDefinitions: [{ ...c, logConfiguration: { logDriver: 'json-file' } }] }),
    );
    assert.equal(props.container.logGroup, '');
  });

  test('registration input: one essential awsvpc container, sorted env and secrets, sizes as strings', () => {
    const input = registrationInput(tdProps, { 'slipway.dev/owner': 'Service/ns/web' });
    assert.equal(input.cpu, '512');
    assert.equal(input.memory, '1024');
    assert.equal(input.networkMode, 'awsvpc');
    assert.deepEqual(input.requiresCompatibilities, ['FARGATE']);
    const c = input.containerDefinitions![0]!;
    assert.equal(c.essential, true);
    assert.deepEqual(c.portMappings, [{ containerPort: 8080, hostPort: 8080, protocol: 'tcp' }]);
    assert.deepEqual(
      c.environment?.map((e) => e.name),
      ['A', 'B'],
    );
    assert.deepEqual(
      c.secrets?.map((e) => e.name),
      ['Y', 'Z'],
    );
    assert.deepEqual(input.tags, [{ key: 'slipway.dev/owner', value: 'Service/ns/web' }]);
    assert.equal(
      registrationInput({ ...tdProps, container: { ...tdProps.container, secrets: [] } }, {}).containerDefinitions![0]!
        .secrets,
      undefined,
    );
  });

  test('task sizes in every form the API accepts', () => {
    assert.equal(parseTaskSize('256'), 256);
    assert.equal(parseTaskSize('0.25 vCPU'), 256);
    assert.equal(parseTaskSize('2 GB'), 2048);
    assert.equal(parseTaskSize(undefined), 0);
  });

  test('family from ARN, family:revision or family', () => {
    assert.equal(familyOf('arn:aws:ecs:us-east-1:123456789012:task-definition/web-app:12'), 'web-app');
    assert.equal(familyOf('web-app:3'), 'web-app');
    assert.equal(familyOf('web-app'), 'web-app');
  });

  test('revisions of one family are one resource when leftovers are matched', () => {
    const identity = taskDefinitionReconciler.identityOf!;
    const arn = (family: string, revision: number) =>
      `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${revision}`;
    assert.equal(identity(arn('web-app', 12)), identity(arn('web-app', 13)));
    assert.notEqual(identity(arn('web-app', 12)), identity(arn('web-api', 12)));
  });
});

test('a create into a family with earlier revisions whose check fails takes its revision back, and fails', async () => {
  const arn = 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:2';
  const { ctx, sent } = recordingContext((call) =>
    call.command === 'RegisterTaskDefinitionCommand'
      ? { taskDefinition: described({ taskDefinitionArn: arn, revision: 2 }) }
      : {},
  );
  const desired = {
    id: 'td',
    kind: 'ecs.TaskDefinition' as const,
    props: tdProps,
    tags: { 'slipway.dev/owner': 'Service/default/web' },
  };
  // The check's listing of the family fails here (the SDK's paginator refuses this stand-in client), as a throttled
  // or timed-out one would: whose family it joined is not known.
  await assert.rejects(taskDefinitionReconciler.create(ctx, desired), /ECSClient/);
  assert.deepEqual(
    sent.map((c) => c.command),
    ['RegisterTaskDefinitionCommand', 'DeregisterTaskDefinitionCommand'],
  );
  assert.equal(sent[1]!.input.taskDefinition, arn, 'the revision it just registered, and no other');
});

const svcProps: SvcProps = {
  name: 'web',
  clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/main',
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:7',
  subnetIds: ['subnet-a', 'subnet-b'],
  securityGroupIds: ['sg-1', 'sg-2'],
  assignPublicIp: false,
  targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/abc',
  containerName: 'app',
  containerPort: 8080,
  healthCheckGracePeriodSeconds: 30,
  circuitBreaker: { enable: true, rollback: true },
  minimumHealthyPercent: 100,
  maximumPercent: 200,
};

function service(overrides: Partial<Service> = {}): Service {
  return {
    serviceName: 'web',
    serviceArn: 'arn:aws:ecs:us-east-1:123456789012:service/main/web',
    clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/main',
    status: 'ACTIVE',
    taskDefinition: svcProps.taskDefinitionArn,
    desiredCount: 7,
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: ['subnet-b', 'subnet-a'],
        securityGroups: ['sg-2', 'sg-1'],
        assignPublicIp: 'DISABLED',
      },
    },
    loadBalancers: [{ targetGroupArn: svcProps.targetGroupArn, containerName: 'app', containerPort: 8080 }],
    healthCheckGracePeriodSeconds: 30,
    deploymentConfiguration: {
      deploymentCircuitBreaker: { enable: true, rollback: true },
      minimumHealthyPercent: 100,
      maximumPercent: 200,
    },
    ...overrides,
  };
}

describe('ECS service diff and update input', () => {
  test('subnets and security groups are sets; the count is not diffed when autoscaling owns it; the cluster is identity', () => {
    const observed = ecsServiceProps(service({ clusterArn: 'main' }));
    assert.deepEqual(diffFields(svcProps, observed, ecsServiceDiffOptions), []);
    assert.deepEqual(diffFields({ ...svcProps, desiredCount: 2 }, observed, ecsServiceDiffOptions), [
      { path: 'desiredCount', desired: '2', actual: '7' },
    ]);
  });

  test('a missing deployment configuration reads as ECS defaults', () => {
    const p = ecsServiceProps(service({ deploymentConfiguration: undefined }));
    assert.deepEqual(
      [p.circuitBreaker, p.minimumHealthyPercent, p.maximumPercent],
      [{ enable: false, rollback: false }, 100, 200],
    );
  });

  test('update sends only the groups that changed, never desiredCount when the props omit it', () => {
    const input = serviceUpdateInput(svcProps, [
      { path: 'healthCheckGracePeriodSeconds', desired: '30', actual: '99' },
      { path: 'desiredCount', desired: '(absent)', actual: '7' },
    ]);
    assert.deepEqual(input, { cluster: svcProps.clusterArn, service: 'web', healthCheckGracePeriodSeconds: 30 });
  });

  test('desiredCount goes when the props carry it', () => {
    const input = serviceUpdateInput({ ...svcProps, desiredCount: 3 }, [
      { path: 'desiredCount', desired: '3', actual: '7' },
    ]);
    assert.equal(input.desiredCount, 3);
  });

  test('a load balancer change forces a new deployment; network and deployment settings go whole', () => {
    const input = serviceUpdateInput(svcProps, [
      { path: 'containerPort', desired: '8080', actual: '80' },
      { path: 'securityGroupIds', desired: '[]', actual: '[]' },
      { path: 'circuitBreaker.rollback', desired: 'true', actual: 'false' },
    ]);
    assert.equal(input.forceNewDeployment, true);
    assert.deepEqual(input.loadBalancers, [
      { targetGroupArn: svcProps.targetGroupArn, containerName: 'app', containerPort: 8080 },
    ]);
    assert.deepEqual(input.networkConfiguration?.awsvpcConfiguration?.securityGroups, ['sg-1', 'sg-2']);
    assert.equal(input.networkConfiguration?.awsvpcConfiguration?.assignPublicIp, 'DISABLED');
    assert.deepEqual(input.deploymentConfiguration, {
      deploymentCircuitBreaker: { enable: true, rollback: true },
      minimumHealthyPercent: 100,
      maximumPercent: 200,
    });
    assert.equal(input.taskDefinition, undefined);
  });

  test('service ARNs in both formats, cluster names from ARNs', () => {
    assert.deepEqual(parseServiceArn('arn:aws:ecs:us-east-1:123456789012:service/main/web'), {
      cluster: 'main',
      name: 'web',
    });
    assert.deepEqual(parseServiceArn('arn:aws:ecs:us-east-1:123456789012:service/web'), {
      cluster: 'default',
      name: 'web',
    });
    assert.equal(parseServiceArn('nonsense'), undefined);
    assert.equal(clusterName('arn:aws:ecs:us-east-1:123456789012:cluster/main'), 'main');
    assert.equal(clusterName('main'), 'main');
  });
});

describe('scaling and logs helpers', () => {
  test('resource ids and policy ARNs', () => {
    assert.deepEqual(parseResourceId('service/main/web'), { cluster: 'main', service: 'web' });
    assert.equal(parseResourceId('table/orders'), undefined);
    assert.deepEqual(
      parsePolicyArn(
        'arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0e1f:resource/ecs/service/main/web:policyName/web-cpu',
      ),
      { resourceId: 'service/main/web', name: 'web-cpu' },
    );
  });

  test("a policy's ARNs of one name on one service are one policy: an old ARN in the inventory is no leftover", () => {
    const arn = (id: string, name = 'web-cpu') =>
      `arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:${id}:resource/ecs/service/main/web:policyName/${name}`;
    const identity = scalingPolicyReconciler.identityOf!;
    assert.equal(identity(arn('0e1f')), identity(arn('77aa')));
    assert.notEqual(identity(arn('0e1f')), identity(arn('0e1f', 'web-memory')));
    assert.equal(identity('not-an-arn'), 'not-an-arn');
  });

  test('policy cooldowns default as Application Auto Scaling does for ECS', () => {
    const p = scalingPolicyProps({
      PolicyName: 'cpu',
      PolicyARN: 'arn',
      ResourceId: 'service/main/web',
      ServiceNamespace: 'ecs',
      ScalableDimension: 'ecs:service:DesiredCount',
      PolicyType: 'TargetTrackingScaling',
      CreationTime: new Date(0),
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 60,
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
      },
    });
    assert.deepEqual(p, {
      name: 'cpu',
      resourceId: 'service/main/web',
      metric: 'ECSServiceAverageCPUUtilization',
      targetValue: 60,
      scaleInCooldownSeconds: DEFAULT_ECS_COOLDOWN_SECONDS,
      scaleOutCooldownSeconds: DEFAULT_ECS_COOLDOWN_SECONDS,
    });
  });

  test('missing scaling objects, however the API words it', () => {
    const validation = Object.assign(new Error('No scalable target found for service namespace: ecs'), {
      name: 'ValidationException',
    });
    assert.equal(isMissingScaling(validation), true);
    assert.equal(isMissingScaling(Object.assign(new Error('x'), { name: 'ObjectNotFoundException' })), true);
    assert.equal(
      isMissingScaling(Object.assign(new Error('MinCapacity too big'), { name: 'ValidationException' })),
      false,
    );
  });

  test('log group names and ARNs', () => {
    assert.equal(logGroupNameOf('arn:aws:logs:us-east-1:123456789012:log-group:/slipway/web:*'), '/slipway/web');
    assert.equal(logGroupNameOf('arn:aws:logs:us-east-1:123456789012:log-group:/slipway/web'), '/slipway/web');
    assert.equal(logGroupNameOf('/slipway/web'), '/slipway/web');
    assert.equal(
      logGroupArnOf({ arn: 'arn:aws:logs:us-east-1:1:log-group:x:*' }),
      'arn:aws:logs:us-east-1:1:log-group:x',
    );
  });
});

/** An ECS client stand-in: records each DescribeServices input and answers from `known`. */
function fakeClients(known: (cluster: string, name: string) => boolean, fail?: Error) {
  const inputs: { cluster: string; services: string[] }[] = [];
  const ecs = {
    async send(cmd: DescribeServicesCommand) {
      const cluster = cmd.input.cluster ?? '';
      const services = cmd.input.services ?? [];
      inputs.push({ cluster, services: [...services] });
      if (fail) throw fail;
      return {
        services: services
          .filter((n) => known(cluster, n))
          .map((n) => ({
            serviceName: n,
            serviceArn: `arn:aws:ecs:us-east-1:1:service/${cluster}/${n}`,
            status: 'ACTIVE',
          })),
        failures: services
          .filter((n) => !known(cluster, n))
          .map((n) => ({ arn: `arn:aws:ecs:us-east-1:1:service/${n}`, reason: 'MISSING' })),
      };
    },
  };
  return { aws: { ecs } as unknown as AwsClients, inputs };
}

describe('EcsDescribeBatcher', () => {
  test('concurrent lookups merge into calls of at most 10 per cluster; duplicates ask once', async () => {
    const { aws, inputs } = fakeClients(() => true);
    const b = new EcsDescribeBatcher(aws, 2);
    const names = Array.from({ length: 12 }, (_, i) => `s${i}`);
    const found = await Promise.all([
      b.describe('main', 's0'),
      b.describe('other', 's0'),
      ...names.map((n) => b.describe('arn:aws:ecs:us-east-1:1:cluster/main', n)),
    ]);
    assert.deepEqual(
      found.map((s) => s?.serviceName),
      ['s0', 's0', ...names],
    );
    assert.deepEqual(
      inputs.map((i) => [i.cluster, i.services.length]).sort(),
      [
        ['main', 10],
        ['main', 2],
        ['other', 1],
      ].sort(),
    );
  });

  test('MISSING is undefined; a failed call rejects every lookup in it', async () => {
    const { aws } = fakeClients((_c, n) => n !== 'gone');
    const b = new EcsDescribeBatcher(aws, 1);
    assert.deepEqual(
      (await Promise.all([b.describe('main', 'here'), b.describe('main', 'gone')])).map((s) => s?.serviceName),
      ['here', undefined],
    );
    const broken = new EcsDescribeBatcher(
      fakeClients(() => true, Object.assign(new Error('no cluster'), { name: 'ClusterNotFoundException' })).aws,
      1,
    );
    const results = await Promise.allSettled([broken.describe('x', 'a'), broken.describe('x', 'b')]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
  });

  test('lookups after a batch was sent start a new batch', async () => {
    const { aws, inputs } = fakeClients(() => true);
    const b = new EcsDescribeBatcher(aws, 1);
    await b.describe('main', 'a');
    await b.describe('main', 'b');
    assert.equal(inputs.length, 2);
  });
});

test('a request-count policy reads back its resource label split into the load balancer and target group parts', async () => {
  const { scalingPolicyProps } = await import('../../../src/reconcilers/scaling-policy.js');
  const props = scalingPolicyProps({
    PolicyName: 'p',
    ResourceId: 'service/c/s',
    PolicyType: 'TargetTrackingScaling',
    ServiceNamespace: 'ecs',
    ScalableDimension: 'ecs:service:DesiredCount',
    PolicyARN: 'arn',
    CreationTime: new Date(0),
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: 500,
      PredefinedMetricSpecification: {
        PredefinedMetricType: 'ALBRequestCountPerTarget',
        ResourceLabel: 'app/lb/123/targetgroup/tg/456',
      },
    },
  });
  assert.equal(props.loadBalancerLabel, 'app/lb/123');
  assert.equal(props.targetGroupLabel, 'targetgroup/tg/456');
});

describe('scaling reads in a resync wave', () => {
  const resourceId = 'service/main/web';
  const policyArn =
    'arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0e1f:resource/ecs/service/main/web:policyName/web-cpu';
  const planned: Resolved<PropsByKind['autoscaling.ScalingPolicy']> = {
    name: 'web-cpu',
    resourceId,
    metric: 'ECSServiceAverageCPUUtilization',
    targetValue: 60,
    scaleInCooldownSeconds: 300,
    scaleOutCooldownSeconds: 60,
  };
  const desiredPolicy = { id: 'cpu', kind: 'autoscaling.ScalingPolicy' as const, props: planned, tags: {} };
  /** AWS holds the policy with a target value changed out of band. */
  const answer = (sent: SentCommand) =>
    sent.command === 'DescribeScalingPoliciesCommand'
      ? {
          ScalingPolicies: [
            {
              PolicyName: 'web-cpu',
              PolicyARN: policyArn,
              ResourceId: resourceId,
              ServiceNamespace: 'ecs',
              ScalableDimension: 'ecs:service:DesiredCount',
              PolicyType: 'TargetTrackingScaling',
              CreationTime: new Date(0),
              TargetTrackingScalingPolicyConfiguration: {
                TargetValue: 90,
                PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
                ScaleInCooldown: 300,
                ScaleOutCooldown: 60,
              },
            },
          ],
        }
      : {};
  /** A pass's context as a wave gives it: its rotation's turn for the policy, and the listings it asked for. */
  const wavePass = (turn: boolean, rotating: boolean) => {
    const recording = recordingContext(answer);
    const listings: string[] = [];
    const ctx: ReconcileContext = {
      ...recording.ctx,
      readEach: () => turn,
      rotating: () => rotating,
      bulk: (key) => (listings.push(key), Promise.resolve(undefined)),
    };
    const policyReads = () => recording.sent.filter((s) => s.command === 'DescribeScalingPoliciesCommand');
    return { ctx, listings, policyReads };
  };

  test('drift events off: the policy comes from the listing of all of them where the wave has one', async () => {
    const { ctx, listings, policyReads } = wavePass(true, false);
    const seen = await scalingPolicyReconciler.observe(ctx, desiredPolicy);
    assert.deepEqual(
      listings.filter((k) => k.startsWith('autoscaling:policies')),
      ['autoscaling:policies:ecs'],
    );
    // No listing here (bulk answers undefined): read per service.
    assert.equal(policyReads().length, 1);
    assert.equal(seen?.props.targetValue, 90);
  });

  test('with a rotation, a policy whose turn it is is read per service, never from the listing', async () => {
    const { ctx, listings, policyReads } = wavePass(true, true);
    const seen = await scalingPolicyReconciler.observe(ctx, desiredPolicy);
    assert.deepEqual(
      listings.filter((k) => k.startsWith('autoscaling:policies')),
      [],
    );
    assert.deepEqual(
      policyReads().map((s) => s.input.ResourceId),
      [resourceId],
    );
    assert.equal(seen?.props.targetValue, 90, 'the change is seen');
  });

  test("a policy whose turn it is not is taken as planned under the ARN its owner's inventory records, without a read", async () => {
    const { ctx, policyReads } = wavePass(false, true);
    const notItsTurn: ReconcileContext = { ...ctx, readEach: () => false };
    // Recorded by the inventory: nothing read.
    const unread = await scalingPolicyReconciler.observe(notItsTurn, desiredPolicy, policyArn);
    assert.equal(policyReads().length, 0);
    assert.deepEqual(unread?.props, planned);
    assert.equal(unread?.identifier, policyArn);
    assert.equal(unread?.attrs.arn, policyArn);
    assert.equal(unread?.assumed, true, 'marked: the applier reads it fresh before any write by it');
    // Not recorded (a policy not yet in the inventory): read, and its drift seen.
    const read = await scalingPolicyReconciler.observe(notItsTurn, desiredPolicy);
    assert.equal(policyReads().length, 1);
    assert.equal(read?.identifier, policyArn);
    assert.equal(read?.props.targetValue, 90);
    assert.equal(read?.assumed, undefined);
    // Its turn (another wave's pass): read whatever the inventory records.
    const turn = wavePass(true, true);
    const seen = await scalingPolicyReconciler.observe(turn.ctx, desiredPolicy, policyArn);
    assert.equal(turn.policyReads().length, 1);
    assert.equal(seen?.props.targetValue, 90);
  });

  test('scalable targets are read by resource ids, 50 a call, and only the ECS desired count is kept', async () => {
    const ids = Array.from({ length: 120 }, (_, i) => `service/main/s${i}`);
    const { ctx, sent } = recordingContext((call) => {
      const asked = (call.input.ResourceIds as string[] | undefined) ?? [];
      return {
        ScalableTargets: asked.flatMap((ResourceId) => [
          { ResourceId, ScalableDimension: 'ecs:service:DesiredCount', ServiceNamespace: 'ecs', MinCapacity: 1 },
          { ResourceId, ScalableDimension: 'custom-resource:ResourceType:Property', ServiceNamespace: 'ecs' },
        ]),
      };
    });
    const found = await targetsByIds(ctx, ids);
    assert.deepEqual(
      sent.map((s) => [s.command, (s.input.ResourceIds as string[]).length, s.input.ScalableDimension]),
      [50, 50, 20].map((n) => ['DescribeScalableTargetsCommand', n, 'ecs:service:DesiredCount']),
    );
    assert.deepEqual([...found.keys()], ids);
    assert.equal(found.get('service/main/s7')?.ScalableDimension, 'ecs:service:DesiredCount');
    assert.deepEqual(await targetsByIds(ctx, []), new Map(), 'no ids, no call');
    assert.equal(sent.length, 3);
  });
});

describe('ECS services in a resync wave with a rotation', () => {
  const cluster = svcProps.clusterArn;
  const arnOf = (name: string) => `arn:aws:ecs:us-east-1:123456789012:service/main/${name}`;
  const tags = { 'slipway.dev/owner': 'Service/ns/web', 'slipway.dev/logical-id': 'service' };
  const desiredService = { id: 'service', kind: 'ecs.Service' as const, props: svcProps, tags };
  const desiredTarget = {
    id: 'scaling',
    kind: 'autoscaling.ScalableTarget' as const,
    props: { resourceId: 'service/main/web', minCapacity: 1, maxCapacity: 4 },
    tags: {},
  };
  /**
   * A member pass of a rotating wave whose turn is `inTurn` (by ecsServiceTurn's key): ListServices lists `names`,
   * DescribeServices answers each name it is asked for, the memo keeps what a pass loaded, and the wave's listing is
   * loaded through the same turn.
   */
  const wavePass = (names: readonly string[], inTurn: (key: string) => boolean) => {
    const answer = (sent: SentCommand) => {
      if (sent.command === 'ListServicesCommand') return { serviceArns: names.map(arnOf) };
      if (sent.command === 'DescribeServicesCommand') {
        const asked = sent.input.services as string[];
        const deployments = [{ id: 'd1', status: 'PRIMARY', rolloutState: 'COMPLETED' as const }];
        const described = asked.map((n) => service({ serviceName: n, serviceArn: arnOf(n), deployments }));
        return { services: described.map((s) => ({ ...s, tags: [{ key: 'slipway.dev/owner', value: 'x' }] })) };
      }
      return {};
    };
    const recording = recordingContext(answer);
    // A real ECS client (the paginator wants one) whose calls are answered before they leave it.
    const ecs = new ECSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    ecs.middlewareStack.add(
      (_next, context) => async (args) => {
        const call = {
          client: 'ecs',
          command: context.commandName ?? '',
          input: args.input as Record<string, unknown>,
        };
        recording.sent.push(call);
        return { output: answer(call) as never, response: {} };
      },
      { step: 'initialize', name: 'answerHere' },
    );
    const aws: AwsClients = new Proxy(recording.ctx.aws, {
      get: (target, name) => (name === 'ecs' ? ecs : name === 'root' ? aws : Reflect.get(target, name)),
    });
    const memo = new Map<string, Promise<unknown>>();
    const ctx: ReconcileContext = {
      ...recording.ctx,
      aws,
      readEach: inTurn,
      rotating: () => true,
      memo: <T>(key: string, load: (reads: ReconcileContext) => Promise<T>) => {
        if (!memo.has(key)) memo.set(key, load(ctx));
        return memo.get(key) as Promise<T>;
      },
      bulk: (_key, load) => load(ctx),
    };
    const calls = (command: string) => recording.sent.filter((s) => s.command === command);
    return { ctx, calls, sent: recording.sent };
  };

  test('the listing names every service but describes only those whose turn it is', async () => {
    const { ctx, calls } = wavePass(['web', 'api', 'jobs'], (key) => key === ecsServiceTurn(cluster, 'api'));
    const listed = await waveServices(ctx, cluster);
    assert.deepEqual([...(listed?.names ?? [])].sort(), ['api', 'jobs', 'web']);
    assert.deepEqual([...(listed?.read ?? [])], ['api']);
    assert.deepEqual(
      calls('DescribeServicesCommand').map((s) => s.input.services),
      [['api']],
    );
  });

  test("not its turn: a settled owner's service is taken as planned under its recorded ARN, and so are its scalable target and the ownership its scaling follows", async () => {
    const { ctx, sent } = wavePass(['web'], () => false);
    const seen = await ecsServiceReconciler.observe(ctx, desiredService, arnOf('web'));
    assert.equal(seen?.identifier, arnOf('web'));
    assert.deepEqual(seen?.props, svcProps);
    assert.deepEqual(seen?.tags, tags);
    assert.equal(wasRead(seen!.attrs), false, 'no running state: the status keeps what it showed');
    const target = await scalableTargetReconciler.observe(ctx, desiredTarget, 'service/main/web');
    assert.deepEqual(target?.props, desiredTarget.props);
    assert.deepEqual(target?.tags, { 'slipway.dev/owner': 'Service/ns/web' }, "the service's planned owner tags");
    assert.deepEqual(sent, [], 'nothing read');
  });

  test('a scalable target that is read takes its ownership from the described service, not the one taken as planned', async () => {
    const { ctx, calls } = wavePass(['web'], () => false);
    await ecsServiceReconciler.observe(ctx, desiredService, arnOf('web'));
    // Not recorded: read, and a write may follow, so the service's real tags decide whose it is: it is described.
    await scalableTargetReconciler.observe(ctx, desiredTarget);
    assert.deepEqual(
      calls('DescribeServicesCommand').map((s) => s.input.services),
      [['web']],
    );
  });

  test('read where nothing is recorded, or in its turn', async () => {
    const notRecorded = wavePass(['web'], () => false);
    const read = await ecsServiceReconciler.observe(notRecorded.ctx, desiredService);
    assert.ok(read && wasRead(read.attrs));
    // Listed but not described by the listing (not its turn): described by itself.
    assert.deepEqual(
      notRecorded.calls('DescribeServicesCommand').map((s) => s.input.services),
      [['web']],
    );
    const turn = wavePass(['web'], () => true);
    const inTurn = await ecsServiceReconciler.observe(turn.ctx, desiredService, arnOf('web'));
    assert.ok(inTurn && wasRead(inTurn.attrs));
    assert.deepEqual([inTurn.attrs.desiredCount, inTurn.attrs.rolloutState], ['7', 'COMPLETED']);
    assert.equal(turn.calls('DescribeServicesCommand').length, 1);
  });
});
