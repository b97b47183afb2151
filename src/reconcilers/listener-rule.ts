// elbv2.ListenerRule — identity: among the listener's rules (read once per listener per pass), the rule whose tags
// carry our cluster, owner and logical id. attrs: `arn`, `priority`. A rule's tags are read only where its ownership
// is asked (ListenerRules.tagsOf): for the rules that could be this owner's or a rival on its route.
// Rules have no name, so two more things are surfaced instead of being silently worked around:
//  - a rule someone else owns with the same host and paths is returned by `observe` (its tags differ, so the
//    applier reports a conflict rather than letting two rules race for the same traffic);
//  - a fixed priority another rule holds makes `create` fail with a message naming that rule's owner.
// Without a fixed priority one is allocated: a deterministic preference probed upward for the first free slot, so
// a Service gets the same priority across restarts; an existing rule keeps whatever priority it has.
import {
  CreateRuleCommand,
  DeleteRuleCommand,
  DescribeRulesCommand,
  ModifyRuleCommand,
  SetRulePrioritiesCommand,
  type Action,
  type Rule,
  type RuleCondition,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { errorName, isNotFound, unlessNotFound } from '../aws/errors.js';
import { outcome, TERMINAL } from '../outcome/outcome.js';
import { hash, TAG_CLUSTER, TAG_LOGICAL_ID, TAG_OWNER } from '../planner/naming.js';
import { pooledStrings } from '../lib/string-pool.js';
import { takenAsPlanned, type Desired, type KindReconciler, type Observed, type ReconcileContext } from './contract.js';
import { diffFields, type DiffOptions } from './diff.js';
import { writeTags } from './tags.js';
import {
  chunk,
  DESCRIBE_TAGS_BATCH,
  describeTags,
  elbv2TagApi,
  fromSdkActions,
  recordToTags,
  toSdkActions,
  UserActionRequired,
  type ResolvedAction,
} from './elbv2-shared.js';

/** Default quota of rules per Application Load Balancer, default rules excluded. */
export const RULES_PER_LOAD_BALANCER = 100;
export const MIN_PRIORITY = 1;
export const MAX_PRIORITY = 50_000;

export const listenerRuleDiffOptions: DiffOptions = { unordered: ['pathPatterns'] };

type Tags = Readonly<Record<string, string>>;

export interface ListenerRules {
  readonly rules: readonly Rule[];
  /**
   * The tags of the given rules (by ARN; empty for a rule without tags), read when first asked, 20 a call, and
   * remembered with this listing: the passes that share the listing share what any of them read, and a write that
   * drops the listing drops them with it. A steady member of a resync wave (ReconcileContext.waveMember) reads every
   * rule's tags on its first ask (with a rotation, every rule's whose turn it is), since each member asks for its own.
   */
  tagsOf(ctx: ReconcileContext, ruleArns: readonly string[]): Promise<ReadonlyMap<string, Tags>>;
  /** The tags a wave member's first ask would read and no one has read yet (RuleTags.unread). */
  readonly unread?: (ctx: ReconcileContext) => string[];
  /** Takes tags read for several listings at once (RuleTags.adopt). */
  readonly adopt?: (arns: readonly string[], read: Promise<ReadonlyMap<string, Tags>>) => void;
}

const rulesKey = (listenerArn: string): string => `elbv2:rules:${listenerArn}`;

const isAbort = (err: unknown): boolean => err instanceof Error && err.name === 'AbortError';

/** The tags of a listing's rules, read on demand and kept per ARN (a failed read is forgotten, to be read again). */
export class RuleTags {
  private readonly read = new Map<string, Promise<Tags>>();

  /**
   * `all`: the listing's non-default rules, what a wave member reads at once. `gone`: drops the listing, called when
   * a rule it holds no longer exists (ELBv2 refuses a whole DescribeTags batch with RuleNotFound): a listing that
   * stayed would send every caller into the same refusal until it expired.
   */
  constructor(
    private readonly all: readonly string[],
    private readonly gone: (ctx: ReconcileContext) => void = () => undefined,
  ) {}

  async tagsOf(ctx: ReconcileContext, ruleArns: readonly string[]): Promise<ReadonlyMap<string, Tags>> {
    try {
      return await this.get(ctx, ruleArns);
    } catch (err) {
      // Another pass's read, abandoned at that pass's deadline: this one reads for itself.
      if (!isAbort(err) || ctx.aws.signal?.aborted) throw err;
      return this.get(ctx, ruleArns);
    }
  }

  /**
   * The rules a wave member asks for at once: all of them, or with a rotation (drift events on) those whose turn it
   * is in the wave (ctx.listingTurn, whoever asks: an owner that reads everything of its own, ctx.readEach, asks for
   * its own rule on its own, not for every rule of its listener).
   */
  private turn(ctx: ReconcileContext): readonly string[] {
    return ctx.rotating() ? this.all.filter((arn) => ctx.listingTurn?.(arn) ?? true) : this.all;
  }

  /** The rules of a wave member's first ask whose tags no one has read yet (or is reading). */
  unread(ctx: ReconcileContext): string[] {
    return this.turn(ctx).filter((arn) => !this.read.has(arn));
  }

  /**
   * Takes the tags of `arns` from a read made for several listings at once (readTurnTags), for those not read yet.
   * A read that fails is forgotten, and a member's ask then reads for itself.
   */
  adopt(arns: readonly string[], read: Promise<ReadonlyMap<string, Tags>>): void {
    this.remember(
      arns.filter((arn) => !this.read.has(arn)),
      read,
    );
  }

  private remember(arns: readonly string[], read: Promise<ReadonlyMap<string, Tags>>): void {
    for (const arn of arns) {
      const one = read.then((tags) => tags.get(arn) ?? {});
      this.read.set(arn, one);
      one.catch(() => {
        if (this.read.get(arn) === one) this.read.delete(arn);
      });
    }
  }

  private async get(ctx: ReconcileContext, ruleArns: readonly string[]): Promise<ReadonlyMap<string, Tags>> {
    const wanted = [...new Set(ruleArns)];
    const ask = ctx.waveMember?.() ? [...new Set([...this.turn(ctx), ...wanted])] : wanted;
    const missing = ask.filter((arn) => !this.read.has(arn));
    if (missing.length > 0) {
      this.remember(
        missing,
        describeTags(ctx, missing).catch((err: unknown) => {
          if (isNotFound(err)) this.gone(ctx);
          throw err;
        }),
      );
    }
    // Taken before the first await: a read that fails meanwhile is forgotten, and its ARN read again on retry.
    const reads = wanted.map((arn) => [arn, this.read.get(arn)!] as const);
    const out = new Map<string, Tags>();
    for (const [arn, tags] of reads) out.set(arn, await tags);
    return out;
  }
}

/**
 * A listener's rules, read once per pass and shared with the passes running beside it (withPassContext); their tags
 * are read only for the rules a caller asks about (ListenerRules.tagsOf).
 */
export function rulesOf(ctx: ReconcileContext, listenerArn: string): Promise<ListenerRules> {
  return ctx.memo(rulesKey(listenerArn), async (reads) => {
    const rules: Rule[] = [];
    let Marker: string | undefined;
    do {
      const page = await reads.aws.elbv2.send(
        new DescribeRulesCommand({ ListenerArn: listenerArn, PageSize: 400, Marker }),
      );
      rules.push(...(page.Rules ?? []));
      Marker = page.NextMarker;
    } while (Marker);
    // Shared by the wave's members for as long as it lasts: a listener's rules repeat most of their values.
    pooledStrings(rules);
    const tags = new RuleTags(ruleArnsOf(rules), (c) => c.invalidate(rulesKey(listenerArn)));
    return {
      rules,
      tagsOf: (c: ReconcileContext, arns: readonly string[]) => tags.tagsOf(c, arns),
      unread: (c: ReconcileContext) => tags.unread(c),
      adopt: (arns: readonly string[], read: Promise<ReadonlyMap<string, Tags>>) => tags.adopt(arns, read),
    };
  });
}

/**
 * For a resync wave with a rotation: reads the listeners' rules (shared with the wave's members) and the tags of the
 * rules whose turn it is across all of them, 20 a call, before the members ask. Each member asks on its first need for
 * its listener's rules in turn (RuleTags), which is one DescribeTags per listener for about a 24th of its rules
 * (about 4 of 100). Best effort: a listing or a read that fails is left to the members, which read as before; a rule
 * deleted since the listing fails its batch (RuleNotFound), and its listener's members then find that out themselves.
 */
export async function readTurnTags(ctx: ReconcileContext, listenerArns: readonly string[]): Promise<void> {
  if (!ctx.rotating() || !ctx.waveMember?.()) return;
  const listings = await Promise.all(listenerArns.map((arn) => rulesOf(ctx, arn).catch(() => undefined)));
  const wanted = listings.flatMap((listed) => (listed?.unread?.(ctx) ?? []).map((arn) => ({ arn, listed })));
  const reads = chunk(wanted, DESCRIBE_TAGS_BATCH).map(async (batch) => {
    const read = describeTags(
      ctx,
      batch.map((w) => w.arn),
    );
    for (const listed of new Set(batch.map((w) => w.listed))) {
      listed?.adopt?.(
        batch.filter((w) => w.listed === listed).map((w) => w.arn),
        read,
      );
    }
    await read;
  });
  await Promise.allSettled(reads);
}

// ---- Pure helpers ----

export function priorityOf(rule: Rule): number | undefined {
  const n = Number(rule.Priority);
  return rule.IsDefault || !Number.isInteger(n) ? undefined : n;
}

/** Rules count toward the quota except the listener's default rule. */
export function ruleQuotaHeadroom(
  rules: readonly Rule[],
  limit = RULES_PER_LOAD_BALANCER,
): { readonly used: number; readonly limit: number; readonly remaining: number } {
  const used = rules.filter((r) => !r.IsDefault).length;
  return { used, limit, remaining: Math.max(0, limit - used) };
}

function conditionValues(c: RuleCondition): readonly string[] {
  return c.HostHeaderConfig?.Values ?? c.PathPatternConfig?.Values ?? c.Values ?? [];
}

/** The host and path patterns of a rule's conditions, paths sorted (their order carries no meaning). */
export function routeOf(rule: Rule): { readonly host: string; readonly pathPatterns: readonly string[] } {
  const conditions = rule.Conditions ?? [];
  const host = conditions.filter((c) => c.Field === 'host-header').flatMap(conditionValues);
  const paths = conditions.filter((c) => c.Field === 'path-pattern').flatMap(conditionValues);
  return { host: host.join(','), pathPatterns: [...paths].sort() };
}

export function toConditions(host: string, pathPatterns: readonly string[]): RuleCondition[] {
  const out: RuleCondition[] = [{ Field: 'host-header', HostHeaderConfig: { Values: [host] } }];
  if (pathPatterns.length > 0) out.push({ Field: 'path-pattern', PathPatternConfig: { Values: [...pathPatterns] } });
  return out;
}

function sameRoute(rule: Rule, host: string, pathPatterns: readonly string[]): boolean {
  const r = routeOf(rule);
  return (
    r.host.toLowerCase() === host.toLowerCase() && r.pathPatterns.join('\n') === [...pathPatterns].sort().join('\n')
  );
}

/**
 * The target groups a rule's actions forward to: a plain forward's, and each of a forward config's (a weighted
 * forward), whichever action of the chain holds them (a forward after an authenticate action).
 */
export function forwardTargetsOf(actions: readonly Action[] | undefined): string[] {
  return (actions ?? [])
    .flatMap((a) => [a.TargetGroupArn, ...(a.ForwardConfig?.TargetGroups ?? []).map((g) => g.TargetGroupArn)])
    .filter((arn): arn is string => !!arn);
}

/** The ARNs of a listing's non-default rules that `which` keeps (all without it): the ones whose tags to ask. */
export function ruleArnsOf(rules: readonly Rule[], which: (rule: Rule) => boolean = () => true): string[] {
  return rules.flatMap((r) => (!r.IsDefault && r.RuleArn && which(r) ? [r.RuleArn] : []));
}

/** Whether a rule's (or a listener's default) actions forward to the target group. */
export function forwardsTo(actions: readonly Action[] | undefined, targetGroupArn: string): boolean {
  return forwardTargetsOf(actions).includes(targetGroupArn);
}

/**
 * The rules on a listener that could be the desired rule's owner's or a rival on its route: the non-default rules
 * that forward to a target group the desired rule forwards to, and those with its host and paths. No other rule can
 * carry this owner's identity, except one someone else moved off both (see observe):
 *  - a rule of ours is created forwarding to our target group, and AWS refuses to delete a target group a rule
 *    forwards to (ResourceInUse; removeOwnedBlockers deletes our rules first), so that group lives as long as the
 *    rule forwards to it;
 *  - a change of spec changes a rule's route (subdomain, paths) and the actions before its forward (the gate), never
 *    its target group: the group's name and logical id follow only the owner, its Environment and its shard
 *    (planner/service.ts), and a shard move plans a new rule, on another listener;
 *  - were a target group ever replaced under the same logical id, the old group stays while the old rule forwards to
 *    it, and that rule still has the desired route;
 *  - a duplicate left by a CreateRule sent twice (a lost response) has the route and the target group of the first.
 * A desired rule that forwards nowhere (a fixed response) is found by its route alone.
 */
export function ruleCandidates(
  rules: readonly Rule[],
  desired: {
    readonly host: string;
    readonly pathPatterns: readonly string[];
    readonly actions: readonly ResolvedAction[];
  },
): Rule[] {
  const groups = new Set(
    desired.actions.flatMap((a) => (a.type === 'forward' && a.targetGroupArn ? [a.targetGroupArn] : [])),
  );
  return rules.filter(
    (r) =>
      !r.IsDefault &&
      !!r.RuleArn &&
      (forwardTargetsOf(r.Actions).some((arn) => groups.has(arn)) || sameRoute(r, desired.host, desired.pathPatterns)),
  );
}

/**
 * The priority a route prefers. ALB evaluates rules from the lowest priority up, so more specific paths (a longer
 * literal prefix before the first wildcard) prefer lower bands: `/api/*` is tried before `/*` on the same host.
 * Within a band of 1,000, a hash of the route spreads Services apart. Range 1,000–39,999.
 */
export function preferredPriority(host: string, pathPatterns: readonly string[]): number {
  const literal = (p: string): number => {
    const i = p.search(/[*?]/);
    return i === -1 ? p.length : i;
  };
  const specificity = pathPatterns.length === 0 ? 0 : Math.min(38, ...pathPatterns.map(literal));
  const spread = parseInt(hash(`${host.toLowerCase()} ${[...pathPatterns].sort().join(' ')}`, 8), 16) % 1000;
  return 1000 + (38 - specificity) * 1000 + spread;
}

/** The first free priority at or above `preferred`, wrapping to the bottom of the range. */
export function allocatePriority(taken: ReadonlySet<number>, preferred: number): number {
  for (let p = preferred; p <= MAX_PRIORITY; p++) if (!taken.has(p)) return p;
  for (let p = MIN_PRIORITY; p < preferred; p++) if (!taken.has(p)) return p;
  throw new UserActionRequired(
    `every priority from ${MIN_PRIORITY} to ${MAX_PRIORITY} is taken on this listener, so no rule can be added; ` +
      'remove rules the listener no longer needs, or move some Services to another Environment',
    'NoFreePriority',
  );
}

export function ruleOwner(tags: Readonly<Record<string, string>> | undefined): string {
  const owner = tags?.[TAG_OWNER];
  if (!owner) return 'a rule not created by Slipway';
  return `${owner}${tags[TAG_CLUSTER] ? ` (cluster ${tags[TAG_CLUSTER]})` : ''}`;
}

export function listenerArnOfRule(ruleArn: string): string {
  // arn:...:listener-rule/app/<lb>/<lb-id>/<listener-id>/<rule-id> → arn:...:listener/app/<lb>/<lb-id>/<listener-id>
  return ruleArn.replace(':listener-rule/', ':listener/').replace(/\/[^/]+$/, '');
}

/** The error naming the rule that holds a priority, and its owner (its tags, read for it). */
async function priorityTaken(
  ctx: ReconcileContext,
  priority: number,
  listenerArn: string,
  holder: Rule,
  listed: ListenerRules,
): Promise<UserActionRequired> {
  const tags = holder.RuleArn ? (await listed.tagsOf(ctx, [holder.RuleArn])).get(holder.RuleArn) : undefined;
  return new UserActionRequired(
    `listener rule priority ${priority} is already used on listener ${listenerArn} by ${ruleOwner(tags)} ` +
      `(rule ${holder.RuleArn}); pick another spec.routing.priority or omit it so Slipway chooses a free one`,
    'PriorityInUse',
  );
}

function holderOf(rules: readonly Rule[], priority: number, except?: string): Rule | undefined {
  return rules.find((r) => priorityOf(r) === priority && r.RuleArn !== except);
}

const isPriorityInUse = (err: unknown): boolean => /^PriorityInUse/.test(errorName(err));

// ---- Reconciler ----

function toObserved(
  rule: Rule,
  listenerArn: string,
  tags: Readonly<Record<string, string>>,
): Observed<'elbv2.ListenerRule'> {
  const arn = rule.RuleArn ?? '';
  const priority = priorityOf(rule);
  const route = routeOf(rule);
  return {
    identifier: arn,
    props: {
      listenerArn,
      ...(priority === undefined ? {} : { priority }),
      host: route.host,
      pathPatterns: route.pathPatterns,
      actions: fromSdkActions(rule.Actions),
    },
    tags: { ...tags },
    attrs: { arn, priority: priority === undefined ? 'default' : String(priority) },
  };
}

/**
 * The rule whose tags a wave leaves unread, taken to carry the planned tags: in a wave with a rotation (drift events
 * on: AddTags and RemoveTags on a rule reconcile its owner within seconds), the candidate the owner's inventory
 * records, when it is not the rule's turn (ctx.readEach). Any other candidate's tags are read (a rival on the route, a
 * duplicate). What Slipway modifies must be seen to carry its tags: the observation is marked (Observed.assumed), and
 * a rule that differs from the plan is read again, fresh, before it is modified (applier.ts observeOwned). Each
 * rule's tags are still read at least every ROTATION_SLOTS waves, the backstop for a lost event; without a rotation
 * every wave reads them all.
 */
function unreadRule(ctx: ReconcileContext, near: readonly Rule[], recorded: string | undefined): Rule | undefined {
  if (!recorded) return undefined;
  // A rule has no name to build its identifier from: the record is checked by finding it among the candidates.
  const rule = near.find((r) => r.RuleArn === recorded);
  return rule && takenAsPlanned(ctx, recorded, recorded, { each: recorded }) ? rule : undefined;
}

function describeByArn(ctx: ReconcileContext, arn: string): Promise<Observed<'elbv2.ListenerRule'> | undefined> {
  return unlessNotFound(async () => {
    const res = await ctx.aws.elbv2.send(new DescribeRulesCommand({ RuleArns: [arn] }));
    const rule = res.Rules?.[0];
    if (!rule) return undefined;
    const tags = (await describeTags(ctx, [arn])).get(arn) ?? {};
    return toObserved(rule, listenerArnOfRule(arn), tags);
  });
}

async function createRule(
  ctx: ReconcileContext,
  listenerArn: string,
  priority: number,
  desired: Desired<'elbv2.ListenerRule'>,
): Promise<Rule> {
  const res = await ctx.aws.elbv2.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: priority,
      Conditions: toConditions(desired.props.host, desired.props.pathPatterns),
      Actions: toSdkActions(desired.props.actions),
      Tags: recordToTags(desired.tags),
    }),
  );
  const rule = res.Rules?.[0];
  if (!rule?.RuleArn) throw new Error(`CreateRule on ${listenerArn} returned no rule`);
  return rule;
}

