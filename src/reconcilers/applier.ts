// The applier walks a plan in dependency order, resolves late-bound references from what it has observed or
// created, and asks each kind's reconciler to make AWS match. It owns the rules that hold for every kind:
// ownership (never touch what lacks our tag value), modes, and the per-resource report the status is built from.
//
// Modes:
//   apply  — create what is missing, update what differs, delete inventory leftovers that left the plan.
//   report — observe and diff only; resources never created before (not in the inventory) are still created,
//            because creating what the user asked for is not drift correction.
//   delete — observe everything forward (to resolve references), then delete what we own in reverse order.
import { dependenciesOf, isRef, topologicalOrder, type Plan, type ResourceKind } from '../planner/plan.js';
import { ownerKey, TAG_CLUSTER, TAG_OWNER } from '../planner/naming.js';
import type { Change, Desired, KindReconciler, Observed, ReconcileContext, ReconcilerRegistry } from './contract.js';

export type ApplyMode = 'apply' | 'report' | 'delete';

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
  | 'failed';

export interface ResourceOutcome {
  readonly id: string;
  readonly kind: ResourceKind;
  readonly action: OutcomeAction;
  readonly identifier?: string;
  readonly changes: readonly Change[];
  /** True when the resource is in the previous inventory: a create then means it vanished out of band. */
  readonly wasInventoried: boolean;
  readonly message?: string;
  readonly error?: unknown;
}

