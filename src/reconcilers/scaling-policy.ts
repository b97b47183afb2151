// autoscaling.ScalingPolicy — identity: (policy name, resourceId) on the ECS service's DesiredCount. attrs: `arn`.
// A target tracking policy on a predefined metric (average CPU or memory of the service), with its cooldowns.
// PutScalingPolicy replaces the whole policy, so `update` simply puts it again.
// Scaling policies cannot carry tags at all: ownership is derived from the ECS service, like the scalable target's.
import {
  DeleteScalingPolicyCommand,
  PutScalingPolicyCommand,
  paginateDescribeScalingPolicies,
  type ScalingPolicy,
} from '@aws-sdk/client-application-auto-scaling';
import { advancingPages } from '../aws/pages.js';
import type { Resolved, ScalingPolicyProps } from '../planner/plan.js';
import { takenAsPlanned, type Desired, type KindReconciler, type Observed, type ReconcileContext } from './contract.js';
import { diffProps } from './diff.js';
import { unlessNotFound } from '../aws/errors.js';
import {
  ECS_NAMESPACE,
  ecsDesiredCount,
  isMissingScaling,
  DESCRIBE_SCALING_POLICIES_MAX,
  ownerTagsOfScaledService,
  policiesMemoKey,
  policiesOf,
  rememberPolicy,
  TAGS_FOLLOW_SCALED_SERVICE,
} from './scalable-target.js';

type Props = Resolved<ScalingPolicyProps>;

/** Application Auto Scaling's cooldown for ECS services when a policy names none. */
export const DEFAULT_ECS_COOLDOWN_SECONDS = 300;

/** `arn:aws:autoscaling:...:scalingPolicy:UUID:resource/ecs/service/C/S:policyName/NAME` → resourceId and name. */
export function parsePolicyArn(arn: string): { readonly resourceId: string; readonly name: string } | undefined {
  const m = /:resource\/ecs\/(service\/[^/]+\/[^:]+):policyName\/(.+)$/.exec(arn);
  return m ? { resourceId: m[1]!, name: m[2]! } : undefined;
}

/** A described policy in the shape of the desired props (a metric other than the two predefined ones shows as is). */
export function scalingPolicyProps(p: ScalingPolicy): Props {
  const c = p.TargetTrackingScalingPolicyConfiguration;
  const metric =
    c?.PredefinedMetricSpecification?.PredefinedMetricType ??
    (c?.CustomizedMetricSpecification ? 'customized' : (p.PolicyType ?? ''));
  const label = c?.PredefinedMetricSpecification?.ResourceLabel;
  const cut = label ? label.indexOf('/targetgroup/') : -1;
  return {
    ...(label && cut > 0 ? { loadBalancerLabel: label.slice(0, cut), targetGroupLabel: label.slice(cut + 1) } : {}),
    name: p.PolicyName ?? '',
    resourceId: p.ResourceId ?? '',
    metric: metric as Props['metric'],
    targetValue: c?.TargetValue ?? 0,
    scaleInCooldownSeconds: c?.ScaleInCooldown ?? DEFAULT_ECS_COOLDOWN_SECONDS,
    scaleOutCooldownSeconds: c?.ScaleOutCooldown ?? DEFAULT_ECS_COOLDOWN_SECONDS,
  };
}

/** Every ECS service scaling policy of the account and region, by resource id and name: 10 a page (bulk read). */
async function listPolicies(ctx: ReconcileContext): Promise<Map<string, ScalingPolicy>> {
  const out = new Map<string, ScalingPolicy>();
  const input = { ServiceNamespace: ECS_NAMESPACE } as const;
  const pages = { client: ctx.aws.autoscaling, pageSize: DESCRIBE_SCALING_POLICIES_MAX };
  const listing = paginateDescribeScalingPolicies(pages, input);
  for await (const page of advancingPages(listing, (p) => p.NextToken, 'DescribeScalingPolicies')) {
    for (const p of page.ScalingPolicies ?? []) out.set(`${p.ResourceId}|${p.PolicyName}`, p);
  }
  return out;
}

/**
 * Events off: from the wave's listing of every policy (10 a page) where the pass may use it. With a wave's rotation
 * (drift events on) the listing is not read: the policies whose turn it is are read per service, one call each.
 * Outside a wave, per service.
 */
async function describePolicy(
  ctx: ReconcileContext,
  resourceId: string,
  name: string,
): Promise<ScalingPolicy | undefined> {
  const all = ctx.rotating() ? undefined : await ctx.bulk('autoscaling:policies:ecs', listPolicies);
  if (all) return all.get(`${resourceId}|${name}`);
  return (await policiesOf(ctx, resourceId)).get(name);
}

