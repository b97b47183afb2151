// The contract every AWS resource kind implements: observe, diff, create, update, delete. Small on purpose:
// the applier (applier.ts) owns ordering, ownership checks, modes and reporting; a reconciler only knows its API.
import type { AwsClients } from '../aws/clients.js';
import type { Outcome } from '../outcome/outcome.js';
import type { PropsByKind, ResourceKind, Resolved } from '../planner/plan.js';
import type { OwnIdentity } from '../events/cloudtrail.js';
import { pooledStrings } from '../lib/string-pool.js';

/** The partition, region and account id that ARNs of one account and region begin with. */
export interface ArnBase {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
}

/** `arn:<partition>:<service>:<region>:<account>:...` → its base; undefined without an account (S3, Route53). */
export function arnBaseOf(arn: string): ArnBase | undefined {
  const m = /^arn:([^:]+):[^:]+:([^:]+):(\d{12}):/.exec(arn);
  return m ? { partition: m[1]!, region: m[2]!, accountId: m[3]! } : undefined;
}

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
  /**
   * Set where the kind took it, wholly or in part, to be as planned instead of reading it (takenAsPlanned: a wave's
   * member out of the resource's turn). Never the basis of a write: before one that would change, adopt or delete
   * anything by it, or report it drifted or in conflict, the applier observes the resource again, fresh.
   */
  readonly assumed?: true;
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
  /**
   * Where the pass's clients act, when the pass knows it from an ARN AWS answered (a workload's: its Environment's
   * ECS cluster): a create builds the ARN a response leaves out (CreateLogGroup's) instead of reading it back.
   */
  readonly account?: ArnBase;
  /**
   * Runs `load` once per key within one pass (a listener's rules, a zone's records), sharing the promise. `load`
   * reads through the context it is handed: the pass's own, or for a wave's shared entry one under the wave's
   * deadline.
   */
  memo<T>(key: string, load: (reads: ReconcileContext) => Promise<T>): Promise<T>;
  /** Drops a memoised read after a write that changed it. */
  invalidate(keyPrefix: string): void;
  /**
   * A bulk listing of one kind (every target group of the account and region, every ECS service of a cluster),
   * shared by the steady passes of a resync wave so that a wave reads each kind by pages rather than once per
   * resource. Undefined when this pass must read for itself: it is no member of a wave, it applies a changed plan or
   * deletes, or its owner wrote after the listing began (the listing may not show that write). See withPassContext.
   * `load` may build on another listing of the same wave through `listing.bulk` (the scalable targets of the ECS
   * services the wave listed).
   */
  bulk<T>(key: string, load: (listing: ReconcileContext) => Promise<T>): Promise<T | undefined>;
  /**
   * Whether this pass reads a resource's attributes that no listing serves (a target group's attributes, one call
   * each), or, with drift events on, a Service's scaling policies. True outside a wave, for an owner that wrote
   * during it, and for one with drift reported or not settled (PassScope.drifted, unsettled); in a wave with a
   * rotation (drift events on), true only for the resources whose turn it is (WaveReads.rotation).
   */
  readEach(identifier: string): boolean;
  /**
   * Whether this pass may take an immutable resource its inventory records (a task-definition revision, still its
   * family's newest) as it was registered, without describing it: a steady wave member whose owner has no drift
   * reported, is settled and has not written in the wave. Unlike readEach, also in a wave without a rotation (the
   * first of a process): what cannot change needs no backstop. Absent (contexts built by hand) means false.
   */
  trustsRecorded?(): boolean;
  /**
   * Whether this pass reads with a wave's rotation (drift events on): then what a listing of every resource would
   * serve in a wave without one (the scaling policies) is read per resource instead, and only where it is the
   * resource's turn (readEach), so the listing is not read for a 24th of it.
   */
  rotating(): boolean;
  /**
   * The event history this pass may read a resource's changes from instead of reading the resource (WaveHistory),
   * keyed by its identifier: set for a steady member of a wave with one whose owner it trusts (as readEach), when it
   * is not the resource's turn. Undefined means read it. Absent (contexts built by hand) means undefined.
   */
  historyFor?(identifier: string): WaveHistory | undefined;
  /**
   * Whether this wave reads a whole listing that serves every member (the cluster's tag scan, a zone's records, a
   * prefix's log groups), by the listing's key: true outside a wave and in a wave without a rotation; in a rotating
   * wave only in the listing's turn (WaveReads.turn), so each listing is read at least every ROTATION_SLOTS waves.
   * Unlike readEach it does not follow the owner: one with drift reported or that wrote reads its own resources
   * (listingRead), rather than start a whole listing for itself. Absent (contexts built by hand) means true.
   */
  listingTurn?(key: string): boolean;
  /**
   * A name-only listing of one kind (the ECS services of a cluster), shared by the passes of brand-new owners (their
   * inventory is empty and discovery found nothing), so that each need not read a resource it is about to create
   * only to learn it is not there. Undefined when this pass is no brand-new owner's, or the listing failed (the pass
   * then reads for itself). A listing answers only if it began after this process began leading, after this owner's
   * last write of `kind`, and at most `maxAgeMs` ago (NEW_OWNER_LISTING_MS unless the kind's create guards against a
   * name taken since, up to MAX_WAVE_MS); otherwise a new one is started. A name it holds is read per resource as
   * before (ownership needs the resource's tags).
   */
  existing<T>(
    key: string,
    kind: ResourceKind,
    load: (listing: ReconcileContext) => Promise<T>,
    maxAgeMs?: number,
  ): Promise<T | undefined>;
  /** Records that this pass's owner is writing (a resource of `kind`): listings begun before now are stale for it. */
  wrote(kind?: ResourceKind): void;
  /**
   * True in a brand-new owner's pass (PassScope.newOwner, known once discovery has run): its inventory is empty and
   * discovery by its tags found nothing, so it has nothing in AWS that its plan's identities and references do not
   * lead to. A kind that otherwise widens its search for what may be its own (a listener rule someone moved off both
   * its route and its target group) need not then. Absent (contexts built by hand) means false.
   */
  newOwner?(): boolean;
  /**
   * True for a steady member pass of a resync wave that reads from the wave's snapshot (PassScope.wave). Each member
   * asks the snapshot's shared reads for its own part of them (its listener rule's tags), so a read that can serve
   * all members in fewer calls than one per member (a listener's rules' tags, 20 a call) is made whole on first need
   * instead. Absent (contexts built by hand) means false.
   */
  waveMember?(): boolean;
}

