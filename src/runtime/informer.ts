// List + watch of one kind into a local cache, with the failure handling a long-running operator needs:
// resume from the last resourceVersion, back off when the server is unhappy, re-list when history is gone (410),
// and restart a watch that went silent (a half-open TCP connection never errors by itself). The informer delivers
// changes only; it has no periodic resync of its own: the Controller's periodic requeue is the one resync
// (controller.ts explains why).
//
// Field indexes in the manner of client-go's Indexer: an index function maps an object to the values it is filed
// under ("the Environment this Service references"), and byIndex answers "which cached objects have this value"
// from a bucket, without scanning the cache. Every change to the cache (watch event, re-list) updates the buckets
// before handlers run, so a handler that asks an index sees the state it was told about.
import { Watch } from '@kubernetes/client-node/dist/watch.js';
import type { Logger } from 'pino';
import { type Clock, type TimerHandle, jitter, sleep, systemClock } from './clock.js';
import { StringPool } from '../lib/string-pool.js';
import {
  type KubeObject,
  type KubeClient,
  type ResourceClient,
  type ResourceType,
  isGone,
  keyOf,
  resourcePath,
  statusCodeOf,
} from './kube.js';

export interface InformerHandlers<T> {
  readonly onAdd?: (obj: T) => void;
  /** A changed object (a new resourceVersion): what the cache held before, and what it holds now. */
  readonly onUpdate?: (oldObj: T, newObj: T) => void;
  /** Receives the last state the cache knew, also when the deletion was only noticed by a re-list. */
  readonly onDelete?: (obj: T) => void;
}

/** Starts one watch request; resolves to a handle that aborts it. client-node's Watch by default. */
export type WatchFunction = (
  path: string,
  query: Record<string, string | number | boolean | undefined>,
  onEvent: (phase: string, obj: unknown) => void,
  onDone: (err: unknown) => void,
) => Promise<AbortController>;

export interface InformerOptions {
  readonly client: KubeClient;
  readonly type: ResourceType;
  /** Watch one namespace; undefined watches the kind in every namespace (or a cluster-scoped kind). */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Asks the server to end each watch after about this long, so watches are renewed routinely. Default 300. */
  readonly watchTimeoutSeconds?: number;
  /**
   * A watch that has delivered nothing (no event, no bookmark) for this long is abandoned and restarted.
   * Default: the watch timeout plus 30 s, since by then the server should have closed it.
   */
  readonly watchdogMs?: number;
  /**
   * Backoff between failed lists or watches: doubles from base to max. Defaults 500 ms and 8 s: a reconnect costs
   * the API server one request per informer, and a longer cap only delays recovery (with 30 s, an API server back
   * after a 30 s outage was found again 48 s later).
   */
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Replaces the watch transport (tests use it to inject faults in front of the real server). */
  readonly watch?: WatchFunction;
}

/**
 * The values an object is filed under in one index, e.g. `[namespace/environmentName]`; empty files it nowhere.
 * Must be pure and cheap: it runs on every add, update and re-list, inside the watch loop.
 */
export type IndexFunction<T> = (obj: T) => readonly string[];

type WatchOutcome = 'closed' | 'gone' | 'failed' | 'stalled' | 'stopped';

interface WatchEventObject {
  readonly metadata?: { readonly resourceVersion?: string };
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
}

export class Informer<T extends KubeObject> {
  readonly type: ResourceType;
  readonly namespace: string | undefined;
  private readonly resources: ResourceClient<T>;
  private readonly options: InformerOptions;
  private readonly clock: Clock;
  private readonly log: Logger | undefined;
  private readonly watchTimeoutSeconds: number;
  private readonly watchdogMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly startWatch: WatchFunction;

  private readonly cache = new Map<string, T>();
  private readonly indexes = new Map<string, FieldIndex<T>>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly syncWaiters: (() => void)[] = [];
  private resourceVersion = '';
  private synced = false;
  private running: Promise<void> | undefined;
  private stopController: AbortController | undefined;
  private lastHeartbeat = 0;
  private consecutiveFailures = 0;

