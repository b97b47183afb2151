// The Plan: a JSON-serialisable list of desired AWS resources with stable logical ids and late-bound
// references. Produced by pure planner functions, consumed by the applier. No I/O, no clock, no SDK types.

/** A reference to an attribute of another resource in the same plan, known only once that resource exists. */
export interface Ref {
  readonly $ref: { readonly id: string; readonly attr: string };
}

export type Late<T> = T | Ref;

export function ref(id: string, attr: string): Ref {
  return { $ref: { id, attr } };
}

export function isRef(value: unknown): value is Ref {
  return typeof value === 'object' && value !== null && '$ref' in value;
}

/** Replaces every Ref in a props type with the string it resolves to. */
export type Resolved<T> = T extends Ref
  ? string
  : T extends readonly (infer U)[]
    ? readonly Resolved<U>[]
    : T extends object
      ? { readonly [K in keyof T]: Resolved<T[K]> }
      : T;

/** Identifies the custom resource that owns a plan; it is written into every AWS resource's tags. */
export interface Owner {
  /** The operator installation's id (one AWS account may serve several clusters). */
  readonly clusterId: string;
  readonly kind: 'Environment' | 'Service' | 'PreviewDeployment';
  readonly namespace: string;
  readonly name: string;
}

// ---- Desired properties per AWS resource kind. Only the fields Slipway manages; diffs look at these alone. ----

export interface SecurityGroupProps {
  readonly name: string;
  readonly description: string;
  readonly vpcId: Late<string>;
  /** Ingress rules: TCP port open to the given IPv4 CIDRs. */
  readonly ingress: readonly { readonly port: number; readonly cidr: string }[];
  /**
   * TCP port ranges open to IPv4 CIDRs (a created network's task group admits the load balancer's subnets on any
   * port, since container ports are the Services'). Managed only where planned: absent, range rules are not ours.
   */
  readonly ingressRanges?: readonly { readonly fromPort: number; readonly toPort: number; readonly cidr: string }[];
}

export interface ClusterProps {
  readonly name: string;
  readonly containerInsights: boolean;
}

export interface LoadBalancerProps {
  readonly name: string;
  readonly scheme: 'internet-facing' | 'internal';
  readonly subnetIds: readonly Late<string>[];
  readonly securityGroupIds: readonly Late<string>[];
  readonly idleTimeoutSeconds: number;
}

export type ListenerAction =
  | {
      readonly type: 'fixed-response';
      readonly statusCode: string;
      readonly contentType: string;
      readonly messageBody: string;
    }
  | { readonly type: 'redirect-https' }
  | { readonly type: 'forward'; readonly targetGroupArn: Late<string> }
  | {
      readonly type: 'authenticate-cognito';
      readonly userPoolArn: Late<string>;
      readonly userPoolClientId: Late<string>;
      readonly userPoolDomain: Late<string>;
      readonly sessionTimeoutSeconds: number;
    };

export interface ListenerProps {
  readonly loadBalancerArn: Late<string>;
  readonly port: number;
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly certificateArn?: string;
  readonly sslPolicy?: string;
  readonly defaultAction: ListenerAction;
}

export interface TargetGroupProps {
  /** At most 32 characters; deterministic (prefix + hash). */
  readonly name: string;
  readonly vpcId: Late<string>;
  readonly port: number;
  readonly healthCheck: {
    readonly path: string;
    readonly intervalSeconds: number;
    readonly timeoutSeconds: number;
    readonly healthyThreshold: number;
    readonly unhealthyThreshold: number;
    readonly matcher: string;
  };
  readonly deregistrationDelaySeconds: number;
}

export interface ListenerRuleProps {
  readonly listenerArn: Late<string>;
  /** A fixed priority from the spec, or absent: the applier allocates one that is free on the listener. */
  readonly priority?: number;
  readonly host: string;
  readonly pathPatterns: readonly string[];
  readonly actions: readonly ListenerAction[];
}

