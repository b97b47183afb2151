// Service (or preview) → Plan: log group, task definition, target group, listener rule (gate then forward),
// ECS service, autoscaling, DNS alias and optional CloudFront. Pure: everything that needs I/O arrives in
// `EnvironmentView`, read by the controller from the Environment's status.
//
// A workload sits on one of its Environment's load balancers (a shard, see planner/environment.ts): the view holds
// that shard's listener, DNS name and app client. On shard k >= 1 the target group and listener rule have their own
// logical ids and target group name, so a move between shards creates the new pair, switches the ECS service and
// the DNS record over, and deletes the old pair as leftovers (a target group serves one load balancer only).
import type { Environment, ServiceSpec } from '../api/index.js';
import { gateEnabled, shardLogicalId } from './environment.js';
import { PlanningError } from './errors.js';
import { boundedName, ecsResourceId, ownershipTags, TAG_PREVIEW } from './naming.js';
import { ref, type Owner, type Plan, type PlannedResource, type PropsByKind, type ResourceKind } from './plan.js';
import { recordOwnerValue } from './record-owner.js';

/** What a workload needs from its Environment: read from the Environment's spec and its status. */
export interface EnvironmentView {
  readonly environment: Environment;
  /** The load balancer shard the workload is placed on (default 0); the fields below are that shard's. */
  readonly shard?: number;
  readonly listenerArn: string;
  readonly loadBalancerDnsName: string;
  readonly loadBalancerZoneId: string;
  readonly clusterArn: string;
  readonly clusterName: string;
  /**
   * Where tasks run: the spec's VPC and subnets, or a created network's VPC and private subnets (from status, with
   * no public IP).
   */
  readonly network: { readonly vpcId: string; readonly subnetIds: readonly string[]; readonly assignPublicIp: boolean };
  readonly securityGroupIds: readonly string[];
  readonly cognito?: { readonly userPoolArn: string; readonly clientId: string; readonly domain: string };
}

/** A workload: a Service, or a preview's copy of one. */
export interface Workload {
  readonly owner: Owner;
  readonly spec: ServiceSpec;
  /** The DNS label under the Environment's base domain. */
  readonly subdomain: string;
  /** ECS service name, unique within the Environment's cluster. */
  readonly serviceName: string;
  readonly preview?: boolean;
  /** The last deployment was rolled back by ECS's circuit breaker and no new one has started (EcsServiceProps). */
  readonly holdTaskDefinition?: boolean;
  /** The revision status.history says is rolling out (EcsServiceProps). */
  readonly rollingOut?: string;
}

export const SERVICE_LOGICAL = {
  logGroup: 'log-group',
  taskDefinition: 'task-definition',
  targetGroup: 'target-group',
  listenerRule: 'listener-rule',
  service: 'ecs-service',
  scalableTarget: 'scalable-target',
  cpuPolicy: 'cpu-scaling-policy',
  memoryPolicy: 'memory-scaling-policy',
  requestPolicy: 'request-scaling-policy',
  record: 'dns-record',
  distribution: 'cdn-distribution',
} as const;

/** The logical ids of a workload's resources; the target group and listener rule carry the shard (k >= 1). */
export function workloadLogical(shard: number) {
  return {
    ...SERVICE_LOGICAL,
    targetGroup: shardLogicalId(SERVICE_LOGICAL.targetGroup, shard),
    listenerRule: shardLogicalId(SERVICE_LOGICAL.listenerRule, shard),
  } as const;
}

/** CloudFront's fixed hosted zone for alias records. */
export const CLOUDFRONT_ZONE_ID = 'Z2FDTNDATAQYW2';

export function hostOf(workload: Pick<Workload, 'subdomain'>, env: Environment): string {
  return `${workload.subdomain}.${env.spec.domain.baseDomain}`.toLowerCase();
}

/** Whether the workload sits behind the Environment's Cognito gate; throws for impossible combinations. */
export function isGated(spec: ServiceSpec, env: Environment, preview = false): boolean {
  const envGate = gateEnabled(env);
  const mode = spec.auth.cognito;
  if (preview) {
    if (!envGate)
      throw new PlanningError(
        'spec.environmentRef.name',
        `Environment ${env.metadata.name} has no Cognito gate; previews are always gated: enable access.cognito on it`,
        'GateRequired',
      );
    return true;
  }
  // Enabled always gates: an Environment without a gate of its own creates one as soon as a Service opts in.
  if (mode === 'Enabled') return true;
  if (mode === 'Disabled' && envGate && env.spec.access?.cognito?.required) {
    throw new PlanningError(
      'spec.auth.cognito',
      `Disabled, but Environment ${env.metadata.name} requires the gate (access.cognito.required): remove auth.cognito or set it to Inherit`,
      'GateRequired',
    );
  }
  return mode === 'Disabled' ? false : envGate;
}

