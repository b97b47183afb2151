// The registry: one reconciler per AWS resource kind the planner can emit. The type makes a missing kind a
// compile error.
import { cognitoUser } from './cognito-user.js';
import type { ReconcileContext, ReconcilerRegistry } from './contract.js';
import { distribution } from './distribution.js';
import { elasticIpReconciler } from './elastic-ip.js';
import { internetGatewayReconciler } from './internet-gateway.js';
import { natGatewayReconciler } from './nat-gateway.js';
import { routeTableReconciler } from './route-table.js';
import { subnetReconciler } from './subnet.js';
import { vpcEndpointReconciler } from './vpc-endpoint.js';
import { vpcReconciler } from './vpc.js';
import { dnsRecord } from './dns-record.js';
import { ecsClusterReconciler } from './ecs-cluster.js';
import { ecsServiceReconciler } from './ecs-service.js';
import { eventQueueReconciler } from './event-queue.js';
import { eventRuleReconciler } from './event-rule.js';
import { listenerRuleReconciler, listenerRuleUsage } from './listener-rule.js';
import { listenerReconciler } from './listener.js';
import { loadBalancerReconciler } from './load-balancer.js';
import { logGroupReconciler } from './log-group.js';
import { scalableTargetReconciler } from './scalable-target.js';
import { scalingPolicyReconciler } from './scaling-policy.js';
import { securityGroupReconciler } from './security-group.js';
import { targetGroupCount, targetGroupReconciler } from './target-group.js';
import { taskDefinitionReconciler } from './task-definition.js';
import { userPoolClient } from './user-pool-client.js';
import { userPoolDomain } from './user-pool-domain.js';
import { userPool } from './user-pool.js';

export const registry: ReconcilerRegistry = {
  'ec2.SecurityGroup': securityGroupReconciler,
  'ecs.Cluster': ecsClusterReconciler,
  'elbv2.LoadBalancer': loadBalancerReconciler,
  'elbv2.Listener': listenerReconciler,
  'elbv2.TargetGroup': targetGroupReconciler,
  'elbv2.ListenerRule': listenerRuleReconciler,
  'logs.LogGroup': logGroupReconciler,
  'ecs.TaskDefinition': taskDefinitionReconciler,
  'ecs.Service': ecsServiceReconciler,
  'autoscaling.ScalableTarget': scalableTargetReconciler,
  'autoscaling.ScalingPolicy': scalingPolicyReconciler,
  'route53.Record': dnsRecord,
  'cognito.UserPool': userPool,
  'cognito.UserPoolDomain': userPoolDomain,
  'cognito.UserPoolClient': userPoolClient,
  'cognito.User': cognitoUser,
  'cloudfront.Distribution': distribution,
  'events.Rule': eventRuleReconciler,
  'sqs.Queue': eventQueueReconciler,
  'ec2.Vpc': vpcReconciler,
  'ec2.Subnet': subnetReconciler,
  'ec2.InternetGateway': internetGatewayReconciler,
  'ec2.ElasticIp': elasticIpReconciler,
  'ec2.NatGateway': natGatewayReconciler,
  'ec2.RouteTable': routeTableReconciler,
  'ec2.VpcEndpoint': vpcEndpointReconciler,
};

/** ALB quota headroom for an Environment's status: listener rules and target groups used of their limits. */
export async function quotaUsage(ctx: ReconcileContext, listenerArn: string, loadBalancerArn: string) {
  const [rules, targetGroups] = await Promise.all([
    listenerRuleUsage(ctx, listenerArn),
    targetGroupCount(ctx, loadBalancerArn),
  ]);
  return {
    listenerRules: { used: rules.rulesUsed, limit: rules.ruleLimit },
    // The default quota: 100 target groups per Application Load Balancer.
    targetGroups: { used: Math.max(targetGroups, rules.targetGroupsUsed), limit: 100 },
  };
}
