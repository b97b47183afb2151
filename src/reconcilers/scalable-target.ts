// autoscaling.ScalableTarget — identity: (ecs, ecs:service:DesiredCount, resourceId `service/<cluster>/<service>`).
// attrs: `resourceId`, `arn` (the ScalableTargetARN where AWS reports one, else the resourceId).
// Managed: min and max capacity. Other fields (suspended state) are left as they are: RegisterScalableTarget
// keeps what it is not sent.
// Ownership is derived, the way external-dns derives it for records without tags: a service's scalable target is
// ours iff that ECS service carries our owner tags. Tags are written at creation for cost allocation, but not
// relied upon: not every implementation of Application Auto Scaling keeps them (moto lacks the tagging API).
import {
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  type ScalingPolicy,
  RegisterScalableTargetCommand,
  paginateDescribeScalableTargets,
  type ScalableTarget,
} from '@aws-sdk/client-application-auto-scaling';
import { advancingPages, tokenPages } from '../aws/pages.js';
import { errorName, isNotFound, unlessNotFound } from '../aws/errors.js';
import { ecsResourceId, TAG_LOGICAL_ID, TAG_OWNER } from '../planner/naming.js';
import type { Resolved, ScalableTargetProps } from '../planner/plan.js';
import { takenAsPlanned, type KindReconciler, type Observed, type ReconcileContext } from './contract.js';
import { diffProps } from './diff.js';
import { clusterName } from '../aws/ecs-describe-batcher.js';
import { findService, plannedServiceMemoKey, waveServices } from './ecs-service.js';

export const ECS_NAMESPACE = 'ecs';
export const ECS_DESIRED_COUNT = 'ecs:service:DesiredCount';

/** What names the scaled thing in every Application Auto Scaling call: an ECS service's desired count. */
export function ecsDesiredCount(resourceId: string) {
  return { ServiceNamespace: ECS_NAMESPACE, ScalableDimension: ECS_DESIRED_COUNT, ResourceId: resourceId } as const;
}

/**
 * How the scaling kinds carry ownership: they follow the ECS service they scale (ownerTagsOfScaledService), so
 * adopting the service (tagging it) adopts its scalable target and policies, and there is nothing to write here.
 */
export const TAGS_FOLLOW_SCALED_SERVICE = {
  tagging: 'derived',
  setTags: async (): Promise<void> => {},
  // RegisterScalableTarget and PutScalingPolicy are upserts keyed by the service's resource id: after the pass
  // created the service, observing first would only find what the create overwrites anyway.
  ownershipFollows: 'ecs.Service',
} as const;

/** `service/CLUSTER/NAME` → its parts. */
export function parseResourceId(
  resourceId: string,
): { readonly cluster: string; readonly service: string } | undefined {
  const m = /^service\/([^/]+)\/([^/]+)$/.exec(resourceId);
  return m ? { cluster: m[1]!, service: m[2]! } : undefined;
}

/**
 * The ownership tags of whatever scales `resourceId`: the ECS service's tags, without its logical id (which names
 * the service, not the scaling resource). Empty when the service is gone: then nothing proves the target is ours.
 * `asPlanned`: for a target or policy itself taken as planned (marked, so no write follows: applier.ts observeOwned),
 * the service as its pass took it as planned, if it did (unreadService); otherwise, and always for one that was read,
 * the service as described: a read observation carries no mark, so its ownership must be read too.
 */
export async function ownerTagsOfScaledService(
  ctx: ReconcileContext,
  resourceId: string,
  asPlanned = false,
): Promise<Record<string, string>> {
  const parsed = parseResourceId(resourceId);
  if (!parsed) return {};
  const described = () => findService(ctx, parsed.cluster, parsed.service);
  const service = await (asPlanned
    ? ctx.memo(plannedServiceMemoKey(parsed.cluster, parsed.service), described)
    : described());
  return Object.fromEntries(
    (service?.tags ?? []).filter((t) => t.key !== TAG_LOGICAL_ID).map((t) => [t.key ?? '', t.value ?? '']),
  );
}

