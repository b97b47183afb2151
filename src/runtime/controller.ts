// The controller loop: informer events become keys, N workers take keys off the queue and call reconcile, and the
// outcome decides what happens to the key next. This is the one place retry policy lives:
//   success                → forget the failure count, come back after the key's resync period (jittered)
//   { requeueAfterMs }     → forget, come back after exactly that long (instead of the resync, for that round)
//   thrown error           → come back after the key's exponential backoff
//   thrown TerminalError   → no retry (a user must fix something); only the periodic resync remains
//   { requeue: false }     → nothing: the object is gone
//
// The one resync. Every key comes back periodically even when nothing told us it changed, because the cache is
// not the world: a watch can miss or coalesce events (a 410 re-list, a restart, a bug in a filter), and AWS sends
// no events at all, so drift, a deleted load balancer or a rollout finishing is only noticed by looking again.
// This periodic requeue is the only resync in the runtime: informers deliver changes and never replay their cache
// on a timer, and controllers do not return `requeueAfterMs: <their resync interval>` (that would be a second,
// unjittered resync); they return `resyncAfterMs` instead.
//   period  the Result's `resyncAfterMs` (e.g. an Environment's spec.resyncInterval), else the controller's
//           `periodicRequeueMs`. A period ≤ 0 means no resync. The key's last reported period is remembered, so a
//           key that then fails terminally is still resynced at its own pace; `requeue: false` forgets it.
//   jitter  ±10 % (the controller's injected `random`, so tests can pin it), so the keys of one Environment,
//           or the replicas of a busy controller, do not all hit AWS in the same second after a restart.
// Each reconcile schedules the next resync: a success replaces the key's timed requeue (the next look counts from
// this one), a terminal error keeps the earlier of the two. A key has at most one resync pending, and however often
// events reconcile it in between, it is looked at again within a period of its last look.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type Clock, jitter, systemClock, type TimerHandle } from './clock.js';
import type { InformerHandlers } from './informer.js';
import { type KubeObject, type ResourceType, apiVersionOf, isConflict, keyOf } from './kube.js';
import { type ReconcileResult, type RuntimeMetrics, runtimeMetrics } from './metrics.js';
import { WorkQueue, type WorkQueueOptions } from './workqueue.js';

/**
 * An error that retrying cannot fix (a bad reference, a quota, a name someone else holds). The controller logs it
 * and does not back off and retry; the controller layer is expected to have written a condition saying why.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
  /** Lets isTerminalError recognise instances from another copy of this module. */
  readonly terminal = true;
  /** A CamelCase reason for conditions and events, e.g. 'InvalidReference'. */
  readonly reason: string;

  constructor(message: string, options: { readonly reason?: string; readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = options.reason ?? 'Terminal';
  }
}

export function isTerminalError(err: unknown): err is TerminalError {
  return err instanceof TerminalError || (err instanceof Error && (err as { terminal?: unknown }).terminal === true);
}

export interface Result {
  /**
   * Come back after exactly this long (a rollout poll, a CloudFront distribution disabling), instead of the
   * periodic resync for this round. Not jittered. Not for the resync interval itself: use `resyncAfterMs`.
   */
  readonly requeueAfterMs?: number;
  /**
   * The period for this key's next periodic resync (for example an Environment's spec.resyncInterval); default:
   * the controller's periodicRequeueMs. Jittered ±10 % by the controller. Remembered for the key, so a terminal
   * error later resyncs it at the same pace. ≤ 0: no periodic resync for this key.
   */
  readonly resyncAfterMs?: number;
  /**
   * false: no periodic resync either — the object is gone and there is nothing left to watch. The key's remembered
   * resync period is forgotten with it.
   */
  readonly requeue?: boolean;
}

export interface ReconcileContext {
  readonly controller: string;
  readonly reconcileId: string;
  /** Carries `controller`, `key` and `reconcileId` on every line. */
  readonly log: Logger;
  /** Aborted when the controller is stopping; pass it to long calls so shutdown is prompt. */
  readonly signal: AbortSignal;
}

export type Reconciler = ((key: string, ctx: ReconcileContext) => Promise<Result>) & {
  /**
   * Resolves once no work a reconcile handed back early can still write: a pass abandoned at a deadline or at
   * stop() goes on until its own bounded writes (the status that says why) are done. stop() waits for it.
   */
  readonly settled?: () => Promise<void>;
};

