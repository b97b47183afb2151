// The AWS side of the sandbox: everything examples/ assumes already exists in an account (VPCs and subnets, ACM
// certificates, hosted zones, the platform team's shared load balancer, the staff user pool) is created in the
// emulator, and every id in examples/ is mapped to the id the emulator gave it. Production lives in its own
// account, reached through its accountRoleArn exactly as the operator reaches it.
import { ACMClient, RequestCertificateCommand } from '@aws-sdk/client-acm';
import { createHash } from 'node:crypto';
import {
  CreateUserPoolCommand,
  CreateUserPoolDomainCommand,
  CognitoIdentityProviderClient,
} from '@aws-sdk/client-cognito-identity-provider';
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';

interface EnvironmentDoc {
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly region: string;
    readonly accountRoleArn?: string;
    readonly domain: { readonly baseDomain: string; readonly hostedZoneId: string };
    readonly network: {
      readonly vpcId: string;
      readonly subnetIds: readonly string[];
      readonly securityGroupIds?: readonly string[];
    };
    readonly loadBalancer: { readonly certificateArn?: string; readonly existingListenerArn?: string };
    readonly access?: { readonly cognito?: { readonly userPoolId?: string; readonly domainPrefix?: string } };
  };
}

export interface Substitutions {
  readonly map: Map<string, string>;
}

const baseCredentials: AwsCredentialIdentity = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };

async function credentialsFor(endpoint: string, roleArn?: string): Promise<AwsCredentialIdentity> {
  if (!roleArn) return baseCredentials;
  const sts = new STSClient({ region: 'us-east-1', endpoint, credentials: baseCredentials });
  const out = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'slipway-sandbox-setup' }));
  sts.destroy();
  const c = out.Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken };
}