  constructor(options: InformerOptions) {
    this.options = options;
    this.type = options.type;
    this.namespace = options.namespace;
    this.resources = options.client.resource<T>(options.type);
    this.clock = options.clock ?? systemClock;
    this.log = options.logger?.child({ informer: options.type.plural, namespace: options.namespace ?? '*' });
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
    this.watchdogMs = options.watchdogMs ?? this.watchTimeoutSeconds * 1000 + 30_000;
    this.backoffBaseMs = options.backoffBaseMs ?? 500;
    this.backoffMaxMs = options.backoffMaxMs ?? 8_000;
    const kubeConfig = options.client.kubeConfig;
    this.startWatch =
      options.watch ?? ((path, query, onEvent, onDone) => new Watch(kubeConfig).watch(path, query, onEvent, onDone));
  }

  /** Registers handlers. Objects already in the cache are delivered to them as adds, so late registration is safe. */
  addHandlers(handlers: InformerHandlers<T>): void {
    this.handlers.push(handlers);
    if (handlers.onAdd) for (const obj of this.cache.values()) this.deliver(() => handlers.onAdd?.(obj));
  }

  /** The cached object for a `namespace/name` key. */
  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  /**
   * Adds a field index. Before or after start: objects already cached are indexed at once. An index function that
   * throws is logged and files that object nowhere (it must not break the watch loop). Names are unique.
   */
  addIndex(name: string, indexFn: IndexFunction<T>): void {
    if (this.indexes.has(name)) throw new Error(`informer ${this.type.plural}: index ${name} already exists`);
    const index: FieldIndex<T> = { indexFn, buckets: new Map(), valuesByKey: new Map() };
    this.indexes.set(name, index);
    for (const [key, obj] of this.cache) this.fileInIndex(name, index, key, obj);
  }

