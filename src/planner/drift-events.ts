// Drift events (spec.drift.events): the EventBridge rule and SQS queue an Environment owns so that a change made in
// AWS outside Slipway reaches the owner of the changed resource in seconds rather than at the next resync. Pure.
//
// CloudTrail delivers a management event to EventBridge ("AWS API Call via CloudTrail") in the region of the call,
// except for global services: Route53's and CloudFront's arrive in us-east-1. An Environment in another region
// therefore owns two pairs: one in its region (load balancing, ECS, Application Auto Scaling, CloudWatch Logs,
// Cognito, EC2 security groups) and one in us-east-1 (Route53, CloudFront). In us-east-1 one pair matches all.
// Only write events reach EventBridge by default (the rule's state ENABLED), which is all drift needs. The regional
// rule also matches ECS's own events about the Environment's cluster's services (a task stopped, a service action, a
// deployment's state): they tell the owner that what its ECS service runs moved, so that a resync wave need not
// describe every ECS service to see it (events/ecs-events.ts).
import type { Environment } from '../api/index.js';
import { boundedName, hash } from './naming.js';
import { ref, type Owner, type PlannedResource } from './plan.js';

export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';
export const GLOBAL_EVENTS_REGION = 'us-east-1';

/** The services whose events arrive in the Environment's region (EventBridge `source`, i.e. `aws.<service>`). */
export const REGIONAL_EVENT_SOURCES = [
  'aws.application-autoscaling',
  'aws.cognito-idp',
  'aws.ecs',
  'aws.elasticloadbalancing',
  'aws.logs',
] as const;

/** The global services, whose events arrive in us-east-1. */
export const GLOBAL_EVENT_SOURCES = ['aws.cloudfront', 'aws.route53'] as const;

/**
 * EC2's events are matched by name: those that change a security group (or any EC2 resource's tags), and those that
 * change a network an Environment created (spec.network.create): routes, associations, endpoints, gateways.
 */
export const EC2_EVENT_NAMES = [
  'AssociateRouteTable',
  'AuthorizeSecurityGroupEgress',
  'AuthorizeSecurityGroupIngress',
  'CreateRoute',
  'CreateTags',
  'DeleteInternetGateway',
  'DeleteNatGateway',
  'DeleteRoute',
  'DeleteRouteTable',
  'DeleteSecurityGroup',
  'DeleteSubnet',
  'DeleteTags',
  'DeleteVpcEndpoints',
  'DetachInternetGateway',
  'ModifySecurityGroupRules',
  'ModifySubnetAttribute',
  'ModifyVpcAttribute',
  'ModifyVpcEndpoint',
  'ReleaseAddress',
  'ReplaceRoute',
  'RevokeSecurityGroupEgress',
  'RevokeSecurityGroupIngress',
  'UpdateSecurityGroupRuleDescriptionsEgress',
  'UpdateSecurityGroupRuleDescriptionsIngress',
] as const;

export const DRIFT_LOGICAL = {
  rule: 'drift-events-rule',
  queue: 'drift-events-queue',
  globalRule: 'drift-events-rule-global',
  globalQueue: 'drift-events-queue-global',
} as const;

/** An unhandled event is kept an hour: an operator away longer starts with a resync of everything anyway. */
export const DRIFT_QUEUE_RETENTION_SECONDS = 3600;

/** JSON with object keys sorted at every level: the form event patterns are compared in. */
export function canonicalJson(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : typeof v === 'object' && v !== null
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sort(value));
}

/** ECS's own events (not CloudTrail's): what tells an owner that its ECS service's tasks or deployment moved. */
export const ECS_TASK_STATE_CHANGE = 'ECS Task State Change';
export const ECS_SERVICE_ACTION = 'ECS Service Action';
export const ECS_DEPLOYMENT_STATE_CHANGE = 'ECS Deployment State Change';

/** `*` and `\` are special in an EventBridge wildcard: taken literally here. */
const wildcardLiteral = (s: string): string => s.replace(/[\\*]/g, (c) => `\\${c}`);

/**
 * The event pattern of one rule: CloudTrail's API calls of the given sources, plus EC2's security group calls, plus
 * (given the Environment's ECS cluster name) ECS's own events of that cluster's services: a service's task STOPPED
 * (a crash, a failed health check, a task stopped by hand), its deployments' state, and its service actions of type
 * WARN or ERROR (tasks that cannot be placed or started). Not the INFO actions: ECS repeats SERVICE_STEADY_STATE
 * periodically for every service, and each would cost its owner a full pass. Not RUNNING: a task that starts either
 * replaces one whose STOPPED event was seen (its owner, no longer settled, then reads its service every wave until
 * its tasks are back) or belongs to a deployment, whose end ECS reports (SERVICE_DEPLOYMENT_COMPLETED); it would
 * add an event per task start for nothing. The account is not known here: the cluster is matched by the end of its
 * ARN, on the Environment's own bus in its region.
 */