/** Maps an object to the keys to reconcile: itself for the primary kind, its owners for secondary kinds. */
export type KeyMapper<T> = (obj: T) => readonly string[] | string | undefined;

/** What a controller needs from an informer (Informer implements it). */
export interface EventSource<T> {
  addHandlers(handlers: InformerHandlers<T>): void;
  list(): T[];
}

/** An EventSource with field indexes (Informer implements it): what `indexedKeys` reads. */
export interface IndexedEventSource<T> extends EventSource<T> {
  /** The cached objects filed under `value` in the index `name`; throws for an unknown index. */
  byIndex(name: string, value: string): T[];
}

export interface WatchOptions<T> {
  /** Default: the object's own key. */
  readonly map?: KeyMapper<T>;
  /** Return false to ignore an update. Default: every update counts. */
  readonly updateFilter?: (oldObj: T, newObj: T) => boolean;
  /**
   * Events from this source queue their key this long after the first of them, not at once: the events of a burst
   * (a hundred Services created and placed one after another, each waking their Environment) arriving meanwhile
   * fold into that one reconcile instead of one per worker turn. Bounded: a key is queued at most this late.
   */
  readonly gatherMs?: number;
}

export interface ControllerOptions {
  readonly name: string;
  readonly reconcile: Reconciler;
  readonly logger: Logger;
  /** Metrics go here; omit to record none. */
  readonly registry?: Registry;
  /** Concurrent reconciles (each on a different key). Default 2. */
  readonly workers?: number;
  /**
   * The default resync period: every key is reconciled again this long (±10 %) after a success or a terminal
   * error, unless its Result gave its own `resyncAfterMs`. See "the one resync" above. Default 10 minutes;
   * 0 disables the default (a key's own `resyncAfterMs` still applies).
   */
  readonly periodicRequeueMs?: number;
  readonly queue?: Omit<WorkQueueOptions, 'clock'>;
  readonly clock?: Clock;
  readonly random?: () => number;
}

export class Controller {
  readonly name: string;
  private readonly options: ControllerOptions;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly metrics: RuntimeMetrics | undefined;
  private readonly periodicRequeueMs: number;
  /** The resync period each key last reported in `resyncAfterMs`, for resyncing it after a terminal error. */
  private readonly resyncPeriods = new Map<string, number>();
  private workQueue: WorkQueue;
  private workers: Promise<void>[] = [];
  /** One per watched informer: enqueues everything it has cached. */
  private readonly sources: (() => void)[] = [];
  /** Keys a gathering watch will queue when their timer fires (WatchOptions.gatherMs). */
  private readonly gathering = new Map<string, TimerHandle>();
  private stopping: AbortController = new AbortController();

  constructor(options: ControllerOptions) {
    this.options = options;
    this.name = options.name;
    this.log = options.logger.child({ controller: options.name });
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.periodicRequeueMs = options.periodicRequeueMs ?? 10 * 60_000;
    this.workQueue = this.newQueue();
    this.metrics = options.registry ? runtimeMetrics(options.registry) : undefined;
    this.metrics?.registerQueue(
      this.name,
      () => this.workQueue.length,
      () => this.workQueue.longestProcessingMs(),
    );
  }

  get queue(): WorkQueue {
    return this.workQueue;
  }

  /** Keys a gathering watch has yet to queue (WatchOptions.gatherMs): events seen, reconcile still to come. */
  get gatheringLength(): number {
    return this.gathering.size;
  }

  get isRunning(): boolean {
    return this.workers.length > 0;
  }

  enqueue(key: string): void {
    this.workQueue.add(key);
  }

  /** Queues a key behind every other: a resync wave's member (WorkQueue.addBackground). */
  enqueueBackground(key: string): void {
    this.workQueue.addBackground(key);
  }

  enqueueAfter(key: string, ms: number): void {
    this.workQueue.addAfter(key, ms);
  }

