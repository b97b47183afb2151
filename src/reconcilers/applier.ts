// The applier walks a plan in dependency order, resolves late-bound references from what it has observed or
// created, and asks each kind's reconciler to make AWS match. It owns the rules that hold for every kind:
// ownership (never touch what lacks our tag value), tags as part of the diff, modes, and the per-resource report
// the status is built from. Each failure is recorded as an Outcome where it happens.
//
// Modes:
//   apply  — create what is missing, update what differs, delete owned leftovers that left the plan.
//   report — observe and diff only; resources never created before (not in the inventory) are still created,
//            because creating what the user asked for is not drift correction.
//   delete — observe everything forward (to resolve references), then delete what we own in reverse order.
//   plan   — observe and diff only, and write nothing at all: what apply would create, update or delete is
//            reported as to-create, to-update and to-delete. A reference to a resource that would be created
//            resolves to a placeholder, so what depends on it is still observed and diffed.
import { ownedBy, TAG_CLUSTER, TAG_OWNER } from '../planner/naming.js';
import { dependenciesOf, isRef, topologicalOrder, type Plan, type PlannedResource } from '../planner/plan.js';
import type { ResourceKind } from '../planner/plan.js';
import { outcomeOf } from '../outcome/classify.js';
import { after, outcome, TERMINAL, type Outcome } from '../outcome/outcome.js';
import { classifyError, errorName } from '../aws/errors.js';
import {
  newContext,
  type Change,
  type Desired,
  type KindReconciler,
  type Observed,
  type ReconcileContext,
  type ReconcilerRegistry,
} from './contract.js';
import { diffTags } from './diff.js';

export type ApplyMode = 'apply' | 'report' | 'delete' | 'plan';

export interface InventoryItem {
  readonly kind: ResourceKind;
  readonly logicalId: string;
  readonly identifier: string;
}

export type OutcomeAction =
  | 'created'
  | 'updated'
  | 'in-sync'
  | 'drifted'
  | 'missing'
  | 'deleted'
  | 'external'
  | 'blocked'
  | 'conflict'
  | 'failed'
  // plan mode only: what apply would do
  | 'to-create'
  | 'to-update'
  | 'to-delete';

export interface ResourceOutcome {
  readonly id: string;
  readonly kind: ResourceKind;
  readonly action: OutcomeAction;
  readonly identifier?: string;
  readonly changes: readonly Change[];
  /** True when the resource is in the previous inventory: a create then means it vanished out of band. */
  readonly wasInventoried: boolean;
  readonly message?: string;
  /** Why it failed and what happens next (failed, conflict, and blocked on something other than a failure). */
  readonly outcome?: Outcome;
}