/** Application Auto Scaling reports a missing target or policy as a ValidationException (ObjectNotFound in places). */
export function isMissingScaling(err: unknown): boolean {
  return (
    isNotFound(err) ||
    (errorName(err) === 'ValidationException' &&
      /no scal\w+ (target|policy) found/i.test(String((err as Error).message)))
  );
}

/** DescribeScalingPolicies returns at most 10 policies a call (its MaxResults is 1 to 10, unlike the targets' 50). */
export const DESCRIBE_SCALING_POLICIES_MAX = 10;

/** The memo key of one scalable target's policies within a pass; invalidated after every write to them. */
export const policiesMemoKey = (resourceId: string) => `autoscaling:policies-of:${resourceId}`;

/**
 * Every policy of one ECS service's desired count, by name: one call for all of them (a Service has two), shared
 * by the pass through its memo. The API filters by one ResourceId a call, so there is no batch across services;
 * a resync wave reads the namespace's listing instead.
 */
export function policiesOf(ctx: ReconcileContext, resourceId: string): Promise<Map<string, ScalingPolicy>> {
  return ctx.memo(policiesMemoKey(resourceId), async () => {
    const out = new Map<string, ScalingPolicy>();
    const listing = tokenPages((NextToken) =>
      ctx.aws.autoscaling.send(
        new DescribeScalingPoliciesCommand({
          ...ecsDesiredCount(resourceId),
          MaxResults: DESCRIBE_SCALING_POLICIES_MAX,
          ...(NextToken ? { NextToken } : {}),
        }),
      ),
    );
    for await (const page of advancingPages(listing, (p) => p.NextToken, 'DescribeScalingPolicies')) {
      for (const p of page.ScalingPolicies ?? [])
        if (p.PolicyName && p.ResourceId === resourceId) out.set(p.PolicyName, p);
    }
    return out;
  });
}

/**
 * After one policy was written: the pass's read of its target's policies, if it made one, takes that policy as
 * written and keeps the others as read, so the target's next policy is observed without reading them all again
 * (a read that would only repeat the write). Without such a read there is nothing to keep.
 */
export async function rememberPolicy(ctx: ReconcileContext, resourceId: string, policy: ScalingPolicy): Promise<void> {
  const key = policiesMemoKey(resourceId);
  // memo() hands back the pass's read if there is one; the placeholder load only says there is none.
  const read = await ctx
    .memo<Map<string, ScalingPolicy> | undefined>(key, () => Promise.resolve(undefined))
    .catch(() => undefined);
  if (read && policy.PolicyName) read.set(policy.PolicyName, policy);
  else ctx.invalidate(key);
}

/**
 * Deletes every policy of one ECS service's desired count, read afresh (not from the pass's memo): what a target's
 * deletion removes first, as AWS does when it deregisters the target.
 */
async function deletePoliciesOf(ctx: ReconcileContext, resourceId: string): Promise<void> {
  ctx.invalidate(policiesMemoKey(resourceId));
  for (const name of (await policiesOf(ctx, resourceId)).keys()) {
    await unlessNotFound(
      () =>
        ctx.aws.autoscaling.send(new DeleteScalingPolicyCommand({ PolicyName: name, ...ecsDesiredCount(resourceId) })),
      isMissingScaling,
    );
  }
  ctx.invalidate(policiesMemoKey(resourceId));
}

function toObserved(t: ScalableTarget, tags: Readonly<Record<string, string>>): Observed<'autoscaling.ScalableTarget'> {
  const resourceId = t.ResourceId ?? '';
  const arn = t.ScalableTargetARN ?? resourceId;
  return {
    identifier: arn,
    props: { resourceId, minCapacity: t.MinCapacity ?? 0, maxCapacity: t.MaxCapacity ?? 0 },
    tags,
    attrs: { resourceId, arn },
  };
}

/** DescribeScalableTargets takes at most 50 resource ids a call (and answers at most 50 targets a page). */
export const DESCRIBE_SCALABLE_TARGETS_IDS_MAX = 50;

/**
 * The ECS desired-count targets of `resourceIds`, by resource id: 50 ids a call, so each answer is one page (the
 * pages are still followed, and fail if they do not advance).
 */
