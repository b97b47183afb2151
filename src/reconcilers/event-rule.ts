// events.Rule — an EventBridge rule on the default bus with one SQS target (drift events). Identity: the rule's name
// in its region (names are unique per bus). attrs: `arn`, `name`.
// Managed: the event pattern (compared as canonical JSON), the description, the state and the target's ARN. Targets
// other than Slipway's are left alone, except that deleting the rule removes every target first (EventBridge
// refuses to delete a rule that has targets).
import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type EventBridgeClient,
} from '@aws-sdk/client-eventbridge';
import { unlessNotFound } from '../aws/errors.js';
import { canonicalJson, GLOBAL_EVENTS_REGION } from '../planner/drift-events.js';
import type { Desired, KindReconciler, Observed, ReconcileContext } from './contract.js';
import { diffProps } from './diff.js';
import { writeTags } from './tags.js';

/** The id of Slipway's target on its rule. */
export const DRIFT_TARGET_ID = 'slipway-drift-queue';

/** The client of a rule's region: the Environment's own, or us-east-1 for the global services' rule. */
export function eventsIn(ctx: ReconcileContext, region: string): EventBridgeClient {
  if (region === ctx.aws.region) return ctx.aws.events;
  if (region === GLOBAL_EVENTS_REGION) return ctx.aws.eventsGlobal;
  throw new Error(
    `an EventBridge rule of this Environment is in ${ctx.aws.region} or ${GLOBAL_EVENTS_REGION}, not ${region}`,
  );
}

/** `arn:aws:events:REGION:ACCOUNT:rule/NAME` (default bus) → region and name. */
export function parseRuleArn(arn: string): { region: string; name: string } | undefined {
  const m = /^arn:[^:]+:events:([^:]+):[^:]*:rule\/([^/]+)$/.exec(arn);
  return m ? { region: m[1]!, name: m[2]! } : undefined;
}

function normalisePattern(pattern: string | undefined): string {
  if (!pattern) return '';
  try {
    return canonicalJson(JSON.parse(pattern));
  } catch {
    return pattern;
  }
}

async function observeRule(
  ctx: ReconcileContext,
  region: string,
  name: string,
): Promise<Observed<'events.Rule'> | undefined> {
  const client = eventsIn(ctx, region);
  const rule = await unlessNotFound(() => client.send(new DescribeRuleCommand({ Name: name })));
  if (!rule?.Arn) return undefined;
  const arn = rule.Arn;
  const [targets, tags] = await Promise.all([
    unlessNotFound(() => client.send(new ListTargetsByRuleCommand({ Rule: name }))),
    unlessNotFound(() => client.send(new ListTagsForResourceCommand({ ResourceARN: arn }))),
  ]);
  if (!targets || !tags) return undefined; // deleted between the calls
  return {
    identifier: arn,
    props: {
      name,
      region,
      description: rule.Description ?? '',
      eventPattern: normalisePattern(rule.EventPattern),
      queueArn: targets.Targets?.find((t) => t.Id === DRIFT_TARGET_ID)?.Arn ?? '',
      state: rule.State === 'ENABLED' ? 'ENABLED' : 'DISABLED',
    },
    tags: Object.fromEntries((tags.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    attrs: { arn, name },
  };
}

/**
 * PutRule creates or updates by name. It always carries the tags (an existing rule keeps its own): the IAM policy
 * admits PutRule only with Slipway's tag in the request.
 */
async function putRule(ctx: ReconcileContext, desired: Desired<'events.Rule'>): Promise<void> {
  const p = desired.props;
  await eventsIn(ctx, p.region).send(
    new PutRuleCommand({
      Name: p.name,
      Description: p.description,
      EventPattern: p.eventPattern,
      State: p.state,
      Tags: Object.entries(desired.tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
}

async function putTarget(ctx: ReconcileContext, desired: Desired<'events.Rule'>): Promise<void> {
  const p = desired.props;
  const out = await eventsIn(ctx, p.region).send(
    new PutTargetsCommand({ Rule: p.name, Targets: [{ Id: DRIFT_TARGET_ID, Arn: p.queueArn }] }),
  );
  const failed = out.FailedEntries?.[0];
  if ((out.FailedEntryCount ?? 0) > 0) {
    throw new Error(`PutTargets on rule ${p.name}: ${failed?.ErrorCode ?? 'failed'}: ${failed?.ErrorMessage ?? ''}`);
  }
}

export const eventRuleReconciler: KindReconciler<'events.Rule'> = {
  kind: 'events.Rule',

  observe: (ctx, desired) => observeRule(ctx, desired.props.region, desired.props.name),
  async observeByIdentifier(ctx, identifier) {
    const parsed = parseRuleArn(identifier);
    return parsed ? observeRule(ctx, parsed.region, parsed.name) : undefined;
  },

  diff: diffProps(),

  async create(ctx, desired) {
    // PutRule is idempotent by name: sent again after a lost answer, it updates the same rule.
    await putRule(ctx, desired);
    await putTarget(ctx, desired);
    const created = await observeRule(ctx, desired.props.region, desired.props.name);
    if (!created) throw new Error(`rule ${desired.props.name} was created but cannot be described`);
    return created;
  },

  async update(ctx, desired, observed, changes) {
    if (changes.some((c) => c.path !== 'queueArn')) await putRule(ctx, desired);
    if (changes.some((c) => c.path === 'queueArn')) await putTarget(ctx, desired);
    return { ...observed, props: { ...desired.props } };
  },

  async delete(ctx, observed) {
    const { name, region } = observed.props;
    const client = eventsIn(ctx, region);
    const targets = await unlessNotFound(() => client.send(new ListTargetsByRuleCommand({ Rule: name })));
    if (!targets) return;
    const ids = (targets.Targets ?? []).flatMap((t) => (t.Id ? [t.Id] : []));
    if (ids.length > 0) await unlessNotFound(() => client.send(new RemoveTargetsCommand({ Rule: name, Ids: ids })));
    await unlessNotFound(() => client.send(new DeleteRuleCommand({ Name: name })));
  },

  tagging: 'tags',

  async setTags(ctx, observed, set, remove) {
    const client = eventsIn(ctx, observed.props.region);
    const ResourceARN = observed.identifier;
    await writeTags(
      {
        add: (tags) =>
          client.send(
            new TagResourceCommand({ ResourceARN, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }),
          ),
        remove: (keys) => client.send(new UntagResourceCommand({ ResourceARN, TagKeys: [...keys] })),
      },
      set,
      remove,
    );
  },
};
