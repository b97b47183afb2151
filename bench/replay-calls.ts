// The AWS calls one Service costs, issued directly with the SDK by a plain script with no operator logic: the
// writes that create everything a Service owns (in the order the operator's applier creates them), and a table of
// the read operations the operator makes, each aimed at the replayed Service's own resources. The replay uses it
// to time the emulator alone.
import {
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import {
  CreateLogGroupCommand,
  DescribeLogGroupsCommand,
  ListTagsForResourceCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeUserPoolClientCommand,
  DescribeUserPoolCommand,
  DescribeUserPoolDomainCommand,
  ListUserPoolClientsCommand,
  ListUserPoolsCommand,
  ListUsersCommand,
  UpdateUserPoolClientCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { DescribeSecurityGroupsCommand, DescribeSubnetsCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import {
  CreateServiceCommand,
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import type { AwsClients } from '../src/aws/clients.js';

/** The Environment's shared resources, as its status reports them. */
export interface SharedResources {
  readonly region: string;
  readonly vpcId: string;
  readonly subnetIds: readonly string[];
  readonly taskSecurityGroupIds: readonly string[];
  readonly loadBalancerArn: string;
  readonly loadBalancerSecurityGroupId: string;
  readonly loadBalancerDnsName: string;
  readonly loadBalancerZoneId: string;
  readonly listenerArn: string;
  readonly clusterArn: string;
  readonly userPoolId: string;
  readonly userPoolArn: string;
  readonly clientId: string;
  readonly cognitoDomain: string;
  readonly hostedZoneId: string;
  readonly baseDomain: string;
}

/** What one replayed Service created. */
export interface ReplayedService {
  readonly name: string;
  readonly logGroupName: string;
  readonly logGroupArn: string;
  readonly family: string;
  readonly targetGroupName: string;
  readonly targetGroupArn: string;
  readonly ruleArn: string;
  readonly resourceId: string;
}

const DESIRED_COUNT = 'ecs:service:DesiredCount';

function clusterNameOf(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/**
 * Creates one Service's resources, as the operator's applier does, one call after another; a preview's with
 * `autoscaling` false (one task: no scalable target, no policies).
 */
export async function replayWrites(
  aws: AwsClients,
  shared: SharedResources,
  name: string,
  priority: number,
  autoscaling = true,
): Promise<ReplayedService> {
  const tags = { 'slipway.dev/cluster': 'replay', 'slipway.dev/owner': name };
  const host = `${name}.${shared.baseDomain}`;
  const logGroupName = `/replay/${name}`;
  await aws.logs.send(new CreateLogGroupCommand({ logGroupName, tags }));
  await aws.logs.send(new PutRetentionPolicyCommand({ logGroupName, retentionInDays: 7 }));

  const family = `replay-${name}`;
  const td = await aws.ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: '256',
      memory: '512',
      executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
      containerDefinitions: [
        {
          name: 'app',
          image: `registry.shop.test/${name}:1.0.0`,
          essential: true,
          portMappings: [{ containerPort: 8080, hostPort: 8080, protocol: 'tcp' }],
          environment: [{ name: 'LOG_LEVEL', value: 'info' }],
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': logGroupName, 'awslogs-region': shared.region, 'awslogs-stream-prefix': name },
          },
        },
      ],
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    }),
  );

  const targetGroupName = name.slice(0, 32);
  const tg = await aws.elbv2.send(
    new CreateTargetGroupCommand({
      Name: targetGroupName,
      Protocol: 'HTTP',
      Port: 8080,
      VpcId: shared.vpcId,
      TargetType: 'ip',
      HealthCheckProtocol: 'HTTP',
      HealthCheckEnabled: true,
      HealthCheckPath: '/healthz',
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  const targetGroupArn = tg.TargetGroups![0]!.TargetGroupArn!;
  await aws.elbv2.send(
    new ModifyTargetGroupAttributesCommand({
      TargetGroupArn: targetGroupArn,
      Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }],
    }),
  );

  const rule = await aws.elbv2.send(
    new CreateRuleCommand({
      ListenerArn: shared.listenerArn,
      Priority: priority,
      Conditions: [
        { Field: 'host-header', HostHeaderConfig: { Values: [host] } },
        { Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } },
      ],
      Actions: [
        {
          Type: 'authenticate-cognito',
          Order: 1,
          AuthenticateCognitoConfig: {
            UserPoolArn: shared.userPoolArn,
            UserPoolClientId: shared.clientId,
            UserPoolDomain: shared.cognitoDomain,
          },
        },
        { Type: 'forward', Order: 2, TargetGroupArn: targetGroupArn },
      ],
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );

  const deploymentConfiguration = {
    deploymentCircuitBreaker: { enable: true, rollback: true },
    minimumHealthyPercent: 100,
    maximumPercent: 200,
  };
  await aws.ecs.send(
    new CreateServiceCommand({
      cluster: shared.clusterArn,
      serviceName: name,
      taskDefinition: td.taskDefinition!.taskDefinitionArn!,
      desiredCount: 1,
      launchType: 'FARGATE',
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: [...shared.subnetIds],
          securityGroups: [...shared.taskSecurityGroupIds],
          assignPublicIp: 'DISABLED',
        },
      },
      loadBalancers: [{ targetGroupArn, containerName: 'app', containerPort: 8080 }],
      healthCheckGracePeriodSeconds: 60,
      deploymentConfiguration,
      propagateTags: 'SERVICE',
      enableECSManagedTags: true,
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    }),
  );
  // The operator sends what the emulator dropped on create; so does the replay, to match its call count.
  await aws.ecs.send(
    new UpdateServiceCommand({
      cluster: shared.clusterArn,
      service: name,
      deploymentConfiguration,
      healthCheckGracePeriodSeconds: 60,
    }),
  );

  const resourceId = `service/${clusterNameOf(shared.clusterArn)}/${name}`;
  if (autoscaling) await replayScaling(aws, name, resourceId);
  await replayRecordsAndCallback(aws, shared, name, host);

  const group = await aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: logGroupName }));
  return {
    name,
    logGroupName,
    logGroupArn: group.logGroups?.[0]?.arn?.replace(/:\*$/, '') ?? '',
    family,
    targetGroupName,
    targetGroupArn,
    ruleArn: rule.Rules![0]!.RuleArn!,
    resourceId,
  };
}