export interface KindReconciler<K extends ResourceKind> {
  readonly kind: K;
  /**
   * Finds the resource by its deterministic identity (name, or tags where names are not unique). `recorded` is the
   * identifier the owner's inventory records for it, if any: a kind that takes a resource as planned in a wave whose
   * turn it is not (takenAsPlanned) reports it under that identifier, which it cannot build (a scaling policy's ARN),
   * and marks it (Observed.assumed).
   */
  observe(ctx: ReconcileContext, desired: Desired<K>, recorded?: string): Promise<Observed<K> | undefined>;
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
   * The kind whose resource this one's identity and ownership follow (a scalable target and its policies follow
   * their ECS service). When this pass created that resource (with a known outcome) and everything between them,
   * the create here is an upsert keyed by it: whatever a read could find under the identity is already this owner's
   * and would be overwritten by the same call, so the applier creates without observing first.
   */
  readonly ownershipFollows?: ResourceKind;
  /**
   * Set for a kind whose create refuses an identity that exists and then changes nothing (CreateLogGroup's
   * ResourceAlreadyExistsException): says whether an error is that refusal. For a resource the inventory does not
   * name, the applier then creates first and observes only on the refusal, settling ownership as after any observe
   * (the found resource, or the conflict).
   */
  refusesExisting?(err: unknown): boolean;
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
 * Reads that passes against one account may share while they overlap: a listener's rules (with the tags of its rules
 * that any of them read, listener-rule.ts rulesOf) and a hosted zone's records. Outside a resync wave (a nudge, a
 * watch event, a spec change) the shared copy lives only while at least one pass is running, and at most
 * MAX_SHARED_AGE_MS; any write through a pass drops it, so an idle operator always starts from a fresh read. A
 * wave's steady passes share them for the whole wave (WaveReads).
 */