  /** The cached objects filed under `value` in the index `name`, in no particular order. Throws for an unknown index. */
  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`informer ${this.type.plural}: no index named ${name}`);
    const bucket = index.buckets.get(value);
    return bucket ? [...bucket.values()] : [];
  }

  /** True once the first full list has been loaded into the cache. */
  /**
   * Synced once, and in touch with the API server now: false while a list or a watch cannot be established (the
   * server down or unreachable), so /readyz says not ready for as long as the cache cannot follow the server.
   */
  hasSynced(): boolean {
    return this.synced && this.connected;
  }

  /** Resolves once synced; rejects if the signal aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal?.reason ?? new Error('aborted'));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /**
   * True when the list/watch loop has made no progress for far longer than any single step may take (list
   * timeout, watchdog, backoff): the liveness probe uses it to get a wedged process restarted.
   */
  isWedged(now = this.clock.now()): boolean {
    if (!this.running) return false;
    const bound = 2 * Math.max(this.watchdogMs, this.backoffMaxMs, 60_000);
    return now - this.lastHeartbeat > bound;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  start(): void {
    if (this.running) return;
    this.stopController = new AbortController();
    this.lastHeartbeat = this.clock.now();
    this.running = this.run(this.stopController.signal).catch((err: unknown) => {
      this.log?.error({ err }, 'informer loop crashed');
    });
  }

  /** Stops watching and resolves once the loop has exited. The cache keeps its contents. */
  async stop(): Promise<void> {
    this.stopController?.abort(new Error('informer stopped'));
    await this.running;
    this.running = undefined;
  }

  /** False from a failed list or watch until a list succeeds or a watch is established again. */
  private connected = true;

  private async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    while (!signal.aborted) {
      this.lastHeartbeat = this.clock.now();
      if (needList) {
        try {
          await this.relist(signal);
          needList = false;
          this.consecutiveFailures = 0;
          this.connected = true;
        } catch (err) {
          if (signal.aborted) return;
          this.connected = false;
          this.log?.warn({ err: describe(err) }, 'list failed; retrying');
          await this.backoff(signal);
          continue;
        }
      }
      const watchStarted = this.clock.now();
      const outcome = await this.watchOnce(signal);
      switch (outcome) {
        case 'stopped':
          return;
        case 'closed':
          // The server ends every watch after timeoutSeconds; resume from where we are. A watch that closes at
          // once (a proxy, an overloaded server) is treated as a failure so we do not spin.
          if (this.clock.now() - watchStarted < 1000) await this.backoff(signal);
          else this.consecutiveFailures = 0;
          break;
        case 'gone':
          this.log?.info('watch history expired (410 Gone); re-listing');
          needList = true;
          break;
        case 'stalled':
          this.log?.warn({ silentMs: this.watchdogMs }, 'watch silent for too long; restarting it');
          break;
        case 'failed':
          this.connected = false;
          await this.backoff(signal);
          break;
      }
    }
  }

  private async backoff(signal: AbortSignal): Promise<void> {
    const delay = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** this.consecutiveFailures);
    this.consecutiveFailures++;
    await sleep(this.clock, jitter(delay, 0.2), signal).catch(() => undefined);
  }

  /** Loads the full list and reconciles the cache with it, delivering the differences as events. */
  private async relist(signal: AbortSignal): Promise<void> {
    const { items, resourceVersion } = await this.resources.listAll({
      namespace: this.namespace,
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
      signal,
    });
    if (signal.aborted) return;
    const seen = new Set<string>();
    for (const obj of items) {
      const key = keyOf(obj);
      seen.add(key);
      this.upsert(key, obj);
    }
    for (const [key, obj] of [...this.cache]) {
      if (!seen.has(key)) {
        this.remove(key);
        this.emitDelete(obj);
      }
    }
    this.resourceVersion = resourceVersion;
    this.lastHeartbeat = this.clock.now();
    if (!this.synced) {
      this.synced = true;
      this.log?.debug({ objects: this.cache.size }, 'informer synced');
      for (const waiter of this.syncWaiters.splice(0)) waiter();
    }
  }

  private upsert(key: string, received: T): void {
    const obj = interned(trimmed(received));
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    for (const [name, index] of this.indexes) this.fileInIndex(name, index, key, obj);
    if (!old) this.emitAdd(obj);
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emitUpdate(old, obj);
  }

  /** Drops a key from the cache and from every index bucket it was filed in. */
  private remove(key: string): void {
    this.cache.delete(key);
    for (const index of this.indexes.values()) unfile(index, key);
  }

  /**
   * (Re)files one object in one index. The values it was filed under are remembered per key, so an update leaves
   * its old buckets even when the old object was mutated in place by a careless reader.
   */
  private fileInIndex(name: string, index: FieldIndex<T>, key: string, obj: T): void {
    let values: readonly string[];
    try {
      values = [...new Set(index.indexFn(obj))];
    } catch (err) {
      this.log?.error({ err, index: name, key }, 'index function threw; the object is left out of the index');
      values = [];
    }
    unfile(index, key);
    if (values.length === 0) return;
    index.valuesByKey.set(key, values);
    for (const value of values) {
      let bucket = index.buckets.get(value);
      if (!bucket) index.buckets.set(value, (bucket = new Map()));
      bucket.set(key, obj);
    }
  }

  /** Runs one watch from the current resourceVersion until it closes, fails, goes silent or we stop. */
  private watchOnce(signal: AbortSignal): Promise<WatchOutcome> {
    // A stop that lands between a re-list and this call has already fired its abort event: the listener below
    // would never hear it, and stop() would wait for the watchdog.
    if (signal.aborted) return Promise.resolve('stopped');
    return new Promise<WatchOutcome>((resolve) => {
      let finished = false;
      let abortWatch: AbortController | undefined;
      let watchdog: TimerHandle | undefined;

      const finish = (outcome: WatchOutcome): void => {
        if (finished) return;
        finished = true;
        if (watchdog) this.clock.clearTimeout(watchdog);
        signal.removeEventListener('abort', onStop);
        abortWatch?.abort();
        resolve(outcome);
      };
      const onStop = (): void => finish('stopped');
      const armWatchdog = (): void => {
        if (watchdog) this.clock.clearTimeout(watchdog);
        watchdog = this.clock.setTimeout(() => finish('stalled'), this.watchdogMs);
      };

      signal.addEventListener('abort', onStop, { once: true });
      armWatchdog();

      const onEvent = (phase: string, obj: unknown): void => {
        if (finished) return;
        this.lastHeartbeat = this.clock.now();
        armWatchdog();
        const meta = obj as WatchEventObject;
        switch (phase) {
          case 'ADDED':
          case 'MODIFIED': {
            const item = obj as T;
            this.upsert(keyOf(item), item);
            break;
          }
          case 'DELETED': {
            const item = obj as T;
            this.remove(keyOf(item));
            this.emitDelete(item);
            break;
          }
          case 'BOOKMARK':
            break;
          case 'ERROR':
            if (meta.code === 410) finish('gone');
            else {
              this.log?.warn({ code: meta.code, reason: meta.reason, message: meta.message }, 'watch error event');
              finish('failed');
            }
            return;
          default:
            return;
        }
        // Only advance once the event is applied, so a restart resumes after the last thing we delivered.
        const rv = meta.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
      };

      const onDone = (err: unknown): void => {
        if (finished) return;
        if (!err) finish('closed');
        else if (isGone(err)) finish('gone');
        else {
          if (!signal.aborted)
            this.log?.warn({ err: describe(err), code: statusCodeOf(err) }, 'watch ended with error');
          finish('failed');
        }
      };

      const path = resourcePath(this.type, this.namespace);
      const query = {
        resourceVersion: this.resourceVersion || undefined,
        allowWatchBookmarks: true,
        timeoutSeconds: this.watchTimeoutSeconds,
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
      };
      this.startWatch(path, query, onEvent, onDone)
        .then((controller) => {
          abortWatch = controller;
          if (!finished) this.connected = true;
          // The watchdog or a stop may have fired while the request was still connecting.
          if (finished) controller.abort();
        })
        .catch((err: unknown) => onDone(err ?? new Error('watch failed to start')));
    });
  }

  private emitAdd(obj: T): void {
    for (const h of this.handlers) if (h.onAdd) this.deliver(() => h.onAdd?.(obj));
  }

  private emitUpdate(oldObj: T, newObj: T): void {
    for (const h of this.handlers) if (h.onUpdate) this.deliver(() => h.onUpdate?.(oldObj, newObj));
  }

  private emitDelete(obj: T): void {
    for (const h of this.handlers) if (h.onDelete) this.deliver(() => h.onDelete?.(obj));
  }

  /** A throwing handler is logged and must never break the watch loop or starve other handlers. */
  private deliver(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log?.error({ err }, 'informer handler threw');
    }
  }
}

