// The contract every AWS resource kind implements: observe, diff, create, update, delete. Small on purpose:
// the applier (applier.ts) owns ordering, ownership checks, modes and reporting; a reconciler only knows its API.
import type { AwsClients } from '../aws/clients.js';
import type { Outcome } from '../outcome/outcome.js';
import type { PropsByKind, ResourceKind, Resolved } from '../planner/plan.js';

/** A planned resource whose references are all resolved to strings. */
export interface Desired<K extends ResourceKind = ResourceKind> {
  readonly id: string;
  readonly kind: K;
  readonly props: Resolved<PropsByKind[K]>;
  readonly tags: Readonly<Record<string, string>>;
}

/** What exists in AWS, normalised to the shape of the desired props so that `diff` compares like with like. */
export interface Observed<K extends ResourceKind = ResourceKind> {
  /** The AWS identifier kept in the status inventory: an ARN where the kind has one, else its id or name. */
  readonly identifier: string;
  readonly props: Resolved<PropsByKind[K]>;
  readonly tags: Readonly<Record<string, string>>;
  /** Attributes other resources may reference (`arn`, `dnsName`, `id`, ...). */
  readonly attrs: Readonly<Record<string, string>>;
  /**
   * Other resources carrying this one's identity (the same owner and logical id), for kinds without a unique name:
   * a create whose response was lost and was sent again, by an earlier version or another tool. The applier keeps
   * one and deletes the rest (applier.ts settleDuplicates).
   */
  readonly duplicates?: readonly Observed<K>[];
}

/** One field that differs, addressed by path (`healthCheck.path`, `actions[0].type`); values rendered for humans. */
export interface Change {
  readonly path: string;
  readonly desired: string;
  readonly actual: string;
}

/** Per-pass context: clients for the Environment's account and region, and a memo so a pass reads things once. */
export interface ReconcileContext {
  readonly aws: AwsClients;
  /** Runs `load` once per key within one pass (a listener's rules, a zone's records), sharing the promise. */
  memo<T>(key: string, load: () => Promise<T>): Promise<T>;
  /** Drops a memoised read after a write that changed it. */
  invalidate(keyPrefix: string): void;
  /**
   * A bulk listing of one kind (every target group of the account and region, every ECS service of a cluster),
   * shared by the steady passes of a resync wave so that a wave reads each kind by pages rather than once per
   * resource. Undefined when this pass must read for itself: it applies a changed plan or deletes, or its owner
   * wrote after the listing began (the listing may not show that write). See withPassContext.
   */
  bulk<T>(key: string, load: () => Promise<T>): Promise<T | undefined>;
  /** Records that this pass's owner is writing: listings begun before now are stale for it. */
  wrote(): void;
}

export interface KindReconciler<K extends ResourceKind> {
  readonly kind: K;
  /** Finds the resource by its deterministic identity (name, or tags where names are not unique). */
  observe(ctx: ReconcileContext, desired: Desired<K>): Promise<Observed<K> | undefined>;
  /** Finds a resource by the identifier recorded in the inventory (for resources no longer in the plan). */
  observeByIdentifier(ctx: ReconcileContext, identifier: string): Promise<Observed<K> | undefined>;
  /** Pure: only the fields Slipway manages, normalised. Empty when in sync. */
  diff(desired: Desired<K>, observed: Observed<K>): Change[];
  create(ctx: ReconcileContext, desired: Desired<K>): Promise<Observed<K>>;
  update(
    ctx: ReconcileContext,
    desired: Desired<K>,
    observed: Observed<K>,
    changes: readonly Change[],
  ): Promise<Observed<K>>;
  delete(ctx: ReconcileContext, observed: Observed<K>): Promise<void>;
  /**
   * What makes two identifiers the same resource, where it is not the identifier itself: a task definition's
   * revisions are one resource (its family). Leftovers are matched against the plan by this.
   */
  identityOf?(identifier: string): string;
  /**
   * The outcome when `observe` finds the resource's identity held by something Slipway does not own for this
   * owner, where the kind can say more than "owned by someone else" (a host already routed by another rule).
   */
  conflict?(desired: Desired<K>, observed: Observed<K>): Outcome | undefined;
  /**
   * How the kind carries ownership and cost tags:
   * - 'tags': real AWS tags. The applier diffs them like any field (`tags.<key>`) and writes changes with setTags.
   * - 'derived': the kind has no tags of its own (Cognito app clients, users and domains, scalable targets, scaling
   *   policies, Route53 records). Its observed tags are derived from its parent or a companion record; they decide
   *   ownership but are never diffed.
   */
  readonly tagging: 'tags' | 'derived';
  /**
   * Writes tags: adds or overwrites `set`, removes the keys in `remove`. Called for tag drift and spec.tags changes
   * ('tags' kinds), and with the ownership tags when a resource is adopted (every kind: a 'derived' kind records
   * ownership its own way, or throws saying why it cannot be adopted).
   */
  setTags(
    ctx: ReconcileContext,
    observed: Observed<K>,
    set: Readonly<Record<string, string>>,
    remove: readonly string[],
  ): Promise<void>;
}

export type ReconcilerRegistry = { readonly [K in ResourceKind]: KindReconciler<K> };

/**
 * Reads that every pass against one account may share while passes overlap: a listener's rules (with their tags)
 * and a hosted zone's records. A resync wave reconciles every Service of an Environment back to back, and each
 * would otherwise read the whole listener and the whole zone again. The shared copy lives only while at least one
 * pass is running (and at most MAX_SHARED_AGE_MS), and any write through a pass drops it, so an idle operator
 * always starts from a fresh read and an out-of-band change is seen by the next wave.
 */