const SHAREABLE_PREFIXES = ['elbv2:rules:', 'route53:records:'];
const MAX_SHARED_AGE_MS = 10_000;

/**
 * The longest a resync wave may last (controllers/waves.ts bounds its deadline by it): what a wave's snapshot reads
 * can be trusted for at most, and so how long an owner's writes are remembered against it.
 */
export const MAX_WAVE_MS = 15 * 60_000;

/**
 * How long a brand-new owner's listing (ReconcileContext.existing) answers. A listing says a name is free when it
 * began; a create that follows relies on AWS refusing the name if someone took it since, and the bound keeps that
 * window, and a listing's growing staleness during a burst (new workloads keep creating), short: at 45 s a burst of
 * new workloads at RegisterTaskDefinition's 1 a second shares each listing among about 45 of them, and a listing of
 * 2,000 ECS services is 20 pages.
 */
export const NEW_OWNER_LISTING_MS = 45_000;

/**
 * The sequence number (Shared.seq) at which this process last began leading: a listing begun before may miss a
 * previous leader's last writes.
 */
let leadingSeq = 0;

/** Says that this process has just begun leading (operator.ts, before the controllers start). */
export function beganLeading(): void {
  leadingSeq = ++sequence;
}

/** How many remembered writes prompt a sweep of those older than MAX_WAVE_MS. */
const PRUNE_AT = 4_096;

interface Shared {
  readonly at: number;
  /** Orders it against the drops (SharedReads.dropped) where both fall in one millisecond. */
  readonly seq: number;
  readonly value: Promise<unknown>;
  /** Set when the read failed: a brand-new owners' listing that failed is tried again sooner than one that answered. */
  failed?: boolean;
}

let sequence = 0;

interface SharedReads {
  active: number;
  readonly entries: Map<string, Shared>;
  /** When each owner last wrote (at a write's start and at its end). */
  readonly writes: Map<string, number>;
  /** Each shareable read last dropped by a write (its sequence number): a wave's copy from before is stale. */
  readonly dropped: Map<string, number>;
  /**
   * When each owner last wrote each kind: what a brand-new owner's listing must have begun after. By owner, then by
   * kind, so that a burst of 2,000 owners does not keep 20,000 keys of their own; swept with the owner's `writes`.
   */
  readonly kindWrites: Map<string, Map<ResourceKind, number>>;
  /** The brand-new owners' listings (ReconcileContext.existing), by key. */
  readonly existing: Map<string, Shared>;
  /** When sweepIdleWrites last ran. */
  sweptAt: number;
}

/** Which of `of` slots a rotating wave reads (WaveReads.rotation; controllers/waves.ts rotationOf). */
export interface WaveRotation {
  readonly slot: number;
  readonly of: number;
}

/**
 * A wave without drift events whose process opened an earlier one for the Environment: it reads what changed out of
 * band from CloudTrail's event history (aws/event-history.ts) instead of reading each resource that no listing
 * serves (a target group's attributes). A resource is still read in its turn (`slot` of `of`), the backstop for a
 * call CloudTrail lists later than the look back, and wherever the history cannot be read.
 */
export interface WaveHistory extends WaveRotation {
  /** Calls made at or after this time (ms) are looked up: the members' earliest last check, less HISTORY_OVERLAP_MS. */
  readonly since: number;
  /** The operator's own calls, which are no change out of band. */
  readonly own: OwnIdentity;
}

/**
 * The snapshot of one resync wave (controllers/waves.ts): the bulk listings its members' steady passes read each kind
 * from, started lazily by the first member that needs one, and the listener rules and zone records they share. It
 * lives as long as the wave, not a fixed age: the wave's deadline bounds it.
 */
