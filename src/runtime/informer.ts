// List + watch of one kind into a local cache, with the failure handling a long-running operator needs:
// resume from the last resourceVersion, back off when the server is unhappy, re-list when history is gone (410),
// restart a watch that went silent (a half-open TCP connection never errors by itself), and periodically re-deliver
// every cached object because controllers must not rely on having seen every event.
import { Watch } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { type Clock, type TimerHandle, jitter, sleep, systemClock } from './clock.js';
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
  /** Also called by the periodic resync, with `oldObj === newObj`. */
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
  /** Re-deliver every cached object this often (±10 %). Default 10 minutes; 0 disables. */
  readonly resyncPeriodMs?: number;
  /** Asks the server to end each watch after about this long, so watches are renewed routinely. Default 300. */
  readonly watchTimeoutSeconds?: number;
  /**
   * A watch that has delivered nothing (no event, no bookmark) for this long is abandoned and restarted.
   * Default: the watch timeout plus 30 s, since by then the server should have closed it.
   */
  readonly watchdogMs?: number;
  /** Backoff between failed lists or watches: doubles from base to max. Defaults 500 ms and 30 s. */
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Replaces the watch transport (tests use it to inject faults in front of the real server). */
  readonly watch?: WatchFunction;
}

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
  private readonly resyncPeriodMs: number;
  private readonly startWatch: WatchFunction;

  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly syncWaiters: (() => void)[] = [];
  private resourceVersion = '';
  private synced = false;
  private running: Promise<void> | undefined;
  private stopController: AbortController | undefined;
  private resyncTimer: TimerHandle | undefined;
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
    this.backoffMaxMs = options.backoffMaxMs ?? 30_000;
    this.resyncPeriodMs = options.resyncPeriodMs ?? 10 * 60_000;
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

  /** True once the first full list has been loaded into the cache. */
  hasSynced(): boolean {
    return this.synced;
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
    this.scheduleResync();
  }

  /** Stops watching and resolves once the loop has exited. The cache keeps its contents. */
  async stop(): Promise<void> {
    this.stopController?.abort(new Error('informer stopped'));
    if (this.resyncTimer) this.clock.clearTimeout(this.resyncTimer);
    this.resyncTimer = undefined;
    await this.running;
    this.running = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    while (!signal.aborted) {
      this.lastHeartbeat = this.clock.now();
      if (needList) {
        try {
          await this.relist(signal);
          needList = false;
          this.consecutiveFailures = 0;
        } catch (err) {
          if (signal.aborted) return;
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
        this.cache.delete(key);
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

  private upsert(key: string, obj: T): void {
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    if (!old) this.emitAdd(obj);
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emitUpdate(old, obj);
  }

  /** Runs one watch from the current resourceVersion until it closes, fails, goes silent or we stop. */
  private watchOnce(signal: AbortSignal): Promise<WatchOutcome> {
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
            const key = keyOf(item);
            this.cache.delete(key);
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
          // The watchdog or a stop may have fired while the request was still connecting.
          if (finished) controller.abort();
        })
        .catch((err: unknown) => onDone(err ?? new Error('watch failed to start')));
    });
  }

  private scheduleResync(): void {
    if (this.resyncPeriodMs <= 0) return;
    const stopped = this.stopController?.signal;
    this.resyncTimer = this.clock.setTimeout(
      () => {
        if (stopped?.aborted) return;
        if (this.synced) for (const obj of [...this.cache.values()]) this.emitUpdate(obj, obj);
        this.scheduleResync();
      },
      jitter(this.resyncPeriodMs, 0.1),
    );
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

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
