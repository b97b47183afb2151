// Drift events, the pure parts: which AWS resources an Environment plans for them, and how a CloudTrail event (as
// EventBridge delivers it to SQS) maps to the identifiers of the status inventories, or is ignored and why.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyEvent, isOwnCall, type EventVerdict } from '../../../src/events/cloudtrail.js';
import { planEnvironment } from '../../../src/planner/environment.js';
import { canonicalJson, DRIFT_LOGICAL, driftEventPattern } from '../../../src/planner/drift-events.js';
import { admittedRule, queuePolicy, sourceRuleArn } from '../../../src/reconcilers/event-queue.js';
import { environment } from '../../support/objects.js';

const facts = { clusterId: 'prod-eu', gatedHosts: [], vpcCidr: '10.40.0.0/16' };
const own = { sessionName: 'slipway-prod-eu', userAgentAppId: 'slipway-prod-eu' };
const ACCOUNT = '123456789012';

/** An event in the shape CloudTrail gives EventBridge, delivered to the queue as the message body. */
function event(
  source: string,
  eventName: string,
  requestParameters: Record<string, unknown>,
  extra: {
    responseElements?: unknown;
    userIdentity?: unknown;
    userAgent?: string;
    errorCode?: string;
    region?: string;
  } = {},
): string {
  const region = extra.region ?? 'eu-west-1';
  return JSON.stringify({
    version: '0',
    id: 'f3c1a2b4-0000-4000-8000-000000000001',
    'detail-type': 'AWS API Call via CloudTrail',
    source: `aws.${source}`,
    account: ACCOUNT,
    time: '2026-11-29T10:00:00Z',
    region,
    resources: [],
    detail: {
      eventVersion: '1.09',
      userIdentity: extra.userIdentity ?? {
        type: 'AssumedRole',
        principalId: 'AROAEXAMPLE:jane',
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/admin/jane`,
        accountId: ACCOUNT,
      },
      eventTime: '2026-11-29T10:00:00Z',
      eventSource: `${source}.amazonaws.com`,
      eventName,
      awsRegion: region,
      sourceIPAddress: '203.0.113.7',
      userAgent: extra.userAgent ?? 'aws-cli/2.15.0 Python/3.11.6',
      requestParameters,
      responseElements: extra.responseElements ?? null,
      ...(extra.errorCode ? { errorCode: extra.errorCode } : {}),
      requestID: 'req-1',
      eventID: 'evt-1',
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: ACCOUNT,
    },
  });
}

const ids = (v: EventVerdict) => (v.action === 'enqueue' ? [...v.identifiers].sort() : v);

describe('the plan of an Environment with drift events', () => {
  test('off (the default): nothing', () => {
    const kinds = planEnvironment(environment(), facts).resources.map((r) => r.kind);
    assert.ok(!kinds.includes('events.Rule') && !kinds.includes('sqs.Queue'));
  });

  test('in eu-west-1: a rule and queue there for the regional services, and a pair in us-east-1 for Route53 and CloudFront', () => {
    const env = environment({ spec: { drift: { events: true } } });
    const plan = planEnvironment(env, facts).resources.filter(
      (r) => r.kind === 'events.Rule' || r.kind === 'sqs.Queue',
    );
    assert.deepEqual(
      plan.map((r) => [r.id, r.kind, (r.props as { region: string }).region]),
      [
        [DRIFT_LOGICAL.queue, 'sqs.Queue', 'eu-west-1'],
        [DRIFT_LOGICAL.rule, 'events.Rule', 'eu-west-1'],
        [DRIFT_LOGICAL.globalQueue, 'sqs.Queue', 'us-east-1'],
        [DRIFT_LOGICAL.globalRule, 'events.Rule', 'us-east-1'],
      ],
    );
    const rule = plan.find((r) => r.id === DRIFT_LOGICAL.rule)!;
    assert.deepEqual((rule.props as { queueArn: unknown }).queueArn, {
      $ref: { id: DRIFT_LOGICAL.queue, attr: 'arn' },
    });
    assert.equal(rule.tags['slipway.dev/owner'], 'Environment/commerce/dev');
    const pattern = JSON.parse((rule.props as { eventPattern: string }).eventPattern) as {
      $or: Record<string, unknown>[];
    };
    assert.deepEqual(pattern.$or[0]!['detail-type'], ['AWS API Call via CloudTrail']);
    // ECS's own events of this Environment's cluster only, matched by the end of its ARN and its services' ARNs.
    assert.deepEqual(pattern.$or[2], {
      'detail-type': ['ECS Task State Change'],
      source: ['aws.ecs'],
      detail: {
        clusterArn: [{ suffix: ':cluster/slipway-commerce-dev' }],
        group: [{ prefix: 'service:' }],
        lastStatus: ['STOPPED'],
      },
    });
    const services = [{ wildcard: '*:service/slipway-commerce-dev/*' }];
    assert.deepEqual(pattern.$or[3], {
      'detail-type': ['ECS Deployment State Change'],
      source: ['aws.ecs'],
      resources: services,
    });
    // Not the INFO actions: ECS repeats SERVICE_STEADY_STATE for every service.
    assert.deepEqual(pattern.$or[4], {
      'detail-type': ['ECS Service Action'],
      source: ['aws.ecs'],
      resources: services,
      detail: { eventType: ['ERROR', 'WARN'] },
    });
    const global = plan.find((r) => r.id === DRIFT_LOGICAL.globalRule)!;
    assert.equal(
      (global.props as { eventPattern: string }).eventPattern,
      canonicalJson({ 'detail-type': ['AWS API Call via CloudTrail'], source: ['aws.cloudfront', 'aws.route53'] }),
    );
    for (const r of plan) assert.ok((r.props as { name: string }).name.length <= 64);
  });

  test('in us-east-1: one pair matching every service', () => {
    const env = environment({ spec: { drift: { events: true }, region: 'us-east-1' } });
    const plan = planEnvironment(env, facts).resources.filter((r) => r.kind === 'events.Rule');
    assert.deepEqual(
      plan.map((r) => r.id),
      [DRIFT_LOGICAL.rule],
    );
    const pattern = JSON.parse((plan[0]!.props as { eventPattern: string }).eventPattern) as {
      $or: { source: string[] }[];
    };
    assert.ok(
      pattern.$or[0]!.source.includes('aws.route53') && pattern.$or[0]!.source.includes('aws.elasticloadbalancing'),
    );
    assert.deepEqual(pattern.$or[1]!.source, ['aws.ec2']);
  });

  test("a cluster name's wildcard characters are taken literally", () => {
    const pattern = JSON.parse(driftEventPattern(['aws.ecs'], false, 'a*b')) as {
      $or: { resources?: { wildcard: string }[] }[];
    };
    assert.deepEqual(pattern.$or.at(-1)!.resources, [{ wildcard: '*:service/a\\*b/*' }]);
  });

  test('the pattern is canonical: key order does not matter', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] }), '{"a":[{"c":2,"d":1}],"b":1}');
    assert.equal(driftEventPattern(['aws.logs', 'aws.ecs'], false), driftEventPattern(['aws.ecs', 'aws.logs'], false));
  });
});

describe('the queue policy', () => {
  const queueArn = `arn:aws:sqs:eu-west-1:${ACCOUNT}:slipway-drift-commerce-dev-abc123`;
  test('admits only the rule of the same account and region, by aws:SourceArn', () => {
    const policy = JSON.parse(queuePolicy(queueArn, 'slipway-drift-commerce-dev-abc123')) as {
      Statement: { Principal: unknown; Action: string; Condition: unknown }[];
    };
    assert.equal(policy.Statement.length, 1);
    assert.deepEqual(policy.Statement[0]!.Principal, { Service: 'events.amazonaws.com' });
    assert.equal(policy.Statement[0]!.Action, 'sqs:SendMessage');
    assert.deepEqual(policy.Statement[0]!.Condition, {
      ArnEquals: { 'aws:SourceArn': `arn:aws:events:eu-west-1:${ACCOUNT}:rule/slipway-drift-commerce-dev-abc123` },
    });
    assert.equal(sourceRuleArn(queueArn, 'r'), `arn:aws:events:eu-west-1:${ACCOUNT}:rule/r`);
  });

  test('observed: the rule name when the policy is exactly ours, else the policy found', () => {
    assert.equal(admittedRule(queueArn, queuePolicy(queueArn, 'rule-a')), 'rule-a');
    assert.equal(admittedRule(queueArn, undefined), 'policy: none');
    const wide = JSON.parse(queuePolicy(queueArn, 'rule-a')) as { Statement: { Principal: unknown }[] };
    wide.Statement[0]!.Principal = '*';
    assert.match(admittedRule(queueArn, JSON.stringify(wide)), /^policy: .*"Principal":"\*"/);
  });
});

describe('CloudTrail events → inventory identifiers', () => {
  test('ELBv2 ModifyRule: the rule ARN only, not the ARNs its response names', () => {
    const ruleArn = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener-rule/app/sw/abc/def/123`;
    const verdict = classifyEvent(
      event(
        'elasticloadbalancing',
        'ModifyRule',
        { ruleArn, conditions: [{ field: 'host-header', values: ['x.example.com'] }] },
        {
          responseElements: {
            rules: [
              {
                ruleArn,
                actions: [
                  {
                    type: 'authenticate-cognito',
                    authenticateCognitoConfig: { userPoolArn: 'arn:aws:cognito-idp:eu-west-1:1:userpool/p' },
                  },
                ],
              },
            ],
          },
        },
      ),
      own,
    );
    assert.deepEqual(ids(verdict), [ruleArn]);
  });

  test('ELBv2 ModifyTargetGroupAttributes: the target group ARN', () => {
    const tg = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/sw-abc/0123`;
    const verdict = classifyEvent(
      event('elasticloadbalancing', 'ModifyTargetGroupAttributes', { targetGroupArn: tg, attributes: [] }),
      own,
    );
    assert.deepEqual(ids(verdict), [tg]);
  });

  test('Route53 ChangeResourceRecordSets: each record name in the zone, as the inventory writes it', () => {
    const verdict = classifyEvent(
      event(
        'route53',
        'ChangeResourceRecordSets',
        {
          hostedZoneId: '/hostedzone/Z0123',
          changeBatch: {
            changes: [
              { action: 'UPSERT', resourceRecordSet: { name: 'Shop.Example.com.', type: 'A' } },
              { action: 'DELETE', resourceRecordSet: { name: 'api.example.com', type: 'TXT' } },
            ],
          },
        },
        { region: 'us-east-1' },
      ),
      own,
    );
    assert.deepEqual(ids(verdict), [
      'Z0123/api.example.com/A',
      'Z0123/api.example.com/CNAME',
      'Z0123/shop.example.com/A',
      'Z0123/shop.example.com/CNAME',
    ]);
  });

  test('ECS UpdateService by names: the service ARN built from cluster and service; by ARN: as given', () => {
    const byName = classifyEvent(
      event('ecs', 'UpdateService', { cluster: 'slipway-commerce-dev', service: 'catalog', desiredCount: 3 }),
      own,
    );
    assert.deepEqual(ids(byName), [`arn:aws:ecs:eu-west-1:${ACCOUNT}:service/slipway-commerce-dev/catalog`]);
    const arn = `arn:aws:ecs:eu-west-1:${ACCOUNT}:service/slipway-commerce-dev/catalog`;
    const byArn = classifyEvent(
      event(
        'ecs',
        'UpdateService',
        { cluster: `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/slipway-commerce-dev`, service: arn },
        { responseElements: { service: { serviceArn: arn } } },
      ),
      own,
    );
    assert.deepEqual(ids(byArn), [arn]);
  });

  test('Cognito UpdateUserPoolClient: `<pool id>/<client id>`; UpdateUserPool: the pool ARN', () => {
    const client = classifyEvent(
      event('cognito-idp', 'UpdateUserPoolClient', {
        userPoolId: 'eu-west-1_AbC',
        clientId: '3n4b5urk1ft4fl3mg5e62d9ado',
        callbackURLs: [],
      }),
      own,
    );
    assert.deepEqual(ids(client), ['eu-west-1_AbC/3n4b5urk1ft4fl3mg5e62d9ado']);
    const pool = classifyEvent(event('cognito-idp', 'UpdateUserPool', { userPoolId: 'eu-west-1_AbC' }), own);
    assert.deepEqual(ids(pool), [`arn:aws:cognito-idp:eu-west-1:${ACCOUNT}:userpool/eu-west-1_AbC`]);
  });

  test('EC2, Logs, Application Auto Scaling and CloudFront name their resources their own way', () => {
    assert.deepEqual(ids(classifyEvent(event('ec2', 'AuthorizeSecurityGroupIngress', { groupId: 'sg-0abc' }), own)), [
      'sg-0abc',
    ]);
    assert.deepEqual(
      ids(classifyEvent(event('ec2', 'CreateTags', { resourcesSet: { items: [{ resourceId: 'sg-0abc' }] } }), own)),
      ['sg-0abc'],
    );
    assert.deepEqual(
      ids(classifyEvent(event('logs', 'PutRetentionPolicy', { logGroupName: '/slipway/a', retentionInDays: 1 }), own)),
      [`arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/slipway/a`],
    );
    assert.deepEqual(
      ids(
        classifyEvent(
          event('application-autoscaling', 'RegisterScalableTarget', {
            serviceNamespace: 'ecs',
            resourceId: 'service/c/s',
            maxCapacity: 9,
          }),
          own,
        ),
      ),
      [`arn:aws:ecs:eu-west-1:${ACCOUNT}:service/c/s`],
    );
    // A policy's change reconciles its ECS service's owner: a wave with drift events on reads a policy only in its
    // turn and relies on these (BENCHMARKS.md, "Steady reads").
    for (const name of ['PutScalingPolicy', 'DeleteScalingPolicy']) {
      const policy = { policyName: 'cpu', serviceNamespace: 'ecs', resourceId: 'service/c/s' };
      assert.deepEqual(ids(classifyEvent(event('application-autoscaling', name, policy), own)), [
        `arn:aws:ecs:eu-west-1:${ACCOUNT}:service/c/s`,
      ]);
    }
    assert.deepEqual(
      ids(classifyEvent(event('cloudfront', 'UpdateDistribution', { id: 'E2ABC' }, { region: 'us-east-1' }), own)),
      [`arn:aws:cloudfront::${ACCOUNT}:distribution/E2ABC`],
    );
  });

  test('an API not listed falls back to the top-level ARNs of its request', () => {
    const arn = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:loadbalancer/app/sw/abc`;
    assert.deepEqual(ids(classifyEvent(event('ecs', 'SomeFutureCall', { thing: arn, count: 1 }), own)), [arn]);
  });
});

describe("ECS's own events → the ECS service's ARN", () => {
  const cluster = `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/slipway-commerce-dev`;
  const service = `arn:aws:ecs:eu-west-1:${ACCOUNT}:service/slipway-commerce-dev/catalog`;
  const native = (detailType: string, detail: Record<string, unknown>, resources: string[] = []) =>
    JSON.stringify({ version: '0', 'detail-type': detailType, source: 'aws.ecs', account: ACCOUNT, resources, detail });

  test("a service's task STOPPED: its group names the service, in the task's cluster", () => {
    const task = `arn:aws:ecs:eu-west-1:${ACCOUNT}:task/slipway-commerce-dev/0123abcd`;
    const verdict = classifyEvent(
      native('ECS Task State Change', { clusterArn: cluster, group: 'service:catalog', lastStatus: 'STOPPED' }, [task]),
      own,
    );
    assert.deepEqual(verdict, {
      action: 'enqueue',
      identifiers: [service],
      eventName: 'ECS Task State Change STOPPED',
    });
  });

  test('a service action and a deployment state change: the service ARN of their resources', () => {
    for (const [type, name] of [
      ['ECS Service Action', 'SERVICE_TASK_START_IMPAIRED'],
      ['ECS Deployment State Change', 'SERVICE_DEPLOYMENT_FAILED'],
    ] as const) {
      const verdict = classifyEvent(native(type, { eventName: name, clusterArn: cluster }, [service]), own);
      assert.deepEqual(verdict, { action: 'enqueue', identifiers: [service], eventName: `${type} ${name}` });
    }
  });

  test("a task that is no service's, or an event naming no service, names nothing", () => {
    const standalone = native('ECS Task State Change', {
      clusterArn: cluster,
      group: 'family:web',
      lastStatus: 'STOPPED',
    });
    assert.equal((classifyEvent(standalone, own) as { reason?: string }).reason, 'no-resource');
    const bare = native('ECS Service Action', { eventName: 'SERVICE_STEADY_STATE' }, [cluster]);
    assert.equal((classifyEvent(bare, own) as { reason?: string }).reason, 'no-resource');
  });
});

describe('events that are ignored', () => {
  const req = { ruleArn: `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener-rule/app/sw/abc/def/123` };
  test("the operator's own calls: its assumed role session, its principal id, or its user agent's app id", () => {
    const byRole = event('elasticloadbalancing', 'ModifyRule', req, {
      userIdentity: {
        type: 'AssumedRole',
        principalId: 'AROAX:slipway-prod-eu',
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/slipway/slipway-prod-eu`,
      },
    });
    assert.deepEqual(classifyEvent(byRole, own), { action: 'ignore', reason: 'own-call', detail: 'ModifyRule' });
    const byAgent = event('elasticloadbalancing', 'ModifyRule', req, {
      userAgent:
        'aws-sdk-js/3.1169.0 ua/2.1 os/linux#6 lang/js md/nodejs#20.19.0 api/elastic-load-balancing-v2#3.1142.0 app/slipway-prod-eu',
    });
    assert.equal((classifyEvent(byAgent, own) as { reason?: string }).reason, 'own-call');
    // Another cluster's operator (another session name) is not us.
    assert.ok(
      !isOwnCall({ userIdentity: { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/slipway/slipway-prod-eu-2` } }, own),
    );
    assert.ok(!isOwnCall({ userAgent: 'aws-cli/2 app/slipway-prod-eu-2' }, own));
  });

  test('service-linked roles, failed calls, malformed bodies and events naming nothing', () => {
    const slr = event(
      'ecs',
      'UpdateService',
      { cluster: 'c', service: 's' },
      {
        userIdentity: {
          type: 'AssumedRole',
          arn: `arn:aws:sts::${ACCOUNT}:assumed-role/AWSServiceRoleForApplicationAutoScaling_ECSService/AutoScaling`,
        },
      },
    );
    // Application Auto Scaling changing a service's desired count reaches its owner (the status shows the count).
    assert.equal(classifyEvent(slr, own).action, 'enqueue');
    const ecsRole = JSON.stringify({
      ...(JSON.parse(slr) as object),
      detail: {
        ...(JSON.parse(slr) as { detail: object }).detail,
        userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::${ACCOUNT}:assumed-role/AWSServiceRoleForECS/ecs` },
      },
    });
    assert.equal((classifyEvent(ecsRole, own) as { reason?: string }).reason, 'aws-service');
    const failed = event('elasticloadbalancing', 'ModifyRule', req, { errorCode: 'AccessDenied' });
    assert.equal((classifyEvent(failed, own) as { reason?: string }).reason, 'failed-call');
    for (const body of [
      'not json',
      '{}',
      'null',
      JSON.stringify({ 'detail-type': 'AWS API Call via CloudTrail', detail: {} }),
    ]) {
      assert.equal((classifyEvent(body, own) as { reason?: string }).reason, 'malformed', body);
    }
    assert.equal((classifyEvent(event('ecs', 'UpdateService', {}), own) as { reason?: string }).reason, 'no-resource');
  });
});
