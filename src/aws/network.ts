// Look-ups an Environment needs before it can be planned: its VPC's CIDR, that its subnets exist, and the load
// balancer behind a listener it was given. Each answers undefined / a list rather than throwing for "not found",
// so the controller can name the field at fault.
import { DescribeAvailabilityZonesCommand, DescribeSubnetsCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { DescribeListenersCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsClients } from './clients.js';
import { isNotFound } from './errors.js';

export async function vpcCidr(aws: AwsClients, vpcId: string): Promise<string | undefined> {
  try {
    const out = await aws.ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }));
    return out.Vpcs?.[0]?.CidrBlock;
  } catch (err) {
    if (isNotFound(err) || /InvalidVpcID/.test(String((err as Error).name))) return undefined;
    throw err;
  }
}

/** The subnet ids among `ids` that do not exist. */
export async function missingSubnets(aws: AwsClients, ids: readonly string[]): Promise<string[]> {
  try {
    const out = await aws.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'subnet-id', Values: [...ids] }] }));
    const found = new Set((out.Subnets ?? []).map((s) => s.SubnetId));
    return ids.filter((id) => !found.has(id));
  } catch (err) {
    if (isNotFound(err)) return [...ids];
    throw err;
  }
}

export async function loadBalancerOfListener(aws: AwsClients, listenerArn: string): Promise<string | undefined> {
  try {
    const out = await aws.elbv2.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }));
    return out.Listeners?.[0]?.LoadBalancerArn;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The Region's available Availability Zones (not Local or Wavelength Zones), sorted by name. */
export async function availableZones(aws: AwsClients): Promise<string[]> {
  const out = await aws.ec2.send(
    new DescribeAvailabilityZonesCommand({
      Filters: [
        { Name: 'state', Values: ['available'] },
        { Name: 'zone-type', Values: ['availability-zone'] },
      ],
    }),
  );
  return (out.AvailabilityZones ?? []).flatMap((z) => (z.ZoneName ? [z.ZoneName] : [])).sort();
}

/** An Environment's network, in the shape of spec.network (aws/ knows no CRD types). */
export interface NetworkSpec {
  readonly vpcId?: string;
  readonly subnetIds?: readonly string[];
  readonly create?: { readonly cidr: string };
}

export type NetworkFacts =
  | { readonly vpcCidr: string; readonly availabilityZones?: readonly string[] }
  | { readonly field: string; readonly reason: string; readonly message: string };

/**
 * What planning needs of the network: an existing VPC's CIDR once its VPC and subnets are found (else the field at
 * fault), or, for a network the Environment creates, its CIDR and the Region's zones.
 */
export async function resolveNetwork(aws: AwsClients, network: NetworkSpec, region: string): Promise<NetworkFacts> {
  if (network.create) return { vpcCidr: network.create.cidr, availabilityZones: await availableZones(aws) };
  const vpcId = network.vpcId ?? '';
  const cidr = await vpcCidr(aws, vpcId);
  if (!cidr) {
    const message = `VPC ${vpcId} does not exist in ${region}; fix the id or the region`;
    return { field: 'spec.network.vpcId', reason: 'VpcNotFound', message };
  }
  const missing = await missingSubnets(aws, network.subnetIds ?? []);
  if (missing.length > 0) {
    const message = `subnet(s) ${missing.join(', ')} do not exist in ${region}; fix the ids`;
    return { field: 'spec.network.subnetIds', reason: 'SubnetNotFound', message };
  }
  return { vpcCidr: cidr };
}
