// Environment → Plan: security group, ALB with HTTPS and redirecting HTTP listeners (or an existing listener,
// referenced and never modified), the ECS cluster, and for gated environments the Cognito pool, domain, app
// client (callback URLs exactly the gated hosts) and invited users. Pure.
import type { Environment } from '../api/index.js';
import { planDriftEvents } from './drift-events.js';
import { PlanningError } from './errors.js';
import { boundedName, hash, ownershipTags } from './naming.js';
import { ref, type Owner, type Plan, type PlannedResource, type ResourceKind, type PropsByKind } from './plan.js';

export interface EnvironmentFacts {
  readonly clusterId: string;
  /** Hosts routed through the gate by Services and previews of this Environment. */
  readonly gatedHosts: readonly string[];
  /** The load balancer behind `spec.loadBalancer.existingListenerArn`, found by the controller. */
  readonly existingLoadBalancerArn?: string;
  /** The VPC's IPv4 CIDR: an internal load balancer admits only it. */
  readonly vpcCidr: string;
}

/** Cognito holds at most 100 callback URLs per app client. */
export const MAX_CALLBACK_URLS = 100;

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
    add('ec2.SecurityGroup', LOGICAL.securityGroup, {
      name: boundedName(['slipway', ns, env.metadata.name, 'alb'], 255),
      description: `Slipway load balancer for Environment ${ns}/${env.metadata.name}`,
      vpcId: env.spec.network.vpcId,
      ingress: [443, 80].map((port) => ({ port, cidr: internal ? facts.vpcCidr : '0.0.0.0/0' })),
    });
    add('elbv2.LoadBalancer', LOGICAL.loadBalancer, {
      name: boundedName(['sw', ns, env.metadata.name], 32),
      scheme: lb.scheme,
      subnetIds: [...env.spec.network.subnetIds].sort(),
      securityGroupIds: [ref(LOGICAL.securityGroup, 'id')],
      idleTimeoutSeconds: lb.idleTimeoutSeconds ?? 60,
    });
    add('elbv2.Listener', LOGICAL.httpsListener, {
      loadBalancerArn: ref(LOGICAL.loadBalancer, 'arn'),
      port: 443,
      protocol: 'HTTPS',
      certificateArn: lb.certificateArn,
      // The CRD documents this default: TLS 1.3 with TLS 1.2 fallback.
      sslPolicy: lb.sslPolicy ?? 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      defaultAction: { type: 'fixed-response', statusCode: '404', contentType: 'text/plain', messageBody: 'Not found' },
    });
    add('elbv2.Listener', LOGICAL.httpListener, {
      loadBalancerArn: ref(LOGICAL.loadBalancer, 'arn'),
      port: 80,
      protocol: 'HTTP',
      defaultAction: { type: 'redirect-https' },
    });
  }

  add('ecs.Cluster', LOGICAL.cluster, {
    name: clusterName(env),
    containerInsights: env.spec.cluster.containerInsights !== 'Disabled',
  });

  // The gate exists when it is on for every Service, when a user pool is named for Services to opt in to, or
  // as soon as one Service opts in.
  if (gateEnabled(env) || env.spec.access?.cognito?.userPoolId || facts.gatedHosts.length > 0)
    planGate(env, facts, add);
  if (!gateEnabled(env) && env.spec.access?.cognito?.required) {
    throw new PlanningError(
      'spec.access.cognito.required',
      'true, but the gate is disabled: set access.cognito.enabled to true, or required to false',
    );
  }
  resources.push(...planDriftEvents(env, owner, tags));
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
  const hosts = [...new Set(facts.gatedHosts.map((h) => h.toLowerCase()))].sort();
  if (hosts.length > MAX_CALLBACK_URLS) {
    throw new PlanningError(
      'spec.access.cognito',
      `${hosts.length} hosts are routed through the gate, but a Cognito app client holds at most ${MAX_CALLBACK_URLS} callback URLs: split the Services across Environments`,
      'CallbackQuotaExceeded',
    );
  }
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
  add('cognito.UserPoolClient', LOGICAL.userPoolClient, {
    userPoolId: ref(LOGICAL.userPool, 'id'),
    name: boundedName(['slipway', ns, name], 128),
    callbackUrls: hosts.map((h) => `https://${h}/oauth2/idpresponse`),
    logoutUrls: [],
  });
  for (const email of [...new Set((cognito?.invitedUsers ?? []).map((e) => e.toLowerCase()))].sort()) {
    add('cognito.User', `user:${email}`, { userPoolId: ref(LOGICAL.userPool, 'id'), email, enabled: true });
  }
}