export async function targetsByIds(
  ctx: ReconcileContext,
  resourceIds: readonly string[],
): Promise<Map<string, ScalableTarget>> {
  const out = new Map<string, ScalableTarget>();
  for (let i = 0; i < resourceIds.length; i += DESCRIBE_SCALABLE_TARGETS_IDS_MAX) {
    const ResourceIds = resourceIds.slice(i, i + DESCRIBE_SCALABLE_TARGETS_IDS_MAX);
    const listing = tokenPages((NextToken) =>
      ctx.aws.autoscaling.send(
        new DescribeScalableTargetsCommand({
          ServiceNamespace: ECS_NAMESPACE,
          ScalableDimension: ECS_DESIRED_COUNT,
          ResourceIds,
          MaxResults: DESCRIBE_SCALABLE_TARGETS_IDS_MAX,
          ...(NextToken ? { NextToken } : {}),
        }),
      ),
    );
    for await (const page of advancingPages(listing, (p) => p.NextToken, 'DescribeScalableTargets')) {
      for (const t of page.ScalableTargets ?? []) {
        if (t.ResourceId && t.ScalableDimension === ECS_DESIRED_COUNT) out.set(t.ResourceId, t);
      }
    }
  }
  return out;
}

/**
 * Whether the owner (its `slipway.dev/owner` tag value) may have a scalable target: a preview's plan has none (its
 * spec drops autoscaling, controllers/preview.ts), so a wave and a sweep ask nothing for its ECS service. A target
 * on a preview's service was never Slipway's to create; its id is still read by itself where an inventory names it.
 */
export function ownerMayScale(owner: string | undefined): boolean {
  return !owner?.startsWith('PreviewDeployment/');
}

/** A wave's scalable targets of one cluster's ECS services: `ids` are the resource ids it read, found or not. */
export interface ListedTargets {
  readonly ids: ReadonlySet<string>;
  readonly targets: ReadonlyMap<string, ScalableTarget>;
}

/**
 * The wave's read of the scalable targets of a cluster's ECS services, by resource id (undefined outside a wave):
 * the services are those the wave's listing of the cluster described (ecs-service.ts waveServices: with a rotation,
 * those whose turn it is) that may have one (ownerMayScale: not a preview's), read 50 ids a call. No listing of the
 * whole namespace: it reads every target of the account, and pages it (the emulator repeats its page token past 100
 * targets). A resource id the read does not cover is read by itself.
 */
export function waveTargets(ctx: ReconcileContext, cluster: string): Promise<ListedTargets | undefined> {
  const name = clusterName(cluster);
  return ctx.bulk(`autoscaling:targets:ecs:${name}`, async (listing) => {
    const services = await waveServices(listing, cluster);
    if (!services) throw new Error(`the wave has no listing of the ECS services of cluster ${name}`);
    const ids = [...services.services]
      .filter(([, s]) => ownerMayScale(s.tags?.find((t) => t.key === TAG_OWNER)?.value))
      .map(([service]) => ecsResourceId(name, service));
    return { ids: new Set(ids), targets: await targetsByIds(listing, ids) };
  });
}

async function describeTarget(ctx: ReconcileContext, resourceId: string): Promise<ScalableTarget | undefined> {
  const parsed = parseResourceId(resourceId);
  const listed = parsed ? await waveTargets(ctx, parsed.cluster) : undefined;
  if (listed?.ids.has(resourceId)) return listed.targets.get(resourceId);
  return (await targetsByIds(ctx, [resourceId])).get(resourceId);
}

/**
 * A target whose service's turn it is not in this wave (ctx.readEach by its resource id, the ECS service's turn): taken
 * to be as planned under the identifier the owner's inventory records. RegisterScalableTarget and
 * DeregisterScalableTarget reach the owner as CloudTrail events (events/cloudtrail.ts); the turn is the backstop.
 * Undefined where it must be read: no recorded identifier, or its turn.
 */
