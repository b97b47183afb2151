// The pure planners: snapshots of whole plans, and the rules that decide what a plan contains.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planEnvironment } from '../../../src/planner/environment.js';
import { PlanningError } from '../../../src/planner/errors.js';
import { boundedName } from '../../../src/planner/naming.js';
import { dependenciesOf, topologicalOrder, type Plan } from '../../../src/planner/plan.js';
import { planWorkload, type EnvironmentView, type Workload } from '../../../src/planner/service.js';
import { parseRecordOwnerValue, recordOwnerValue } from '../../../src/planner/record-owner.js';
import { expiresAt, previewWorkload, previewImage, ttlRevision, ttlStart } from '../../../src/controllers/preview.js';
import { environment, preview, service, serviceSpec } from '../../support/objects.js';
import { matchSnapshot } from '../../support/snapshot.js';

const facts = {
  clusterId: 'prod-eu',
  gatedHosts: ['catalog-api.dev.shop.example', 'admin.dev.shop.example'],
  vpcCidr: '10.40.0.0/16',
};

function view(env = environment()): EnvironmentView {
  return {
    environment: env,
    listenerArn:
      'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/sw-commerce-dev/50dc6c495c0c9188/f2f7dc8efc522ab2',
    loadBalancerDnsName: 'sw-commerce-dev-1234567890.eu-west-1.elb.amazonaws.com',
    loadBalancerZoneId: 'Z32O12XQLNTSW2',
    clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/slipway-commerce-dev',
    clusterName: 'slipway-commerce-dev',
    network: { vpcId: env.spec.network.vpcId!, subnetIds: env.spec.network.subnetIds!, assignPublicIp: false },
    securityGroupIds: ['sg-0123456789abcdef0'],
    cognito: {
      userPoolArn: 'arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf',
      clientId: 'client123',
      domain: 'slipway-commerce-dev',
    },
  };
}

function workload(name = 'catalog-api', spec = serviceSpec()): Workload {
  return {
    owner: { clusterId: 'prod-eu', kind: 'Service', namespace: 'commerce', name },
    spec,
    subdomain: name,
    serviceName: name,
  };
}

const ids = (plan: Plan) => plan.resources.map((r) => r.id);

describe('Environment planner', () => {
  test('a gated non-production Environment: snapshot', () => {
    matchSnapshot('environment-dev', planEnvironment(environment(), facts));
  });

  test('production has no gate unless asked, and is deterministic', () => {
    const plan = planEnvironment(environment({ tier: 'production' }), { ...facts, gatedHosts: [] });
    assert.ok(!ids(plan).some((id) => id.startsWith('user')), 'no Cognito resources in production');
    assert.deepEqual(plan, planEnvironment(environment({ tier: 'production' }), { ...facts, gatedHosts: [] }));
  });

  test('callback URLs are exactly the gated hosts, lower-cased, sorted and de-duplicated', () => {
    const plan = planEnvironment(environment(), {
      ...facts,
      gatedHosts: ['B.dev.shop.example', 'a.dev.shop.example', 'b.dev.shop.example'],
    });
    const client = plan.resources.find((r) => r.kind === 'cognito.UserPoolClient');
    assert.ok(client?.kind === 'cognito.UserPoolClient');
    assert.deepEqual(client.props.callbackUrls, [
      'https://a.dev.shop.example/oauth2/idpresponse',
      'https://b.dev.shop.example/oauth2/idpresponse',
    ]);
  });

  test('invited users become users, normalised', () => {
    assert.deepEqual(
      ids(planEnvironment(environment(), facts)).filter((id) => id.startsWith('user:')),
      ['user:qa@shop.example', 'user:reviewer@shop.example'],
    );
  });

  test('more than 100 gated hosts is a clear error naming the field', () => {
    const hosts = Array.from({ length: 101 }, (_, i) => `s${i}.dev.shop.example`);
    assert.throws(
      () => planEnvironment(environment(), { ...facts, gatedHosts: hosts }),
      (e: unknown) => e instanceof PlanningError && e.field === 'spec.access.cognito' && /101 hosts/.test(e.message),
    );
  });

  test('an existing listener is referenced, never managed, and its load balancer must be known', () => {
    const env = environment({
      spec: {
        loadBalancer: {
          scheme: 'internet-facing',
          existingListenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shared/1/2',
        },
      } as never,
    });
    const plan = planEnvironment(env, {
      ...facts,
      existingLoadBalancerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shared/1',
    });
    assert.deepEqual(
      plan.resources.filter((r) => r.kind.startsWith('elbv2')).map((r) => [r.id, Boolean(r.external)]),
      [
        ['load-balancer', true],
        ['https-listener', true],
      ],
    );
    assert.throws(() => planEnvironment(env, facts), /existingListenerArn/);
  });

  test('an existing user pool needs its domain prefix', () => {
    const env = environment({
      spec: {
        access: { cognito: { userPoolId: 'eu-west-1_Existing', required: false, sessionTimeoutSeconds: 3600 } },
      } as never,
    });
    assert.throws(
      () => planEnvironment(env, facts),
      (e: unknown) => e instanceof PlanningError && e.field === 'spec.access.cognito.domainPrefix',
    );
  });
});