const SHAREABLE_PREFIXES = ['elbv2:rules:', 'route53:records:'];
const MAX_SHARED_AGE_MS = 10_000;

/**
 * How long a bulk listing serves a resync wave. A wave of 1,000 Services at 4 workers takes about a minute; a
 * change made out of band after the listing began is seen by the next wave, as a change made after a per-resource
 * read is.
 */
const MAX_LISTING_AGE_MS = 60_000;
/**
 * A wave's listings are dropped once no pass has run for this long. Not at once: between two passes a worker
 * writes status, and the wave's four workers can all be doing so at the same moment.
 */
const WAVE_GAP_MS = 2_000;

interface Shared {
  readonly at: number;
  readonly value: Promise<unknown>;
}

interface SharedReads {
  active: number;
  readonly entries: Map<string, Shared>;
  /** Bulk listings (ReconcileContext.bulk), with when each began. */
  readonly listings: Map<string, Shared>;
  /** When each owner last wrote (at a write's start and at its end). */
  readonly writes: Map<string, number>;
  /** Drops the listings once the wave is over (WAVE_GAP_MS without a pass). */
  endOfWave?: NodeJS.Timeout;
}

/** Who a pass works for, and whether it may use the wave's bulk listings. */
export interface PassScope {
  /** The owner's key (`Kind/namespace/name`): writes are tracked per owner. */
  readonly owner: string;
  /**
   * True for a pass that re-checks an applied plan (a resync). A pass that applies a changed plan or deletes reads
   * every resource for itself: it is about to write, and a listing can be a minute old.
   */
  readonly steady: boolean;
  /**
   * True when the pass has a crowd queued behind it (a resync wave), who will share the listings. A lone pass (a
   * nudge, a watch event) reads its own resources: fresh, and cheaper than a listing nobody shares.
   */
  readonly wave?: boolean;
}

const sharedReads = new WeakMap<AwsClients, SharedReads>();

/** Runs one pass with a context whose shareable reads are shared with the passes running beside it. */
export async function withPassContext<T>(
  aws: AwsClients,
  fn: (ctx: ReconcileContext) => Promise<T>,
  scope?: PassScope,
): Promise<T> {
  // Keyed by the shared clients, not the pass's signal-bound view, so passes running side by side share reads.
  let shared = sharedReads.get(aws.root);
  if (!shared) {
    shared = { active: 0, entries: new Map(), listings: new Map(), writes: new Map() };
    sharedReads.set(aws.root, shared);
  }
  shared.active++;
  clearTimeout(shared.endOfWave);
  try {
    return await fn(newContext(aws, shared, scope));
  } finally {
    if (--shared.active === 0) {
      const idle = shared;
      idle.entries.clear();
      idle.endOfWave = setTimeout(() => {
        idle.listings.clear();
        idle.writes.clear();
      }, WAVE_GAP_MS);
      idle.endOfWave.unref();
    }
  }
}

const isAbort = (err: unknown): boolean => err instanceof Error && err.name === 'AbortError';

/**
 * A read another pass started, through that pass's signal: if that pass was abandoned, this one reads for itself
 * rather than fail with someone else's deadline.
 */
function joined<T>(aws: AwsClients, value: Promise<unknown>, load: () => Promise<T>): Promise<T> {
  return (value as Promise<T>).catch((err: unknown) => {
    if (isAbort(err) && !aws.signal?.aborted) return load();
    throw err;
  });
}

/** Starts a shared read and forgets it if it fails, so the next pass tries again. */
function start<T>(map: Map<string, Shared>, key: string, load: () => Promise<T>): Shared {
  const entry = { at: Date.now(), value: load() };
  map.set(key, entry);
  entry.value.catch(() => {
    if (map.get(key) === entry) map.delete(key);
  });
  return entry;
}

export function newContext(aws: AwsClients, shared?: SharedReads, scope?: PassScope): ReconcileContext {
  const cache = new Map<string, Promise<unknown>>();
  const sharedValue = <T>(key: string, load: () => Promise<T>): Promise<T> | undefined => {
    if (!shared || !SHAREABLE_PREFIXES.some((p) => key.startsWith(p))) return undefined;
    const hit = shared.entries.get(key);
    if (hit && Date.now() - hit.at < MAX_SHARED_AGE_MS) return joined(aws, hit.value, load);
    return start(shared.entries, key, load).value as Promise<T>;
  };
  return {
    aws,
    memo<T>(key: string, load: () => Promise<T>): Promise<T> {
      let p = cache.get(key) as Promise<T> | undefined;
      if (!p) {
        p = sharedValue(key, load) ?? load();
        cache.set(key, p);
        p.catch(() => cache.delete(key));
      }
      return p;
    },
    invalidate(prefix: string): void {
      for (const key of cache.keys()) if (key.startsWith(prefix)) cache.delete(key);
      if (shared) for (const key of shared.entries.keys()) if (key.startsWith(prefix)) shared.entries.delete(key);
    },
    async bulk<T>(key: string, load: () => Promise<T>): Promise<T | undefined> {
      if (!shared || !scope?.steady || !scope.wave) return undefined;
      let hit = shared.listings.get(key);
      if (!hit || Date.now() - hit.at > MAX_LISTING_AGE_MS) hit = start(shared.listings, key, load);
      // A listing begun before this owner's last write may not show it (a target group it just created).
      if ((shared.writes.get(scope.owner) ?? -Infinity) >= hit.at) return undefined;
      return joined(aws, hit.value, load);
    },
    wrote(): void {
      if (shared && scope) shared.writes.set(scope.owner, Date.now());
    },
  };
}
