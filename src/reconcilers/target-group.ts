// elbv2.TargetGroup — identity: the name (`props.name`, at most 32 characters, unique per account and region).
// attrs: `arn`, `name`.
// Always protocol HTTP with target type ip (Fargate tasks). Managed: the health check, the deregistration delay;
// port and VPC cannot change after creation, so a change there is reported and needs a replacement.
import {
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  paginateDescribeTargetGroups,
  type ModifyTargetGroupCommandInput,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { classifyError, isNotFound, unlessNotFound } from '../aws/errors.js';
import { lookupEvents } from '../aws/event-history.js';
import { isOwnCall, type CloudTrailDetail, type OwnIdentity } from '../events/cloudtrail.js';
import { advancingPages } from '../aws/pages.js';
import { TAG_CLUSTER, TAG_OWNER } from '../planner/naming.js';
import type { TargetGroupProps } from '../planner/plan.js';
import { takenAsPlanned, type Desired, type KindReconciler, type Observed, type ReconcileContext } from './contract.js';
import { diffProps } from './diff.js';
import { waveTagsOf } from './cluster-tags.js';
import { elbv2TagApi, recordToTags, tagsOf, UserActionRequired } from './elbv2-shared.js';
import { writeTags } from './tags.js';
import { forwardsTo, listenerRuleReconciler, ruleArnsOf, ruleOwner, rulesOf } from './listener-rule.js';

const DEREGISTRATION_DELAY = 'deregistration_delay.timeout_seconds';
/** The one call that changes a target group's attributes. */
const MODIFY_ATTRIBUTES = 'ModifyTargetGroupAttributes';

/**
 * What keeps a target group from being deleted: the rules and listener default actions that forward to it, on
 * the load balancers it is attached to. A rule carrying the same owner's tags (a duplicate left by a lost
 * CreateRule response, or a rule whose deletion failed) is deleted; anything else is not Slipway's to touch, so
 * the deletion stops with a message naming it.
 */
async function removeOwnedBlockers(ctx: ReconcileContext, tg: Observed<'elbv2.TargetGroup'>): Promise<void> {
  const arn = tg.identifier;
  const described = await ctx.aws.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] }));
  const foreign: string[] = [];
  for (const lb of described.TargetGroups?.[0]?.LoadBalancerArns ?? []) {
    const listeners = await ctx.aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb }));
    for (const listener of listeners.Listeners ?? []) {
      if (forwardsTo(listener.DefaultActions, arn))
        foreign.push(`the default action of listener ${listener.ListenerArn}`);
      const listed = await rulesOf(ctx, listener.ListenerArn!);
      const blocking = ruleArnsOf(listed.rules, (r) => forwardsTo(r.Actions, arn));
      // Only the tags of the rules that forward to this group: whose they are decides what is deleted.
      for (const [ruleArn, ruleTags] of await listed.tagsOf(ctx, blocking)) {
        if (sameOwner(ruleTags, tg.tags)) {
          await listenerRuleReconciler.delete(ctx, {
            identifier: ruleArn,
            props: { listenerArn: listener.ListenerArn! },
          } as Observed<'elbv2.ListenerRule'>);
        } else foreign.push(`rule ${ruleArn} (${ruleOwner(ruleTags)})`);
      }
    }
  }
  if (foreign.length > 0) {
    throw new UserActionRequired(
      `target group ${tg.props.name} cannot be deleted while ${foreign.join(' and ')} forwards to it; Slipway does ` +
        'not own that and leaves it alone: remove it or point it at another target group, and the deletion goes on',
      'DeletionBlocked',
    );
  }
}

/** Both carry the ownership tags of one owner on one cluster. */
function sameOwner(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  return !!a[TAG_OWNER] && a[TAG_OWNER] === b[TAG_OWNER] && a[TAG_CLUSTER] === b[TAG_CLUSTER];
}
/** AWS's default deregistration delay, used when the attribute is not reported. */
export const DEFAULT_DEREGISTRATION_DELAY_SECONDS = 300;

/** Default target groups per load balancer (AWS quota). */
export const TARGET_GROUPS_PER_LOAD_BALANCER = 100;

type HealthCheck = TargetGroupProps['healthCheck'];

