// YAML for the custom resources integration tests apply, on top of a Landscape of AWS prerequisites.
import type { Landscape } from './aws-fixtures.js';
import { kubectl } from './kube.js';

export function environmentYaml(ns: string, land: Landscape, name: string, extra = ''): string {
  return `
apiVersion: slipway.dev/v1alpha1
kind: Environment
metadata: { name: ${name}, namespace: ${ns} }
spec:
  tier: non-production
  region: us-east-1
  domain: { baseDomain: ${land.baseDomain}, hostedZoneId: ${land.hostedZoneId} }
  network: { vpcId: ${land.vpcId}, subnetIds: [${land.subnetIds.join(', ')}], securityGroupIds: [${land.securityGroupId}] }
  loadBalancer: { certificateArn: "${land.certificateArn}" }
  access: { cognito: { invitedUsers: [reviewer@shop.test] } }
${extra}`;
}

export interface ServiceOptions {
  readonly env?: string;
  readonly image?: string;
  readonly priority?: number;
  readonly subdomain?: string;
  readonly extra?: string;
}

export function serviceYaml(ns: string, name: string, opts: ServiceOptions = {}): string {
  return `
apiVersion: slipway.dev/v1alpha1
kind: Service
metadata: { name: ${name}, namespace: ${ns} }
spec:
  environmentRef: { name: ${opts.env ?? 'dev'} }
  image: ${opts.image ?? 'registry.shop.test/catalog:1.0.0'}
  cpu: 256
  memory: 512
  containerPort: 8080
  executionRoleArn: arn:aws:iam::123456789012:role/ecsTaskExecutionRole
  ${opts.subdomain ? `subdomain: ${opts.subdomain}` : ''}
  routing: { pathPatterns: ["/*"]${opts.priority ? `, priority: ${opts.priority}` : ''} }
  env: [{ name: LOG_LEVEL, value: info }]
  healthCheck: { path: /healthz }
${opts.extra ?? ''}`;
}

export function previewYaml(
  ns: string,
  name: string,
  pr: number,
  opts: { service?: string; state?: string; ttl?: string } = {},
): string {
  return `
apiVersion: slipway.dev/v1alpha1
kind: PreviewDeployment
metadata: { name: ${name}, namespace: ${ns} }
spec:
  environmentRef: { name: dev }
  serviceRef: { name: ${opts.service ?? 'web'} }
  imageTag: pr-${pr}-abc1234
  pullRequest: { number: ${pr}, url: "https://git.shop.test/shop/web/pull/${pr}", branch: feature-${pr}, commitSha: abc1234, state: ${opts.state ?? 'open'} }
  ${opts.ttl ? `ttl: ${opts.ttl}` : ''}
`;
}

export function apply(yaml: string): void {
  kubectl(['apply', '-f', '-'], yaml);
}
