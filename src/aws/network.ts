// Look-ups an Environment needs before it can be planned: its VPC's CIDR, that its subnets exist, and the load
// balancer behind a listener it was given. Each answers undefined / a list rather than throwing for "not found",
// so the controller can name the field at fault.
import { DescribeSubnetsCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
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