/** Non-default rules on a listener and the target groups its rules forward to (for the Environment's status). */
export async function listenerRuleUsage(
  ctx: ReconcileContext,
  listenerArn: string,
): Promise<{
  readonly rulesUsed: number;
  readonly ruleLimit: number;
  readonly rulesRemaining: number;
  readonly targetGroupsUsed: number;
}> {
  // Counts only: no rule's tags are read.
  const { rules } = await rulesOf(ctx, listenerArn);
  const q = ruleQuotaHeadroom(rules);
  const groups = new Set(rules.flatMap((r) => forwardTargetsOf(r.Actions)));
  return { rulesUsed: q.used, ruleLimit: q.limit, rulesRemaining: q.remaining, targetGroupsUsed: groups.size };
}

export const listenerRuleReconciler: KindReconciler<'elbv2.ListenerRule'> = {
  kind: 'elbv2.ListenerRule',

  async observe(ctx, desired, recorded) {
    const { listenerArn, host, pathPatterns } = desired.props;
    // An unresolved listener (deleting after it vanished) means no rule either.
    if (!listenerArn) return undefined;
    const listed = await unlessNotFound(() => rulesOf(ctx, listenerArn));
    if (!listed) return undefined;
    const d = desired.tags;
    // Only the rules that could be ours or a rival have their tags read (ruleCandidates says why no other can be
    // ours), unless none of them is ours and the owner is not brand new: then a rule of ours may have been moved
    // off both its route and its target group by hand, and every rule's tags are read to find it (found, it is
    // drift to correct or report). A brand-new owner has no such rule: it has had no rule to move. In a wave with a
    // rotation, the rule the inventory records may be left unread (unreadRule).
    const near = ruleCandidates(listed.rules, desired.props);
    const assumed = unreadRule(ctx, near, recorded);
    const tags = new Map(
      await listed.tagsOf(
        ctx,
        ruleArnsOf(near, (r) => r !== assumed),
      ),
    );
    if (assumed) tags.set(assumed.RuleArn!, d);
    const tagsOf = (r: Rule): Readonly<Record<string, string>> => tags.get(r.RuleArn!) ?? {};
    const isOurs = (r: Rule): boolean => {
      const t = tagsOf(r);
      return (
        t[TAG_CLUSTER] === d[TAG_CLUSTER] && t[TAG_OWNER] === d[TAG_OWNER] && t[TAG_LOGICAL_ID] === d[TAG_LOGICAL_ID]
      );
    };
    // Rules have no name, so a CreateRule sent twice leaves two rules with one identity: all are returned, the
    // first as the rule and the others as its duplicates, for the applier to keep one.
    let ours = near.filter(isOurs);
    if (ours.length === 0 && !ctx.newOwner?.()) {
      const far = listed.rules.filter((r) => !r.IsDefault && r.RuleArn && !near.includes(r));
      for (const [arn, t] of await listed.tagsOf(ctx, ruleArnsOf(far))) tags.set(arn, t);
      ours = far.filter(isOurs);
    }
    if (ours.length > 0) {
      const [first, ...rest] = ours.map((r) => toObserved(r, listenerArn, tagsOf(r)));
      const marked = assumed && ours.includes(assumed) ? { ...first!, assumed: true as const } : first!;
      return rest.length > 0 ? { ...marked, duplicates: rest } : marked;
    }
    // Someone else's rule on the same route: surfaced so the applier reports the conflict.
    const rival = near.find((r) => {
      const t = tagsOf(r);
      return sameRoute(r, host, pathPatterns) && !(t[TAG_CLUSTER] === d[TAG_CLUSTER] && t[TAG_OWNER] === d[TAG_OWNER]);
    });
    return rival ? toObserved(rival, listenerArn, tagsOf(rival)) : undefined;
  },

  observeByIdentifier: describeByArn,

  // observe returns another owner's rule only when it routes the same host and paths.
  conflict(desired, observed) {
    const { host, pathPatterns } = desired.props;
    const paths = pathPatterns.length > 0 ? ` and paths ${pathPatterns.join(', ')}` : '';
    return outcome(
      'HostInUse',
      `host ${host}${paths} is already routed on listener ${desired.props.listenerArn} by ${ruleOwner(observed.tags)} ` +
        `(rule ${observed.identifier}); Slipway will not change that rule. Pick another spec.subdomain or ` +
        'spec.routing.pathPatterns, or remove the other rule',
      TERMINAL,
    );
  },

  diff(desired, observed) {
    // A desired priority that is absent is not managed: the rule keeps the one it was given.
    return diffFields(desired.props, observed.props, listenerRuleDiffOptions);
  },

  async create(ctx, desired) {
    const { listenerArn, host, pathPatterns, priority: fixed } = desired.props;
    const listed = await rulesOf(ctx, listenerArn);
    const headroom = ruleQuotaHeadroom(listed.rules);
    if (headroom.remaining === 0) {
      throw new UserActionRequired(
        `listener ${listenerArn} already has ${headroom.used} rules, the default quota of ${headroom.limit} rules per Application ` +
          `Load Balancer; the rule for ${host} cannot be added. Raise the quota "Rules per Application Load Balancer" in ` +
          'Service Quotas, or move some Services to another Environment',
        'RuleQuotaExceeded',
      );
    }
    const choose = async (rules: ListenerRules): Promise<number> => {
      if (fixed !== undefined) {
        const holder = holderOf(rules.rules, fixed);
        if (holder) throw await priorityTaken(ctx, fixed, listenerArn, holder, rules);
        return fixed;
      }
      const taken = new Set(rules.rules.map(priorityOf).filter((p): p is number => p !== undefined));
      return allocatePriority(taken, preferredPriority(host, pathPatterns));
    };
    let rule: Rule;
    try {
      rule = await createRule(ctx, listenerArn, await choose(listed), desired);
    } catch (err) {
      if (!isPriorityInUse(err)) throw err;
      // Our read was stale (another writer took the slot since): read again, then name the holder or re-allocate.
      ctx.invalidate(rulesKey(listenerArn));
      const fresh = await rulesOf(ctx, listenerArn);
      if (fixed !== undefined) {
        const holder = holderOf(fresh.rules, fixed);
        throw holder ? await priorityTaken(ctx, fixed, listenerArn, holder, fresh) : err;
      }
      rule = await createRule(ctx, listenerArn, await choose(fresh), desired);
    } finally {
      ctx.invalidate(rulesKey(listenerArn));
    }
    return toObserved(rule, listenerArn, desired.tags);
  },

  async update(ctx, desired, observed, changes) {
    const { listenerArn, host, pathPatterns, actions, priority } = desired.props;
    const RuleArn = observed.identifier;
    const paths = changes.map((c) => c.path);
    const routeChanged = paths.some((p) => p === 'host' || p === 'pathPatterns');
    const actionsChanged = paths.some((p) => p.startsWith('actions'));
    const priorityChanged = priority !== undefined && paths.includes('priority');
    if (priorityChanged) {
      const listed = await rulesOf(ctx, listenerArn);
      const holder = holderOf(listed.rules, priority, RuleArn);
      if (holder) throw await priorityTaken(ctx, priority, listenerArn, holder, listed);
    }
    try {
      if (routeChanged || actionsChanged) {
        await ctx.aws.elbv2.send(
          new ModifyRuleCommand({
            RuleArn,
            ...(routeChanged ? { Conditions: toConditions(host, pathPatterns) } : {}),
            ...(actionsChanged ? { Actions: toSdkActions(actions) } : {}),
          }),
        );
      }
      if (priorityChanged) {
        try {
          await ctx.aws.elbv2.send(new SetRulePrioritiesCommand({ RulePriorities: [{ RuleArn, Priority: priority }] }));
        } catch (err) {
          if (!isPriorityInUse(err)) throw err;
          ctx.invalidate(rulesKey(listenerArn));
          const fresh = await rulesOf(ctx, listenerArn);
          const holder = holderOf(fresh.rules, priority, RuleArn);
          throw holder ? await priorityTaken(ctx, priority, listenerArn, holder, fresh) : err;
        }
      }
    } finally {
      ctx.invalidate(rulesKey(listenerArn));
    }
    return (await describeByArn(ctx, RuleArn)) ?? observed;
  },

  async delete(ctx, observed) {
    try {
      await unlessNotFound(() => ctx.aws.elbv2.send(new DeleteRuleCommand({ RuleArn: observed.identifier })));
    } finally {
      ctx.invalidate(rulesKey(observed.props.listenerArn));
    }
  },

  tagging: 'tags',

  // The listener's memoised rules carry the tags read of them: dropped after the write, as after every other write.
  setTags: (ctx, observed, set, remove) =>
    writeTags(elbv2TagApi(ctx, observed.identifier), set, remove, () =>
      ctx.invalidate(rulesKey(observed.props.listenerArn)),
    ),
};