export function healthCheckOf(tg: TargetGroup): HealthCheck {
  return {
    path: tg.HealthCheckPath ?? '',
    intervalSeconds: tg.HealthCheckIntervalSeconds ?? 0,
    timeoutSeconds: tg.HealthCheckTimeoutSeconds ?? 0,
    healthyThreshold: tg.HealthyThresholdCount ?? 0,
    unhealthyThreshold: tg.UnhealthyThresholdCount ?? 0,
    matcher: tg.Matcher?.HttpCode ?? '',
  };
}

/** The ModifyTargetGroup fields for the health-check fields named in `fields` (all when absent). */
export function healthCheckInput(
  hc: HealthCheck,
  fields?: ReadonlySet<keyof HealthCheck>,
): Omit<ModifyTargetGroupCommandInput, 'TargetGroupArn'> {
  const want = (f: keyof HealthCheck): boolean => !fields || fields.has(f);
  return {
    ...(want('path') ? { HealthCheckPath: hc.path } : {}),
    ...(want('intervalSeconds') ? { HealthCheckIntervalSeconds: hc.intervalSeconds } : {}),
    ...(want('timeoutSeconds') ? { HealthCheckTimeoutSeconds: hc.timeoutSeconds } : {}),
    ...(want('healthyThreshold') ? { HealthyThresholdCount: hc.healthyThreshold } : {}),
    ...(want('unhealthyThreshold') ? { UnhealthyThresholdCount: hc.unhealthyThreshold } : {}),
    ...(want('matcher') ? { Matcher: { HttpCode: hc.matcher } } : {}),
  };
}

/** Writes the one attribute Slipway manages, at create and on drift alike. */
async function setDeregistrationDelay(ctx: ReconcileContext, TargetGroupArn: string, seconds: number): Promise<void> {
  await ctx.aws.elbv2.send(
    new ModifyTargetGroupAttributesCommand({
      TargetGroupArn,
      Attributes: [{ Key: DEREGISTRATION_DELAY, Value: String(seconds) }],
    }),
  );
}

/**
 * The target groups that CloudTrail records (one a call of ModifyTargetGroupAttributes) show changed by someone other
 * than the operator. A failed call changed nothing; the operator's own writes are its plan.
 */
export function targetGroupsChangedIn(records: readonly object[], own: OwnIdentity): Set<string> {
  const changed = new Set<string>();
  for (const record of records) {
    const detail = record as CloudTrailDetail;
    if (detail.errorCode || isOwnCall(detail, own)) continue;
    const arn = detail.requestParameters?.targetGroupArn;
    if (typeof arn === 'string') changed.add(arn);
  }
  return changed;
}

/**
 * Whether a wave's member may take the recorded target group's attributes as planned because CloudTrail's event
 * history lists no change to them since the last wave (ctx.historyFor: a wave without drift events, not the target
 * group's turn). No, whenever the history cannot say: not such a wave, the lookup failed, or the owner wrote since
 * it began. One LookupEvents a wave, shared by its members, where a read of each target group costs one call each.
 */
async function unchangedInHistory(ctx: ReconcileContext, arn: string): Promise<boolean> {
  const history = ctx.historyFor?.(arn);
  if (!history) return false;
  const changed = await ctx.bulk(`cloudtrail:${MODIFY_ATTRIBUTES}`, async (listing) =>
    targetGroupsChangedIn(await lookupEvents(listing.aws, MODIFY_ATTRIBUTES, history.since), history.own),
  );
  return changed !== undefined && !changed.has(arn);
}

/**
 * The deregistration delay as AWS reports it. ELBv2 has no bulk read of attributes, so this is one call per target
 * group: the only read that sees the delay changed out of band (BENCHMARKS.md, "The target-group attributes read").
 * Outside a resync wave every pass reads it. In a wave, with drift events on, ModifyTargetGroupAttributes' CloudTrail
 * event reconciles the owner within seconds (events/cloudtrail.ts maps it by targetGroupArn), and the wave reads only
 * a rotating 24th of its target groups, the backstop for a lost event, so that each is still read at least every
 * ROTATION_SLOTS waves (ctx.readEach). With drift events off, a wave after the process's first reads the same 24th,
 * and the target groups that CloudTrail's event history lists a ModifyTargetGroupAttributes of since the last wave
 * (unchangedInHistory): one LookupEvents a wave instead of one read per target group. Where the history cannot be
 * read, every target group is read, as before.
 */