export interface LogGroupProps {
  readonly name: string;
  readonly retentionDays: number;
}

export interface ContainerSecret {
  readonly name: string;
  /** Secrets Manager ARN, optionally with `:jsonKey::` appended as ECS expects. */
  readonly valueFrom: string;
}

export interface TaskDefinitionProps {
  readonly family: string;
  readonly cpu: number;
  readonly memory: number;
  /** Fargate's runtime platform (Linux). */
  readonly cpuArchitecture: 'X86_64' | 'ARM64';
  readonly taskRoleArn?: string;
  readonly executionRoleArn?: string;
  readonly container: {
    readonly name: string;
    readonly image: string;
    readonly port: number;
    readonly environment: readonly { readonly name: string; readonly value: string }[];
    readonly secrets: readonly ContainerSecret[];
    readonly logGroup: Late<string>;
    readonly logRegion: string;
    readonly logStreamPrefix: string;
  };
}

export interface EcsServiceProps {
  readonly name: string;
  readonly clusterArn: Late<string>;
  readonly taskDefinitionArn: Late<string>;
  /** Absent when Application Auto Scaling owns the count: then it is never sent on update, nor diffed. */
  readonly desiredCount?: number;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly Late<string>[];
  readonly assignPublicIp: boolean;
  readonly targetGroupArn: Late<string>;
  readonly containerName: string;
  readonly containerPort: number;
  readonly healthCheckGracePeriodSeconds: number;
  readonly circuitBreaker: { readonly enable: boolean; readonly rollback: boolean };
  readonly minimumHealthyPercent: number;
  readonly maximumPercent: number;
  /**
   * ECS's deployment circuit breaker rolled the last deployment back: the service stays on the revision ECS went
   * back to (taskDefinitionArn is neither diffed nor sent) until the next deployment starts, instead of being put
   * back on the failing revision on every pass.
   */
  readonly holdTaskDefinition?: boolean;
  /**
   * The revision status.history says is rolling out. Should the service be seen rolled back from it by the circuit
   * breaker, taskDefinitionArn is left alone in that pass (status.history then records the rollback, and
   * holdTaskDefinition holds it): the failed revision is not deployed again before the rollback is recorded.
   */
  readonly rollingOut?: string;
}

export interface ScalableTargetProps {
  /** `service/<cluster>/<service>` */
  readonly resourceId: string;
  readonly minCapacity: number;
  readonly maxCapacity: number;
}

export interface ScalingPolicyProps {
  readonly name: string;
  readonly resourceId: string;
  readonly metric:
    'ECSServiceAverageCPUUtilization' | 'ECSServiceAverageMemoryUtilization' | 'ALBRequestCountPerTarget';
  readonly targetValue: number;
  /**
   * ALBRequestCountPerTarget only: the metric's ResourceLabel is `<loadBalancerLabel>/<targetGroupLabel>`,
   * i.e. `app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>`.
   */
  readonly loadBalancerLabel?: string;
  readonly targetGroupLabel?: Late<string>;
  readonly scaleInCooldownSeconds: number;
  readonly scaleOutCooldownSeconds: number;
}

export interface RecordProps {
  readonly hostedZoneId: string;
  /** Fully qualified, without the trailing dot. */
  readonly name: string;
  readonly alias: { readonly dnsName: Late<string>; readonly hostedZoneId: Late<string> };
  /** The companion TXT record's value that marks the name as ours (Route53 records carry no tags). */
  readonly ownerValue: string;
}

export interface UserPoolProps {
  readonly name: string;
}

export interface UserPoolDomainProps {
  readonly userPoolId: Late<string>;
  readonly domain: string;
}

export interface UserPoolClientProps {
  readonly userPoolId: Late<string>;
  readonly name: string;
  /** Exactly `https://<host>/oauth2/idpresponse` for every host routed through the gate, sorted. */
  readonly callbackUrls: readonly string[];
  readonly logoutUrls: readonly string[];
}