  /**
   * Turns an informer's events into keys. For the primary kind omit `map`; for a secondary kind map to the owner,
   * e.g. `{ map: ownerKeys(environmentType) }`. On update both the old and the new object are mapped, so moving an
   * object to another owner wakes both.
   */
  watch<T extends KubeObject>(informer: EventSource<T>, options: WatchOptions<T> = {}): this {
    const map: KeyMapper<T> = options.map ?? ((obj) => keyOf(obj));
    const keysOf = (obj: T): string[] => {
      const keys = map(obj);
      if (keys === undefined) return [];
      return (typeof keys === 'string' ? [keys] : [...keys]).filter((key) => key !== '');
    };
    const enqueue = (key: string): void =>
      options.gatherMs ? this.enqueueGathered(key, options.gatherMs) : this.enqueue(key);
    const enqueueAll = (obj: T): void => {
      for (const key of keysOf(obj)) enqueue(key);
    };
    this.sources.push(() => {
      for (const obj of informer.list()) enqueueAll(obj);
    });
    informer.addHandlers({
      onAdd: enqueueAll,
      onUpdate: (oldObj, newObj) => {
        if (options.updateFilter && !options.updateFilter(oldObj, newObj)) return;
        // Old and new usually give the same key: add it once, or an idle worker takes the first add at once
        // and the second marks the key dirty, which reconciles it twice.
        const keys = new Set([...keysOf(oldObj), ...keysOf(newObj)]);
        for (const key of keys) enqueue(key);
      },
      onDelete: enqueueAll,
    });
    return this;
  }

  /** Queues the key `ms` from now unless a gathered add of it is already pending (WatchOptions.gatherMs). */
  private enqueueGathered(key: string, ms: number): void {
    if (this.gathering.has(key)) return;
    const timer = this.clock.setTimeout(() => {
      this.gathering.delete(key);
      this.enqueue(key);
    }, ms);
    this.gathering.set(key, timer);
  }

  /** Drops the pending gathered adds: a restart queues every cached object anyway. */
  private stopGathering(): void {
    for (const timer of this.gathering.values()) this.clock.clearTimeout(timer);
    this.gathering.clear();
  }

  /** Starts the workers. After stop() it can be started again with a fresh queue (e.g. on regaining leadership). */
  start(): void {
    if (this.workers.length > 0) return;
    if (this.workQueue.isShuttingDown) {
      // Events that arrived while stopped were dropped with the old queue: start from everything cached.
      this.workQueue = this.newQueue();
      for (const enqueueCached of this.sources) enqueueCached();
    }
    this.stopping = new AbortController();
    const count = Math.max(1, this.options.workers ?? 2);
    for (let i = 0; i < count; i++) this.workers.push(this.worker());
    this.log.info({ workers: count }, 'controller started');
  }

