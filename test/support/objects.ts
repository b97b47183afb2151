// Typed custom resources for unit tests, with the defaults the API server would fill in.
import type { Environment, PreviewDeployment, Service, ServiceSpec } from '../../src/api/index.js';

export function environment(
  overrides: { name?: string; tier?: 'production' | 'non-production'; spec?: Partial<Environment['spec']> } = {},
): Environment {
  return {
    apiVersion: 'slipway.dev/v1alpha1',
    kind: 'Environment',
    metadata: {
      name: overrides.name ?? 'dev',
      namespace: 'commerce',
      generation: 1,
      creationTimestamp: '2026-11-01T00:00:00Z',
    },
    spec: {
      tier: overrides.tier ?? 'non-production',
      region: 'eu-west-1',
      domain: { baseDomain: 'dev.shop.example', hostedZoneId: 'Z0123456789ABCDEFGHIJ' },
      network: {
        vpcId: 'vpc-0a1b2c3d4e5f60718',
        subnetIds: ['subnet-0bbb', 'subnet-0aaa'],
        securityGroupIds: ['sg-0123456789abcdef0'],
        assignPublicIp: false,
      },
      loadBalancer: {
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
        scheme: 'internet-facing',
      },
      cluster: { containerInsights: 'Disabled' },
      access: {
        cognito: {
          required: false,
          sessionTimeoutSeconds: 43200,
          invitedUsers: ['Reviewer@shop.example', 'qa@shop.example'],
        },
      },
      previews: { enabled: true, maxActive: 10, defaultTTL: '72h' },
      driftPolicy: 'Correct',
      deletionPolicy: 'Delete',
      resyncInterval: '5m',
      tags: { team: 'platform' },
      ...overrides.spec,
    } as Environment['spec'],
  };
}

export function serviceSpec(overrides: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    environmentRef: { name: 'dev' },
    image: 'registry.shop.example/catalog-api:1.4.2',
    cpuArchitecture: 'X86_64',
    containerPort: 8080,
    executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
    cpu: 512,
    memory: 1024,
    routing: { pathPatterns: ['/api/*'] },
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'DB_POOL', value: '10' },
    ],
    secrets: [
      {
        name: 'DB_PASSWORD',
        valueFrom: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:catalog-db-AbCdEf',
        jsonKey: 'password',
      },
    ],
    desiredCount: 2,
    healthCheck: {
      path: '/healthz',
      gracePeriodSeconds: 60,
      intervalSeconds: 30,
      timeoutSeconds: 5,
      healthyThreshold: 3,
      unhealthyThreshold: 3,
      matcher: '200-399',
    },
    auth: { cognito: 'Inherit' },
    cdn: { enabled: false, priceClass: 'PriceClass_100' },
    deployment: { circuitBreaker: { enabled: true, rollback: true }, minimumHealthyPercent: 100, maximumPercent: 200 },
    logs: { retentionDays: 30 },
    ...overrides,
  } as ServiceSpec;
}

export function service(name = 'catalog-api', spec: Partial<ServiceSpec> = {}): Service {
  return {
    apiVersion: 'slipway.dev/v1alpha1',
    kind: 'Service',
    metadata: { name, namespace: 'commerce', generation: 1 },
    spec: serviceSpec(spec),
  };
}

export function preview(overrides: Partial<PreviewDeployment['spec']> = {}): PreviewDeployment {
  return {
    apiVersion: 'slipway.dev/v1alpha1',
    kind: 'PreviewDeployment',
    metadata: {
      name: 'catalog-api-pr-42',
      namespace: 'commerce',
      generation: 1,
      creationTimestamp: '2026-11-20T10:00:00Z',
    },
    spec: {
      environmentRef: { name: 'dev' },
      serviceRef: { name: 'catalog-api' },
      imageTag: 'pr-42-abc1234',
      pullRequest: {
        number: 42,
        state: 'open',
        url: 'https://git.shop.example/shop/catalog/pull/42',
        branch: 'feature/search',
        commitSha: 'abc1234',
      },
      ...overrides,
    } as PreviewDeployment['spec'],
  };
}
