// logs.LogGroup — identity: the log group name. attrs: `name`, `arn` (without the `:*` suffix DescribeLogGroups
// appends; IAM policies that need it add it themselves).
// Managed: the retention. `retentionDays: 0` means never expire (no retention policy), as CloudWatch Logs has it.
import {
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  DeleteRetentionPolicyCommand,
  ListTagsForResourceCommand,
  PutRetentionPolicyCommand,
  TagResourceCommand,
  UntagResourceCommand,
  paginateDescribeLogGroups,
  type LogGroup,
} from '@aws-sdk/client-cloudwatch-logs';
import { errorName, unlessNotFound } from '../aws/errors.js';
import { advancingPages } from '../aws/pages.js';
import { waveTagsOf } from './cluster-tags.js';
import {
  listingRead,
  takenAsPlanned,
  type ArnBase,
  type Desired,
  type KindReconciler,
  type Observed,
  type ReconcileContext,
} from './contract.js';
import { diffProps } from './diff.js';
import { writeTags } from './tags.js';

/** `arn:aws:logs:region:account:log-group:NAME` (optionally `:*`) or `NAME` → `NAME`. */
export function logGroupNameOf(identifier: string): string {
  const m = /:log-group:(.+?)(?::\*)?$/.exec(identifier);
  return m ? m[1]! : identifier;
}

/** A log group's ARN as DescribeLogGroups reports it in `logGroupArn` (without `:*`). */
export function logGroupArn(account: ArnBase, name: string): string {
  return `arn:${account.partition}:logs:${account.region}:${account.accountId}:log-group:${name}`;
}

/** The ARN without `:*`: older responses carry only `arn`, which has the suffix. */
export function logGroupArnOf(group: LogGroup): string {
  return group.logGroupArn ?? (group.arn ?? '').replace(/:\*$/, '');
}

async function find(ctx: ReconcileContext, name: string): Promise<LogGroup | undefined> {
  // The prefix filter may match longer names too: the exact name decides.
  const pages = paginateDescribeLogGroups({ client: ctx.aws.logs }, { logGroupNamePrefix: name });
  for await (const page of advancingPages(pages, (p) => p.nextToken, 'DescribeLogGroups')) {
    const hit = page.logGroups?.find((g) => g.logGroupName === name);
    if (hit) return hit;
  }
  return undefined;
}

/** Every log group under the name's first path segment (`/slipway/`), by name: 50 a page (a wave's bulk read). */
async function listGroups(ctx: ReconcileContext, prefix: string): Promise<Map<string, LogGroup>> {
  const out = new Map<string, LogGroup>();
  const input = { logGroupNamePrefix: prefix, limit: 50 };
  const pages = paginateDescribeLogGroups({ client: ctx.aws.logs }, input);
  for await (const page of advancingPages(pages, (p) => p.nextToken, 'DescribeLogGroups')) {
    for (const g of page.logGroups ?? []) if (g.logGroupName) out.set(g.logGroupName, g);
  }
  return out;
}

/**
 * A log group by name. In a wave, from the wave's listing of its prefix (`/slipway/`), its tags from the wave's scan of
 * the cluster's tags (cluster-tags.ts); elsewhere by one DescribeLogGroups and ListTagsForResource. With drift events
 * on, a wave reads the prefix's listing only in its turn (listingRead): in the others, the log group the owner's
 * inventory records is taken to have the planned retention (PutRetentionPolicy's drift event reports a change in
 * between), and its tags are the scan's in the scan's turn, planned otherwise. One the scan does not carry in its
 * turn, one not recorded, and an owner with drift reported or that wrote are read as outside a wave. What is taken as
 * planned is marked (Observed.assumed): the applier reads it fresh before a write rests on it.
 */