export interface ApplyReport {
  readonly outcomes: readonly ResourceOutcome[];
  /** What exists and is ours after the pass, in creation order: the next pass's inventory. */
  readonly inventory: readonly InventoryItem[];
  readonly attrs: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export interface ApplyOptions {
  readonly mode: ApplyMode;
  readonly inventory: readonly InventoryItem[];
  /** Explicit adoption (annotation): a same-named resource without our tags is tagged and managed. */
  readonly adopt?: boolean;
}

export class OwnershipConflict extends Error {}

function resolveProps(
  value: unknown,
  attrs: Map<string, Readonly<Record<string, string>>>,
): { value: unknown; missing?: string } {
  let missing: string | undefined;
  const walk = (v: unknown): unknown => {
    if (isRef(v)) {
      const found = attrs.get(v.$ref.id)?.[v.$ref.attr];
      if (found === undefined) missing ??= `${v.$ref.id}.${v.$ref.attr}`;
      return found ?? '';
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const value2 = walk(value);
  return missing ? { value: value2, missing } : { value: value2 };
}

function owns(tags: Readonly<Record<string, string>>, desiredTags: Readonly<Record<string, string>>): boolean {
  return tags[TAG_CLUSTER] === desiredTags[TAG_CLUSTER] && tags[TAG_OWNER] === desiredTags[TAG_OWNER];
}

function describeOwner(tags: Readonly<Record<string, string>>): string {
  return tags[TAG_OWNER]
    ? `owned by ${tags[TAG_OWNER]}${tags[TAG_CLUSTER] ? ` on cluster ${tags[TAG_CLUSTER]}` : ''}`
    : 'not created by Slipway';
}

export async function applyPlan(
  ctx: ReconcileContext,
  registry: ReconcilerRegistry,
  plan: Plan,
  opts: ApplyOptions,
): Promise<ApplyReport> {
  const reconciler = <K extends ResourceKind>(kind: K) => registry[kind] as unknown as KindReconciler<K>;
  const inventoried = new Map(opts.inventory.map((i) => [`${i.kind}:${i.logicalId}`, i]));
  const ordered = topologicalOrder(plan.resources);
  const attrs = new Map<string, Readonly<Record<string, string>>>();
  const outcomes = new Map<string, ResourceOutcome>();
  const observedById = new Map<string, { desired: Desired; observed: Observed }>();
  const failed = new Set<string>();
  const writes = opts.mode === 'delete' ? 'none' : opts.mode;

  for (const planned of ordered) {
    const wasInventoried = inventoried.has(`${planned.kind}:${planned.id}`);
    const base = { id: planned.id, kind: planned.kind, wasInventoried, changes: [] as Change[] };
    // Deleting does not wait on dependencies: identities never depend on another resource's attributes.
    const blockedBy = opts.mode === 'delete' ? undefined : dependenciesOf(planned).find((d) => failed.has(d));
    if (blockedBy) {
      failed.add(planned.id);
      outcomes.set(planned.id, { ...base, action: 'blocked', message: `waiting for ${blockedBy}` });
      continue;
    }
    try {
      const r = reconciler(planned.kind);
      if (planned.external) {
        const found = await r.observeByIdentifier(ctx, planned.external.identifier);
        if (!found)
          throw new ExternalMissing(
            `${planned.kind} ${planned.external.identifier} (referenced by ${planned.id}) does not exist`,
          );
        attrs.set(planned.id, found.attrs);
        outcomes.set(planned.id, { ...base, action: 'external', identifier: found.identifier });
        continue;
      }
      const resolved = resolveProps(planned.props, attrs);
      if (resolved.missing && opts.mode !== 'delete') {
        failed.add(planned.id);
        outcomes.set(planned.id, { ...base, action: 'blocked', message: `waiting for ${resolved.missing}` });
        continue;
      }
      const desired = { id: planned.id, kind: planned.kind, props: resolved.value, tags: planned.tags } as Desired;
      let observed = await r.observe(ctx, desired as never);
      if (observed && !owns(observed.tags, planned.tags)) {
        if (!opts.adopt || opts.mode !== 'apply') {
          failed.add(planned.id);
          outcomes.set(planned.id, {
            ...base,
            action: 'conflict',
            identifier: observed.identifier,
            message: `${planned.kind} ${observed.identifier} already exists and is ${describeOwner(observed.tags)}; Slipway will not change it. Rename or remove it, or set the annotation slipway.dev/adopt: "true" to adopt it`,
          });
          continue;
        }
        await r.tag(ctx, observed as never, planned.tags);
        observed = { ...observed, tags: { ...observed.tags, ...planned.tags } };
      }
      if (!observed) {
        const mayCreate = writes === 'apply' || (writes === 'report' && !wasInventoried);
        if (!mayCreate) {
          if (opts.mode !== 'delete') failed.add(planned.id);
          outcomes.set(planned.id, { ...base, action: 'missing', message: 'deleted outside Slipway' });
          continue;
        }
        const created = await r.create(ctx, desired as never);
        attrs.set(planned.id, created.attrs);
        observedById.set(planned.id, { desired, observed: created });
        outcomes.set(planned.id, { ...base, action: 'created', identifier: created.identifier });
        continue;
      }
      observedById.set(planned.id, { desired, observed });
      attrs.set(planned.id, observed.attrs);
      const changes = opts.mode === 'delete' ? [] : r.diff(desired as never, observed as never);
      if (changes.length === 0) {
        outcomes.set(planned.id, { ...base, action: 'in-sync', identifier: observed.identifier });
      } else if (writes === 'apply') {
        const updated = await r.update(ctx, desired as never, observed as never, changes);
        attrs.set(planned.id, updated.attrs);
        outcomes.set(planned.id, { ...base, action: 'updated', identifier: updated.identifier, changes });
      } else {
        outcomes.set(planned.id, { ...base, action: 'drifted', identifier: observed.identifier, changes });
      }
    } catch (error) {
      failed.add(planned.id);
      outcomes.set(planned.id, {
        ...base,
        action: 'failed',
        error,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }

  // Inventory leftovers: resources we created earlier that are no longer in the plan (a CDN switched off).
  // When deleting, anything inventoried that the forward walk did not find by identity is looked up by identifier.
  const planned = new Set(
    plan.resources.filter((r) => opts.mode !== 'delete' || observedById.has(r.id)).map((r) => `${r.kind}:${r.id}`),
  );
  const leftovers = opts.inventory.filter((i) => !planned.has(`${i.kind}:${i.logicalId}`));
  const survivors: InventoryItem[] = [];

  if (opts.mode === 'delete') {
    for (const p of [...ordered].reverse()) {
      const o = observedById.get(p.id);
      if (!o || p.external) continue;
      try {
        await reconciler(p.kind).delete(ctx, o.observed as never);
        outcomes.set(p.id, { ...outcomes.get(p.id)!, action: 'deleted' });
      } catch (error) {
        survivors.push({ kind: p.kind, logicalId: p.id, identifier: o.observed.identifier });
        outcomes.set(p.id, {
          ...outcomes.get(p.id)!,
          action: 'failed',
          error,
          message: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
  for (const item of [...leftovers].reverse()) {
    const r = reconciler(item.kind);
    const base = {
      id: item.logicalId,
      kind: item.kind,
      wasInventoried: true,
      changes: [] as Change[],
      identifier: item.identifier,
    };
    try {
      const found = await r.observeByIdentifier(ctx, item.identifier);
      if (!found) continue;
      if (!owns(found.tags, ownerTagsOf(plan))) continue; // never delete what does not carry our tag value
      if (opts.mode === 'report') {
        survivors.push(item);
        outcomes.set(item.logicalId, {
          ...base,
          action: 'drifted',
          message: 'no longer in the plan; kept while drift is only reported',
        });
        continue;
      }
      await r.delete(ctx, found as never);
      outcomes.set(item.logicalId, { ...base, action: 'deleted' });
    } catch (error) {
      survivors.push(item);
      outcomes.set(item.logicalId, {
        ...base,
        action: 'failed',
        error,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }

  const inventory: InventoryItem[] = [];
  if (opts.mode !== 'delete') {
    for (const p of ordered) {
      const o = outcomes.get(p.id);
      if (!o?.identifier || p.external || o.action === 'conflict') continue;
      inventory.push({ kind: p.kind, logicalId: p.id, identifier: o.identifier });
    }
  }
  inventory.push(...survivors);
  return { outcomes: [...outcomes.values()], inventory, attrs: Object.fromEntries(attrs) };
}

export class ExternalMissing extends Error {}

function ownerTagsOf(plan: Plan): Record<string, string> {
  return { [TAG_CLUSTER]: plan.owner.clusterId, [TAG_OWNER]: ownerKey(plan.owner) };
}