async function deregistrationDelayOf(ctx: ReconcileContext, arn: string): Promise<number> {
  const attributes = await ctx.aws.elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }));
  const delay = Number(attributes.Attributes?.find((a) => a.Key === DEREGISTRATION_DELAY)?.Value);
  return Number.isFinite(delay) ? delay : DEFAULT_DEREGISTRATION_DELAY_SECONDS;
}

async function toObserved(
  ctx: ReconcileContext,
  tg: TargetGroup,
  known?: { readonly tags?: Record<string, string>; readonly deregistrationDelaySeconds?: number },
): Promise<Observed<'elbv2.TargetGroup'>> {
  const arn = tg.TargetGroupArn ?? '';
  const name = tg.TargetGroupName ?? '';
  const [tags, delay] = await Promise.all([
    known?.tags ?? tagsOf(ctx, arn),
    known?.deregistrationDelaySeconds ?? deregistrationDelayOf(ctx, arn),
  ]);
  return {
    identifier: arn,
    props: {
      name,
      vpcId: tg.VpcId ?? '',
      port: tg.Port ?? 0,
      healthCheck: healthCheckOf(tg),
      deregistrationDelaySeconds: delay,
    },
    tags,
    // `label` is the target group's part of an ALBRequestCountPerTarget ResourceLabel.
    attrs: { arn, name, label: arn.slice(arn.indexOf(':targetgroup/') + 1) },
  };
}

async function describe(
  ctx: ReconcileContext,
  by: { Names: string[] } | { TargetGroupArns: string[] },
): Promise<Observed<'elbv2.TargetGroup'> | undefined> {
  const tg = (await unlessNotFound(() => ctx.aws.elbv2.send(new DescribeTargetGroupsCommand(by))))?.TargetGroups?.[0];
  return tg ? toObserved(ctx, tg) : undefined;
}

/**
 * Every target group of the account and region by name: 400 a page (a wave's bulk read). Their tags are not read
 * here: a wave takes them from its scan of the cluster's tags (observeByName).
 */
async function listTargetGroups(ctx: ReconcileContext): Promise<Map<string, TargetGroup>> {
  const groups = new Map<string, TargetGroup>();
  const pages = paginateDescribeTargetGroups({ client: ctx.aws.elbv2, pageSize: 400 }, {});
  for await (const page of advancingPages(pages, (p) => p.NextMarker, 'DescribeTargetGroups')) {
    for (const tg of page.TargetGroups ?? []) groups.set(tg.TargetGroupName ?? '', tg);
  }
  return groups;
}

/**
 * By name: from the wave's listing where the pass may use it, else one DescribeTargetGroups. In a wave the tags come
 * from the wave's scan of the cluster's tags (cluster-tags.ts); a target group the scan does not carry has no cluster
 * tag (removed by hand, or not ours) and its tags are read, so a removed ownership tag is still seen as drift and a
 * foreign owner is named in the conflict. In a rotating wave whose turn the scan is not, the tags of the target group
 * the inventory records are taken as planned (waveTagsOf); one it does not record has its tags read. The target
 * group the inventory records, whose attributes are not this wave's turn (ctx.readEach), is taken to have the planned
 * delay: a change to it is left to its drift event, and to the wave whose turn it is. Without drift events, so is one
 * whose turn it is not and of which the event history lists no change (unchangedInHistory). One the inventory does
 * not record is read.
 * Either is marked (Observed.assumed), so that a target group that differs from its plan is read again, fresh, before
 * it is changed (applier.ts observeOwned).
 */
async function observeByName(
  ctx: ReconcileContext,
  desired: Desired<'elbv2.TargetGroup'>,
  recorded: string | undefined,
): Promise<Observed<'elbv2.TargetGroup'> | undefined> {
  const all = await ctx.bulk('elbv2:target-groups', listTargetGroups);
  if (!all) return describe(ctx, { Names: [desired.props.name] });
  const tg = all.get(desired.props.name);
  if (!tg) return undefined;
  const arn = tg.TargetGroupArn ?? '';
  const scanned = await waveTagsOf(ctx, desired.tags, arn, recorded);
  const unread =
    takenAsPlanned(ctx, recorded, arn, { each: arn }) || (recorded === arn && (await unchangedInHistory(ctx, arn)));
  const observed = await toObserved(ctx, tg, {
    ...(scanned ? { tags: { ...scanned.tags } } : {}),
    ...(unread ? { deregistrationDelaySeconds: desired.props.deregistrationDelaySeconds } : {}),
  });
  // What was taken as planned is marked: the applier reads it fresh before a write rests on it.
  return scanned?.planned || unread ? { ...observed, assumed: true } : observed;
}