/** Creates an Environment's prerequisites and records old id → emulator id. */
async function provision(
  endpoint: string,
  env: EnvironmentDoc,
  subs: Map<string, string>,
  log: (l: string) => void,
): Promise<void> {
  const { spec } = env;
  const credentials = await credentialsFor(endpoint, spec.accountRoleArn);
  const cfg = { region: spec.region, endpoint, credentials };
  const ec2 = new EC2Client(cfg);
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }));
  const vpcId = vpc.Vpc!.VpcId!;
  subs.set(spec.network.vpcId, vpcId);
  for (const [i, id] of spec.network.subnetIds.entries()) {
    const zone = `${spec.region}${'abc'[i % 3]}`;
    const s = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.20.${i}.0/24`, AvailabilityZone: zone }),
    );
    subs.set(id, s.Subnet!.SubnetId!);
  }
  for (const [i, id] of (spec.network.securityGroupIds ?? []).entries()) {
    const g = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: `${env.metadata.name}-tasks-${i}`,
        Description: 'task traffic',
        VpcId: vpcId,
      }),
    );
    subs.set(id, g.GroupId!);
  }
  const acm = new ACMClient(cfg);
  if (spec.loadBalancer.certificateArn) {
    const cert = await acm.send(
      new RequestCertificateCommand({ DomainName: `*.${spec.domain.baseDomain}`, ValidationMethod: 'DNS' }),
    );
    subs.set(spec.loadBalancer.certificateArn, cert.CertificateArn!);
  }
  const route53 = new Route53Client({ ...cfg, region: 'us-east-1' });
  const zone = await route53.send(
    new CreateHostedZoneCommand({
      Name: spec.domain.baseDomain,
      CallerReference: `sandbox-${env.metadata.name}-${Date.now()}`,
    }),
  );
  subs.set(spec.domain.hostedZoneId, zone.HostedZone!.Id!.replace('/hostedzone/', ''));

  if (spec.loadBalancer.existingListenerArn) {
    // The platform team's shared load balancer, made outside Slipway: Slipway only adds rules to its listener.
    const elbv2 = new ElasticLoadBalancingV2Client(cfg);
    const sg = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: `${env.metadata.name}-shared-alb`,
        Description: 'shared ALB',
        VpcId: vpcId,
      }),
    );
    const lb = await elbv2.send(
      new CreateLoadBalancerCommand({
        Name: 'platform-shared',
        Subnets: [...spec.network.subnetIds].map((s) => subs.get(s)!),
        SecurityGroups: [sg.GroupId!],
        Type: 'application',
      }),
    );
    const cert = await acm.send(
      new RequestCertificateCommand({ DomainName: `*.${spec.domain.baseDomain}`, ValidationMethod: 'DNS' }),
    );
    const listener = await elbv2.send(
      new CreateListenerCommand({
        LoadBalancerArn: lb.LoadBalancers![0]!.LoadBalancerArn!,
        Protocol: 'HTTPS',
        Port: 443,
        Certificates: [{ CertificateArn: cert.CertificateArn! }],
        DefaultActions: [
          {
            Type: 'fixed-response',
            FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'platform' },
          },
        ],
      }),
    );
    subs.set(spec.loadBalancer.existingListenerArn, listener.Listeners![0]!.ListenerArn!);
    elbv2.destroy();
  }
  const cognito = spec.access?.cognito;
  if (cognito?.userPoolId) {
    // The staff pool that exists before Slipway, with its hosted UI domain.
    const idp = new CognitoIdentityProviderClient(cfg);
    const pool = await idp.send(new CreateUserPoolCommand({ PoolName: `${env.metadata.name}-staff` }));
    subs.set(cognito.userPoolId, pool.UserPool!.Id!);
    if (cognito.domainPrefix)
      await idp.send(new CreateUserPoolDomainCommand({ UserPoolId: pool.UserPool!.Id!, Domain: cognito.domainPrefix }));
    idp.destroy();
  }
  ec2.destroy();
  acm.destroy();
  route53.destroy();
  log(
    `AWS prerequisites for Environment ${env.metadata.name} created in ${spec.region}${spec.accountRoleArn ? ` (account of ${spec.accountRoleArn})` : ''}`,
  );
}

/** CloudFront certificates must live in us-east-1: make one per distinct ARN the Services name. */
async function provisionCdnCertificates(
  endpoint: string,
  arns: readonly string[],
  subs: Map<string, string>,
): Promise<void> {
  for (const arn of arns) {
    const account = arn.split(':')[4];
    const acm = new ACMClient({
      region: 'us-east-1',
      endpoint,
      credentials:
        account === '123456789012'
          ? baseCredentials
          : await credentialsFor(endpoint, `arn:aws:iam::${account}:role/slipway-sandbox`),
    });
    const cert = await acm.send(
      new RequestCertificateCommand({ DomainName: `cdn-${subs.size}.sandbox.example`, ValidationMethod: 'DNS' }),
    );
    subs.set(arn, cert.CertificateArn!);
    acm.destroy();
  }
}

/**
 * The images examples/ deploys by tag, pushed to the emulator's ECR (the default account's registry) as small
 * manifests, so the operator pins each tag to a digest as it would against ECR. A preview's imageTag is a tag of
 * its Service's repository.
 */
interface ImageDoc {
  readonly kind?: string;
  readonly metadata?: { readonly name?: string };
  readonly spec?: {
    readonly image?: string;
    readonly imageTag?: string;
    readonly serviceRef?: { readonly name?: string };
  };
}

async function provisionImages(endpoint: string, docs: readonly ImageDoc[], log: (l: string) => void): Promise<void> {
  const ecrImage = /^123456789012\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+):([\w][\w.-]*)$/;
  const byService = new Map<string, string>();
  for (const d of docs)
    if (d.kind === 'Service' && d.metadata?.name && d.spec?.image) byService.set(d.metadata.name, d.spec.image);
  const images = [...byService.values()];
  for (const d of docs) {
    const base =
      d.kind === 'PreviewDeployment' && d.spec?.imageTag ? byService.get(d.spec.serviceRef?.name ?? '') : undefined;
    if (base) images.push(`${base.replace(/@sha256:[a-f0-9]+$/, '').replace(/:[\w][\w.-]*$/, '')}:${d.spec!.imageTag}`);
  }
  const clients = new Map<string, ECRClient>();
  const repositories = new Set<string>();
  let pushed = 0;
  for (const image of new Set(images)) {
    const m = ecrImage.exec(image);
    if (!m) continue;
    const [, region, repositoryName, imageTag] = m as unknown as [string, string, string, string];
    let ecr = clients.get(region);
    if (!ecr) clients.set(region, (ecr = new ECRClient({ region, endpoint, credentials: baseCredentials })));
    if (!repositories.has(`${region}/${repositoryName}`)) {
      await ecr.send(new CreateRepositoryCommand({ repositoryName })).catch((err: unknown) => {
        if ((err as Error).name !== 'RepositoryAlreadyExistsException') throw err;
      });
      repositories.add(`${region}/${repositoryName}`);
    }
    const layer = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
    const imageManifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: 1,
        digest: layer(`config ${image}`),
      },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 1, digest: layer(image) }],
    });
    await ecr.send(new PutImageCommand({ repositoryName, imageTag, imageManifest }));
    pushed++;
  }
  for (const c of clients.values()) c.destroy();
  log(`${pushed} image tags pushed to ECR (${repositories.size} repositories), for the operator to pin to digests`);
}

export async function provisionLandscape(
  endpoint: string,
  docs: readonly { kind?: string; spec?: { cdn?: { certificateArn?: string } } }[],
  log: (l: string) => void,
): Promise<Substitutions> {
  const map = new Map<string, string>();
  for (const doc of docs)
    if (doc.kind === 'Environment') await provision(endpoint, doc as unknown as EnvironmentDoc, map, log);
  const cdnCerts = [
    ...new Set(
      docs.flatMap((d) => (d.kind === 'Service' && d.spec?.cdn?.certificateArn ? [d.spec.cdn.certificateArn] : [])),
    ),
  ];
  await provisionCdnCertificates(endpoint, cdnCerts, map);
  await provisionImages(endpoint, docs as readonly ImageDoc[], log);
  return { map };
}

/** Replaces every mapped id in a document, wherever it appears. */
export function substitute<T>(value: T, subs: Substitutions): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return subs.map.get(v) ?? v;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}