export function planWorkload(w: Workload, view: EnvironmentView, clusterId: string): Plan {
  const { spec, owner } = w;
  const env = view.environment;
  const host = hostOf(w, env);
  const gated = isGated(spec, env, w.preview);
  const resources: PlannedResource[] = [];
  const tags = (id: string) => ({
    ...(env.spec.tags ?? {}),
    ...ownershipTags(owner, id, `${env.metadata.namespace ?? 'default'}/${env.metadata.name}`),
    ...(w.preview ? { [TAG_PREVIEW]: 'true' } : {}),
  });
  const add = <K extends ResourceKind>(kind: K, id: string, props: PropsByKind[K], after?: readonly string[]) =>
    resources.push({ id, kind, props, tags: tags(id), ...(after ? { after } : {}) } as PlannedResource);
  const base = [owner.namespace, env.metadata.name, w.serviceName];
  const shard = view.shard ?? 0;
  const L = workloadLogical(shard);

  if (gated && !view.cognito) {
    throw new PlanningError(
      'spec.environmentRef.name',
      `Environment ${env.metadata.name} has not finished creating its Cognito gate yet`,
      'EnvironmentNotReady',
    );
  }

  add('logs.LogGroup', L.logGroup, { name: `/slipway/${base.join('/')}`, retentionDays: spec.logs.retentionDays });
  add('ecs.TaskDefinition', L.taskDefinition, {
    family: boundedName(['slipway', ...base], 255),
    cpu: spec.cpu,
    memory: spec.memory,
    cpuArchitecture: spec.cpuArchitecture,
    ...(spec.taskRoleArn ? { taskRoleArn: spec.taskRoleArn } : {}),
    ...(spec.executionRoleArn ? { executionRoleArn: spec.executionRoleArn } : {}),
    container: {
      name: 'app',
      image: spec.image,
      port: spec.containerPort,
      environment: [...(spec.env ?? [])]
        .map((e) => ({ name: e.name, value: e.value }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      secrets: [...(spec.secrets ?? [])]
        .map((s) => ({ name: s.name, valueFrom: s.jsonKey ? `${s.valueFrom}:${s.jsonKey}::` : s.valueFrom }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      logGroup: ref(L.logGroup, 'name'),
      logRegion: env.spec.region,
      logStreamPrefix: w.serviceName,
    },
  });
  add('elbv2.TargetGroup', L.targetGroup, {
    name: boundedName([shard === 0 ? 'sw' : `sw${shard}`, ...base], 32),
    vpcId: view.network.vpcId,
    port: spec.containerPort,
    healthCheck: {
      path: spec.healthCheck.path,
      intervalSeconds: spec.healthCheck.intervalSeconds,
      timeoutSeconds: spec.healthCheck.timeoutSeconds,
      healthyThreshold: spec.healthCheck.healthyThreshold,
      unhealthyThreshold: spec.healthCheck.unhealthyThreshold,
      matcher: spec.healthCheck.matcher,
    },
    deregistrationDelaySeconds: 30,
  });
  add('elbv2.ListenerRule', L.listenerRule, {
    listenerArn: view.listenerArn,
    ...(spec.routing.priority !== undefined ? { priority: spec.routing.priority } : {}),
    host,
    pathPatterns: [...spec.routing.pathPatterns],
    actions: [
      ...(gated && view.cognito
        ? [
            {
              type: 'authenticate-cognito' as const,
              userPoolArn: view.cognito.userPoolArn,
              userPoolClientId: view.cognito.clientId,
              userPoolDomain: view.cognito.domain,
              sessionTimeoutSeconds: env.spec.access?.cognito?.sessionTimeoutSeconds ?? 43200,
            },
          ]
        : []),
      { type: 'forward' as const, targetGroupArn: ref(L.targetGroup, 'arn') },
    ],
  });
  const autoscaling = spec.autoscaling;
  add(
    'ecs.Service',
    L.service,
    {
      name: w.serviceName,
      clusterArn: view.clusterArn,
      taskDefinitionArn: ref(L.taskDefinition, 'arn'),
      // With autoscaling the count belongs to Application Auto Scaling: never sent, never diffed.
      ...(autoscaling ? {} : { desiredCount: spec.desiredCount }),
      subnetIds: [...view.network.subnetIds].sort(),
      securityGroupIds: [...view.securityGroupIds].sort(),
      assignPublicIp: view.network.assignPublicIp,
      targetGroupArn: ref(L.targetGroup, 'arn'),
      containerName: 'app',
      containerPort: spec.containerPort,
      healthCheckGracePeriodSeconds: spec.healthCheck.gracePeriodSeconds,
      circuitBreaker: {
        enable: spec.deployment.circuitBreaker.enabled,
        rollback: spec.deployment.circuitBreaker.rollback,
      },
      minimumHealthyPercent: spec.deployment.minimumHealthyPercent,
      maximumPercent: spec.deployment.maximumPercent,
      ...(w.holdTaskDefinition ? { holdTaskDefinition: true } : {}),
      ...(w.rollingOut ? { rollingOut: w.rollingOut } : {}),
    },
    // ECS accepts a target group only once a listener rule forwards to it.
    [L.listenerRule],
  );
  if (autoscaling) {
    const resourceId = ecsResourceId(view.clusterName, w.serviceName);
    add(
      'autoscaling.ScalableTarget',
      L.scalableTarget,
      { resourceId, minCapacity: autoscaling.minTasks, maxCapacity: autoscaling.maxTasks },
      [L.service],
    );
    const suffix = {
      ECSServiceAverageCPUUtilization: 'cpu',
      ECSServiceAverageMemoryUtilization: 'memory',
      ALBRequestCountPerTarget: 'requests',
    } as const;
    const policy = (
      id: string,
      metric: PropsByKind['autoscaling.ScalingPolicy']['metric'],
      target: number,
      label: Pick<PropsByKind['autoscaling.ScalingPolicy'], 'loadBalancerLabel' | 'targetGroupLabel'> = {},
    ) =>
      add(
        'autoscaling.ScalingPolicy',
        id,
        {
          name: boundedName(['slipway', ...base, suffix[metric]], 255),
          ...label,
          resourceId,
          metric,
          targetValue: target,
          scaleInCooldownSeconds: autoscaling.scaleInCooldownSeconds,
          scaleOutCooldownSeconds: autoscaling.scaleOutCooldownSeconds,
        },
        [L.scalableTarget],
      );
    if (autoscaling.cpuTargetPercent !== undefined)
      policy(L.cpuPolicy, 'ECSServiceAverageCPUUtilization', autoscaling.cpuTargetPercent);
    if (autoscaling.memoryTargetPercent !== undefined)
      policy(L.memoryPolicy, 'ECSServiceAverageMemoryUtilization', autoscaling.memoryTargetPercent);
    if (autoscaling.requestsPerTarget !== undefined) {
      policy(L.requestPolicy, 'ALBRequestCountPerTarget', autoscaling.requestsPerTarget, {
        // The listener ARN names its load balancer: arn:...:listener/app/<name>/<id>/<listener-id>.
        loadBalancerLabel: view.listenerArn
          .slice(view.listenerArn.indexOf(':listener/') + ':listener/'.length)
          .split('/')
          .slice(0, 3)
          .join('/'),
        targetGroupLabel: ref(L.targetGroup, 'label'),
      });
    }
  }
  const cdn = spec.cdn;
  if (cdn.enabled) {
    if (!cdn.certificateArn)
      throw new PlanningError(
        'spec.cdn.certificateArn',
        'required when cdn.enabled is true: an ACM certificate in us-east-1 that covers the host',
      );
    add('cloudfront.Distribution', L.distribution, {
      callerReference: boundedName(['slipway', clusterId, ...base], 128),
      comment: `Slipway ${owner.kind} ${owner.namespace}/${owner.name}`,
      aliases: [host],
      certificateArn: cdn.certificateArn,
      originDomainName: view.loadBalancerDnsName,
      priceClass: cdn.priceClass,
    });
  }
  add('route53.Record', L.record, {
    hostedZoneId: env.spec.domain.hostedZoneId,
    name: host,
    alias: cdn.enabled
      ? { dnsName: ref(L.distribution, 'domainName'), hostedZoneId: CLOUDFRONT_ZONE_ID }
      : { dnsName: view.loadBalancerDnsName, hostedZoneId: view.loadBalancerZoneId },
    ownerValue: recordOwnerValue(clusterId, `${owner.kind}/${owner.namespace}/${owner.name}`),
  });
  return { owner, resources };
}
