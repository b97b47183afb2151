// Ownership is found in AWS, not only remembered in status: what carries an owner's tags (or, for a sweep, any
// owner's tags within one Environment) is listed here as inventory items, so a custom resource re-created with an
// empty status still finds, adopts or deletes what it owned, and resources whose owner is gone can be swept.
//
// Reads: one Resource Groups Tagging API scan (plus us-east-1 for CloudFront), the listener's rules (with the tags
// only of the rules that forward to a target group the scan found, for one owner; for a sweep, of those that forward
// to no live owner's) and the zone's records through the pass's shared reads (the rule and record reconcilers read
// them anyway), and the scalable targets of the ECS services found, by their resource ids (50 a call; in a wave, the
// wave's read). The applier still observes every item by identifier and checks its tags before touching it:
// discovery only says where to look.
import type { ScalableTarget } from '@aws-sdk/client-application-auto-scaling';
import type { Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import { findTagged, type TaggedResource } from '../aws/tagged.js';
import { TAG_CLUSTER, TAG_ENVIRONMENT, TAG_LOGICAL_ID, TAG_OWNER } from '../planner/naming.js';
import type { ResourceKind } from '../planner/plan.js';
import { parseRecordOwnerValue } from '../planner/record-owner.js';
import type { InventoryItem } from './applier.js';
import { clusterTags } from './cluster-tags.js';
import type { ReconcileContext } from './contract.js';
import { recordIdentifier, zoneRecordSets } from './dns-record.js';
import { forwardTargetsOf, ruleArnsOf, rulesOf } from './listener-rule.js';
import { ownerMayScale, parseResourceId, targetsByIds, waveTargets } from './scalable-target.js';
import { familyOf } from './task-definition.js';

export interface DiscoveryScope {
  readonly clusterId: string;
  /** `Kind/namespace/name`: one owner's resources. Absent: every owner's within the Environment (a sweep). */
  readonly owner?: string;
  /** `namespace/name` of the Environment, as its resources' environment tag says. */
  readonly environment: string;
  /** Listeners whose rules may be ours, and hosted zones whose records may be. */
  readonly listenerArns: readonly string[];
  readonly hostedZoneIds: readonly string[];
  /**
   * The owners whose resources a sweep leaves alone: those known to exist (their custom resource is in the cache), and
   * any it never sweeps for (the Environment's own). The rules that forward to their target groups are theirs, and
   * their tags are not read; and only when the scan found something of another owner, one that may be gone, does the
   * sweep read the zone (below). Absent, every owner found may be gone.
   */
  readonly live?: (owner: string) => boolean;
}

export interface Discovered extends InventoryItem {
  /** The owner tag value. */
  readonly owner: string;
}

/** Creation order: leftovers are deleted in reverse, dependents first. */
const CREATION_ORDER: readonly ResourceKind[] = [
  'ec2.Vpc',
  'ec2.InternetGateway',
  'ec2.Subnet',
  'ec2.ElasticIp',
  'ec2.NatGateway',
  'ec2.RouteTable',
  'ec2.SecurityGroup',
  'ec2.VpcEndpoint',
  'ecs.Cluster',
  'elbv2.LoadBalancer',
  'elbv2.Listener',
  'cognito.UserPool',
  'logs.LogGroup',
  'ecs.TaskDefinition',
  'elbv2.TargetGroup',
  'elbv2.ListenerRule',
  'ecs.Service',
  'autoscaling.ScalableTarget',
  'route53.Record',
  'cloudfront.Distribution',
  'sqs.Queue',
  'events.Rule',
];

/** EC2 ARNs (`arn:aws:ec2:<region>:<account>:<type>/<id>`): the kind of each type Slipway creates. */
const EC2_KINDS: Readonly<Record<string, ResourceKind>> = {
  'security-group': 'ec2.SecurityGroup',
  vpc: 'ec2.Vpc',
  subnet: 'ec2.Subnet',
  'internet-gateway': 'ec2.InternetGateway',
  'elastic-ip': 'ec2.ElasticIp',
  natgateway: 'ec2.NatGateway',
  'route-table': 'ec2.RouteTable',
  'vpc-endpoint': 'ec2.VpcEndpoint',
};

/** The kind and inventory identifier of a tagged ARN, for the kinds the Tagging API reports. */
export function kindOfArn(arn: string): { readonly kind: ResourceKind; readonly identifier: string } | undefined {
  const [, , service, , , resource = ''] = arn.split(':');
  const tail = arn.slice(arn.indexOf(resource));
  switch (service) {
    case 'ecs':
      if (resource.startsWith('service/')) return { kind: 'ecs.Service', identifier: arn };
      if (resource.startsWith('task-definition/')) return { kind: 'ecs.TaskDefinition', identifier: arn };
      if (resource.startsWith('cluster/')) return { kind: 'ecs.Cluster', identifier: arn };
      return undefined;
    case 'elasticloadbalancing':
      if (resource.startsWith('targetgroup/')) return { kind: 'elbv2.TargetGroup', identifier: arn };
      if (resource.startsWith('loadbalancer/app/')) return { kind: 'elbv2.LoadBalancer', identifier: arn };
      if (resource.startsWith('listener-rule/')) return { kind: 'elbv2.ListenerRule', identifier: arn };
      if (resource.startsWith('listener/')) return { kind: 'elbv2.Listener', identifier: arn };
      return undefined;
    case 'logs':
      return resource === 'log-group' ? { kind: 'logs.LogGroup', identifier: arn.replace(/:\*$/, '') } : undefined;
    case 'ec2': {
      const [type = '', id = ''] = tail.split('/');
      const kind = EC2_KINDS[type];
      return kind && id ? { kind, identifier: id } : undefined;
    }
    case 'cognito-idp':
      return resource.startsWith('userpool/') ? { kind: 'cognito.UserPool', identifier: arn } : undefined;
    case 'cloudfront':
      return resource.startsWith('distribution/') ? { kind: 'cloudfront.Distribution', identifier: arn } : undefined;
    case 'sqs':
      return resource ? { kind: 'sqs.Queue', identifier: arn } : undefined;
    case 'events':
      return resource.startsWith('rule/') && resource.split('/').length === 2
        ? { kind: 'events.Rule', identifier: arn }
        : undefined;
    default:
      return undefined;
  }
}

function inScope(scope: DiscoveryScope, tags: Readonly<Record<string, string>>): string | undefined {
  if (tags[TAG_CLUSTER] !== scope.clusterId) return undefined;
  const owner = tags[TAG_OWNER];
  if (!owner || (scope.owner !== undefined && owner !== scope.owner)) return undefined;
  return owner;
}

/**
 * Resources whose tags match every filter. In a resync wave (the Environment's sweep), from the wave's scan of the
 * cluster's tags, filtered here, rather than a scan of its own; CloudFront's, outside us-east-1, are still read.
 */
async function tagged(ctx: ReconcileContext, filters: Readonly<Record<string, string>>): Promise<TaggedResource[]> {
  const all = await clusterTags(ctx, filters[TAG_CLUSTER]);
  if (!all) return findTagged(ctx.aws, filters, { global: true });
  const matching = [...all]
    .filter(([, tags]) => Object.entries(filters).every(([k, v]) => tags[k] === v))
    .map(([arn, tags]) => ({ arn, tags }));
  return ctx.aws.region === 'us-east-1'
    ? matching
    : [...matching, ...(await findTagged(ctx.aws, filters, { global: true, regional: false }))];
}

/** What the scope's owners have in AWS, in creation order, one item per resource (task definitions per family). */
export async function discoverOwned(ctx: ReconcileContext, scope: DiscoveryScope): Promise<Discovered[]> {
  const found: Discovered[] = [];
  // One owner's key is unique on the cluster; a sweep is scoped to the Environment by its tag.
  const filters = {
    [TAG_CLUSTER]: scope.clusterId,
    ...(scope.owner ? { [TAG_OWNER]: scope.owner } : { [TAG_ENVIRONMENT]: scope.environment }),
  };
  const families = new Set<string>();
  for (const r of await tagged(ctx, filters)) {
    const at = kindOfArn(r.arn);
    const owner = inScope(scope, r.tags);
    if (!at || !owner || at.kind === 'elbv2.ListenerRule') continue; // rules: from the listener, below
    if (at.kind === 'ecs.TaskDefinition') {
      // Revisions of one family are one resource to Slipway: observed by family, deregistered together.
      const family = familyOf(at.identifier);
      if (families.has(family)) continue;
      families.add(family);
    }
    found.push({ ...at, logicalId: r.tags[TAG_LOGICAL_ID] ?? '', owner });
  }
  // Rules: only where their tags may name this scope's owners. One owner's rules forward to its target groups (a
  // rule is created forwarding to its owner's group, and AWS refuses to delete a group a rule forwards to), which the
  // scan above found by their tags: without one, no listener is read. A rule someone moved off both its route and
  // its group is found by the owner's own observe (listener-rule.ts), which reads further when it finds none. A sweep
  // reads the tags of every rule but those that forward to a target group of an owner that exists (scope.live): those
  // are that owner's, whom the sweep leaves alone, and an orphan's rule forwards to its own group, or, its forward
  // changed by hand, to a group that is no live owner's or none. An orphan's rule whose forward was changed by hand to
  // a live owner's group is not found, so it is left routing the orphan's host (to that group) until someone deletes
  // it: the price of not reading the tags of every live owner's rules on every sweep.
  const groups = new Set(found.filter((f) => f.kind === 'elbv2.TargetGroup').map((f) => f.identifier));
  const liveGroups = new Set(
    found.filter((f) => f.kind === 'elbv2.TargetGroup' && scope.live?.(f.owner)).map((f) => f.identifier),
  );
  const sweep = scope.owner === undefined;
  const wanted = (r: Rule): boolean => {
    const to = forwardTargetsOf(r.Actions);
    return sweep ? !to.some((arn) => liveGroups.has(arn)) : to.some((arn) => groups.has(arn));
  };
  for (const listenerArn of sweep || groups.size > 0 ? scope.listenerArns : []) {
    const listed = await rulesOf(ctx, listenerArn);
    const arns = ruleArnsOf(listed.rules, wanted);
    if (arns.length === 0) continue;
    for (const [identifier, t] of await listed.tagsOf(ctx, arns)) {
      const owner = inScope(scope, t);
      if (owner) found.push({ kind: 'elbv2.ListenerRule', identifier, logicalId: t[TAG_LOGICAL_ID] ?? '', owner });
    }
  }
  // Records: an owner's record is created after its tagged resources (the alias points at its rule's load balancer)
  // and deleted before them, so an owner of whom nothing else was found has none to find; its own observe looks up
  // the name it plans. Not reading the zone then spares a brand-new owner a listing of the whole zone (14 pages at
  // 4,000 records). Likewise a sweep reads it only when the scan found something of an owner that may be gone: a
  // sweep that finds no orphan (most of them) spares the zone, which its wave does not read otherwise. An orphan's
  // record whose tagged resources were all deleted by hand is then left, routing its host to the shared load
  // balancer's default action, until someone deletes it.
  const zoneWanted = sweep ? found.some((f) => !(scope.live?.(f.owner) ?? false)) : found.length > 0;
  for (const zoneId of zoneWanted ? scope.hostedZoneIds : []) {
    for (const r of await zoneRecordSets(ctx, zoneId)) {
      if (r.Type !== 'TXT' || !r.Name) continue;
      for (const v of r.ResourceRecords ?? []) {
        const owner = v.Value ? inScope(scope, parseRecordOwnerValue(v.Value) ?? {}) : undefined;
        if (owner) {
          const identifier = recordIdentifier(zoneId, r.Name.replace(/\.$/, '').toLowerCase());
          found.push({ kind: 'route53.Record', identifier, logicalId: '', owner });
        }
      }
    }
  }
  found.push(...(await scalableTargetsOf(ctx, scope, found)));
  const rank = (k: ResourceKind) => CREATION_ORDER.indexOf(k);
  return found.sort((a, b) => rank(a.kind) - rank(b.kind));
}

/**
 * Scalable targets carry no tags: they are ours when the ECS service they scale is (a preview's has none). A sweep
 * reads none of a live owner's (scope.live), whose resources it leaves alone: with the drift-event rotation the wave
 * reads only the targets whose turn it is, and the sweep would otherwise read every other one by itself.
 */
async function scalableTargetsOf(
  ctx: ReconcileContext,
  scope: DiscoveryScope,
  found: readonly Discovered[],
): Promise<Discovered[]> {
  const services = new Map<string, string>();
  const wanted = (f: Discovered) => f.kind === 'ecs.Service' && ownerMayScale(f.owner) && !scope.live?.(f.owner);
  for (const s of found.filter(wanted)) {
    // arn:aws:ecs:region:account:service/CLUSTER/NAME → service/CLUSTER/NAME
    const id = s.identifier.slice(s.identifier.indexOf(':service/') + 1);
    if (id.split('/').length === 3) services.set(id, s.owner);
  }
  if (services.size === 0) return [];
  const out: Discovered[] = [];
  const add = (t: ScalableTarget | undefined, owner: string) => {
    if (t?.ScalableTargetARN)
      out.push({ kind: 'autoscaling.ScalableTarget', identifier: t.ScalableTargetARN, logicalId: '', owner });
  };
  // In a wave, from its read of the targets of the cluster's services; what that does not cover, 50 ids a call.
  const unread: string[] = [];
  for (const [id, owner] of services) {
    const cluster = parseResourceId(id)?.cluster;
    const listed = cluster ? await waveTargets(ctx, cluster) : undefined;
    if (listed?.ids.has(id)) add(listed.targets.get(id), owner);
    else unread.push(id);
  }
  const read = await targetsByIds(ctx, unread);
  for (const id of unread) add(read.get(id), services.get(id)!);
  return out;
}
