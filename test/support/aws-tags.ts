// The tags AWS holds for one item of a status inventory, read with each service's own tag API: the Resource Groups
// Tagging API does not cover every kind in the emulator (Route53, Cognito and Application Auto Scaling are missing),
// and reading tags the way a person would check them keeps the test independent of the operator's own reads.
import { DescribeTagsCommand as DescribeEc2TagsCommand } from '@aws-sdk/client-ec2';
import { DescribeUserPoolCommand } from '@aws-sdk/client-cognito-identity-provider';
import { ListTagsForResourceCommand as ListEcsTagsCommand } from '@aws-sdk/client-ecs';
import { DescribeTagsCommand as DescribeElbTagsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListTagsForResourceCommand as ListLogsTagsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ListTagsForResourceCommand as ListCloudFrontTagsCommand } from '@aws-sdk/client-cloudfront';
import type { AwsClients } from '../../src/aws/clients.js';

export type Tags = Readonly<Record<string, string>>;

/** The kinds whose tags this module reads: the kinds with real AWS tags of their own. */
export const KINDS_WITH_TAGS = [
  'ec2.SecurityGroup',
  'elbv2.LoadBalancer',
  'elbv2.Listener',
  'elbv2.TargetGroup',
  'elbv2.ListenerRule',
  'ecs.Cluster',
  'ecs.Service',
  'ecs.TaskDefinition',
  'logs.LogGroup',
  'cognito.UserPool',
  'cloudfront.Distribution',
] as const;

const fromPairs = (pairs: readonly { Key?: string; Value?: string }[] | undefined): Tags =>
  Object.fromEntries((pairs ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));

/**
 * The tags of the resource an inventory item names (`identifier`: its ARN, or the id for a security group).
 * Throws for a kind without tags of its own, so a caller never mistakes "not read" for "no tags".
 */
export async function tagsOf(aws: AwsClients, kind: string, identifier: string): Promise<Tags> {
  switch (kind) {
    case 'ec2.SecurityGroup': {
      const out = await aws.ec2.send(
        new DescribeEc2TagsCommand({ Filters: [{ Name: 'resource-id', Values: [identifier] }] }),
      );
      return fromPairs(out.Tags);
    }
    case 'elbv2.LoadBalancer':
    case 'elbv2.Listener':
    case 'elbv2.TargetGroup':
    case 'elbv2.ListenerRule': {
      const out = await aws.elbv2.send(new DescribeElbTagsCommand({ ResourceArns: [identifier] }));
      return fromPairs(out.TagDescriptions?.[0]?.Tags);
    }
    case 'ecs.Cluster':
    case 'ecs.Service':
    case 'ecs.TaskDefinition': {
      const out = await aws.ecs.send(new ListEcsTagsCommand({ resourceArn: identifier }));
      return Object.fromEntries((out.tags ?? []).map((t) => [t.key ?? '', t.value ?? '']));
    }
    case 'logs.LogGroup': {
      const out = await aws.logs.send(new ListLogsTagsCommand({ resourceArn: identifier }));
      return out.tags ?? {};
    }
    case 'cognito.UserPool': {
      const out = await aws.cognito.send(new DescribeUserPoolCommand({ UserPoolId: identifier.split('/').at(-1)! }));
      return out.UserPool?.UserPoolTags ?? {};
    }
    case 'cloudfront.Distribution': {
      const out = await aws.cloudfront.send(new ListCloudFrontTagsCommand({ Resource: identifier }));
      return fromPairs(out.Tags?.Items);
    }
    default:
      throw new Error(`${kind} has no tags of its own to read`);
  }
}