async function unreadTarget(
  ctx: ReconcileContext,
  desired: { readonly props: Resolved<ScalableTargetProps> },
  recorded: string | undefined,
): Promise<Observed<'autoscaling.ScalableTarget'> | undefined> {
  const { resourceId } = desired.props;
  // Its ARN names no resource id: any record of this logical id is this service's target.
  if (!takenAsPlanned(ctx, recorded, () => true, { each: resourceId })) return undefined;
  const tags = await ownerTagsOfScaledService(ctx, resourceId, true);
  return {
    identifier: recorded,
    props: { ...desired.props },
    tags,
    attrs: { resourceId, arn: recorded },
    assumed: true,
  };
}

async function observeResource(
  ctx: ReconcileContext,
  resourceId: string,
): Promise<Observed<'autoscaling.ScalableTarget'> | undefined> {
  const [target, tags] = await Promise.all([
    describeTarget(ctx, resourceId),
    ownerTagsOfScaledService(ctx, resourceId),
  ]);
  return target ? toObserved(target, tags) : undefined;
}

/** The API looks targets up by resource id only: an ARN means scanning the namespace (inventory leftovers only). */
async function observeArn(
  ctx: ReconcileContext,
  arn: string,
): Promise<Observed<'autoscaling.ScalableTarget'> | undefined> {
  const listing = paginateDescribeScalableTargets({ client: ctx.aws.autoscaling }, { ServiceNamespace: ECS_NAMESPACE });
  for await (const page of advancingPages(listing, (p) => p.NextToken, 'DescribeScalableTargets')) {
    const hit = page.ScalableTargets?.find(
      (t) => t.ScalableTargetARN === arn && t.ScalableDimension === ECS_DESIRED_COUNT,
    );
    if (hit?.ResourceId) return toObserved(hit, await ownerTagsOfScaledService(ctx, hit.ResourceId));
  }
  return undefined;
}

/**
 * RegisterScalableTarget creates the target, or updates min and max in place. `tags` only on create: it tags only a
 * new target.
 */
function register(
  ctx: ReconcileContext,
  { resourceId, minCapacity, maxCapacity }: Resolved<ScalableTargetProps>,
  tags?: Readonly<Record<string, string>>,
) {
  return ctx.aws.autoscaling.send(
    new RegisterScalableTargetCommand({
      ...ecsDesiredCount(resourceId),
      MinCapacity: minCapacity,
      MaxCapacity: maxCapacity,
      ...(tags ? { Tags: { ...tags } } : {}),
    }),
  );
}

export const scalableTargetReconciler: KindReconciler<'autoscaling.ScalableTarget'> = {
  kind: 'autoscaling.ScalableTarget',

  observe: async (ctx, desired, recorded) =>
    (await unreadTarget(ctx, desired, recorded)) ?? observeResource(ctx, desired.props.resourceId),
  observeByIdentifier: (ctx, identifier) =>
    identifier.startsWith('arn:') ? observeArn(ctx, identifier) : observeResource(ctx, identifier),

  diff: diffProps(),

  async create(ctx, desired) {
    const { resourceId, minCapacity, maxCapacity } = desired.props;
    const out = await register(ctx, desired.props, desired.tags);
    const arn = out.ScalableTargetARN ?? resourceId;
    return {
      identifier: arn,
      props: { resourceId, minCapacity, maxCapacity },
      tags: await ownerTagsOfScaledService(ctx, resourceId),
      attrs: { resourceId, arn },
    };
  },

  async update(ctx, desired, observed) {
    const { resourceId, minCapacity, maxCapacity } = desired.props;
    await register(ctx, desired.props);
    return { ...observed, props: { resourceId, minCapacity, maxCapacity } };
  },

  async delete(ctx, observed) {
    // AWS deletes a target's policies with it. First and explicitly, so that none outlives its target where that
    // does not hold (an emulator keeps them), including one written after the deletion's pass looked.
    await deletePoliciesOf(ctx, observed.props.resourceId);
    await unlessNotFound(
      () => ctx.aws.autoscaling.send(new DeregisterScalableTargetCommand(ecsDesiredCount(observed.props.resourceId))),
      isMissingScaling,
    );
  },

  ...TAGS_FOLLOW_SCALED_SERVICE,
};
