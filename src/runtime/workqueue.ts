// A queue of `namespace/name` keys with the guarantees of client-go's workqueue: a key waiting twice is handed out
// once, a key is never processed by two workers at once, failures back off per key, and timed requeues keep only
// the earliest deadline. Reconcilers read current state, so losing the *reason* a key was added costs nothing.
// Keys added in the background (a resync wave's members: a thousand at once) are handed out only when no other key
// waits, so a change, an event or a retry never queues behind a wave; added normally meanwhile, a key moves up.
import { type Clock, type TimerHandle, systemClock } from './clock.js';

export interface WorkQueueOptions {
  /** First retry delay after a failure. Default 500 ms. */
  readonly backoffBaseMs?: number;
  /** Ceiling for the per-key retry delay. Default 5 minutes. */
  readonly backoffMaxMs?: number;
  /** Up to this fraction is added to a retry delay, so keys that failed together do not retry together. Default 0.1. */
  readonly backoffJitter?: number;
  readonly clock?: Clock;
  /** Source of randomness for jitter, in [0, 1). Tests pass a constant. */
  readonly random?: () => number;
}

interface DelayedAdd {
  readonly readyAt: number;
  readonly timer: TimerHandle;
}

export class WorkQueue {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly backoffJitter: number;

  /** Keys ready to hand out, in order. Every key here is also in `dirty`. */
  private readonly ready: string[] = [];
  /** Background keys, in order; an entry no longer in `low` has moved up to `ready` and is skipped. */
  private readonly background: string[] = [];
  /** The keys waiting in the background (each also in `dirty`). */
  private readonly low = new Set<string>();
  /** Keys that need processing: waiting in `ready`, or re-added while a worker holds them. */
  private readonly dirty = new Set<string>();
  /** Keys a worker holds between get() and done(), with when it got them. */
  private readonly processing = new Map<string, number>();
  private readonly delayed = new Map<string, DelayedAdd>();
  private readonly failures = new Map<string, number>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private readonly drainers: (() => void)[] = [];
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.backoffBaseMs = options.backoffBaseMs ?? 500;
    this.backoffMaxMs = options.backoffMaxMs ?? 5 * 60_000;
    this.backoffJitter = options.backoffJitter ?? 0.1;
  }

  /** Keys ready to be handed out now, background ones included (not counting timed requeues or keys being processed). */
  get length(): number {
    return this.ready.length + this.low.size;
  }

  /** Keys waiting on a timer (requeueAfter or backoff). */
  get delayedLength(): number {
    return this.delayed.size;
  }

  /** Keys a worker is processing right now. */
  get processingLength(): number {
    return this.processing.size;
  }

  /** How long the longest-held key has been with its worker, in ms; 0 when no key is being processed. */
  longestProcessingMs(): number {
    let oldest: number | undefined;
    for (const since of this.processing.values()) if (oldest === undefined || since < oldest) oldest = since;
    return oldest === undefined ? 0 : this.clock.now() - oldest;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Queues a key now. A no-op when it is already waiting; deferred until done() when it is being processed. */
  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.dirty.has(key)) {
      // Waiting in the background: it moves up, and the background entry is skipped.
      if (this.low.delete(key)) this.ready.push(key);
      return;
    }
    this.enter(key, this.ready);
  }

  /**
   * Queues a key behind every key added with add(): for work that may wait, such as a resync wave's members. A no-op
   * when the key is already waiting, in either lane.
   */
  addBackground(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    if (this.enter(key, this.background)) this.low.add(key);
  }

  /** Marks a new key dirty and hands it to a waiting worker, or appends it to `lane`: true when it was appended. */
  private enter(key: string, lane: string[]): boolean {
    this.dirty.add(key);
    // Being processed: done() queues it again, in the normal lane.
    if (this.processing.has(key)) return false;
    const getter = this.getters.shift();
    if (getter) {
      // Hand the key straight to a waiting worker so no other get() can observe it in between.
      this.dirty.delete(key);
      this.processing.set(key, this.clock.now());
      getter(key);
      return false;
    }
    lane.push(key);
    return true;
  }

  /** Queues a key after `ms`. When the key already has a timed requeue, the earlier of the two wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing) {
      if (existing.readyAt <= readyAt) return;
      this.clock.clearTimeout(existing.timer);
    }
    const timer = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { readyAt, timer });
  }

  /**
   * Queues a key after `ms`, replacing any timed requeue it had, earlier or not: for the schedule a successful
   * reconcile sets, which supersedes what earlier ones asked for (it has just looked at everything).
   */
  resetAfter(key: string, ms: number): void {
    this.cancelAfter(key);
    this.addAfter(key, ms);
  }

  /** Drops the key's timed requeue, if it has one: its object is gone, and nothing is left to come back for. */
  cancelAfter(key: string): void {
    const existing = this.delayed.get(key);
    if (!existing) return;
    this.clock.clearTimeout(existing.timer);
    this.delayed.delete(key);
  }

  /** When the key's timed requeue is due, if it has one (for tests and diagnostics). */
  readyAt(key: string): number | undefined {
    return this.delayed.get(key)?.readyAt;
  }

  /**
   * Queues a key after its failure backoff: base × 2^(failures so far), capped at the maximum, plus jitter.
   * Returns the delay chosen, so the caller can log it.
   */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const exponential = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** failures);
    const delay = Math.min(this.backoffMaxMs, Math.round(exponential * (1 + this.backoffJitter * this.random())));
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the key's failure count, so the next failure starts again at the base delay. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** How many times in a row the key has failed since it was last forgotten. */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * Waits for the next key and marks it as being processed; the caller must call done(key) afterwards.
   * Resolves `undefined` once the queue shuts down: keys still waiting are dropped, since whoever runs the
   * controllers next lists every object again anyway.
   */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.ready.shift() ?? this.nextBackground();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.set(key, this.clock.now());
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** The first background key still waiting there, taken out of the lane. */
  private nextBackground(): string | undefined {
    for (let key = this.background.shift(); key !== undefined; key = this.background.shift()) {
      if (this.low.delete(key)) return key;
    }
    return undefined;
  }

  /** Ends processing of a key. If it was re-added meanwhile, it goes back in the queue now. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.shuttingDown) {
      this.dirty.delete(key);
      if (this.processing.size === 0) this.releaseDrainers();
      return;
    }
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  /** Stops handing out keys: waiting workers get `undefined`, timers are cancelled, later adds are ignored. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) this.clock.clearTimeout(timer);
    this.delayed.clear();
    this.ready.length = 0;
    this.background.length = 0;
    this.low.clear();
    for (const key of [...this.dirty]) if (!this.processing.has(key)) this.dirty.delete(key);
    for (const getter of this.getters.splice(0)) getter(undefined);
    if (this.processing.size === 0) this.releaseDrainers();
  }

  /** Shuts down and resolves once every key handed out has been marked done. */
  drain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainers.push(resolve));
  }

  private releaseDrainers(): void {
    for (const drainer of this.drainers.splice(0)) drainer();
  }
}