export interface UserProps {
  readonly userPoolId: Late<string>;
  readonly email: string;
  /** Users removed from the invite list are disabled, never deleted. */
  readonly enabled: boolean;
}

export interface DistributionProps {
  readonly callerReference: string;
  readonly comment: string;
  readonly aliases: readonly string[];
  readonly certificateArn: string;
  readonly originDomainName: Late<string>;
  readonly priceClass: string;
}

/**
 * An EventBridge rule on the default event bus that sends matching events to one SQS queue (drift events).
 * `region` is the Environment's, or us-east-1 for the global services' events (Route53, CloudFront).
 */
export interface EventRuleProps {
  /** At most 64 characters. */
  readonly name: string;
  readonly region: string;
  readonly description: string;
  /** The event pattern as canonical JSON (keys sorted): compared as text. */
  readonly eventPattern: string;
  /** The one target: the queue's ARN. */
  readonly queueArn: Late<string>;
  /** A disabled rule delivers nothing: drift on this field is a rule someone switched off. */
  readonly state: 'ENABLED' | 'DISABLED';
}

/**
 * An SQS queue whose policy admits only one EventBridge rule (`sqs:SendMessage` with an `aws:SourceArn` condition).
 * The rule's ARN is derived from the queue's own account and partition, so the queue needs no reference to the
 * rule (which references the queue).
 */
export interface EventQueueProps {
  /** At most 80 characters. */
  readonly name: string;
  readonly region: string;
  /** The name of the rule, in the same region and account, that may send to the queue. */
  readonly sourceRuleName: string;
  /** How long an unhandled event is kept (SQS: 60 s to 14 days). */
  readonly messageRetentionSeconds: number;
}

// ---- A network built by an Environment (spec.network.create). None of these kinds has a unique name: each is
// found by its ownership tags (owner and logical id), and a create whose outcome is unknown is followed by that
// observe (or made idempotent with a ClientToken where EC2 takes one). ----

export interface VpcProps {
  readonly cidr: string;
  /** Both on: interface endpoints with private DNS need them. */
  readonly enableDnsSupport: boolean;
  readonly enableDnsHostnames: boolean;
}

export interface SubnetProps {
  readonly vpcId: Late<string>;
  readonly cidr: string;
  readonly availabilityZone: string;
  /** Always false: nothing Slipway runs takes a public IP from the subnet (the load balancer has its own). */
  readonly mapPublicIpOnLaunch: boolean;
}

export interface InternetGatewayProps {
  /** The VPC it is attached to: the attachment is part of the resource. */
  readonly vpcId: Late<string>;
}

/** An Elastic IP (domain vpc) for a NAT gateway. */
export type ElasticIpProps = Readonly<Record<string, never>>;

export interface NatGatewayProps {
  readonly subnetId: Late<string>;
  readonly allocationId: Late<string>;
}

export interface RouteProps {
  /** An IPv4 CIDR. */
  readonly destination: string;
  /** Exactly one target. */
  readonly gatewayId?: Late<string>;
  readonly natGatewayId?: Late<string>;
}

export interface RouteTableProps {
  readonly vpcId: Late<string>;
  /**
   * The IPv4 CIDR routes Slipway manages, as a set. The VPC's local route and prefix-list routes (a gateway
   * endpoint's) are not listed here and never touched.
   */
  readonly routes: readonly RouteProps[];
  /** The subnets associated with the table, as a set. */
  readonly subnetIds: readonly Late<string>[];
}

export interface VpcEndpointProps {
  readonly vpcId: Late<string>;
  /** e.g. com.amazonaws.eu-west-1.ecr.api */
  readonly serviceName: string;
  readonly type: 'Interface' | 'Gateway';
  /** Interface: one network interface per subnet. */
  readonly subnetIds?: readonly Late<string>[];
  readonly securityGroupIds?: readonly Late<string>[];
  readonly privateDnsEnabled?: boolean;
  /** Gateway: the route tables that get the service's prefix-list route. */
  readonly routeTableIds?: readonly Late<string>[];
}