interface FieldIndex<T> {
  readonly indexFn: IndexFunction<T>;
  /** value → key → object: byIndex reads one bucket. */
  readonly buckets: Map<string, Map<string, T>>;
  /** key → the values it is filed under, so removal touches only its own buckets. */
  readonly valuesByKey: Map<string, readonly string[]>;
}

function unfile<T>(index: FieldIndex<T>, key: string): void {
  const values = index.valuesByKey.get(key);
  if (!values) return;
  index.valuesByKey.delete(key);
  for (const value of values) {
    const bucket = index.buckets.get(value);
    bucket?.delete(key);
    if (bucket?.size === 0) index.buckets.delete(value);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What kubectl apply keeps on every object it wrote: a full copy of the applied manifest. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The object as the cache keeps it: without managedFields and the last-applied annotation, which nothing in a
 * controller reads and which are often larger than the rest of the object. Objects are only ever patched, never
 * written back whole, so what is dropped here is never dropped on the server.
 */
export function trimmed<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata;
  if (!meta || (!meta.managedFields && !meta.annotations?.[LAST_APPLIED])) return obj;
  const { managedFields: _managedFields, ...rest } = meta;
  const annotations =
    meta.annotations && Object.fromEntries(Object.entries(meta.annotations).filter(([k]) => k !== LAST_APPLIED));
  return { ...obj, metadata: { ...rest, ...(annotations ? { annotations } : {}) } };
}

/**
 * JSON parsing gives each object its own copy of every string, and the custom resources' statuses repeat the same
 * values across thousands of objects (a resource's kind, a condition's reason and message, a cost line's basis):
 * at 2,000 workloads, 7.6 MiB of the heap at rest were such copies. The cache keeps one, through a bounded pool.
 */
const cachePool = new StringPool(16_384);

/** The object with its string values replaced by the pool's copies, in place (the cache owns what it received). */
export const interned = <T>(value: T): T => cachePool.strings(value);