export interface ApplyReport {
  readonly outcomes: readonly ResourceOutcome[];
  /** What exists and is ours after the pass, in creation order: the next pass's inventory. */
  readonly inventory: readonly InventoryItem[];
  readonly attrs: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export interface ApplyOptions {
  readonly mode: ApplyMode;
  /**
   * What this owner is known to own: the inventory from status, plus what was found in AWS by its ownership tags
   * (a custom resource re-created with an empty status). Items not in the plan are leftovers to delete.
   */
  readonly inventory: readonly InventoryItem[];
  /** Explicit adoption (annotation): a same-named resource without our tags is tagged and managed. */
  readonly adopt?: boolean;
}

/** How long a resource that waits on an attribute another resource has not reported yet waits. */
const WAIT_FOR_ATTRIBUTE_MS = 10_000;

/** What a reference to a resource that plan mode found would be created resolves to. */
export function knownAfterApply(id: string, attr: string): string {
  return `(known after apply: ${id}.${attr})`;
}

const withWritesTracked = new WeakMap<KindReconciler<ResourceKind>, KindReconciler<ResourceKind>>();

/**
 * A kind's reconciler with the kind fixed to the planned resource's: the one place the union is narrowed. Each of
 * its writes is bracketed by ctx.wrote(), so no later pass of this owner trusts a bulk listing begun before the write
 * ended (it could re-create what the write created).
 */
function reconcilerFor(registry: ReconcilerRegistry, kind: ResourceKind): KindReconciler<ResourceKind> {
  const r = registry[kind] as KindReconciler<ResourceKind>;
  let tracked = withWritesTracked.get(r);
  if (!tracked) {
    const around =
      <A extends unknown[], R>(write: (ctx: ReconcileContext, ...args: A) => Promise<R>) =>
      async (ctx: ReconcileContext, ...args: A): Promise<R> => {
        ctx.wrote(r.kind);
        try {
          return await write(ctx, ...args);
        } finally {
          ctx.wrote(r.kind);
        }
      };
    tracked = {
      ...r,
      create: around(r.create.bind(r)),
      update: around(r.update.bind(r)),
      delete: around(r.delete.bind(r)),
      setTags: around(r.setTags.bind(r)),
    };
    withWritesTracked.set(r, tracked);
  }
  return tracked;
}

function resolveProps(
  value: unknown,
  attrs: ReadonlyMap<string, Readonly<Record<string, string>>>,
  /** Resources plan mode would create: their attributes are placeholders. */
  pending: ReadonlySet<string> = new Set(),
): { value: unknown; missing?: string } {
  let missing: string | undefined;
  const walk = (v: unknown): unknown => {
    if (isRef(v)) {
      const found =
        attrs.get(v.$ref.id)?.[v.$ref.attr] ??
        (pending.has(v.$ref.id) ? knownAfterApply(v.$ref.id, v.$ref.attr) : undefined);
      if (found === undefined) missing ??= `${v.$ref.id}.${v.$ref.attr}`;
      return found ?? '';
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const resolved = walk(value);
  return missing ? { value: resolved, missing } : { value: resolved };
}

function describeOwner(tags: Readonly<Record<string, string>>): string {
  const owner = tags[TAG_OWNER];
  const cluster = tags[TAG_CLUSTER];
  return owner ? `owned by ${owner}${cluster ? ` on cluster ${cluster}` : ''}` : 'not created by Slipway';
}

function failure(error: unknown): Pick<ResourceOutcome, 'action' | 'message' | 'outcome'> {
  // A plain Error from a reconciler is a deliberate message to the user (terminal); AWS errors are classified.
  const o = outcomeOf(error, TERMINAL);
  return { action: 'failed', message: o.message, outcome: o };
}

/** The walk's shared state: attributes for references, outcomes, and what was observed (for deletion). */
class Walk {
  readonly attrs = new Map<string, Readonly<Record<string, string>>>();
  readonly outcomes = new Map<string, ResourceOutcome>();
  readonly observed = new Map<string, Observed>();
  readonly failed = new Set<string>();
  /** Plan mode: resources that would be created. */
  readonly pending = new Set<string>();
  /** The identifier the inventory records for each `kind:logicalId`. */
  private readonly inventoried: ReadonlyMap<string, string>;

  constructor(inventory: readonly InventoryItem[]) {
    this.inventoried = new Map(inventory.map((i) => [`${i.kind}:${i.logicalId}`, i.identifier]));
  }

  /** The identifier the inventory records for the planned resource, if any. */
  recorded(p: PlannedResource): string | undefined {
    return this.inventoried.get(`${p.kind}:${p.id}`);
  }

  base(p: PlannedResource) {
    const wasInventoried = this.inventoried.has(`${p.kind}:${p.id}`);
    return { id: p.id, kind: p.kind, wasInventoried, changes: [] as Change[] };
  }

  record(
    p: PlannedResource,
    o: Omit<ResourceOutcome, 'id' | 'kind' | 'wasInventoried' | 'changes'> & { changes?: readonly Change[] },
  ): void {
    if (o.action === 'failed' || o.action === 'conflict' || o.action === 'blocked' || o.action === 'missing') {
      this.failed.add(p.id);
    }
    this.outcomes.set(p.id, { ...this.base(p), ...o });
  }
}

/**
 * Whether the applier would act on an observation: change it (its fields or tags differ from the plan), delete its
 * duplicates, or adopt it or report a conflict (it is not this owner's). Every write the applier drives from an
 * observation follows one of these.
 */
function actsOn(r: KindReconciler<ResourceKind>, desired: Desired, plan: Plan, observed: Observed): boolean {
  if (!ownedBy(observed.tags, plan.owner) || (observed.duplicates?.length ?? 0) > 0) return true;
  if (r.diff(desired, observed).length > 0) return true;
  return r.tagging === 'tags' && diffTags(desired.tags, observed.tags).changes.length > 0;
}

/**
 * Observes one planned resource and settles ownership: undefined when it does not exist; a conflict when it
 * exists without our tag value (unless adopting). Shared by converging and deleting (`deleting`: what is found is
 * deleted). An observation a kind took in part as planned (Observed.assumed) that the applier would act on is
 * observed again, fresh, outside the pass's wave, and that is what ownership, the diff and any write rest on: what
 * was taken as planned is no basis for a write, nor for a change or conflict reported in report and plan modes.
 */
async function observeOwned(
  ctx: ReconcileContext,
  r: KindReconciler<ResourceKind>,
  desired: Desired,
  plan: Plan,
  adopt: boolean,
  recorded?: string,
  deleting = false,
): Promise<{ observed?: Observed; conflict?: Outcome }> {
  let observed = await r.observe(ctx, desired, recorded);
  if (observed?.assumed && (deleting || actsOn(r, desired, plan, observed)))
    observed = await r.observe(newContext(ctx.aws), desired, recorded);
  if (!observed || ownedBy(observed.tags, plan.owner)) return observed ? { observed } : {};
  if (!adopt) {
    const found = r.conflict?.(desired, observed);
    return {
      observed,
      conflict:
        found ??
        outcome(
          'OwnershipConflict',
          `${desired.kind} ${observed.identifier} already exists and is ${describeOwner(observed.tags)}; Slipway will not change it. Rename or remove it, or set the annotation slipway.dev/adopt: "true" to adopt it`,
          TERMINAL,
        ),
    };
  }
  await r.setTags(ctx, observed, desired.tags, []);
  return { observed: { ...observed, tags: { ...observed.tags, ...desired.tags } } };
}

/** The outcome of a resource whose identity something this owner does not own holds. */
function conflictOf(observed: Observed | undefined, conflict: Outcome) {
  return {
    action: 'conflict',
    identifier: observed?.identifier,
    message: conflict.message,
    outcome: conflict,
  } as const;
}

/**
 * Whether this pass created, with a known outcome, the resource of kind `follows` that `p` depends on (directly or
 * through dependencies it also created): then `p`'s identity is keyed by something that did not exist before the
 * pass, and an observe before its create could only find what the create overwrites (KindReconciler.ownershipFollows).
 * A dependency that was found rather than created, or whose create failed, keeps the observe.
 */
function createdWith(plan: Plan, p: PlannedResource, follows: ResourceKind | undefined, walk: Walk): boolean {
  if (!follows) return false;
  const byId = new Map(plan.resources.map((x) => [x.id, x]));
  const reaches = (from: PlannedResource, seen: Set<string>): boolean =>
    dependenciesOf(from).some((id) => {
      const dep = byId.get(id);
      if (!dep || seen.has(id) || walk.outcomes.get(id)?.action !== 'created') return false;
      seen.add(id);
      return dep.kind === follows || reaches(dep, seen);
    });
  return reaches(p, new Set());
}

/**
 * True for a create the SDK sent again after an attempt whose answer was lost, and that met what the first attempt
 * made: CreateLogGroup's ResourceAlreadyExistsException, CreateTargetGroup's DuplicateTargetGroupName (the creates
 * AWS keys by name, which the SDK may retry; the others are never retried blindly: unknown-outcome.ts).
 */
function retriedIntoItself(err: unknown): boolean {
  const attempts = (err as { $metadata?: { attempts?: number } } | null)?.$metadata?.attempts ?? 1;
  return attempts > 1 && classifyError(err) === 'conflict' && /AlreadyExists|Duplicate/.test(errorName(err));
}

/**
 * Creates the resource, or, when the SDK's retry met the resource its own lost attempt made, finds it: observed
 * now, with this pass's memo left out, and handed back to be diffed like any resource found (the create's later
 * steps, such as a log group's retention, may not have run). Whatever holds the name must still be ours; anything
 * else stays the conflict it is. A create sent without an observe first (`first`) that the kind refuses because the
 * identity exists is settled the same way, except that what someone else owns is the conflict an observe would have
 * found (or, adopting, is adopted).
 */
async function createOrFind(
  ctx: ReconcileContext,
  r: KindReconciler<ResourceKind>,
  desired: Desired,
  plan: Plan,
  /** The create was sent without an observe first (refusesExisting): its refusal is where the observe happens. */
  first?: { readonly adopt: boolean },
): Promise<
  | { readonly created: Observed }
  | { readonly found: Observed }
  | { readonly observed: Observed; readonly conflict: Outcome }
> {
  try {
    return { created: await r.create(ctx, desired) };
  } catch (err) {
    if (first && r.refusesExisting?.(err)) {
      const { observed, conflict } = await observeOwned(newContext(ctx.aws), r, desired, plan, first.adopt);
      if (observed && conflict) return { observed, conflict };
      if (observed) return { found: observed };
      throw err; // gone again between the two calls: the next pass creates it
    }
    if (!retriedIntoItself(err)) throw err;
    const { observed, conflict } = await observeOwned(newContext(ctx.aws), r, desired, plan, false);
    if (observed && !conflict) return { found: observed };
    throw err;
  }
}

/**
 * Several resources carrying one identity (a create sent twice after a lost response): the one the inventory
 * names is kept (else the first the kind found), and in apply mode the others are deleted. Either way the pass
 * reports a `duplicates` change, so it shows as drift corrected (an Event) or reported.
 */
async function settleDuplicates(
  ctx: ReconcileContext,
  r: KindReconciler<ResourceKind>,
  observed: Observed,
  opts: ApplyOptions & { readonly mode: 'apply' | 'report' | 'plan' },
): Promise<{ kept: Observed; duplicates: Change[] }> {
  const all = [observed, ...(observed.duplicates ?? [])];
  if (all.length === 1) return { kept: observed, duplicates: [] };
  const known = new Set(opts.inventory.map((i) => i.identifier));
  const kept = all.find((o) => known.has(o.identifier)) ?? observed;
  const others = all.filter((o) => o !== kept);
  if (opts.mode === 'apply') for (const extra of others) await r.delete(ctx, extra);
  const change: Change = {
    path: 'duplicates',
    desired: `only ${kept.identifier}`,
    actual: `${others.map((o) => o.identifier).join(', ')} too`,
  };
  return { kept: { ...kept, duplicates: [] }, duplicates: [change] };
}

/**
 * The forward walk of apply, report and plan: create what is missing, then update (apply) or report (report) drift;
 * plan mode only says what apply would do.
 */
async function converge(
  ctx: ReconcileContext,
  registry: ReconcilerRegistry,
  plan: Plan,
  opts: ApplyOptions & { readonly mode: 'apply' | 'report' | 'plan' },
  walk: Walk,
): Promise<void> {
  const planning = opts.mode === 'plan';
  for (const p of topologicalOrder(plan.resources)) {
    const base = walk.base(p);
    const blockedBy = dependenciesOf(p).find((d) => walk.failed.has(d));
    if (blockedBy) {
      walk.record(p, { action: 'blocked', message: `waiting for ${blockedBy}` });
      continue;
    }
    try {
      const r = reconcilerFor(registry, p.kind);
      if (p.external) {
        const found = await r.observeByIdentifier(ctx, p.external.identifier);
        if (!found) {
          const message = `${p.kind} ${p.external.identifier} (referenced by ${p.id}) does not exist`;
          walk.record(p, { action: 'failed', message, outcome: outcome('ExternalMissing', message, TERMINAL) });
          continue;
        }
        walk.attrs.set(p.id, found.attrs);
        walk.record(p, { action: 'external', identifier: found.identifier });
        continue;
      }
      const resolved = resolveProps(p.props, walk.attrs, walk.pending);
      if (resolved.missing) {
        const message = `waiting for ${resolved.missing}`;
        walk.record(p, {
          action: 'blocked',
          message,
          outcome: outcome('Waiting', message, after(WAIT_FOR_ATTRIBUTE_MS)),
        });
        continue;
      }
      const desired: Desired = { id: p.id, kind: p.kind, props: resolved.value as Desired['props'], tags: p.tags };
      const adopt = opts.adopt === true && opts.mode === 'apply';
      // A resource the inventory does not name is created without an observe first where the create itself cannot
      // land on anything but this owner's (createdWith) or refuses what exists (refusesExisting, see createOrFind).
      const unread = !planning && !base.wasInventoried;
      const createFirst = unread && r.refusesExisting !== undefined;
      const fresh = unread && (createFirst || createdWith(plan, p, r.ownershipFollows, walk));
      const owned = fresh ? {} : await observeOwned(ctx, r, desired, plan, adopt, walk.recorded(p));
      const { conflict } = owned;
      if (conflict) {
        walk.record(p, conflictOf(owned.observed, conflict));
        continue;
      }
      let found = owned.observed;
      if (!found) {
        if (planning) {
          walk.pending.add(p.id);
          walk.record(p, {
            action: 'to-create',
            ...(base.wasInventoried ? { message: 'deleted outside Slipway' } : {}),
          });
          continue;
        }
        if (opts.mode === 'report' && base.wasInventoried) {
          walk.record(p, { action: 'missing', message: 'deleted outside Slipway' });
          continue;
        }
        const made = await createOrFind(ctx, r, desired, plan, createFirst ? { adopt } : undefined);
        if ('created' in made) {
          walk.attrs.set(p.id, made.created.attrs);
          walk.observed.set(p.id, made.created);
          walk.record(p, { action: 'created', identifier: made.created.identifier });
          continue;
        }
        if ('conflict' in made) {
          walk.record(p, conflictOf(made.observed, made.conflict));
          continue;
        }
        found = made.found;
      }
      const { kept: current, duplicates } = await settleDuplicates(ctx, r, found, opts);
      walk.observed.set(p.id, current);
      walk.attrs.set(p.id, current.attrs);
      const tags = r.tagging === 'tags' ? diffTags(desired.tags, current.tags) : undefined;
      const fieldChanges = r.diff(desired, current);
      const changes = [...fieldChanges, ...(tags?.changes ?? []), ...duplicates];
      if (changes.length === 0) {
        walk.record(p, { action: 'in-sync', identifier: current.identifier });
      } else if (opts.mode === 'apply') {
        const updated = fieldChanges.length > 0 ? await r.update(ctx, desired, current, fieldChanges) : current;
        if (tags && tags.changes.length > 0) await r.setTags(ctx, current, tags.set, tags.remove);
        walk.attrs.set(p.id, updated.attrs);
        walk.record(p, { action: 'updated', identifier: updated.identifier, changes });
      } else {
        walk.record(p, { action: planning ? 'to-update' : 'drifted', identifier: current.identifier, changes });
        // A kind whose identifiers differ across updates (a task definition's revisions, see identityOf) gets new
        // attributes from an update: what references them would change too.
        if (planning && fieldChanges.length > 0 && r.identityOf) {
          walk.attrs.delete(p.id);
          walk.pending.add(p.id);
        }
      }
    } catch (error) {
      // What depends on a resource that would be created may not be observable by a placeholder (an ECS service
      // in a cluster that does not exist yet): it would be created with it.
      const waitsFor = planning ? dependenciesOf(p).find((d) => walk.pending.has(d)) : undefined;
      if (waitsFor) {
        walk.pending.add(p.id);
        walk.record(p, { action: 'to-create', message: `created after ${waitsFor}` });
      } else walk.record(p, failure(error));
    }
  }
}

/** The delete walk: observe forward (identities and references), then delete what we own in reverse order. */
async function deleteOwned(
  ctx: ReconcileContext,
  registry: ReconcilerRegistry,
  plan: Plan,
  walk: Walk,
): Promise<InventoryItem[]> {
  const ordered = topologicalOrder(plan.resources);
  for (const p of ordered) {
    // Deleting does not wait on dependencies: identities never depend on another resource's attributes.
    try {
      const r = reconcilerFor(registry, p.kind);
      if (p.external) continue;
      const resolved = resolveProps(p.props, walk.attrs);
      const desired: Desired = { id: p.id, kind: p.kind, props: resolved.value as Desired['props'], tags: p.tags };
      const { observed, conflict } = await observeOwned(ctx, r, desired, plan, false, undefined, true);
      if (conflict || !observed) continue; // what is not ours, or not there, is not deleted
      walk.attrs.set(p.id, observed.attrs);
      walk.observed.set(p.id, observed);
    } catch (error) {
      walk.record(p, failure(error));
    }
  }
  // A resource is deleted only once everything that depends on it is gone or was never there. Deleting an ECS
  // service whose scalable target could not be observed or removed would also remove the only proof that the
  // target is ours (its ownership follows the service), and leak it; AWS refuses the rest anyway (a target group
  // still used by a rule). Whatever waits is retried with the failure that holds it.
  const dependents = new Map<string, string[]>();
  for (const p of ordered) for (const d of dependenciesOf(p)) dependents.set(d, [...(dependents.get(d) ?? []), p.id]);
  const survivors: InventoryItem[] = [];
  for (const p of [...ordered].reverse()) {
    const observed = walk.observed.get(p.id);
    if (!observed) continue;
    const heldBy = dependents.get(p.id)?.find((d) => walk.failed.has(d));
    if (heldBy) {
      survivors.push({ kind: p.kind, logicalId: p.id, identifier: observed.identifier });
      walk.record(p, { action: 'blocked', identifier: observed.identifier, message: `waiting for ${heldBy}` });
      continue;
    }
    try {
      const r = reconcilerFor(registry, p.kind);
      for (const one of [observed, ...(observed.duplicates ?? [])]) await r.delete(ctx, one);
      walk.record(p, { action: 'deleted', identifier: observed.identifier });
    } catch (error) {
      survivors.push({ kind: p.kind, logicalId: p.id, identifier: observed.identifier });
      walk.record(p, { ...failure(error), identifier: observed.identifier });
    }
  }
  // Back to creation order: the inventory is read in that order, and a later pass deletes it in reverse.
  return survivors.reverse();
}

/**
 * Leftovers: owned resources the inventory names that this pass did not find in the plan — a CDN switched off, a
 * record left at an old subdomain, or anything a delete walk did not reach by identity. They are matched by
 * identity, not logical id, so a resource whose name changed leaves its old self behind as a leftover. A planned
 * resource whose identity is unknown this pass (it failed) protects the inventory items of its logical id. Each
 * leftover is observed by identifier and must carry this owner's tag value before it is deleted (apply, delete)
 * or reported (report).
 */
async function settleLeftovers(
  ctx: ReconcileContext,
  registry: ReconcilerRegistry,
  plan: Plan,
  opts: ApplyOptions,
  walk: Walk,
): Promise<InventoryItem[]> {
  const identity = (kind: ResourceKind, identifier: string) =>
    `${kind}|${reconcilerFor(registry, kind).identityOf?.(identifier) ?? identifier}`;
  const kept = new Set<string>();
  const unknown = new Set<string>();
  for (const p of plan.resources) {
    const identifier = walk.observed.get(p.id)?.identifier ?? walk.outcomes.get(p.id)?.identifier;
    if (opts.mode === 'delete') {
      if (walk.observed.has(p.id) && identifier) kept.add(identity(p.kind, identifier));
    } else if (identifier) kept.add(identity(p.kind, identifier));
    // A resource plan mode would create gets a new identity: what its logical id had before is a leftover.
    else if (!walk.pending.has(p.id)) unknown.add(`${p.kind}:${p.id}`);
  }
  const seen = new Set<string>();
  const leftovers = opts.inventory.filter((i) => {
    const id = identity(i.kind, i.identifier);
    if (kept.has(id) || unknown.has(`${i.kind}:${i.logicalId}`) || seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  const survivors: InventoryItem[] = [];
  // Leftovers carry no references to order them by, only creation order: once one fails, the ones created before
  // it wait for the next pass, as a planned resource waits for its dependents (see deleteOwned).
  let heldBy: string | undefined;
  for (const item of [...leftovers].reverse()) {
    const id = item.logicalId || item.identifier;
    const at = { id, kind: item.kind, wasInventoried: true, changes: [], identifier: item.identifier };
    const key = `leftover:${item.kind}:${item.identifier}`;
    if (heldBy) {
      survivors.push(item);
      walk.outcomes.set(key, { ...at, action: 'blocked', message: `waiting for ${heldBy}` });
      continue;
    }
    try {
      const r = reconcilerFor(registry, item.kind);
      const seen = await r.observeByIdentifier(ctx, item.identifier);
      // Deleted or reported by what was read, never by what a kind took as planned (see observeOwned).
      const found = seen?.assumed ? await r.observeByIdentifier(newContext(ctx.aws), item.identifier) : seen;
      if (!found || !ownedBy(found.tags, plan.owner)) continue; // never delete what does not carry our tag value
      if (opts.mode === 'plan') {
        survivors.push(item);
        walk.outcomes.set(key, { ...at, action: 'to-delete', message: 'no longer in the plan' });
        continue;
      }
      if (opts.mode === 'report') {
        survivors.push(item);
        const message = 'no longer in the plan; kept while drift is only reported';
        walk.outcomes.set(key, { ...at, action: 'drifted', message });
        continue;
      }
      await r.delete(ctx, found);
      walk.outcomes.set(key, { ...at, action: 'deleted' });
    } catch (error) {
      survivors.push(item);
      walk.outcomes.set(key, { ...at, ...failure(error) });
      heldBy = `${item.kind} ${item.identifier}`;
    }
  }
  // Back to the inventory's creation order. Walked as it was, it would reverse each time: the next pass would
  // delete an ECS service before its scalable target, whose ownership dies with the service, and leak the target.
  return survivors.reverse();
}

export async function applyPlan(
  ctx: ReconcileContext,
  registry: ReconcilerRegistry,
  plan: Plan,
  opts: ApplyOptions,
): Promise<ApplyReport> {
  const walk = new Walk(opts.inventory);
  const inventory: InventoryItem[] = [];
  if (opts.mode === 'delete') {
    inventory.push(...(await deleteOwned(ctx, registry, plan, walk)));
  } else {
    await converge(ctx, registry, plan, { ...opts, mode: opts.mode }, walk);
    for (const p of topologicalOrder(plan.resources)) {
      const o = walk.outcomes.get(p.id);
      if (!o?.identifier || p.external || o.action === 'conflict') continue;
      inventory.push({ kind: p.kind, logicalId: p.id, identifier: o.identifier });
    }
  }
  inventory.push(...(await settleLeftovers(ctx, registry, plan, opts, walk)));
  // Outcomes in plan order (a delete walk records them in reverse), leftovers after.
  const order = new Map(topologicalOrder(plan.resources).map((p, i) => [p.id, i]));
  const rank = (id: string) => order.get(id) ?? order.size;
  const outcomes = [...walk.outcomes.entries()].sort(([a], [b]) => rank(a) - rank(b)).map(([, o]) => o);
  return { outcomes, inventory, attrs: Object.fromEntries(walk.attrs) };
}