export interface PropsByKind {
  'ec2.SecurityGroup': SecurityGroupProps;
  'ecs.Cluster': ClusterProps;
  'elbv2.LoadBalancer': LoadBalancerProps;
  'elbv2.Listener': ListenerProps;
  'elbv2.TargetGroup': TargetGroupProps;
  'elbv2.ListenerRule': ListenerRuleProps;
  'logs.LogGroup': LogGroupProps;
  'ecs.TaskDefinition': TaskDefinitionProps;
  'ecs.Service': EcsServiceProps;
  'autoscaling.ScalableTarget': ScalableTargetProps;
  'autoscaling.ScalingPolicy': ScalingPolicyProps;
  'route53.Record': RecordProps;
  'cognito.UserPool': UserPoolProps;
  'cognito.UserPoolDomain': UserPoolDomainProps;
  'cognito.UserPoolClient': UserPoolClientProps;
  'cognito.User': UserProps;
  'cloudfront.Distribution': DistributionProps;
  'events.Rule': EventRuleProps;
  'sqs.Queue': EventQueueProps;
  'ec2.Vpc': VpcProps;
  'ec2.Subnet': SubnetProps;
  'ec2.InternetGateway': InternetGatewayProps;
  'ec2.ElasticIp': ElasticIpProps;
  'ec2.NatGateway': NatGatewayProps;
  'ec2.RouteTable': RouteTableProps;
  'ec2.VpcEndpoint': VpcEndpointProps;
}

export type ResourceKind = keyof PropsByKind;

/** One desired AWS resource. `id` is the logical id: stable across reconciles, unique within the plan. */
export type PlannedResource<K extends ResourceKind = ResourceKind> = {
  [P in K]: {
    readonly id: string;
    readonly kind: P;
    readonly props: PropsByKind[P];
    /** Ownership tags (cluster, owner, logical id) plus the Environment's cost-allocation tags. */
    readonly tags: Readonly<Record<string, string>>;
    /**
     * Logical ids that must exist first although no prop references them (an ECS service attaches its target
     * group only once the listener rule forwards to it).
     */
    readonly after?: readonly string[];
    /**
     * `external`: the resource is referenced, not managed (a user pool or listener the Environment was given).
     * It is observed for its attributes, never created, changed or deleted.
     */
    readonly external?: { readonly identifier: string };
  };
}[K];

export interface Plan {
  readonly owner: Owner;
  readonly resources: readonly PlannedResource[];
}

/** Logical ids this resource's props reference: the applier creates those first and deletes them last. */
export function dependenciesOf(resource: PlannedResource): string[] {
  const found = new Set<string>();
  const walk = (v: unknown): void => {
    if (isRef(v)) found.add(v.$ref.id);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(walk);
  };
  walk(resource.props);
  for (const id of resource.after ?? []) found.add(id);
  return [...found].sort();
}

/** Orders resources so every resource comes after the ones it references (stable for equal depth). */
export function topologicalOrder(resources: readonly PlannedResource[]): PlannedResource[] {
  const byId = new Map(resources.map((r) => [r.id, r]));
  const out: PlannedResource[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (r: PlannedResource, path: string[]): void => {
    const s = state.get(r.id);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`plan has a reference cycle: ${[...path, r.id].join(' -> ')}`);
    state.set(r.id, 'visiting');
    for (const dep of dependenciesOf(r)) {
      const target = byId.get(dep);
      if (!target) throw new Error(`resource ${r.id} references ${dep}, which is not in the plan`);
      visit(target, [...path, r.id]);
    }
    state.set(r.id, 'done');
    out.push(r);
  };
  for (const r of resources) visit(r, []);
  return out;
}
