// What the emulator holds, read straight from it (never through the fault proxy): every resource Slipway's
// ownership marks as this run's, by kind, with the identity that makes two of them duplicates (the owner and
// logical id its tags name; for records, name and type; for scaling, the resource id and policy name).
import {
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { ListTagsForResourceCommand as ListLogsTags, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeUserPoolCommand,
  ListUserPoolClientsCommand,
  ListUserPoolsCommand,
  ListUsersCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListClustersCommand,
  ListServicesCommand,
  ListTaskDefinitionsCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListResourceRecordSetsCommand, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { AwsClients } from '../../src/aws/clients.js';
import { TAG_CLUSTER, TAG_LOGICAL_ID, TAG_OWNER } from '../../src/planner/naming.js';

export interface Found {
  readonly kind: string;
  /** ARN, id or name: what a person would look the resource up by. */
  readonly id: string;
  /** What makes two resources of one kind the same planned resource. */
  readonly identity: string;
}

type Tags = Readonly<Record<string, string>>;
const pairs = (t: readonly { Key?: string; Value?: string }[] | undefined): Tags =>
  Object.fromEntries((t ?? []).map((x) => [x.Key ?? '', x.Value ?? '']));
const identityOf = (tags: Tags): string => `${tags[TAG_OWNER] ?? '?'}#${tags[TAG_LOGICAL_ID] ?? '?'}`;

export interface InventoryScope {
  readonly clusterId: string;
  readonly hostedZoneId: string;
}

/** Everything of this run's cluster id in the emulator. */
export async function readInventory(aws: AwsClients, scope: InventoryScope): Promise<Found[]> {
  const found: Found[] = [];
  const ours = (tags: Tags) => tags[TAG_CLUSTER] === scope.clusterId;
  const add = (kind: string, id: string, identity: string) => found.push({ kind, id, identity });

  // EC2 security groups, filtered by our cluster tag.
  const sgs = await aws.ec2.send(
    new DescribeSecurityGroupsCommand({ Filters: [{ Name: `tag:${TAG_CLUSTER}`, Values: [scope.clusterId] }] }),
  );
  for (const g of sgs.SecurityGroups ?? []) add('ec2.SecurityGroup', g.GroupId!, identityOf(pairs(g.Tags)));

  // ELBv2: tags are read 20 ARNs at a time.
  const elbTags = async (arns: readonly string[]): Promise<Map<string, Tags>> => {
    const out = new Map<string, Tags>();
    for (let i = 0; i < arns.length; i += 20) {
      const page = await aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: arns.slice(i, i + 20) }));
      for (const d of page.TagDescriptions ?? []) out.set(d.ResourceArn!, pairs(d.Tags));
    }
    return out;
  };
  const lbArns: string[] = [];
  for (let marker: string | undefined, first = true; first || marker; first = false) {
    const page = await aws.elbv2.send(new DescribeLoadBalancersCommand({ Marker: marker, PageSize: 400 }));
    lbArns.push(...(page.LoadBalancers ?? []).map((l) => l.LoadBalancerArn!));
    marker = page.NextMarker;
  }
  const lbTags = await elbTags(lbArns);
  const ourLbs = lbArns.filter((a) => ours(lbTags.get(a) ?? {}));
  for (const arn of ourLbs) add('elbv2.LoadBalancer', arn, identityOf(lbTags.get(arn)!));
  const tgArns: string[] = [];
  for (let marker: string | undefined, first = true; first || marker; first = false) {
    const page = await aws.elbv2.send(new DescribeTargetGroupsCommand({ Marker: marker, PageSize: 400 }));
    tgArns.push(...(page.TargetGroups ?? []).map((t) => t.TargetGroupArn!));
    marker = page.NextMarker;
  }
  const tgTags = await elbTags(tgArns);
  for (const arn of tgArns)
    if (ours(tgTags.get(arn) ?? {})) add('elbv2.TargetGroup', arn, identityOf(tgTags.get(arn)!));
  // Listeners and rules of every load balancer (a rule of ours could sit on a listener we did not create).
  for (const lb of lbArns) {
    const listeners = (await aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb }))).Listeners ?? [];
    const lTags = await elbTags(listeners.map((l) => l.ListenerArn!));
    for (const l of listeners) {
      const tags = lTags.get(l.ListenerArn!) ?? {};
      if (ours(tags)) add('elbv2.Listener', l.ListenerArn!, identityOf(tags));
      const rules = [];
      for (let marker: string | undefined, first = true; first || marker; first = false) {
        const page = await aws.elbv2.send(new DescribeRulesCommand({ ListenerArn: l.ListenerArn, Marker: marker }));
        rules.push(...(page.Rules ?? []).filter((r) => !r.IsDefault));
        marker = page.NextMarker;
      }
      const rTags = await elbTags(rules.map((r) => r.RuleArn!));
      for (const r of rules) {
        const t = rTags.get(r.RuleArn!) ?? {};
        if (ours(t)) add('elbv2.ListenerRule', r.RuleArn!, identityOf(t));
      }
    }
  }

  // ECS: clusters, their services, and the ACTIVE task definition revisions, all with their tags.
  const clusterArns = (await aws.ecs.send(new ListClustersCommand({}))).clusterArns ?? [];
  const clusters =
    clusterArns.length > 0
      ? ((await aws.ecs.send(new DescribeClustersCommand({ clusters: clusterArns, include: ['TAGS'] }))).clusters ?? [])
      : [];
  const ecsTags = (t: readonly { key?: string; value?: string }[] | undefined): Tags =>
    Object.fromEntries((t ?? []).map((x) => [x.key ?? '', x.value ?? '']));
  for (const c of clusters) {
    if (c.status === 'ACTIVE' && ours(ecsTags(c.tags))) add('ecs.Cluster', c.clusterArn!, identityOf(ecsTags(c.tags)));
    if (c.status !== 'ACTIVE') continue;
    const serviceArns: string[] = [];
    for (let token: string | undefined, first = true; first || token; first = false) {
      const page = await aws.ecs.send(
        new ListServicesCommand({ cluster: c.clusterArn, nextToken: token, maxResults: 100 }),
      );
      serviceArns.push(...(page.serviceArns ?? []));
      token = page.nextToken;
    }
    for (let i = 0; i < serviceArns.length; i += 10) {
      const page = await aws.ecs.send(
        new DescribeServicesCommand({
          cluster: c.clusterArn,
          services: serviceArns.slice(i, i + 10),
          include: ['TAGS'],
        }),
      );
      for (const s of page.services ?? []) {
        if (s.status !== 'INACTIVE' && ours(ecsTags(s.tags)))
          add('ecs.Service', s.serviceArn!, identityOf(ecsTags(s.tags)));
      }
    }
  }
  const tdArns: string[] = [];
  for (let token: string | undefined, first = true; first || token; first = false) {
    const page = await aws.ecs.send(new ListTaskDefinitionsCommand({ status: 'ACTIVE', nextToken: token }));
    tdArns.push(...(page.taskDefinitionArns ?? []));
    token = page.nextToken;
  }
  for (const arn of tdArns) {
    const td = await aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] }));
    // Older revisions stay ACTIVE by design (a rollback needs them): a family is one planned resource.
    if (ours(ecsTags(td.tags))) add('ecs.TaskDefinition', arn, identityOf(ecsTags(td.tags)));
  }

  // CloudWatch Logs.
  for (let token: string | undefined, first = true; first || token; first = false) {
    const page = await aws.logs.send(new DescribeLogGroupsCommand({ nextToken: token }));
    for (const g of page.logGroups ?? []) {
      const arn = g.arn!.replace(/:\*$/, '');
      const tags = (await aws.logs.send(new ListLogsTags({ resourceArn: arn }))).tags ?? {};
      if (ours(tags)) add('logs.LogGroup', arn, identityOf(tags));
    }
    token = page.nextToken;
  }

  // Cognito: pools by their tags; their domain, clients and users belong to them.
  for (let token: string | undefined, first = true; first || token; first = false) {
    const page = await aws.cognito.send(new ListUserPoolsCommand({ MaxResults: 60, NextToken: token }));
    for (const p of page.UserPools ?? []) {
      const pool = (await aws.cognito.send(new DescribeUserPoolCommand({ UserPoolId: p.Id }))).UserPool;
      const tags = pool?.UserPoolTags ?? {};
      if (!ours(tags)) continue;
      add('cognito.UserPool', p.Id!, identityOf(tags));
      if (pool?.Domain) add('cognito.UserPoolDomain', pool.Domain, `${p.Id}#domain`);
      const clients = (await aws.cognito.send(new ListUserPoolClientsCommand({ UserPoolId: p.Id, MaxResults: 60 })))
        .UserPoolClients;
      for (const c of clients ?? []) add('cognito.UserPoolClient', c.ClientId!, `${p.Id}#${c.ClientName}`);
      const users = (await aws.cognito.send(new ListUsersCommand({ UserPoolId: p.Id }))).Users;
      for (const u of users ?? []) add('cognito.User', `${p.Id}/${u.Username}`, `${p.Id}#${u.Username}`);
    }
    token = page.NextToken;
  }

  // Application Auto Scaling has no tags in the emulator: in this run's own emulator, every ECS target is ours.
  // Both listings are paged (50 a page): every page is read.
  for (let token: string | undefined, first = true; first || token; first = false) {
    const page = await aws.autoscaling.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', MaxResults: 50, NextToken: token }),
    );
    for (const t of page.ScalableTargets ?? []) add('autoscaling.ScalableTarget', t.ResourceId!, t.ResourceId!);
    token = page.NextToken;
  }
  for (let token: string | undefined, first = true; first || token; first = false) {
    const page = await aws.autoscaling.send(
      new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', MaxResults: 10, NextToken: token }),
    );
    for (const p of page.ScalingPolicies ?? [])
      add('autoscaling.ScalingPolicy', p.PolicyARN!, `${p.ResourceId}#${p.PolicyName}`);
    token = page.NextToken;
  }

  // Route53 records carry no tags: the alias A records and their owner TXT records in the run's zone.
  const records: ResourceRecordSet[] = [];
  let start: { name?: string; type?: ResourceRecordSet['Type'] } = {};
  for (;;) {
    const page = await aws.route53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: scope.hostedZoneId,
        StartRecordName: start.name,
        StartRecordType: start.type,
      }),
    );
    records.push(...(page.ResourceRecordSets ?? []));
    if (!page.IsTruncated) break;
    start = { name: page.NextRecordName, type: page.NextRecordType };
  }
  for (const r of records) {
    if (r.Type === 'A' && r.AliasTarget) add('route53.Record', `${r.Name} A`, `${r.Name}#A`);
    const owner =
      r.Type === 'TXT' && r.ResourceRecords?.some((v) => v.Value?.includes(`${TAG_CLUSTER}=${scope.clusterId}`));
    if (owner) add('route53.OwnerRecord', `${r.Name} TXT`, `${r.Name}#TXT`);
  }
  return found;
}