async function replayScaling(aws: AwsClients, name: string, resourceId: string): Promise<void> {
  await aws.autoscaling.send(
    new RegisterScalableTargetCommand({
      ServiceNamespace: 'ecs',
      ScalableDimension: DESIRED_COUNT,
      ResourceId: resourceId,
      MinCapacity: 1,
      MaxCapacity: 4,
    }),
  );
  for (const [metric, target] of [
    ['ECSServiceAverageCPUUtilization', 60],
    ['ECSServiceAverageMemoryUtilization', 75],
  ] as const) {
    await aws.autoscaling.send(
      new PutScalingPolicyCommand({
        PolicyName: `${name}-${metric}`,
        ServiceNamespace: 'ecs',
        ScalableDimension: DESIRED_COUNT,
        ResourceId: resourceId,
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: target,
          PredefinedMetricSpecification: { PredefinedMetricType: metric },
          ScaleInCooldown: 300,
          ScaleOutCooldown: 60,
        },
      }),
    );
  }
}

async function replayRecordsAndCallback(
  aws: AwsClients,
  shared: SharedResources,
  name: string,
  host: string,
): Promise<void> {
  await aws.route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: shared.hostedZoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: host,
              Type: 'A',
              AliasTarget: {
                HostedZoneId: shared.loadBalancerZoneId,
                DNSName: shared.loadBalancerDnsName,
                EvaluateTargetHealth: true,
              },
            },
          },
          {
            Action: 'UPSERT',
            ResourceRecordSet: { Name: host, Type: 'TXT', TTL: 300, ResourceRecords: [{ Value: `"replay/${name}"` }] },
          },
        ],
      },
    }),
  );

  // The gate's callback URL for the new host: read-modify-write, as Cognito's update replaces the whole client.
  const client = (
    await aws.cognito.send(
      new DescribeUserPoolClientCommand({ UserPoolId: shared.userPoolId, ClientId: shared.clientId }),
    )
  ).UserPoolClient!;
  await aws.cognito.send(
    new UpdateUserPoolClientCommand({
      UserPoolId: shared.userPoolId,
      ClientId: shared.clientId,
      CallbackURLs: [...(client.CallbackURLs ?? []), `https://${host}/oauth2/idpresponse`],
      AllowedOAuthFlows: client.AllowedOAuthFlows,
      AllowedOAuthScopes: client.AllowedOAuthScopes,
      AllowedOAuthFlowsUserPoolClient: client.AllowedOAuthFlowsUserPoolClient,
      SupportedIdentityProviders: client.SupportedIdentityProviders,
    }),
  );
}

/** How many write calls replayWrites makes, by `service:operation` (the replay reports these next to the operator's). */
export const REPLAYED_WRITES: Readonly<Record<string, number>> = {
  'logs:CreateLogGroup': 1,
  'logs:PutRetentionPolicy': 1,
  'ecs:RegisterTaskDefinition': 1,
  'elbv2:CreateTargetGroup': 1,
  'elbv2:ModifyTargetGroupAttributes': 1,
  'elbv2:CreateRule': 1,
  'ecs:CreateService': 1,
  'ecs:UpdateService': 1,
  'application-autoscaling:RegisterScalableTarget': 1,
  'application-autoscaling:PutScalingPolicy': 2,
  'route53:ChangeResourceRecordSets': 1,
  'cognito-idp:UpdateUserPoolClient': 1,
};

