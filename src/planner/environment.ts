// Environment → Plan: security group, ALB with HTTPS and redirecting HTTP listeners (or an existing listener,
// referenced and never modified), the ECS cluster, and for gated environments the Cognito pool, domain, app
// client (callback URLs exactly the gated hosts) and invited users. Pure.
//
// Load-balancer shards: one load balancer holds only so many Services (listener rules and target groups per ALB,
// callback URLs per app client), so an Environment may have several. Shard 0 is the first, with the logical ids and
// names an Environment has always had; shard k >= 1 has its own security group, ALB, HTTPS listener (same
// certificate, SSL policy and 404 default), HTTP redirect and, when gated, its own app client in the same pool
// (callback URLs of the hosts placed on it). Which shards exist is the controller's decision (facts.extraShards).
import type { Environment } from '../api/index.js';
import { planDriftEvents } from './drift-events.js';
import { PlanningError } from './errors.js';
import { boundedName, hash, ownershipTags } from './naming.js';
import { planNetwork } from './network.js';
import {
  ref,
  type Late,
  type Owner,
  type Plan,
  type PlannedResource,
  type ResourceKind,
  type PropsByKind,
} from './plan.js';

export interface EnvironmentFacts {
  readonly clusterId: string;
  /** Hosts routed through the gate by the Services and previews placed on shard 0. */
  readonly gatedHosts: readonly string[];
  /** Load balancers beyond the first (never with an existing listener), each with the gated hosts placed on it. */
  readonly extraShards?: readonly ShardFacts[];
  /** The load balancer behind `spec.loadBalancer.existingListenerArn`, found by the controller. */
  readonly existingLoadBalancerArn?: string;
  /** The VPC's IPv4 CIDR: an internal load balancer admits only it. (With spec.network.create: its cidr.) */
  readonly vpcCidr: string;
  /** spec.network.create: the Region's available zones, sorted by name; the first availabilityZones are used. */
  readonly availabilityZones?: readonly string[];
}

/**
 * The VPC and subnets the load balancer uses, and the network resources to plan: the existing VPC's (from the spec),
 * or the created network's (late-bound references into this plan).
 */
function networkOf(env: Environment, facts: EnvironmentFacts, tags: (id: string) => Record<string, string>) {
  if (env.spec.network.create) {
    const created = planNetwork(env, facts.availabilityZones ?? [], tags);
    return {
      resources: created.resources,
      vpcId: created.vpcId as Late<string>,
      subnetIds: created.publicSubnetIds as readonly Late<string>[],
      loadBalancerAfter: [created.internetGateway],
    };
  }
  const { vpcId, subnetIds } = env.spec.network;
  if (!vpcId || !subnetIds) {
    throw new PlanningError('spec.network', 'needs either vpcId and subnetIds, or create');
  }
  return { resources: [], vpcId: vpcId as Late<string>, subnetIds: [...subnetIds].sort(), loadBalancerAfter: [] };
}

export interface ShardFacts {
  /** 1 to MAX_SHARDS - 1: shard 0 is the Environment's first load balancer and always planned. */
  readonly index: number;
  readonly gatedHosts: readonly string[];
}

/** Cognito holds at most 100 callback URLs per app client. */
export const MAX_CALLBACK_URLS = 100;

/** Shards are numbered 0 to 99 (the CRDs bound spec.loadBalancer.shard and status.shards the same way). */
export const MAX_SHARDS = 100;

export const LOGICAL = {
  securityGroup: 'alb-security-group',
  loadBalancer: 'load-balancer',
  httpsListener: 'https-listener',
  httpListener: 'http-listener',
  cluster: 'ecs-cluster',
  userPool: 'user-pool',
  userPoolDomain: 'user-pool-domain',
  userPoolClient: 'user-pool-client',
} as const;

/** A shard's logical id: shard 0 keeps the plain id, shard k >= 1 appends `-shard-<k>`. */
export function shardLogicalId(id: string, shard: number): string {
  return shard === 0 ? id : `${id}-shard-${shard}`;
}

/** The logical ids of one shard's resources. */
export function shardLogical(shard: number) {
  return {
    securityGroup: shardLogicalId(LOGICAL.securityGroup, shard),
    loadBalancer: shardLogicalId(LOGICAL.loadBalancer, shard),
    httpsListener: shardLogicalId(LOGICAL.httpsListener, shard),
    httpListener: shardLogicalId(LOGICAL.httpListener, shard),
    userPoolClient: shardLogicalId(LOGICAL.userPoolClient, shard),
  } as const;
}

/**
 * A shard's name from the parts of shard 0's: shard k >= 1 puts k into the prefix (`sw` becomes `sw<k>`), so it can
 * never equal a shard-0 name of another Environment whatever its namespace and name.
 */
function shardName(prefix: string, rest: readonly string[], shard: number, max: number): string {
  return boundedName([shard === 0 ? prefix : `${prefix}${shard}`, ...rest], max);
}