export interface Duplicate {
  readonly kind: string;
  readonly identity: string;
  readonly ids: readonly string[];
}

/** Planned resources found more than once. Task definitions are families: revisions are not duplicates. */
export function duplicatesIn(found: readonly Found[]): Duplicate[] {
  const groups = new Map<string, Found[]>();
  for (const f of found) {
    if (f.kind === 'ecs.TaskDefinition') continue;
    const key = `${f.kind}\u0000${f.identity}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  return [...groups.values()]
    .filter((g) => g.length > 1)
    .map((g) => ({ kind: g[0]!.kind, identity: g[0]!.identity, ids: g.map((f) => f.id) }));
}

/** Count by kind; task definitions count their families (one per planned resource), as the plan does. */
export function countByKind(found: readonly Found[]): Record<string, number> {
  const out: Record<string, number> = {};
  const families = new Set<string>();
  for (const f of found) {
    if (f.kind === 'ecs.TaskDefinition') {
      if (families.has(f.identity)) continue;
      families.add(f.identity);
    }
    out[f.kind] = (out[f.kind] ?? 0) + 1;
  }
  return out;
}

/**
 * What the chaos manifests plan (test/chaos/manifests.ts): one gated Environment with one invited user, and N
 * Services with autoscaling on CPU and memory. Kinds not listed must not exist.
 */
export function plannedCounts(services: number): Record<string, number> {
  return {
    'ec2.SecurityGroup': 1,
    'elbv2.LoadBalancer': 1,
    'elbv2.Listener': 2,
    'ecs.Cluster': 1,
    'cognito.UserPool': 1,
    'cognito.UserPoolDomain': 1,
    'cognito.UserPoolClient': 1,
    'cognito.User': 1,
    'logs.LogGroup': services,
    'ecs.TaskDefinition': services,
    'elbv2.TargetGroup': services,
    'elbv2.ListenerRule': services,
    'ecs.Service': services,
    'autoscaling.ScalableTarget': services,
    'autoscaling.ScalingPolicy': 2 * services,
    'route53.Record': services,
    'route53.OwnerRecord': services,
  };
}
