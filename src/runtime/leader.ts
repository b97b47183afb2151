// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: only one replica reconciles, the others
// wait to take over. Every write is a create or a resourceVersion-guarded replace, so two candidates can never both
// believe they won. Expiry is judged by when *we* last saw the lease change (not by the renewTime the holder
// wrote), so clock skew between nodes cannot make a live leader look expired.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { type Clock, jitter, sleep, systemClock } from './clock.js';
import {
  type KubeObject,
  CoreTypes,
  type KubeClient,
  type ResourceClient,
  isConflict,
  isNotFound,
  microTime,
} from './kube.js';
import { jsonEqual } from './status.js';

export interface LeaseSpec {
  readonly holderIdentity?: string | null;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: string | null;
  readonly renewTime?: string | null;
  readonly leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  readonly spec?: LeaseSpec;
}

export interface LeaderElectorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  /** The Lease's name, one per operator deployment. */
  readonly name: string;
  /** Default: defaultIdentity(). Must differ between replicas. */
  readonly identity?: string;
  /** How long a lease is valid without renewal: a standby takes over this long after the leader vanishes. 15 s. */
  readonly leaseDurationMs?: number;
  /** The leader gives up if it could not renew for this long (less than the lease duration). 10 s. */
  readonly renewDeadlineMs?: number;
  /** Pause between attempts to acquire, and between renewal retries after a failure. 2 s. */
  readonly retryPeriodMs?: number;
  /** Pause between successful renewals. Default half the renew deadline. */
  readonly renewIntervalMs?: number;
  /**
   * Called on winning the lease. The signal aborts when leadership is lost or the elector stops. It may return a
   * promise; the elector does not wait for it.
   */
  readonly onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called on losing the lease or stopping while leader; awaited before the lease is released on stop(). */
  readonly onStoppedLeading: () => void | Promise<void>;
  /** Called when a different holder is observed. */
  readonly onNewLeader?: (identity: string) => void;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

/** The pod name (or host name) plus randomness, so a restarted pod with the same name is a new candidate. */
export function defaultIdentity(): string {
  return `${process.env.POD_NAME ?? hostname()}_${randomBytes(4).toString('hex')}`;
}

type Attempt = 'acquired' | 'held-by-other' | 'failed';

export class LeaderElector {
  readonly identity: string;
  private readonly options: LeaderElectorOptions;
  private readonly leases: ResourceClient<Lease>;
  private readonly clock: Clock;
  private readonly log: Logger | undefined;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly renewIntervalMs: number;

  private running: Promise<void> | undefined;
  private stopController = new AbortController();
  private leaderController: AbortController | undefined;
  private lastRenewAt = 0;
  private observedSpec: LeaseSpec | undefined;
  private observedAt = 0;
  private reportedLeader: string | undefined;

  constructor(options: LeaderElectorOptions) {
    this.options = options;
    this.identity = options.identity ?? defaultIdentity();
    this.leases = options.client.resource<Lease>(CoreTypes.lease);
    this.clock = options.clock ?? systemClock;
    this.log = options.logger?.child({ lease: `${options.namespace}/${options.name}`, identity: this.identity });
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.renewIntervalMs = options.renewIntervalMs ?? Math.max(this.retryPeriodMs, this.renewDeadlineMs / 2);
    if (this.renewDeadlineMs >= this.leaseDurationMs) {
      throw new Error('renewDeadlineMs must be shorter than leaseDurationMs, or two leaders could overlap');
    }
  }

  /** True while we hold a lease that has not yet expired by our own clock. */
  isLeader(): boolean {
    return this.leaderController !== undefined && this.clock.now() - this.lastRenewAt < this.leaseDurationMs;
  }

  /** The holder we last saw on the lease (possibly us). */
  get observedLeader(): string | undefined {
    return this.observedSpec?.holderIdentity || undefined;
  }

  start(): void {
    if (this.running) return;
    this.stopController = new AbortController();
    this.running = this.run(this.stopController.signal).catch((err: unknown) => {
      this.log?.error({ err }, 'leader election loop crashed');
    });
  }