/**
 * A policy whose service's turn it is not in this wave (ctx.readEach by its resource id, drift events on) is taken
 * to be as planned, under the ARN the owner's inventory records (`recorded`): a change to it is a PutScalingPolicy or
 * DeleteScalingPolicy call whose CloudTrail event reconciles the owner within seconds (events/cloudtrail.ts), and
 * the wave whose turn it is reads it, the backstop for a lost event (BENCHMARKS.md, "Steady reads"). One the
 * inventory does not record is read.
 */
async function observePolicy(
  ctx: ReconcileContext,
  resourceId: string,
  name: string,
  planned?: { readonly props: Props; readonly recorded: string | undefined },
): Promise<Observed<'autoscaling.ScalingPolicy'> | undefined> {
  // Its ARN holds an id AWS picks, so the record is checked by the service and the name it names.
  const names = (arn: string): boolean => {
    const named = parsePolicyArn(arn);
    return named?.resourceId === resourceId && named.name === name;
  };
  const known = planned?.recorded;
  if (planned && takenAsPlanned(ctx, known, names, { each: resourceId })) {
    const tags = await ownerTagsOfScaledService(ctx, resourceId, true);
    return { identifier: known, props: { ...planned.props }, tags, attrs: { arn: known }, assumed: true };
  }
  const [policy, tags] = await Promise.all([
    describePolicy(ctx, resourceId, name),
    ownerTagsOfScaledService(ctx, resourceId),
  ]);
  if (!policy) return undefined;
  const arn = policy.PolicyARN ?? '';
  return { identifier: arn, props: scalingPolicyProps(policy), tags, attrs: { arn } };
}

async function put(
  ctx: ReconcileContext,
  desired: Desired<'autoscaling.ScalingPolicy'>,
): Promise<Observed<'autoscaling.ScalingPolicy'>> {
  const p = desired.props;
  const policy = {
    PolicyName: p.name,
    ...ecsDesiredCount(p.resourceId),
    PolicyType: 'TargetTrackingScaling',
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: p.targetValue,
      PredefinedMetricSpecification: {
        PredefinedMetricType: p.metric,
        ...(p.loadBalancerLabel && p.targetGroupLabel
          ? { ResourceLabel: `${p.loadBalancerLabel}/${p.targetGroupLabel}` }
          : {}),
      },
      ScaleInCooldown: p.scaleInCooldownSeconds,
      ScaleOutCooldown: p.scaleOutCooldownSeconds,
    },
  } as const;
  const out = await ctx.aws.autoscaling.send(new PutScalingPolicyCommand(policy)).catch((err: unknown) => {
    ctx.invalidate(policiesMemoKey(p.resourceId));
    throw err;
  });
  const arn = out.PolicyARN ?? '';
  await rememberPolicy(ctx, p.resourceId, { ...policy, PolicyARN: arn, CreationTime: new Date() });
  return { identifier: arn, props: { ...p }, tags: await ownerTagsOfScaledService(ctx, p.resourceId), attrs: { arn } };
}

export const scalingPolicyReconciler: KindReconciler<'autoscaling.ScalingPolicy'> = {
  kind: 'autoscaling.ScalingPolicy',

  observe: (ctx, desired, recorded) =>
    observePolicy(ctx, desired.props.resourceId, desired.props.name, { props: desired.props, recorded }),

  async observeByIdentifier(ctx, identifier) {
    const parsed = parsePolicyArn(identifier);
    return parsed ? observePolicy(ctx, parsed.resourceId, parsed.name) : undefined;
  },

  diff: diffProps(),

  // Its ARN holds an id PutScalingPolicy may pick again when it replaces the policy (the emulator does): ARNs of one
  // name on one service are one policy, so an old ARN in the inventory is not taken for a leftover and deleted.
  identityOf: (identifier) => {
    const parsed = parsePolicyArn(identifier);
    return parsed ? `${parsed.resourceId}|${parsed.name}` : identifier;
  },

  create: put,
  update: (ctx, desired) => put(ctx, desired),

  async delete(ctx, observed) {
    await unlessNotFound(
      () =>
        ctx.aws.autoscaling.send(
          new DeleteScalingPolicyCommand({
            PolicyName: observed.props.name,
            ...ecsDesiredCount(observed.props.resourceId),
          }),
        ),
      isMissingScaling,
    );
    ctx.invalidate(policiesMemoKey(observed.props.resourceId));
  },

  // Scaling policies cannot carry tags at all.
  ...TAGS_FOLLOW_SCALED_SERVICE,
};
