// Finds the AWS resources an Environment's previews created, by their tags, without knowing the previews: the
// sweeper compares what it finds with the PreviewDeployments that still exist. Every kind a preview owns is listed
// where it can be found cheaply: the ECS services in the cluster, the rules on the listener, the target groups in
// the VPC, the task definition families and log groups under the Environment's prefix, and the zone's records.
import { DescribeLogGroupsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListServicesCommand,
  ListTaskDefinitionFamiliesCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import type { AwsClients } from './clients.js';

export type DiscoveredKind =
  | 'ecs.Service'
  | 'elbv2.ListenerRule'
  | 'elbv2.TargetGroup'
  | 'ecs.TaskDefinition'
  | 'logs.LogGroup'
  | 'route53.Record';

export interface Discovered {
  readonly kind: DiscoveredKind;
  /** The identifier the kind's reconciler takes in observeByIdentifier. */
  readonly identifier: string;
  /** The owner tag value (`PreviewDeployment/<ns>/<name>`). */
  readonly owner: string;
}

export interface DiscoveryScope {
  readonly clusterArn: string;
  readonly listenerArn: string;
  readonly vpcId: string;
  readonly hostedZoneId: string;
  /** Log groups and task definition families of this Environment start with these. */
  readonly logGroupPrefix: string;
  readonly familyPrefix: string;
  readonly tagKeys: { readonly cluster: string; readonly owner: string; readonly preview: string };
  readonly clusterId: string;
  /** Route53 TXT owner values name the owner; this turns one into the owner key, or undefined. */
  readonly ownerOfTxt: (value: string) => string | undefined;
}

type TagList =
  | readonly { readonly key?: string; readonly value?: string; readonly Key?: string; readonly Value?: string }[]
  | undefined;

function tagMap(tags: TagList): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.key ?? t.Key ?? '', t.value ?? t.Value ?? '']));
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function discoverPreviewResources(aws: AwsClients, scope: DiscoveryScope): Promise<Discovered[]> {
  const found: Discovered[] = [];
  const ours = (tags: Record<string, string>): string | undefined =>
    tags[scope.tagKeys.preview] === 'true' && tags[scope.tagKeys.cluster] === scope.clusterId
      ? tags[scope.tagKeys.owner]
      : undefined;

  // ECS services in the cluster, described ten at a time with their tags.
  const serviceArns: string[] = [];
  let next: string | undefined;
  do {
    const page = await aws.ecs.send(new ListServicesCommand({ cluster: scope.clusterArn, nextToken: next }));
    serviceArns.push(...(page.serviceArns ?? []));
    next = page.nextToken;
  } while (next);
  for (const batch of chunks(serviceArns, 10)) {
    const out = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: scope.clusterArn, services: batch, include: ['TAGS'] }),
    );
    for (const s of out.services ?? []) {
      const owner = s.status === 'ACTIVE' ? ours(tagMap(s.tags)) : undefined;
      if (owner && s.serviceArn) found.push({ kind: 'ecs.Service', identifier: s.serviceArn, owner });
    }
  }

  // Listener rules and target groups: one describe each, tags twenty ARNs at a time.
  const rules = (await aws.elbv2.send(new DescribeRulesCommand({ ListenerArn: scope.listenerArn }))).Rules ?? [];
  const groups: string[] = [];
  let marker: string | undefined;
  do {
    const page = await aws.elbv2.send(new DescribeTargetGroupsCommand({ Marker: marker }));
    groups.push(
      ...(page.TargetGroups ?? [])
        .filter((g) => g.VpcId === scope.vpcId)
        .map((g) => g.TargetGroupArn ?? '')
        .filter(Boolean),
    );
    marker = page.NextMarker;
  } while (marker);
  const ruleArns = rules
    .filter((r) => !r.IsDefault)
    .map((r) => r.RuleArn ?? '')
    .filter(Boolean);
  for (const batch of chunks([...ruleArns, ...groups], 20)) {
    const out = await aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: batch }));
    for (const d of out.TagDescriptions ?? []) {
      const owner = ours(tagMap(d.Tags));
      if (!owner || !d.ResourceArn) continue;
      found.push({
        kind: d.ResourceArn.includes(':listener-rule/') ? 'elbv2.ListenerRule' : 'elbv2.TargetGroup',
        identifier: d.ResourceArn,
        owner,
      });
    }
  }

  // Task definition families and log groups under the Environment's prefix.
  let familyToken: string | undefined;
  do {
    const page = await aws.ecs.send(
      new ListTaskDefinitionFamiliesCommand({
        familyPrefix: scope.familyPrefix,
        status: 'ACTIVE',
        nextToken: familyToken,
      }),
    );
    for (const family of page.families ?? []) {
      const td = await aws.ecs
        .send(new DescribeTaskDefinitionCommand({ taskDefinition: family, include: ['TAGS'] }))
        .catch(() => undefined);
      const owner = td?.taskDefinition?.status === 'ACTIVE' ? ours(tagMap(td.tags)) : undefined;
      if (owner && td?.taskDefinition?.taskDefinitionArn)
        found.push({ kind: 'ecs.TaskDefinition', identifier: td.taskDefinition.taskDefinitionArn, owner });
    }
    familyToken = page.nextToken;
  } while (familyToken);
  let logToken: string | undefined;
  do {
    const page = await aws.logs.send(
      new DescribeLogGroupsCommand({ logGroupNamePrefix: scope.logGroupPrefix, nextToken: logToken }),
    );
    for (const g of page.logGroups ?? []) {
      if (!g.arn) continue;
      const arn = g.arn.replace(/:\*$/, '');
      const tags = await aws.logs.send(new ListTagsForResourceCommand({ resourceArn: arn })).catch(() => undefined);
      const owner = ours(tags?.tags ?? {});
      if (owner) found.push({ kind: 'logs.LogGroup', identifier: arn, owner });
    }
    logToken = page.nextToken;
  } while (logToken);

  // DNS: the ownership TXT records name their owner.
  let start: { name?: string; type?: string } = {};
  for (;;) {
    const page = await aws.route53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: scope.hostedZoneId,
        ...(start.name ? { StartRecordName: start.name } : {}),
        ...(start.type ? { StartRecordType: start.type as 'TXT' } : {}),
      }),
    );
    for (const r of page.ResourceRecordSets ?? []) {
      if (r.Type !== 'TXT' || !r.Name) continue;
      for (const v of r.ResourceRecords ?? []) {
        const owner = v.Value ? scope.ownerOfTxt(v.Value) : undefined;
        if (owner?.startsWith('PreviewDeployment/')) {
          found.push({
            kind: 'route53.Record',
            identifier: `${scope.hostedZoneId}/${r.Name.replace(/\.$/, '')}/A`,
            owner,
          });
        }
      }
    }
    if (!page.IsTruncated) break;
    start = {
      ...(page.NextRecordName ? { name: page.NextRecordName } : {}),
      ...(page.NextRecordType ? { type: page.NextRecordType } : {}),
    };
  }
  return found;
}