/** How many target groups a load balancer serves (quota headroom for the Environment's status). */
export async function targetGroupCount(ctx: ReconcileContext, loadBalancerArn: string): Promise<number> {
  let n = 0;
  const pages = paginateDescribeTargetGroups({ client: ctx.aws.elbv2 }, { LoadBalancerArn: loadBalancerArn });
  for await (const page of advancingPages(pages, (p) => p.NextMarker, 'DescribeTargetGroups')) {
    n += page.TargetGroups?.length ?? 0;
  }
  return n;
}

export const targetGroupReconciler: KindReconciler<'elbv2.TargetGroup'> = {
  kind: 'elbv2.TargetGroup',

  observe: (ctx, desired, recorded) => observeByName(ctx, desired, recorded),
  observeByIdentifier: (ctx, arn) => describe(ctx, { TargetGroupArns: [arn] }),

  diff: diffProps(),

  async create(ctx, desired) {
    const p = desired.props;
    const res = await ctx.aws.elbv2.send(
      new CreateTargetGroupCommand({
        Name: p.name,
        Protocol: 'HTTP',
        Port: p.port,
        VpcId: p.vpcId,
        TargetType: 'ip',
        HealthCheckProtocol: 'HTTP',
        HealthCheckEnabled: true,
        ...healthCheckInput(p.healthCheck),
        Tags: recordToTags(desired.tags),
      }),
    );
    const tg = res.TargetGroups?.[0];
    if (!tg?.TargetGroupArn) throw new Error(`CreateTargetGroup ${p.name} returned no target group`);
    await setDeregistrationDelay(ctx, tg.TargetGroupArn, p.deregistrationDelaySeconds);
    // What was just created and written: reading it back would only repeat it.
    return toObserved(ctx, tg, { tags: { ...desired.tags }, deregistrationDelaySeconds: p.deregistrationDelaySeconds });
  },

  async update(ctx, desired, observed, changes) {
    const TargetGroupArn = observed.identifier;
    const paths = new Set(changes.map((c) => c.path));
    const fixed = (['port', 'vpcId'] as const).filter((f) => paths.has(f));
    if (fixed.length > 0) {
      throw new UserActionRequired(
        `target group ${desired.props.name}: ${fixed.map((f) => `${f} is ${String(observed.props[f])}, the spec asks for ${String(desired.props[f])}`).join('; ')}; ` +
          'these cannot change on an existing target group, it must be replaced: delete the resource that owns it (or the target group) so Slipway recreates it',
        'TargetGroupImmutableField',
      );
    }
    const hcFields = new Set(
      changes
        .filter((c) => c.path.startsWith('healthCheck.'))
        .map((c) => c.path.slice('healthCheck.'.length) as keyof HealthCheck),
    );
    if (hcFields.size > 0) {
      await ctx.aws.elbv2.send(
        new ModifyTargetGroupCommand({ TargetGroupArn, ...healthCheckInput(desired.props.healthCheck, hcFields) }),
      );
    }
    if (paths.has('deregistrationDelaySeconds'))
      await setDeregistrationDelay(ctx, TargetGroupArn, desired.props.deregistrationDelaySeconds);
    return (await describe(ctx, { TargetGroupArns: [TargetGroupArn] })) ?? observed;
  },

  async delete(ctx, observed) {
    try {
      await ctx.aws.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: observed.identifier }));
    } catch (err) {
      if (isNotFound(err)) return;
      if (classifyError(err) !== 'conflict') throw err;
      // ResourceInUse: a rule or listener still forwards to it. Ours are removed, anyone else's is named and left.
      await removeOwnedBlockers(ctx, observed);
      await unlessNotFound(() =>
        ctx.aws.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: observed.identifier })),
      );
    }
  },

  tagging: 'tags',

  setTags: (ctx, observed, set, remove) => writeTags(elbv2TagApi(ctx, observed.identifier), set, remove),
};