describe('Service planner', () => {
  test('a gated Service with autoscaling: snapshot', () => {
    const spec = serviceSpec({
      autoscaling: {
        minTasks: 2,
        maxTasks: 10,
        cpuTargetPercent: 60,
        memoryTargetPercent: 75,
        scaleInCooldownSeconds: 300,
        scaleOutCooldownSeconds: 60,
      },
    });
    matchSnapshot('service-catalog-api', planWorkload(workload('catalog-api', spec), view(), 'prod-eu'));
  });

  test('with autoscaling the desired count is not in the plan (the autoscaler owns it)', () => {
    const spec = serviceSpec({
      autoscaling: {
        minTasks: 2,
        maxTasks: 10,
        cpuTargetPercent: 60,
        scaleInCooldownSeconds: 300,
        scaleOutCooldownSeconds: 60,
      },
    });
    const svc = planWorkload(workload('catalog-api', spec), view(), 'prod-eu').resources.find(
      (r) => r.kind === 'ecs.Service',
    );
    assert.ok(svc?.kind === 'ecs.Service');
    assert.equal(svc.props.desiredCount, undefined);
    const plain = planWorkload(workload(), view(), 'prod-eu').resources.find((r) => r.kind === 'ecs.Service');
    assert.ok(plain?.kind === 'ecs.Service');
    assert.equal(plain.props.desiredCount, 2);
  });

  test('requests per target scales on the ALB metric, labelled with the load balancer and the target group', () => {
    const spec = serviceSpec({
      autoscaling: {
        minTasks: 1,
        maxTasks: 4,
        requestsPerTarget: 500,
        scaleInCooldownSeconds: 300,
        scaleOutCooldownSeconds: 60,
      },
    });
    const policy = planWorkload(workload('catalog-api', spec), view(), 'prod-eu').resources.find(
      (r) => r.id === 'request-scaling-policy',
    );
    assert.ok(policy?.kind === 'autoscaling.ScalingPolicy');
    assert.equal(policy.props.metric, 'ALBRequestCountPerTarget');
    assert.equal(policy.props.targetValue, 500);
    assert.equal(policy.props.loadBalancerLabel, 'app/sw-commerce-dev/50dc6c495c0c9188');
    assert.deepEqual(policy.props.targetGroupLabel, { $ref: { id: 'target-group', attr: 'label' } });
  });

  test('the ECS service comes after the listener rule, the rule after the target group', () => {
    const order = topologicalOrder(planWorkload(workload(), view(), 'prod-eu').resources).map((r) => r.id);
    assert.ok(order.indexOf('listener-rule') > order.indexOf('target-group'));
    assert.ok(order.indexOf('ecs-service') > order.indexOf('listener-rule'));
    assert.ok(order.indexOf('ecs-service') > order.indexOf('task-definition'));
  });

  test('gate: Disabled drops authenticate-cognito; Enabled opts in anywhere; Disabled under required is an error', () => {
    const open = planWorkload(workload('webhooks', serviceSpec({ auth: { cognito: 'Disabled' } })), view(), 'prod-eu');
    const rule = open.resources.find((r) => r.kind === 'elbv2.ListenerRule');
    assert.ok(rule?.kind === 'elbv2.ListenerRule');
    assert.deepEqual(
      rule.props.actions.map((a) => a.type),
      ['forward'],
    );

    // Opting in on an Environment whose gate is off: gated, and the Environment plans a gate for that host.
    const prod = environment({ tier: 'production' });
    const admin = planWorkload(
      workload('admin', serviceSpec({ auth: { cognito: 'Enabled' } })),
      view(prod),
      'prod-eu',
    ).resources.find((r) => r.kind === 'elbv2.ListenerRule');
    assert.ok(admin?.kind === 'elbv2.ListenerRule');
    assert.equal(admin.props.actions[0]?.type, 'authenticate-cognito');
    assert.ok(
      planEnvironment(prod, { ...facts, gatedHosts: ['admin.shop.example'] }).resources.some(
        (r) => r.kind === 'cognito.UserPoolClient',
      ),
    );
    assert.ok(!planEnvironment(prod, { ...facts, gatedHosts: [] }).resources.some((r) => r.kind.startsWith('cognito')));
    assert.throws(
      () =>
        planWorkload(
          workload('admin', serviceSpec({ auth: { cognito: 'Enabled' } })),
          { ...view(prod), cognito: undefined } as never,
          'prod-eu',
        ),
      /has not finished creating its Cognito gate/,
    );
    const strict = environment({
      spec: { access: { cognito: { required: true, sessionTimeoutSeconds: 3600 } } } as never,
    });
    assert.throws(
      () => planWorkload(workload('webhooks', serviceSpec({ auth: { cognito: 'Disabled' } })), view(strict), 'prod-eu'),
      /requires the gate/,
    );
  });

  test('CDN: the DNS alias points at the distribution, whose origin is the load balancer', () => {
    const plan = planWorkload(
      workload(
        'web',
        serviceSpec({
          cdn: {
            enabled: true,
            certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
            priceClass: 'PriceClass_100',
          },
        }),
      ),
      view(),
      'prod-eu',
    );
    const record = plan.resources.find((r) => r.kind === 'route53.Record');
    assert.ok(record?.kind === 'route53.Record');
    assert.deepEqual(record.props.alias, {
      dnsName: { $ref: { id: 'cdn-distribution', attr: 'domainName' } },
      hostedZoneId: 'Z2FDTNDATAQYW2',
    });
    assert.deepEqual(dependenciesOf(record), ['cdn-distribution']);
  });

  test('secrets with a JSON key use the ECS valueFrom form; environment variables are sorted', () => {
    const td = planWorkload(workload(), view(), 'prod-eu').resources.find((r) => r.kind === 'ecs.TaskDefinition');
    assert.ok(td?.kind === 'ecs.TaskDefinition');
    assert.deepEqual(td.props.container.secrets, [
      {
        name: 'DB_PASSWORD',
        valueFrom: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:catalog-db-AbCdEf:password::',
      },
    ]);
    assert.deepEqual(
      td.props.container.environment.map((e) => e.name),
      ['DB_POOL', 'LOG_LEVEL'],
    );
  });
});