async function observeName(
  ctx: ReconcileContext,
  name: string,
  desired?: Desired<'logs.LogGroup'>,
  recorded?: string,
): Promise<Observed<'logs.LogGroup'> | undefined> {
  const prefix = /^\/[^/]+\//.exec(name)?.[0];
  const key = prefix && `logs:groups:${prefix}`;
  const turn = key ? listingRead(ctx, key) : 'own';
  // The record is checked by the name it names (an ARN's suffix may differ).
  const names = (r: string): boolean => logGroupNameOf(r) === name;
  if (desired && key && takenAsPlanned(ctx, recorded, names, { listing: key })) {
    const scanned = await waveTagsOf(ctx, desired.tags, recorded, recorded);
    if (scanned)
      return {
        identifier: recorded,
        props: { name, retentionDays: desired.props.retentionDays },
        tags: scanned.tags,
        attrs: { name, arn: recorded },
        assumed: true,
      };
  }
  const all = key && turn === 'listing' ? await ctx.bulk(key, (listing) => listGroups(listing, prefix)) : undefined;
  const group = all ? all.get(name) : await find(ctx, name);
  if (!group) return undefined;
  const arn = logGroupArnOf(group);
  const retentionDays = group.retentionInDays ?? 0;
  const scanned = desired ? await waveTagsOf(ctx, desired.tags, arn, recorded) : undefined;
  let tags = scanned?.tags;
  if (!tags) {
    const listed = await unlessNotFound(() => ctx.aws.logs.send(new ListTagsForResourceCommand({ resourceArn: arn })));
    if (!listed) return undefined; // deleted between the two calls
    tags = listed.tags ?? {};
  }
  return {
    identifier: arn,
    props: { name, retentionDays },
    tags,
    attrs: { name, arn },
    // Tags taken as planned: a retention that differs from the plan is read again, fresh, before it is changed.
    ...(scanned?.planned ? { assumed: true } : {}),
  };
}

async function applyRetention(ctx: ReconcileContext, name: string, days: number): Promise<void> {
  if (days > 0) await ctx.aws.logs.send(new PutRetentionPolicyCommand({ logGroupName: name, retentionInDays: days }));
  else await ctx.aws.logs.send(new DeleteRetentionPolicyCommand({ logGroupName: name }));
}

export const logGroupReconciler: KindReconciler<'logs.LogGroup'> = {
  kind: 'logs.LogGroup',

  observe: (ctx, desired, recorded) => observeName(ctx, desired.props.name, desired, recorded),
  observeByIdentifier: (ctx, identifier) => observeName(ctx, logGroupNameOf(identifier)),

  diff: diffProps(),

  async create(ctx, desired) {
    const { name, retentionDays } = desired.props;
    await ctx.aws.logs.send(new CreateLogGroupCommand({ logGroupName: name, tags: { ...desired.tags } }));
    if (retentionDays > 0) await applyRetention(ctx, name, retentionDays);
    // The ARN is the one thing the create does not answer: built from the pass's account where it knows it, else
    // described. The tags are those the create was just sent, so they are not read back either.
    const built = ctx.account?.region === ctx.aws.region ? logGroupArn(ctx.account, name) : undefined;
    const group = built ? undefined : await find(ctx, name);
    if (!built && !group) throw new Error(`log group ${name} was created but cannot be described`);
    const arn = built ?? logGroupArnOf(group!);
    return {
      identifier: arn,
      props: { name, retentionDays: group ? (group.retentionInDays ?? 0) : retentionDays },
      tags: { ...desired.tags },
      attrs: { name, arn },
    };
  },

  // CreateLogGroup refuses a name that exists: a new owner's log group is created without a read first.
  refusesExisting: (err) => errorName(err) === 'ResourceAlreadyExistsException',

  async update(ctx, desired, observed) {
    await applyRetention(ctx, desired.props.name, desired.props.retentionDays);
    return { ...observed, props: { ...observed.props, retentionDays: desired.props.retentionDays } };
  },

  async delete(ctx, observed) {
    await unlessNotFound(() => ctx.aws.logs.send(new DeleteLogGroupCommand({ logGroupName: observed.props.name })));
  },

  tagging: 'tags',

  // By ARN (TagResource/UntagResource), as observe reads them (ListTagsForResource); not the older TagLogGroup.
  async setTags(ctx, observed, set, remove) {
    const resourceArn = observed.identifier;
    await writeTags(
      {
        add: (tags) => ctx.aws.logs.send(new TagResourceCommand({ resourceArn, tags: { ...tags } })),
        remove: (keys) => ctx.aws.logs.send(new UntagResourceCommand({ resourceArn, tagKeys: [...keys] })),
      },
      set,
      remove,
    );
  },
};
