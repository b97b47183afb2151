// The objects the benchmark applies: gated non-production Environments and N alike Services on each with autoscaling
// on CPU and memory, so every Service plans the full set of resources a typical one has (log group, task
// definition, target group, gated listener rule, ECS service, scalable target, two policies, DNS alias); and
// PreviewDeployments of those Services (the same without autoscaling, one task).
import { API_VERSION } from '../src/api/index.js';
import type { Landscape } from '../test/support/aws-fixtures.js';

/** A manifest as submitted: the API server fills in the defaults the generated types declare required. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: Readonly<Record<string, unknown>>;
}

export const ENVIRONMENT_NAME = 'bench';
/** The second Environment, applied in one go with its Services (the together phase). */
export const TOGETHER_ENVIRONMENT = 'together';

/**
 * `previews`: accept that many PreviewDeployments (previews.maxActive); 0 leaves previews off, as before.
 * `driftEvents`: spec.drift.events from the start (--drift-events), so every phase runs with the event pipeline.
 */
export function environmentManifest(
  namespace: string,
  land: Landscape,
  name = ENVIRONMENT_NAME,
  previews = 0,
  driftEvents = false,
): Manifest {
  return {
    apiVersion: API_VERSION,
    kind: 'Environment',
    metadata: { name, namespace },
    spec: {
      tier: 'non-production',
      region: 'us-east-1',
      domain: { baseDomain: land.baseDomain, hostedZoneId: land.hostedZoneId },
      network: { vpcId: land.vpcId, subnetIds: [...land.subnetIds], securityGroupIds: [land.securityGroupId] },
      loadBalancer: { certificateArn: land.certificateArn },
      access: { cognito: { invitedUsers: ['reviewer@shop.test'] } },
      // Long enough that no periodic requeue lands inside a measured phase; the steady pass is forced instead.
      resyncInterval: '1h',
      ...(previews > 0 ? { previews: { enabled: true, maxActive: previews } } : {}),
      ...(driftEvents ? { drift: { events: true } } : {}),
    },
  };
}

export function serviceName(i: number, prefix = 'svc'): string {
  return `${prefix}-${String(i).padStart(3, '0')}`;
}

export function imageFor(i: number, version: string): string {
  return `registry.shop.test/${serviceName(i)}:${version}`;
}

export function serviceManifest(
  namespace: string,
  i: number,
  version: string,
  on: { readonly environment: string; readonly prefix: string; readonly name?: string } = {
    environment: ENVIRONMENT_NAME,
    prefix: 'svc',
  },
): Manifest {
  return {
    apiVersion: API_VERSION,
    kind: 'Service',
    metadata: { name: on.name ?? serviceName(i, on.prefix), namespace },
    spec: {
      environmentRef: { name: on.environment },
      image: imageFor(i, version),
      cpu: 256,
      memory: 512,
      containerPort: 8080,
      executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
      routing: { pathPatterns: ['/*'] },
      env: [
        { name: 'LOG_LEVEL', value: 'info' },
        { name: 'SERVICE_INDEX', value: String(i) },
      ],
      healthCheck: { path: '/healthz' },
      autoscaling: { minTasks: 1, maxTasks: 4, cpuTargetPercent: 60, memoryTargetPercent: 75 },
      logs: { retentionDays: 7 },
    },
  };
}

/** A preview of `p.service` for pull request `p.number`, running that PR's image tag on the Service's repository. */
export function previewManifest(
  namespace: string,
  p: { readonly name: string; readonly environment: string; readonly service: string; readonly number: number },
): Manifest {
  return {
    apiVersion: API_VERSION,
    kind: 'PreviewDeployment',
    metadata: { name: p.name, namespace },
    spec: {
      environmentRef: { name: p.environment },
      serviceRef: { name: p.service },
      imageTag: `pr-${p.number}-9f3c2ab`,
      pullRequest: {
        number: p.number,
        url: `https://git.shop.test/shop/web/pull/${p.number}`,
        branch: `feature-${p.number}`,
        commitSha: '9f3c2ab',
        state: 'open',
      },
    },
  };
}
