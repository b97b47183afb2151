// sqs.Queue — the SQS queue an EventBridge rule of drift events sends to. Identity: the queue's name in its region
// (unique per account and region). attrs: `arn`, `url`, `name`.
// Managed: the message retention and the queue policy, which admits exactly one rule: `sqs:SendMessage` from
// events.amazonaws.com on condition `aws:SourceArn` equals the rule's ARN. The policy is compared whole: any other
// statement (a wider principal, a second source) is drift, shown as the policy found.
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueueTagsCommand,
  SetQueueAttributesCommand,
  TagQueueCommand,
  UntagQueueCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { unlessNotFound } from '../aws/errors.js';
import { canonicalJson, GLOBAL_EVENTS_REGION } from '../planner/drift-events.js';
import type { KindReconciler, Observed, ReconcileContext } from './contract.js';
import { diffProps } from './diff.js';
import { writeTags } from './tags.js';

/** The client of a queue's region: the Environment's own, or us-east-1 for the global services' queue. */
export function sqsIn(ctx: { readonly aws: ReconcileContext['aws'] }, region: string): SQSClient {
  if (region === ctx.aws.region) return ctx.aws.sqs;
  if (region === GLOBAL_EVENTS_REGION) return ctx.aws.sqsGlobal;
  throw new Error(`an SQS queue of this Environment is in ${ctx.aws.region} or ${GLOBAL_EVENTS_REGION}, not ${region}`);
}

export interface QueueArn {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly name: string;
}

/** `arn:aws:sqs:REGION:ACCOUNT:NAME` → its parts. */
export function parseQueueArn(arn: string): QueueArn | undefined {
  const m = /^arn:([^:]+):sqs:([^:]+):([^:]+):([^:/]+)$/.exec(arn);
  return m ? { partition: m[1]!, region: m[2]!, account: m[3]!, name: m[4]! } : undefined;
}

/** The ARN of rule `ruleName` in the queue's partition, account and region. */
export function sourceRuleArn(queueArn: string, ruleName: string): string {
  const q = parseQueueArn(queueArn);
  if (!q) throw new Error(`${queueArn} is not an SQS queue ARN`);
  return `arn:${q.partition}:events:${q.region}:${q.account}:rule/${ruleName}`;
}

/** The queue policy that admits only the rule: canonical JSON. */
export function queuePolicy(queueArn: string, ruleName: string): string {
  return canonicalJson({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'SlipwayDriftEventsRule',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { ArnEquals: { 'aws:SourceArn': sourceRuleArn(queueArn, ruleName) } },
      },
    ],
  });
}

/**
 * The rule a policy admits, when the policy is exactly Slipway's for that rule; otherwise what the policy is, for
 * the diff to show (`policy: none`, or its JSON).
 */
export function admittedRule(queueArn: string, policy: string | undefined): string {
  if (!policy) return 'policy: none';
  let parsed: unknown;
  try {
    parsed = JSON.parse(policy);
  } catch {
    return `policy: ${policy}`;
  }
  const source = (parsed as { Statement?: { Condition?: { ArnEquals?: Record<string, unknown> } }[] }).Statement?.[0]
    ?.Condition?.ArnEquals?.['aws:SourceArn'];
  const name = typeof source === 'string' ? /:rule\/([^/]+)$/.exec(source)?.[1] : undefined;
  if (name && canonicalJson(parsed) === queuePolicy(queueArn, name)) return name;
  return `policy: ${canonicalJson(parsed)}`;
}

async function observeQueue(
  ctx: ReconcileContext,
  region: string,
  name: string,
  account?: string,
): Promise<Observed<'sqs.Queue'> | undefined> {
  const client = sqsIn(ctx, region);
  const found = await unlessNotFound(() =>
    client.send(new GetQueueUrlCommand({ QueueName: name, ...(account ? { QueueOwnerAWSAccountId: account } : {}) })),
  );
  const url = found?.QueueUrl;
  if (!url) return undefined;
  const [attrs, tags] = await Promise.all([
    unlessNotFound(() =>
      client.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['QueueArn', 'Policy', 'MessageRetentionPeriod'],
        }),
      ),
    ),
    unlessNotFound(() => client.send(new ListQueueTagsCommand({ QueueUrl: url }))),
  ]);
  const arn = attrs?.Attributes?.QueueArn;
  if (!arn || !tags) return undefined; // deleted between the calls
  return {
    identifier: arn,
    props: {
      name,
      region,
      sourceRuleName: admittedRule(arn, attrs.Attributes?.Policy),
      messageRetentionSeconds: Number(attrs.Attributes?.MessageRetentionPeriod ?? 0),
    },
    tags: { ...(tags.Tags ?? {}) },
    attrs: { arn, url, name },
  };
}

export const eventQueueReconciler: KindReconciler<'sqs.Queue'> = {
  kind: 'sqs.Queue',

  observe: (ctx, desired) => observeQueue(ctx, desired.props.region, desired.props.name),
  async observeByIdentifier(ctx, identifier) {
    const q = parseQueueArn(identifier);
    return q ? observeQueue(ctx, q.region, q.name, q.account) : undefined;
  },

  diff: diffProps(),

  async create(ctx, desired) {
    const p = desired.props;
    const client = sqsIn(ctx, p.region);
    // CreateQueue is idempotent for a name with the same attributes; the policy follows once the ARN is known.
    const out = await client.send(
      new CreateQueueCommand({
        QueueName: p.name,
        Attributes: { MessageRetentionPeriod: String(p.messageRetentionSeconds) },
        tags: { ...desired.tags },
      }),
    );
    const url = out.QueueUrl;
    if (!url) throw new Error(`CreateQueue ${p.name} returned no URL`);
    const attrs = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
    const arn = attrs.Attributes?.QueueArn;
    if (!arn) throw new Error(`queue ${p.name} was created but has no ARN`);
    await client.send(
      new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: queuePolicy(arn, p.sourceRuleName) } }),
    );
    const created = await observeQueue(ctx, p.region, p.name);
    if (!created) throw new Error(`queue ${p.name} was created but cannot be described`);
    return created;
  },

  async update(ctx, desired, observed) {
    const p = desired.props;
    await sqsIn(ctx, p.region).send(
      new SetQueueAttributesCommand({
        QueueUrl: observed.attrs.url,
        Attributes: {
          Policy: queuePolicy(observed.identifier, p.sourceRuleName),
          MessageRetentionPeriod: String(p.messageRetentionSeconds),
        },
      }),
    );
    return { ...observed, props: { ...desired.props } };
  },

  async delete(ctx, observed) {
    const url = observed.attrs.url;
    if (!url) return;
    await unlessNotFound(() => sqsIn(ctx, observed.props.region).send(new DeleteQueueCommand({ QueueUrl: url })));
  },

  tagging: 'tags',

  async setTags(ctx, observed, set, remove) {
    const client = sqsIn(ctx, observed.props.region);
    const QueueUrl = observed.attrs.url;
    await writeTags(
      {
        add: (tags) => client.send(new TagQueueCommand({ QueueUrl, Tags: { ...tags } })),
        remove: (keys) => client.send(new UntagQueueCommand({ QueueUrl, TagKeys: [...keys] })),
      },
      set,
      remove,
    );
  },
};