  /** Stops campaigning. If leading: calls onStoppedLeading, then releases the lease so a standby takes over now. */
  async stop(): Promise<void> {
    this.stopController.abort(new Error('leader elector stopped'));
    await this.running;
    this.running = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.acquire(signal))) break;
      const lost = await this.renewWhileLeading(signal);
      await this.stepDown(lost ? 'lost' : 'stopping');
      if (!lost) await this.release();
    }
  }

  /** Retries every retryPeriod until the lease is ours; false if stopped first. */
  private async acquire(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal.aborted) return false;
      if ((await this.tryAcquireOrRenew(signal)) === 'acquired') {
        this.log?.info('acquired leadership');
        this.leaderController = new AbortController();
        const leading = this.leaderController.signal;
        Promise.resolve()
          .then(() => this.options.onStartedLeading(leading))
          .catch((err: unknown) => this.log?.error({ err }, 'onStartedLeading failed'));
        return true;
      }
      try {
        await sleep(this.clock, jitter(this.retryPeriodMs, 0.2), signal);
      } catch {
        return false;
      }
    }
  }

  /**
   * Renews until renewal fails for longer than the renew deadline (true: lost) or we are stopped (false). The
   * deadline is absolute, counted from the last successful renewal: a renewal request that hangs (a connection that
   * went silent) is abandoned when it falls due, and so is the pause before a retry, so the leader steps down at the
   * renew deadline at the latest, before its lease can expire for a standby (which waits the whole lease duration
   * from the last renewal it saw).
   */
  private async renewWhileLeading(signal: AbortSignal): Promise<boolean> {
    let lastOk = true;
    for (;;) {
      const deadline = this.lastRenewAt + this.renewDeadlineMs;
      const pause = lastOk ? this.renewIntervalMs : this.retryPeriodMs;
      try {
        await sleep(this.clock, Math.min(pause, Math.max(0, deadline - this.clock.now())), signal);
      } catch {
        return false;
      }
      const attempt = this.clock.now() < deadline ? await this.tryAcquireOrRenew(signal, deadline) : 'failed';
      if (signal.aborted) return false;
      if (attempt === 'acquired') {
        lastOk = true;
        continue;
      }
      if (attempt === 'held-by-other') {
        this.log?.warn({ holder: this.observedLeader }, 'lease taken by another replica');
        return true;
      }
      lastOk = false;
      if (this.clock.now() >= deadline) {
        this.log?.error({ renewDeadlineMs: this.renewDeadlineMs }, 'could not renew the lease in time; stepping down');
        return true;
      }
    }
  }

  private async stepDown(why: 'lost' | 'stopping'): Promise<void> {
    const leader = this.leaderController;
    if (!leader) return;
    this.leaderController = undefined;
    leader.abort(new Error(why === 'lost' ? 'leadership lost' : 'leader elector stopping'));
    this.log?.info({ why }, 'stopped leading');
    try {
      await this.options.onStoppedLeading();
    } catch (err) {
      this.log?.error({ err }, 'onStoppedLeading failed');
    }
  }

  /** Hands the lease back: no holder and a 1 s duration, so a standby's next attempt wins. */
  private async release(): Promise<void> {
    try {
      const lease = await this.leases.find({ namespace: this.options.namespace, name: this.options.name });
      if (!lease || lease.spec?.holderIdentity !== this.identity) return;
      const now = microTime(new Date(this.clock.now()));
      await this.leases.replace({
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
      });
      this.log?.info('released the lease');
    } catch (err) {
      this.log?.warn({ err }, 'could not release the lease; a standby will take over when it expires');
    }
  }

  /**
   * One attempt to take or keep the lease. It is given up (a failed attempt) after half the renew deadline (at
   * least 1 s), and, while leading, no later than `deadline`: a hung renewal must count as a failed one in time.
   */
  private async tryAcquireOrRenew(stop: AbortSignal, deadline?: number): Promise<Attempt> {
    const ref = { namespace: this.options.namespace, name: this.options.name };
    const nowMs = this.clock.now();
    let timeoutMs = Math.max(1000, this.renewDeadlineMs / 2);
    if (deadline !== undefined) timeoutMs = Math.min(timeoutMs, Math.max(0, deadline - nowMs));
    const expired = new AbortController();
    const timer = this.clock.setTimeout(
      () => expired.abort(new Error(`lease request abandoned after ${timeoutMs} ms`)),
      timeoutMs,
    );
    // The abort reaches the request; the race makes sure the elector is never left waiting on one that ignores it.
    const abandoned = new Promise<Attempt>((resolve) =>
      expired.signal.addEventListener('abort', () => resolve('failed'), { once: true }),
    );
    try {
      return await Promise.race([this.attempt(ref, nowMs, AbortSignal.any([stop, expired.signal]), stop), abandoned]);
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  private async attempt(
    ref: { readonly namespace: string; readonly name: string },
    nowMs: number,
    signal: AbortSignal,
    stop: AbortSignal,
  ): Promise<Attempt> {
    const now = microTime(new Date(nowMs));
    const durationSeconds = Math.max(1, Math.round(this.leaseDurationMs / 1000));
    try {
      const lease = await this.leases.find(ref, signal);
      if (!lease) {
        const created = await this.leases.create(
          {
            metadata: { name: ref.name, namespace: ref.namespace },
            spec: {
              holderIdentity: this.identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
          { signal },
        );
        this.observe(created.spec, nowMs);
        this.lastRenewAt = nowMs;
        return 'acquired';
      }
      const spec = lease.spec ?? {};
      this.observe(spec, nowMs);
      const holder = spec.holderIdentity ?? '';
      const heldByUs = holder === this.identity;
      const validForMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (holder && !heldByUs && this.observedAt + validForMs > nowMs) return 'held-by-other';
      if (!heldByUs && this.leaderController) return 'held-by-other';
      const updated = await this.leases.replace(
        {
          ...lease,
          spec: {
            ...spec,
            holderIdentity: this.identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: heldByUs ? (spec.acquireTime ?? now) : now,
            renewTime: now,
            leaseTransitions: heldByUs ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
          },
        },
        { signal },
      );
      this.observe(updated.spec, nowMs);
      this.lastRenewAt = nowMs;
      return 'acquired';
    } catch (err) {
      // 409: another candidate wrote first. Anything else (network, 5xx, timeout) is a failed attempt too.
      if (!isConflict(err) && !isNotFound(err) && !stop.aborted) {
        this.log?.warn({ err }, 'lease request failed');
      }
      return 'failed';
    }
  }

  private observe(spec: LeaseSpec | undefined, nowMs: number): void {
    if (!jsonEqual(spec, this.observedSpec)) {
      this.observedSpec = spec;
      this.observedAt = nowMs;
    }
    const holder = spec?.holderIdentity;
    if (holder && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      if (holder !== this.identity) this.log?.info({ holder }, 'new leader observed');
      this.options.onNewLeader?.(holder);
    }
  }
}