describe('naming and ownership', () => {
  test('bounded names keep within the limit, stay readable and never collide', () => {
    const a = boundedName(['sw', 'a-very-long-namespace-name', 'staging', 'checkout-service-v2'], 32);
    const b = boundedName(['sw', 'a-very-long-namespace-name', 'staging', 'checkout-service-v3'], 32);
    assert.ok(a.length <= 32 && b.length <= 32);
    assert.notEqual(a, b);
    assert.match(a, /^sw-a-very-long/);
    assert.equal(boundedName(['sw', 'commerce', 'dev'], 32), 'sw-commerce-dev');
  });

  test('record owner values round-trip and foreign TXT values are not ours', () => {
    const v = recordOwnerValue('prod-eu', 'Service/commerce/web');
    assert.deepEqual(parseRecordOwnerValue(`"${v}"`), {
      'slipway.dev/cluster': 'prod-eu',
      'slipway.dev/owner': 'Service/commerce/web',
    });
    assert.equal(parseRecordOwnerValue('"v=spf1 -all"'), undefined);
  });
});

describe('preview planning', () => {
  test('a preview copies its Service: new image tag, one task, gated, own names: snapshot', () => {
    const svc = service('catalog-api', {
      autoscaling: {
        minTasks: 2,
        maxTasks: 6,
        cpuTargetPercent: 50,
        scaleInCooldownSeconds: 300,
        scaleOutCooldownSeconds: 60,
      },
      auth: { cognito: 'Disabled' },
    });
    const w = previewWorkload(preview({ env: [{ name: 'LOG_LEVEL', value: 'debug' }] }), svc, 'prod-eu');
    assert.equal(w.subdomain, 'pr-42-catalog-api');
    assert.equal(w.spec.image, 'registry.shop.example/catalog-api:pr-42-abc1234');
    assert.equal(w.spec.autoscaling, undefined);
    assert.deepEqual(
      w.spec.env?.find((e) => e.name === 'LOG_LEVEL'),
      { name: 'LOG_LEVEL', value: 'debug' },
    );
    matchSnapshot('preview-catalog-api-pr-42', planWorkload(w, view(), 'prod-eu'));
  });

  test('image tags replace the tag or digest of the Service image', () => {
    const p = preview({ imageTag: 'sha-1' });
    assert.equal(previewImage(p, 'registry:5000/team/app:1.0'), 'registry:5000/team/app:sha-1');
    assert.equal(previewImage(p, 'registry/team/app@sha256:' + 'a'.repeat(64)), 'registry/team/app:sha-1');
    assert.equal(
      previewImage(preview({ image: 'other/app:x', imageTag: undefined }), 'registry/team/app:1'),
      'other/app:x',
    );
  });
});

describe('preview TTL', () => {
  const now = new Date('2026-11-22T12:00:00Z');
  test('counts from creation, and again from the last change of image, tag or commit', () => {
    const p = preview({ ttl: '24h' });
    assert.equal(ttlStart(p, now), '2026-11-20T10:00:00Z', 'a new preview starts at its creation');
    const seen = { ...p, status: { ttlStartedAt: '2026-11-21T08:00:00Z', ttlRevision: ttlRevision(p) } };
    assert.equal(ttlStart(seen, now), '2026-11-21T08:00:00Z', 'unchanged: the recorded start holds');
    const pushed = { ...seen, spec: { ...seen.spec, pullRequest: { ...seen.spec.pullRequest, commitSha: 'def5678' } } };
    assert.equal(ttlStart(pushed, now), '2026-11-22T12:00:00Z', 'a new commit restarts it');
    assert.equal(expiresAt(p, '72h', '2026-11-21T08:00:00Z').toISOString(), '2026-11-22T08:00:00.000Z');
    assert.equal(
      expiresAt(preview(), '72h', '2026-11-21T08:00:00Z').toISOString(),
      '2026-11-24T08:00:00.000Z',
      'the Environment default applies',
    );
  });
});