  /**
   * Stops handing out keys, signals running reconciles, and waits for them to finish, abandoned ones included
   * (so nothing of this controller writes after it returns: the next leader's writes are not overtaken) — at most
   * `timeoutMs`, after which it returns anyway so the process can exit.
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.stopGathering();
    if (this.workers.length === 0) {
      this.workQueue.shutDown();
      return;
    }
    this.stopping.abort(new Error(`controller ${this.name} is stopping`));
    const drained = this.workQueue
      .drain()
      .then(() => Promise.all(this.workers))
      .then(() => this.options.reconcile.settled?.());
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.log.warn({ timeoutMs }, 'reconciles still running at shutdown');
    this.workers = [];
    this.log.info('controller stopped');
  }

  private newQueue(): WorkQueue {
    return new WorkQueue({ ...this.options.queue, clock: this.clock, random: this.random });
  }

  private async worker(): Promise<void> {
    const queue = this.workQueue;
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await this.reconcileKey(queue, key);
      } finally {
        queue.done(key);
      }
    }
  }

  private async reconcileKey(queue: WorkQueue, key: string): Promise<void> {
    const reconcileId = randomUUID();
    const log = this.log.child({ key, reconcileId });
    const ctx: ReconcileContext = {
      controller: this.name,
      reconcileId,
      log,
      signal: this.stopping.signal,
    };
    const started = this.clock.now();
    this.metrics?.activeWorkers.inc({ controller: this.name });
    let result: ReconcileResult;
    try {
      const outcome = await this.options.reconcile(key, ctx);
      queue.forget(key);
      this.rememberResyncPeriod(key, outcome);
      if (outcome.requeueAfterMs !== undefined && outcome.requeueAfterMs >= 0) {
        queue.resetAfter(key, outcome.requeueAfterMs);
        result = 'requeue_after';
        log.debug({ requeueAfterMs: outcome.requeueAfterMs }, 'reconciled; requeue requested');
      } else {
        // A gone object's key also loses the timed requeue an earlier pass set: it would come back for nothing.
        if (outcome.requeue === false) queue.cancelAfter(key);
        const resyncInMs = outcome.requeue === false ? undefined : this.scheduleResync(queue, key, true);
        result = 'success';
        log.debug({ resyncInMs }, 'reconciled');
      }
    } catch (err) {
      if (isTerminalError(err)) {
        queue.forget(key);
        this.scheduleResync(queue, key);
        result = 'terminal';
        log.error({ err, reason: err.reason }, 'reconcile failed with a terminal error; not retrying');
      } else {
        const retryInMs = queue.addRateLimited(key);
        result = 'error';
        const attempt = queue.numRequeues(key);
        if (isConflict(err)) log.info({ retryInMs, attempt }, 'object changed during reconcile; retrying');
        else log.warn({ err, retryInMs, attempt }, 'reconcile failed; retrying with backoff');
      }
    } finally {
      this.metrics?.activeWorkers.dec({ controller: this.name });
    }
    if (this.metrics) {
      this.metrics.reconcileTotal.inc({ controller: this.name, result });
      if (result === 'error' || result === 'terminal') this.metrics.reconcileErrors.inc({ controller: this.name });
      this.metrics.reconcileDuration.observe({ controller: this.name }, (this.clock.now() - started) / 1000);
    }
  }

  /**
   * `requeue: false` forgets the key; a `resyncAfterMs` is its period from now on; a plain success (neither field)
   * goes back to the default. A bare `requeueAfterMs` says nothing about the period and keeps the one remembered.
   */
  private rememberResyncPeriod(key: string, outcome: Result): void {
    if (outcome.requeue === false) this.resyncPeriods.delete(key);
    else if (outcome.resyncAfterMs !== undefined) this.resyncPeriods.set(key, outcome.resyncAfterMs);
    else if (outcome.requeueAfterMs === undefined) this.resyncPeriods.delete(key);
  }

  /**
   * Schedules the key's next periodic resync; returns the jittered delay, or undefined when it has none. After a
   * success it replaces any timed requeue the key had (`reset`): the resync counts from the last look, so a key
   * whose pass a resync wave brought forward is not resynced again on its old timer.
   */
  private scheduleResync(queue: WorkQueue, key: string, reset = false): number | undefined {
    const period = this.resyncPeriods.get(key) ?? this.periodicRequeueMs;
    if (period <= 0) return undefined;
    const delay = jitter(period, 0.1, this.random);
    if (reset) queue.resetAfter(key, delay);
    else queue.addAfter(key, delay);
    return delay;
  }
}

/**
 * A KeyMapper for secondary objects: the keys of their owners of the given kind (from metadata.ownerReferences).
 * Owner references cannot cross namespaces, so a namespaced owner is in the object's own namespace.
 */
export function ownerKeys(owner: ResourceType): KeyMapper<KubeObject> {
  const apiVersion = apiVersionOf(owner);
  return (obj) =>
    (obj.metadata?.ownerReferences ?? [])
      .filter((ref) => ref.kind === owner.kind && groupOf(ref.apiVersion) === groupOf(apiVersion))
      .map((ref) => (owner.namespaced && obj.metadata?.namespace ? `${obj.metadata.namespace}/${ref.name}` : ref.name));
}

/**
 * A KeyMapper for objects that others point at: the keys of the objects in `source` filed under this object's key
 * in the index `index` — "the Services that reference this Environment", from one bucket rather than a scan.
 * The index function must therefore return the referenced object's key (`namespace/name`), e.g.
 * `services.addIndex('environment', (s) => [`${s.metadata.namespace}/${s.spec.environmentRef.name}`])` and then
 * `controller.watch(environments, { map: indexedKeys(services, 'environment') })`.
 */
export function indexedKeys<T extends KubeObject>(source: IndexedEventSource<T>, index: string): KeyMapper<KubeObject> {
  return (obj) => source.byIndex(index, keyOf(obj)).map((referrer) => keyOf(referrer));
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}