export class WaveReads {
  /** When the wave opened: an owner that wrote after it reads for itself. */
  readonly at: number;
  /**
   * Set when the wave reads per-resource attributes that no listing serves only for a rotating slice of the
   * resources (a target group's attributes, a Service's scaling policies, whose change a drift event reports): those
   * whose rotationSlotOf(id, of) is `slot`. Unset: it reads them all.
   */
  readonly rotation: WaveRotation | undefined;
  /** Set for a wave without a rotation that may read changes from CloudTrail's event history (WaveHistory). */
  readonly history: WaveHistory | undefined;
  /** @internal */ readonly listings = new Map<string, Shared>();
  /** @internal */ readonly entries = new Map<string, Shared>();
  /** @internal The account the first pass used it with: a pass against another account ignores it. */
  account: object | undefined;
  /**
   * The wave's deadline. Its listings run under it, not under the pass that happens to start one: a member abandoned
   * at its own deadline must neither cancel a listing the others wait on nor have each of them start it again (a
   * tag scan of 1,000 Services' resources can outlast one pass).
   */
  readonly signal: AbortSignal | undefined;

  constructor(at: number, rotation?: WaveRotation, signal?: AbortSignal, history?: WaveHistory) {
    this.at = at;
    this.rotation = rotation;
    this.signal = signal;
    this.history = rotation ? undefined : history;
  }

  /** Whether the wave reads what is keyed `key` (a resource, or a whole listing): always without a rotation. */
  turn(key: string): boolean {
    return !this.rotation || inTurn(key, this.rotation);
  }
}

/**
 * How a pass reads what a whole listing (keyed `key`) would serve it: 'listing' from the listing (a wave's member,
 * when it is the listing's turn; a pass outside a wave reads its own as before); 'planned', taken to be as planned
 * under the identifiers the owner's inventory records, where the listing's turn it is not and the owner is steady,
 * has no drift reported and has not written in the wave; 'own', by its own per-resource reads, for such an owner
 * that has drift reported or wrote. A resource without a recorded identifier is read whatever this says.
 */
export function listingRead(ctx: ReconcileContext, key: string): 'listing' | 'planned' | 'own' {
  if (ctx.listingTurn?.(key) ?? true) return 'listing';
  return ctx.readEach(key) ? 'own' : 'planned';
}

/**
 * What a resource's reads take turns by, for takenAsPlanned: `each`, a per-resource read keyed by its own turn
 * (ctx.readEach); `listing`, a whole listing that serves it (listingRead); `immutable`, no turn at all: what cannot
 * change needs no backstop (ctx.trustsRecorded).
 */
export type PlannedTurn = { readonly each: string } | { readonly listing: string } | 'immutable';

/**
 * Whether a pass may take a resource to be as planned instead of reading it. The one rule for every kind: the owner's
 * inventory records it (`recorded` equals `identity`, the identifier the pass found or would find; a kind that cannot
 * build that identifier passes its own check of what the record names), the pass trusts its record (a steady wave
 * member whose owner is settled, has no drift reported and has not written in the wave), and it is not the turn of
 * the read that would see it (`turn`). What a kind takes as planned it marks (Observed.assumed): the applier reads it
 * fresh before it is the basis of a write.
 */
export function takenAsPlanned(
  ctx: ReconcileContext,
  recorded: string | undefined,
  identity: string | ((recorded: string) => boolean),
  turn: PlannedTurn,
): recorded is string {
  if (recorded === undefined || !(typeof identity === 'string' ? recorded === identity : identity(recorded)))
    return false;
  if (turn === 'immutable') return ctx.trustsRecorded?.() ?? false;
  if ('listing' in turn) return listingRead(ctx, turn.listing) === 'planned';
  return !ctx.readEach(turn.each);
}

/** Whether it is the turn of what is keyed `key` (a resource, or a whole listing) in the rotation's slot. */
function inTurn(key: string, rotation: WaveRotation): boolean {
  return rotationSlotOf(key, rotation.of) === rotation.slot;
}

