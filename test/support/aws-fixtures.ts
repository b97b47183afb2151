// AWS prerequisites an Environment expects to exist already (a VPC with subnets, a certificate, a hosted zone),
// created in the emulator through the real SDK, plus helpers to inspect what the emulator holds.
import { ACMClient, RequestCertificateCommand } from '@aws-sdk/client-acm';
import { CreateSubnetCommand, CreateVpcCommand, CreateSecurityGroupCommand } from '@aws-sdk/client-ec2';
import { CreateHostedZoneCommand } from '@aws-sdk/client-route-53';
import { randomBytes } from 'node:crypto';
import { AwsClients } from '../../src/aws/clients.js';
import type { CallListener } from '../../src/aws/calls.js';
import type { Resolved, TargetGroupProps } from '../../src/planner/plan.js';
import { getTestEnv } from './env.js';

export function testAws(onCall?: CallListener, region?: string): AwsClients {
  const env = getTestEnv();
  return new AwsClients({
    region: region ?? env.awsRegion,
    endpoint: env.awsEndpoint,
    credentials: env.awsCredentials,
    // Fixtures build the emulator's world; the client-side rate limits are the operator's (startOperator keeps them).
    rateLimits: false,
    ...(onCall ? { onCall } : {}),
  });
}

export interface Landscape {
  readonly vpcId: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupId: string;
  readonly certificateArn: string;
  readonly hostedZoneId: string;
  readonly baseDomain: string;
}

export function uniqueSuffix(): string {
  return randomBytes(3).toString('hex');
}

/**
 * A VPC with two subnets in two zones, a task security group, a wildcard certificate and a hosted zone, in the
 * region of `aws` (`region`, when that is not the test environment's).
 */
export async function createLandscape(aws: AwsClients, baseDomain: string, region?: string): Promise<Landscape> {
  const env = { ...getTestEnv(), ...(region ? { awsRegion: region } : {}) };
  const vpc = await aws.ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }));
  const vpcId = vpc.Vpc!.VpcId!;
  const subnetIds: string[] = [];
  for (const [i, az] of ['a', 'b'].entries()) {
    const s = await aws.ec2.send(
      new CreateSubnetCommand({
        VpcId: vpcId,
        CidrBlock: `10.40.${i}.0/24`,
        AvailabilityZone: `${env.awsRegion}${az}`,
      }),
    );
    subnetIds.push(s.Subnet!.SubnetId!);
  }
  const sg = await aws.ec2.send(
    new CreateSecurityGroupCommand({ GroupName: `tasks-${uniqueSuffix()}`, Description: 'tasks', VpcId: vpcId }),
  );
  const acm = new ACMClient({ region: env.awsRegion, endpoint: env.awsEndpoint, credentials: env.awsCredentials });
  const cert = await acm.send(
    new RequestCertificateCommand({ DomainName: `*.${baseDomain}`, ValidationMethod: 'DNS' }),
  );
  acm.destroy();
  const zone = await aws.route53.send(
    new CreateHostedZoneCommand({ Name: baseDomain, CallerReference: `${baseDomain}-${uniqueSuffix()}` }),
  );
  return {
    vpcId,
    subnetIds,
    securityGroupId: sg.GroupId!,
    certificateArn: cert.CertificateArn!,
    hostedZoneId: zone.HostedZone!.Id!.replace('/hostedzone/', ''),
    baseDomain,
  };
}

/** Everything the emulator holds, as JSON text (moto's state dump). */
export async function emulatorState(): Promise<string> {
  const res = await fetch(`${getTestEnv().awsEndpoint}/moto-api/data.json`);
  return res.text();
}

/** A target group's props as a Service plans them by default (port 8080, health check on /), for reconciler tests. */
export function targetGroupProps(name: string, vpcId: string): Resolved<TargetGroupProps> {
  return {
    name,
    vpcId,
    port: 8080,
    healthCheck: {
      path: '/',
      intervalSeconds: 30,
      timeoutSeconds: 5,
      healthyThreshold: 5,
      unhealthyThreshold: 2,
      matcher: '200',
    },
    deregistrationDelaySeconds: 300,
  };
}