/** The writes of REPLAYED_WRITES that a preview (one task, no autoscaling) does not make. */
export const REPLAYED_SCALING_WRITES: Readonly<Record<string, number>> = {
  'application-autoscaling:RegisterScalableTarget': 1,
  'application-autoscaling:PutScalingPolicy': 2,
};

/** Reads the writes above make besides the writes themselves (the callback URL's read-modify-write, the log group ARN). */
export const REPLAY_WRITE_READS: Readonly<Record<string, number>> = {
  'cognito-idp:DescribeUserPoolClient': 1,
  'logs:DescribeLogGroups': 1,
};

type Read = (aws: AwsClients, shared: SharedResources, svc: ReplayedService) => Promise<unknown>;

/** One call of each read operation the operator makes for a Service or its Environment, aimed at the same things. */
export const READS: Readonly<Record<string, Read>> = {
  'ec2:DescribeVpcs': (aws, s) => aws.ec2.send(new DescribeVpcsCommand({ VpcIds: [s.vpcId] })),
  'ec2:DescribeSubnets': (aws, s) => aws.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [...s.subnetIds] })),
  'ec2:DescribeSecurityGroups': (aws, s) =>
    aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [s.loadBalancerSecurityGroupId] })),
  'elbv2:DescribeLoadBalancers': (aws, s) =>
    aws.elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [s.loadBalancerArn] })),
  'elbv2:DescribeLoadBalancerAttributes': (aws, s) =>
    aws.elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: s.loadBalancerArn })),
  'elbv2:DescribeListeners': (aws, s) =>
    aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: s.loadBalancerArn })),
  'elbv2:DescribeRules': (aws, s) =>
    aws.elbv2.send(new DescribeRulesCommand({ ListenerArn: s.listenerArn, PageSize: 400 })),
  'elbv2:DescribeTags': (aws, _s, v) => aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: [v.targetGroupArn] })),
  'elbv2:DescribeTargetGroups': (aws, _s, v) =>
    aws.elbv2.send(new DescribeTargetGroupsCommand({ Names: [v.targetGroupName] })),
  'elbv2:DescribeTargetGroupAttributes': (aws, _s, v) =>
    aws.elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: v.targetGroupArn })),
  'ecs:DescribeClusters': (aws, s) =>
    aws.ecs.send(new DescribeClustersCommand({ clusters: [s.clusterArn], include: ['TAGS', 'SETTINGS'] })),
  'ecs:DescribeServices': (aws, s, v) =>
    aws.ecs.send(new DescribeServicesCommand({ cluster: s.clusterArn, services: [v.name], include: ['TAGS'] })),
  'ecs:DescribeTaskDefinition': (aws, _s, v) =>
    aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: v.family, include: ['TAGS'] })),
  'logs:DescribeLogGroups': (aws, _s, v) =>
    aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: v.logGroupName })),
  'logs:ListTagsForResource': (aws, _s, v) =>
    aws.logs.send(new ListTagsForResourceCommand({ resourceArn: v.logGroupArn })),
  'application-autoscaling:DescribeScalableTargets': (aws, _s, v) =>
    aws.autoscaling.send(
      new DescribeScalableTargetsCommand({
        ServiceNamespace: 'ecs',
        ScalableDimension: DESIRED_COUNT,
        ResourceIds: [v.resourceId],
      }),
    ),
  'application-autoscaling:DescribeScalingPolicies': (aws, _s, v) =>
    aws.autoscaling.send(
      new DescribeScalingPoliciesCommand({
        ServiceNamespace: 'ecs',
        ScalableDimension: DESIRED_COUNT,
        ResourceId: v.resourceId,
      }),
    ),
  'cognito-idp:ListUserPools': (aws) => aws.cognito.send(new ListUserPoolsCommand({ MaxResults: 60 })),
  'cognito-idp:DescribeUserPool': (aws, s) =>
    aws.cognito.send(new DescribeUserPoolCommand({ UserPoolId: s.userPoolId })),
  'cognito-idp:DescribeUserPoolDomain': (aws, s) =>
    aws.cognito.send(new DescribeUserPoolDomainCommand({ Domain: s.cognitoDomain.split('.')[0]! })),
  'cognito-idp:ListUserPoolClients': (aws, s) =>
    aws.cognito.send(new ListUserPoolClientsCommand({ UserPoolId: s.userPoolId, MaxResults: 60 })),
  'cognito-idp:DescribeUserPoolClient': (aws, s) =>
    aws.cognito.send(new DescribeUserPoolClientCommand({ UserPoolId: s.userPoolId, ClientId: s.clientId })),
  'cognito-idp:ListUsers': (aws, s) => aws.cognito.send(new ListUsersCommand({ UserPoolId: s.userPoolId })),
  'route53:ListResourceRecordSets': (aws, s) =>
    aws.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: s.hostedZoneId, MaxItems: 300 })),
};