/** Which of `of` slots an identifier's rotating read falls in: deterministic (FNV-1a of the identifier). */
export function rotationSlotOf(identifier: string, of: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < identifier.length; i++) {
    h ^= identifier.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % of;
}

/** Who a pass works for, and whether it may use a wave's snapshot. */
export interface PassScope {
  /** The owner's key (`Kind/namespace/name`): writes are tracked per owner. */
  readonly owner: string;
  /**
   * True for a pass that re-checks an applied plan (a resync). A pass that applies a changed plan or deletes reads
   * every resource for itself: it is about to write, and a snapshot can be minutes old.
   */
  readonly steady: boolean;
  /**
   * The snapshot of the resync wave this pass is a member of (controllers/waves.ts). Without one (a nudge, a watch
   * event, a drift event) the pass reads its own resources: fresh, and cheaper than a listing nobody shares.
   */
  readonly wave?: WaveReads;
  /** The account and region of the pass's clients, when known (ReconcileContext.account). */
  readonly account?: ArnBase;
  /**
   * The owner is brand new: its inventory is empty and discovery by its tags found nothing (set by runPass once
   * discovery has run). Its pass may learn that a name is free from a shared listing (ReconcileContext.existing).
   */
  newOwner?: boolean;
  /**
   * The owner has drift reported (its status lists drifted fields): its pass reads every resource's own attributes
   * whatever the wave's rotation (ReconcileContext.readEach). A resource left unread is taken to be as planned, and
   * under driftPolicy Report that would clear the reported drift until the resource's turn, then report it anew.
   */
  readonly drifted?: boolean;
  /**
   * The owner is not settled: not Ready at its current generation, or (a workload) its ECS service rolling out or
   * running fewer tasks than it wants. Like `drifted`, its pass reads every resource whatever the wave's rotation:
   * what a wave takes as planned between turns is only what a settled owner's last pass saw.
   */
  readonly unsettled?: boolean;
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
    shared = {
      active: 0,
      entries: new Map(),
      writes: new Map(),
      dropped: new Map(),
      kindWrites: new Map(),
      existing: new Map(),
      sweptAt: Date.now(),
    };
    sharedReads.set(aws.root, shared);
  }
  sweepIdleWrites(shared, Date.now());
  shared.active++;
  try {
    return await fn(newContext(aws, shared, scope));
  } finally {
    if (--shared.active === 0) shared.entries.clear();
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

/**
 * Waits for work the caller does not own until the caller's signal aborts: a shared read a pass joined, or (in
 * controllers/reconcile.ts) a pass the runtime stops waiting for at its deadline. The work itself goes on.
 */
export function untilAborted<T>(value: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return value;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    value.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (err: unknown) => (signal.removeEventListener('abort', onAbort), reject(err as Error)),
    );
  });
}

/** Starts a shared read and forgets it if it fails, so the next pass tries again. */
function start<T>(map: Map<string, Shared>, key: string, load: () => Promise<T>): Shared {
  const entry = { at: Date.now(), seq: ++sequence, value: load() };
  map.set(key, entry);
  entry.value.catch(() => {
    if (map.get(key) === entry) map.delete(key);
  });
  return entry;
}

/** Records when an owner wrote (a resource of `kind`), sweeping out writes older than a wave can be once grown. */
function rememberWrite(shared: SharedReads, owner: string, kind: ResourceKind | undefined, at: number): void {
  // Never earlier than before (a wall clock stepped back): the owner's kinds are swept with this time.
  shared.writes.set(owner, Math.max(shared.writes.get(owner) ?? at, at));
  if (kind) {
    let kinds = shared.kindWrites.get(owner);
    if (!kinds) shared.kindWrites.set(owner, (kinds = new Map()));
    kinds.set(kind, at);
  }
  if (shared.writes.size >= PRUNE_AT) sweepWrites(shared, at);
}

/** An owner's kinds were written no later than the owner last wrote: they go with it. */
function sweepWrites(shared: SharedReads, now: number): void {
  for (const [owner, t] of shared.writes) {
    if (now - t <= MAX_WAVE_MS) continue;
    shared.writes.delete(owner);
    shared.kindWrites.delete(owner);
  }
}

