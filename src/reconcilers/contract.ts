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

interface SharedReads {
  active: number;
  readonly entries: Map<string, { readonly at: number; readonly value: Promise<unknown> }>;
}

const sharedReads = new WeakMap<AwsClients, SharedReads>();

/** Runs one pass with a context whose shareable reads are shared with the passes running beside it. */
export async function withPassContext<T>(aws: AwsClients, fn: (ctx: ReconcileContext) => Promise<T>): Promise<T> {
  // Keyed by the shared clients, not the pass's signal-bound view, so passes running side by side share reads.
  let shared = sharedReads.get(aws.root);
  if (!shared) sharedReads.set(aws.root, (shared = { active: 0, entries: new Map() }));
  shared.active++;
  try {
    return await fn(newContext(aws, shared));
  } finally {
    if (--shared.active === 0) shared.entries.clear();
  }
}

const isAbort = (err: unknown): boolean => err instanceof Error && err.name === 'AbortError';

export function newContext(aws: AwsClients, shared?: SharedReads): ReconcileContext {
  const cache = new Map<string, Promise<unknown>>();
  const sharedValue = <T>(key: string, load: () => Promise<T>): Promise<T> | undefined => {
    if (!shared || !SHAREABLE_PREFIXES.some((p) => key.startsWith(p))) return undefined;
    const hit = shared.entries.get(key);
    if (hit && Date.now() - hit.at < MAX_SHARED_AGE_MS) {
      // The read was started by another pass, through that pass's signal: if that pass was abandoned, this one
      // reads for itself rather than fail with someone else's deadline.
      return (hit.value as Promise<T>).catch((err: unknown) => {
        if (isAbort(err) && !aws.signal?.aborted) return load();
        throw err;
      });
    }
    const value = load();
    shared.entries.set(key, { at: Date.now(), value });
    value.catch(() => shared.entries.delete(key));
    return value;
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
  };
}