/** The name of a shard's load balancer (unique per account and region, as AWS requires). */
export function shardLoadBalancerName(env: Environment, shard: number): string {
  return shardName('sw', [env.metadata.namespace ?? 'default', env.metadata.name], shard, 32);
}

export function environmentOwner(env: Environment, clusterId: string): Owner {
  return { clusterId, kind: 'Environment', namespace: env.metadata.namespace ?? 'default', name: env.metadata.name };
}

/** Whether the Cognito gate is on: explicit `enabled`, else on outside production. */
export function gateEnabled(env: Environment): boolean {
  return env.spec.access?.cognito?.enabled ?? env.spec.tier !== 'production';
}

export function clusterName(env: Environment): string {
  return env.spec.cluster.name ?? boundedName(['slipway', env.metadata.namespace ?? 'default', env.metadata.name], 255);
}

/** The extra shards to plan, sorted; an existing listener has none (it cannot grow). */
function shardIndexes(facts: EnvironmentFacts): number[] {
  if (facts.existingLoadBalancerArn) return [];
  const indexes = [...new Set((facts.extraShards ?? []).map((s) => s.index))].sort((a, b) => a - b);
  for (const i of indexes) {
    if (!Number.isInteger(i) || i < 1 || i >= MAX_SHARDS)
      throw new Error(`shard index ${i} is outside 1-${MAX_SHARDS - 1}`);
  }
  return indexes;
}

export function planEnvironment(env: Environment, facts: EnvironmentFacts): Plan {
  const owner = environmentOwner(env, facts.clusterId);
  const ns = owner.namespace;
  const resources: PlannedResource[] = [];
  const tags = (id: string) => ({
    ...(env.spec.tags ?? {}),
    ...ownershipTags(owner, id, `${owner.namespace}/${owner.name}`),
  });
  const add = <K extends ResourceKind>(
    kind: K,
    id: string,
    props: PropsByKind[K],
    extra: Partial<Pick<PlannedResource, 'external' | 'after'>> = {},
  ) => resources.push({ id, kind, props, tags: tags(id), ...extra } as PlannedResource);

  const network = networkOf(env, facts, tags);
  resources.push(...network.resources);
  const lb = env.spec.loadBalancer;
  if (lb.existingListenerArn) {
    if (!facts.existingLoadBalancerArn) {
      throw new PlanningError(
        'spec.loadBalancer.existingListenerArn',
        `listener ${lb.existingListenerArn} was not found`,
        'ListenerNotFound',
      );
    }
    add(
      'elbv2.LoadBalancer',
      LOGICAL.loadBalancer,
      { name: '', scheme: 'internet-facing', subnetIds: [], securityGroupIds: [], idleTimeoutSeconds: 60 },
      {
        external: { identifier: facts.existingLoadBalancerArn },
      },
    );
    add(
      'elbv2.Listener',
      LOGICAL.httpsListener,
      {
        loadBalancerArn: facts.existingLoadBalancerArn,
        port: 443,
        protocol: 'HTTPS',
        defaultAction: { type: 'redirect-https' },
      },
      { external: { identifier: lb.existingListenerArn } },
    );
  } else {
    if (!lb.certificateArn) {
      throw new PlanningError(
        'spec.loadBalancer.certificateArn',
        'required unless existingListenerArn is set: the HTTPS listener needs an ACM certificate',
      );
    }
    const internal = lb.scheme === 'internal';
    const certificateArn = lb.certificateArn;
    for (const shard of [0, ...shardIndexes(facts)]) {
      const id = shardLogical(shard);
      add('ec2.SecurityGroup', id.securityGroup, {
        name: boundedName(['slipway', ns, env.metadata.name, shard === 0 ? 'alb' : `alb${shard}`], 255),
        description:
          shard === 0
            ? `Slipway load balancer for Environment ${ns}/${env.metadata.name}`
            : `Slipway load balancer ${shard} for Environment ${ns}/${env.metadata.name}`,
        vpcId: network.vpcId,
        ingress: [443, 80].map((port) => ({ port, cidr: internal ? facts.vpcCidr : '0.0.0.0/0' })),
      });
      add(
        'elbv2.LoadBalancer',
        id.loadBalancer,
        {
          name: shardLoadBalancerName(env, shard),
          scheme: lb.scheme,
          subnetIds: network.subnetIds,
          securityGroupIds: [ref(id.securityGroup, 'id')],
          idleTimeoutSeconds: lb.idleTimeoutSeconds ?? 60,
        },
        // An internet-facing load balancer needs the created VPC's internet gateway attached.
        network.loadBalancerAfter.length > 0 ? { after: network.loadBalancerAfter } : {},
      );
      add('elbv2.Listener', id.httpsListener, {
        loadBalancerArn: ref(id.loadBalancer, 'arn'),
        port: 443,
        protocol: 'HTTPS',
        certificateArn,
        // The CRD documents this default: TLS 1.3 with TLS 1.2 fallback.
        sslPolicy: lb.sslPolicy ?? 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        defaultAction: {
          type: 'fixed-response',
          statusCode: '404',
          contentType: 'text/plain',
          messageBody: 'Not found',
        },
      });
      add('elbv2.Listener', id.httpListener, {
        loadBalancerArn: ref(id.loadBalancer, 'arn'),
        port: 80,
        protocol: 'HTTP',
        defaultAction: { type: 'redirect-https' },
      });
    }
  }

  add('ecs.Cluster', LOGICAL.cluster, {
    name: clusterName(env),
    containerInsights: env.spec.cluster.containerInsights !== 'Disabled',
  });

  // The gate exists when it is on for every Service, when a user pool is named for Services to opt in to, or
  // as soon as one Service opts in.
  const anyGated = facts.gatedHosts.length > 0 || (facts.extraShards ?? []).some((s) => s.gatedHosts.length > 0);
  if (gateEnabled(env) || env.spec.access?.cognito?.userPoolId || anyGated) planGate(env, facts, add);
  if (!gateEnabled(env) && env.spec.access?.cognito?.required) {
    throw new PlanningError(
      'spec.access.cognito.required',
      'true, but the gate is disabled: set access.cognito.enabled to true, or required to false',
    );
  }
  resources.push(...planDriftEvents(env, owner, tags, clusterName(env)));
  return { owner, resources };
}