/**
 * Sweeps the writes older than MAX_WAVE_MS at most once a minute as passes begin: at rest no write comes to sweep
 * them, and a converged burst of 2,000 owners leaves each owner's and each of its kinds'.
 */
function sweepIdleWrites(shared: SharedReads, now: number): void {
  if (now - shared.sweptAt < 60_000) return;
  shared.sweptAt = now;
  sweepWrites(shared, now);
}

/**
 * A pass's context. `listingOf`: the context a wave's listing is loaded through (bulk), which reaches the wave's other
 * listings (its bulk) and nothing else of the wave; it is no owner's, so no write makes a listing stale for it.
 */
export function newContext(
  aws: AwsClients,
  shared?: SharedReads,
  scope?: PassScope,
  listingOf?: WaveReads,
): ReconcileContext {
  const cache = new Map<string, Promise<unknown>>();
  const wroteAt = (): number => (scope && shared?.writes.get(scope.owner)) ?? -Infinity;
  /** The wave's snapshot, for a steady member pass against the wave's account (or a listing of the wave). */
  const wave = (): WaveReads | undefined => {
    if (listingOf) return listingOf;
    const w = scope?.steady ? scope.wave : undefined;
    if (!w || !shared) return undefined;
    w.account ??= aws.root;
    return w.account === aws.root ? w : undefined;
  };
  /** The owner may be taken at its record: no drift reported, settled, and no write since the wave opened. */
  const trusting = (snapshot: WaveReads): boolean => !scope?.drifted && !scope?.unsettled && wroteAt() < snapshot.at;
  const droppedSince = (key: string, seq: number): boolean => {
    for (const [prefix, dropped] of shared?.dropped ?? []) if (dropped > seq && key.startsWith(prefix)) return true;
    return false;
  };
  const sharedValue = <T>(key: string, load: (reads: ReconcileContext) => Promise<T>): Promise<T> | undefined => {
    if (!shared || !SHAREABLE_PREFIXES.some((p) => key.startsWith(p))) return undefined;
    const own = () => load(ctx);
    const snapshot = wave();
    if (snapshot) {
      // Shared for the whole wave, unless a write (by any pass in this process) changed it since it was read. Read
      // under the wave's deadline like its listings (bulk): the pass that happens to start it may be abandoned.
      let hit = snapshot.entries.get(key);
      if (!hit || droppedSince(key, hit.seq)) {
        const reads = snapshot.signal ? aws.root.withSignal(snapshot.signal) : aws;
        hit = start(snapshot.entries, key, () => load(newContext(reads)));
      }
      return untilAborted(joined(aws, hit.value, own), aws.signal);
    }
    const hit = shared.entries.get(key);
    if (hit && Date.now() - hit.at < MAX_SHARED_AGE_MS) return joined(aws, hit.value, own);
    return start(shared.entries, key, own).value as Promise<T>;
  };
  const ctx: ReconcileContext = {
    aws,
    ...(scope?.account ? { account: scope.account } : {}),
    memo<T>(key: string, load: (reads: ReconcileContext) => Promise<T>): Promise<T> {
      let p = cache.get(key) as Promise<T> | undefined;
      if (!p) {
        p = sharedValue(key, load) ?? load(ctx);
        cache.set(key, p);
        p.catch(() => cache.delete(key));
      }
      return p;
    },
    invalidate(prefix: string): void {
      for (const key of cache.keys()) if (key.startsWith(prefix)) cache.delete(key);
      if (!shared) return;
      for (const key of shared.entries.keys()) if (key.startsWith(prefix)) shared.entries.delete(key);
      // Only listeners' rules and zones' records: one key per listener or zone, so the map stays small.
      if (SHAREABLE_PREFIXES.some((p) => prefix.startsWith(p))) shared.dropped.set(prefix, ++sequence);
    },
    async bulk<T>(key: string, load: (listing: ReconcileContext) => Promise<T>): Promise<T | undefined> {
      const snapshot = wave();
      if (!snapshot) return undefined;
      const listingAws = snapshot.signal ? aws.root.withSignal(snapshot.signal) : aws;
      // Kept for the wave even when it fails: the listing is a shortcut, and its members then read their own
      // resources rather than each start it again (the next wave tries it afresh).
      let hit = snapshot.listings.get(key);
      if (!hit) {
        // Its time is taken before it starts: a write during its first, synchronous steps is after it began.
        const at = Date.now();
        // Kept for the whole wave: its strings pooled, as a listing repeats them (a VPC id, a load balancer's ARN).
        const value = load(newContext(listingAws, undefined, undefined, snapshot)).then(pooledStrings);
        hit = { at, seq: ++sequence, value };
        hit.value.catch(() => undefined);
        snapshot.listings.set(key, hit);
      }
      // A listing begun before this owner's last write may not show it (a target group it just created).
      if (wroteAt() >= hit.at) return undefined;
      try {
        return await untilAborted(hit.value as Promise<T>, aws.signal);
      } catch (err) {
        // This pass's own deadline ends it; anything else that ended the listing (the wave running out, an error,
        // a listing that did not advance) leaves this pass to read its own resources, as outside a wave.
        if (aws.signal?.aborted) throw err;
        return undefined;
      }
    },
    readEach(identifier: string): boolean {
      const snapshot = wave();
      if (!snapshot?.rotation || !trusting(snapshot)) return true;
      return snapshot.turn(identifier);
    },
    trustsRecorded(): boolean {
      const snapshot = wave();
      return !!snapshot && trusting(snapshot);
    },
    listingTurn(key: string): boolean {
      return wave()?.turn(key) ?? true;
    },
    rotating(): boolean {
      return wave()?.rotation !== undefined;
    },
    historyFor(identifier: string): WaveHistory | undefined {
      const snapshot = wave();
      const history = snapshot?.history;
      if (!history || !trusting(snapshot)) return undefined;
      return inTurn(identifier, history) ? undefined : history;
    },
    async existing<T>(
      key: string,
      kind: ResourceKind,
      load: (listing: ReconcileContext) => Promise<T>,
      maxAgeMs = NEW_OWNER_LISTING_MS,
    ): Promise<T | undefined> {
      if (!shared || !scope?.newOwner) return undefined;
      const now = Date.now();
      const wroteAt = shared.kindWrites.get(scope.owner)?.get(kind) ?? -Infinity;
      // No older than MAX_WAVE_MS: writes older than that may be swept from kindWrites (sweepWrites).
      const maxAge = Math.min(maxAgeMs, MAX_WAVE_MS);
      let hit = shared.existing.get(key);
      // A failed listing expires after NEW_OWNER_LISTING_MS whatever maxAgeMs the kind allows an answer.
      const age = hit?.failed ? Math.min(maxAge, NEW_OWNER_LISTING_MS) : maxAge;
      if (!hit || hit.seq <= leadingSeq || hit.at <= wroteAt || now - hit.at > age) {
        // Bound by its own deadline, not the pass's that starts it: other passes wait on it too.
        const listing = aws.root.withSignal(AbortSignal.timeout(NEW_OWNER_LISTING_MS));
        // Kept when it fails, as a wave's listing is: the passes behind it read for themselves until it expires,
        // rather than each wait on a new one that may fail the same way.
        const started: Shared = { at: now, seq: ++sequence, value: load(newContext(listing)) };
        started.value.catch(() => (started.failed = true));
        shared.existing.set(key, (hit = started));
      }
      try {
        return await untilAborted(hit.value as Promise<T>, aws.signal);
      } catch (err) {
        if (aws.signal?.aborted) throw err;
        return undefined; // a failed listing: this pass reads for itself
      }
    },
    wrote(kind?: ResourceKind): void {
      if (!shared || !scope) return;
      const now = Date.now();
      rememberWrite(shared, scope.owner, kind, now);
    },
    newOwner: () => scope?.newOwner === true,
    waveMember: () => wave() !== undefined,
  };
  return ctx;
}