export function driftEventPattern(sources: readonly string[], ec2: boolean, ecsCluster?: string): string {
  const branches: unknown[] = [{ source: [...sources].sort() }];
  if (ec2) branches.push({ source: ['aws.ec2'], detail: { eventName: [...EC2_EVENT_NAMES] } });
  if (!ecsCluster) {
    return canonicalJson({
      'detail-type': [CLOUDTRAIL_DETAIL_TYPE],
      ...(branches.length > 1 ? { $or: branches } : (branches[0] as object)),
    });
  }
  const cloudTrail = branches.map((b) => ({ 'detail-type': [CLOUDTRAIL_DETAIL_TYPE], ...(b as object) }));
  // A deployment's and a service action's events name their service's ARN, `...:service/<cluster>/<name>`.
  const services = [{ wildcard: `*:service/${wildcardLiteral(ecsCluster)}/*` }];
  return canonicalJson({
    $or: [
      ...cloudTrail,
      {
        'detail-type': [ECS_TASK_STATE_CHANGE],
        source: ['aws.ecs'],
        detail: {
          clusterArn: [{ suffix: `:cluster/${ecsCluster}` }],
          group: [{ prefix: 'service:' }],
          lastStatus: ['STOPPED'],
        },
      },
      { 'detail-type': [ECS_DEPLOYMENT_STATE_CHANGE], source: ['aws.ecs'], resources: services },
      {
        'detail-type': [ECS_SERVICE_ACTION],
        source: ['aws.ecs'],
        resources: services,
        detail: { eventType: ['ERROR', 'WARN'] },
      },
    ],
  });
}

export function driftEventsEnabled(env: Environment): boolean {
  return env.spec.drift?.events === true;
}

/**
 * The rule and queue pairs of an Environment with drift events on; none otherwise (so turning it off deletes them).
 * `tags` gives a logical id its ownership and cost tags, as for every other resource of the Environment's plan.
 */
export function planDriftEvents(
  env: Environment,
  owner: Owner,
  tags: (logicalId: string) => Record<string, string>,
  /** The name of the Environment's ECS cluster, whose services' own events the regional rule matches. */
  ecsCluster?: string,
): PlannedResource[] {
  if (!driftEventsEnabled(env)) return [];
  const ns = owner.namespace;
  const name = owner.name;
  // Unique per cluster, namespace and name: several clusters may share an account.
  const base = ['slipway-drift', ns, name, hash(`${owner.clusterId}/${ns}/${name}`, 6)];
  const ruleName = boundedName(base, 64);
  const queueName = boundedName(base, 80);
  const inRegion = env.spec.region === GLOBAL_EVENTS_REGION;
  const pair = (
    region: string,
    ruleId: string,
    queueId: string,
    sources: readonly string[],
    ec2: boolean,
    ecs?: string,
  ) => {
    const queue: PlannedResource = {
      id: queueId,
      kind: 'sqs.Queue',
      props: {
        name: queueName,
        region,
        sourceRuleName: ruleName,
        messageRetentionSeconds: DRIFT_QUEUE_RETENTION_SECONDS,
      },
      tags: tags(queueId),
    };
    const rule: PlannedResource = {
      id: ruleId,
      kind: 'events.Rule',
      props: {
        name: ruleName,
        region,
        description: `Slipway drift events for Environment ${ns}/${name}`,
        eventPattern: driftEventPattern(sources, ec2, ecs),
        queueArn: ref(queueId, 'arn'),
        state: 'ENABLED',
      },
      tags: tags(ruleId),
    };
    return [queue, rule];
  };
  if (inRegion) {
    return pair(
      env.spec.region,
      DRIFT_LOGICAL.rule,
      DRIFT_LOGICAL.queue,
      [...REGIONAL_EVENT_SOURCES, ...GLOBAL_EVENT_SOURCES],
      true,
      ecsCluster,
    );
  }
  return [
    ...pair(env.spec.region, DRIFT_LOGICAL.rule, DRIFT_LOGICAL.queue, REGIONAL_EVENT_SOURCES, true, ecsCluster),
    ...pair(GLOBAL_EVENTS_REGION, DRIFT_LOGICAL.globalRule, DRIFT_LOGICAL.globalQueue, GLOBAL_EVENT_SOURCES, false),
  ];
}