function planGate(
  env: Environment,
  facts: EnvironmentFacts,
  add: <K extends ResourceKind>(
    kind: K,
    id: string,
    props: PropsByKind[K],
    extra?: Partial<Pick<PlannedResource, 'external' | 'after'>>,
  ) => void,
): void {
  const cognito = env.spec.access?.cognito;
  const ns = env.metadata.namespace ?? 'default';
  const name = env.metadata.name;
  const hostsOf = (gated: readonly string[], shard: number): string[] => {
    const hosts = [...new Set(gated.map((h) => h.toLowerCase()))].sort();
    if (hosts.length > MAX_CALLBACK_URLS) {
      throw new PlanningError(
        'spec.access.cognito',
        `${hosts.length} hosts on load balancer shard ${shard} are routed through the gate, but a Cognito app client holds at most ${MAX_CALLBACK_URLS} callback URLs: lower SLIPWAY_MAX_WORKLOADS_PER_LOAD_BALANCER to ${MAX_CALLBACK_URLS} or less so Slipway spreads them over more load balancers, or split the Services across Environments`,
        'CallbackQuotaExceeded',
      );
    }
    return hosts;
  };
  const shards = [
    { index: 0, hosts: hostsOf(facts.gatedHosts, 0) },
    ...shardIndexes(facts).map((index) => ({
      index,
      hosts: hostsOf(facts.extraShards?.find((s) => s.index === index)?.gatedHosts ?? [], index),
    })),
  ];
  // Cognito domain prefixes are global per region: lowercase letters, digits and hyphens, at most 63 characters.
  const domain =
    cognito?.domainPrefix ??
    boundedName(['slipway', ns, name, hash(`${facts.clusterId}/${ns}/${name}`, 6)], 63).toLowerCase();
  const poolName = boundedName(['slipway', ns, name], 128);
  if (cognito?.userPoolId) {
    if (!cognito.domainPrefix) {
      throw new PlanningError(
        'spec.access.cognito.domainPrefix',
        'required when userPoolId names an existing user pool: give the prefix of its hosted UI domain',
      );
    }
    add('cognito.UserPool', LOGICAL.userPool, { name: poolName }, { external: { identifier: cognito.userPoolId } });
    add(
      'cognito.UserPoolDomain',
      LOGICAL.userPoolDomain,
      { userPoolId: ref(LOGICAL.userPool, 'id'), domain },
      { external: { identifier: domain } },
    );
  } else {
    add('cognito.UserPool', LOGICAL.userPool, { name: poolName });
    add('cognito.UserPoolDomain', LOGICAL.userPoolDomain, { userPoolId: ref(LOGICAL.userPool, 'id'), domain });
  }
  for (const shard of shards) {
    add('cognito.UserPoolClient', shardLogical(shard.index).userPoolClient, {
      userPoolId: ref(LOGICAL.userPool, 'id'),
      name: shardName('slipway', [ns, name], shard.index, 128),
      callbackUrls: shard.hosts.map((h) => `https://${h}/oauth2/idpresponse`),
      logoutUrls: [],
    });
  }
  for (const email of [...new Set((cognito?.invitedUsers ?? []).map((e) => e.toLowerCase()))].sort()) {
    add('cognito.User', `user:${email}`, { userPoolId: ref(LOGICAL.userPool, 'id'), email, enabled: true });
  }
}
