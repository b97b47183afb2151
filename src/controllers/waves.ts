// Resync waves: one per Environment, so that a resync observes each AWS kind in bulk rather than per resource.
//
// An Environment's pass opens a wave when one is due (isDue): its resync timer paces them, and the annotation
// slipway.dev/resync-requested asks for one at once. The wave holds a snapshot (WaveReads: the bulk listings and the
// shared listener rules and zone records, started lazily by the first member that needs each) and names its members,
// the applied Services and previews on the Environment, which are queued. A member's next pass takes the snapshot
// for its steady reads and leaves the wave; anything else (a nudge, a watch event, a drift event) reads fresh. The
// wave ends when every member has passed or at its deadline (waveDeadlineMs), whichever comes first; after that,
// passes read fresh. The registry holds no AWS or Kubernetes client: the clock and the queueing are injected.
import { HISTORY_OVERLAP_MS } from '../aws/event-history.js';
import type { OwnIdentity } from '../events/cloudtrail.js';
import { MAX_WAVE_MS, WaveReads, type WaveHistory, type WaveRotation } from '../reconcilers/contract.js';
import { deadline } from '../runtime/deadline.js';

/** The annotation on an Environment that opens a resync wave now, whatever its value, each time the value changes. */
export const RESYNC_ANNOTATION = 'slipway.dev/resync-requested';

/** A wave is due once this share of the resync interval has passed since the last began (the timer's jitter is ±10 %). */
export const DUE_FRACTION = 0.9;

/**
 * While waves run, a workload's own periodic resync is this many intervals: a backstop should its Environment's
 * waves stop, not a second resync per interval.
 */
export const BACKSTOP_INTERVALS = 2;

/** Waves "run" for an Environment while the last began within this many intervals. */
const RUNNING_INTERVALS = 1.5;

/**
 * With drift events on, a wave reads what it reads per resource (a target group's attributes, which no listing
 * carries, a Service's scaling policies and ECS service, a shard's listeners) and each whole listing (the cluster's
 * tag scan, the zone) only for one slot in this many, in turn: each is read at least every ROTATION_SLOTS waves, the
 * backstop for a lost event (two hours at the default 5-minute resync). A change arrives as its event in seconds.
 * 24 rather than 12: at 1,000 Services and 1,000 previews a wave read 171 target groups' attributes and 86 Services'
 * policies with 12 (BENCHMARKS.md, eighth session), and neither has a bulk read.
 */
export const ROTATION_SLOTS = 24;

/**
 * How long a wave's snapshot serves its members: until the next wave is due (DUE_FRACTION of the resync interval),
 * at most MAX_WAVE_MS. A wave of a few thousand members is longer than half an interval on four workers (2,000
 * took about 4 minutes in the benchmark, the default interval being 5), and a member left out at the deadline
 * reads each of its resources fresh, about 8 reads instead of a share of the listings. It still ends before the
 * next wave opens (which ends it anyway, moving its members), so a member is in one wave at a time. An out-of-band
 * change made after the snapshot's listing began is seen by the next wave.
 */
export function waveDeadlineMs(intervalMs: number): number {
  return Math.min(MAX_WAVE_MS, Math.max(0, DUE_FRACTION * intervalMs));
}

/** What the registry remembers of an Environment's last wave. */
export interface LastWave {
  readonly openedAt: number;
  /** Waves opened for the Environment in this process before this one (0 for the first). */
  readonly number: number;
  /** The resync annotation's value it honoured, if any. */
  readonly requested: string | undefined;
}

/**
 * Why a wave opens now, or undefined: the annotation has a value not yet honoured, no wave has run in this process,
 * or the last began at least DUE_FRACTION of the interval ago.
 */
export function isDue(
  last: LastWave | undefined,
  now: number,
  intervalMs: number,
  requested: string | undefined,
): 'requested' | 'first' | 'interval' | undefined {
  if (requested !== undefined && requested !== last?.requested) return 'requested';
  if (!last) return 'first';
  return now - last.openedAt >= DUE_FRACTION * intervalMs ? 'interval' : undefined;
}

export interface OpenRequest {
  /** The Environment's key, `namespace/name`. */
  readonly environment: string;
  readonly intervalMs: number;
  /** `Kind/namespace/name` of every applied Service and preview on the Environment. */
  readonly candidates: readonly string[];
  /** The value of RESYNC_ANNOTATION, if set. */
  readonly requested?: string;
  /** Drift events are on and delivering for the Environment: rotate the per-resource attribute reads. */
  readonly rotate: boolean;
}

/** The rotation of the wave numbered `number`: none without drift events, nor for the first wave of a process. */
export function rotationOf(number: number, rotate: boolean): WaveRotation | undefined {
  // The first wave of a process reads every attribute: the count of waves before it is lost with a restart.
  return rotate && number > 0 ? { slot: number % ROTATION_SLOTS, of: ROTATION_SLOTS } : undefined;
}

/** CloudTrail's event history reaches back 90 days; a look starts a day inside that. */
const HISTORY_REACH_MS = 89 * 24 * 3_600_000;

/**
 * What a wave without a rotation reads out-of-band changes from, after a process's first wave (which reads
 * everything): the event history since its members were last checked (`checkedSince`, the earliest of their last
 * checks, WaveRegistry.checkedAt), less HISTORY_OVERLAP_MS for CloudTrail's delay in listing a call. Each resource is
 * still read in its turn (ROTATION_SLOTS), the backstop for a call listed later than that. None for a wave with a
 * rotation (drift events bring the changes), nor when a member's last check is unknown.
 */
export function historyOf(
  number: number,
  checkedSince: number | undefined,
  now: number,
  own: OwnIdentity | undefined,
): WaveHistory | undefined {
  if (!own || checkedSince === undefined || number === 0) return undefined;
  const since = Math.max(checkedSince - HISTORY_OVERLAP_MS, now - HISTORY_REACH_MS);
  return { since, slot: number % ROTATION_SLOTS, of: ROTATION_SLOTS, own };
}

export interface OpenedWave {
  readonly number: number;
  readonly reason: 'requested' | 'first' | 'interval';
  readonly members: readonly string[];
}

interface Wave {
  readonly environment: string;
  readonly closesAt: number;
  readonly members: Set<string>;
  readonly reads: WaveReads;
  /** Ends the wave at its deadline, so its snapshot is not held until the next wave. */
  timer?: NodeJS.Timeout;
}

export interface WaveRegistryOptions {
  /** Queues a member's pass (`Kind/namespace/name`). */
  readonly enqueue: (member: string) => void;
  readonly now?: () => number;
  /**
   * The operator's own calls, as CloudTrail records them: set, a wave without drift events reads out-of-band changes
   * from the event history (historyOf). Unset, it reads every resource.
   */
  readonly own?: OwnIdentity;
}

export class WaveRegistry {
  private readonly enqueue: (member: string) => void;
  private readonly now: () => number;
  private readonly own: OwnIdentity | undefined;
  private readonly open_ = new Map<string, Wave>();
  private readonly last = new Map<string, LastWave>();
  /** The open wave each member belongs to. */
  private readonly memberOf = new Map<string, Wave>();
  /** When each workload's last pass began: a timed wave leaves out one that has just been looked at. */
  private readonly lastPass = new Map<string, number>();
  /**
   * Up to when each workload's last pass saw its resources: when it began, for a pass that read them itself; when its
   * wave opened, for a member (whatever its wave's reads saw, by listing or by the event history, was read after).
   * A wave's event history looks back to the earliest of its members' (historyOf): a member left out of a wave (just
   * looked at), or moved from a wave that ended before its turn, was last checked before the last wave opened.
   */
  private readonly checkedAt = new Map<string, number>();
  /** Environments a drift event named since their pass last asked (leave): the next pass reads fresh. */
  private readonly changed = new Map<string, number>();

  constructor(options: WaveRegistryOptions) {
    this.enqueue = options.enqueue;
    this.now = options.now ?? Date.now;
    this.own = options.own;
  }

  /**
   * Opens a wave for the Environment when one is due, naming and queueing its members, and says so; undefined when
   * none is due. A wave on the interval leaves out a workload whose pass began within the last tenth of the interval
   * (it has just been looked at, e.g. by the passes of an operator that just started); a requested wave takes them
   * all. A wave still open for the Environment ends here: its members left move to the new one.
   */
  open(req: OpenRequest): OpenedWave | undefined {
    const now = this.now();
    const previous = this.last.get(req.environment);
    const reason = isDue(previous, now, req.intervalMs, req.requested);
    if (!reason) return undefined;
    this.close(req.environment);
    const number = previous ? previous.number + 1 : 0;
    this.last.set(req.environment, { openedAt: now, number, requested: req.requested });
    const recent = reason === 'requested' ? 0 : req.intervalMs * (1 - DUE_FRACTION);
    const members = req.candidates.filter((m) => !(now - (this.lastPass.get(m) ?? -Infinity) < recent));
    const rotation = rotationOf(number, req.rotate);
    const lasts = waveDeadlineMs(req.intervalMs);
    const wave: Wave = {
      environment: req.environment,
      closesAt: now + lasts,
      members: new Set(members),
      // Its listings end with it, however long a member that took the snapshot still waits on one.
      reads: new WaveReads(
        now,
        rotation,
        deadline(lasts).signal,
        historyOf(number, this.lastChecked(members), now, this.own),
      ),
    };
    if (wave.members.size > 0) {
      this.open_.set(req.environment, wave);
      for (const m of members) this.memberOf.set(m, wave);
      wave.timer = setTimeout(() => this.close(req.environment, wave), wave.closesAt - now);
      wave.timer.unref();
    }
    this.prune(now);
    for (const m of members) this.enqueue(m);
    return { number, reason, members };
  }

  /**
   * A workload's pass begins: the snapshot of the wave it is a member of (and it leaves the wave), or undefined when
   * it is none's or the wave's deadline has passed.
   */
  take(member: string): WaveReads | undefined {
    const now = this.now();
    this.lastPass.set(member, now);
    const reads = this.leaveFor(member, now);
    this.checkedAt.set(member, reads ? reads.at : now);
    return reads;
  }

  /** The member leaves its wave: the wave's snapshot, or undefined when it is none's or the deadline has passed. */
  private leaveFor(member: string, now: number): WaveReads | undefined {
    const wave = this.memberOf.get(member);
    if (!wave) return undefined;
    this.memberOf.delete(member);
    wave.members.delete(member);
    if (now > wave.closesAt) {
      this.close(wave.environment);
      return undefined;
    }
    if (wave.members.size === 0) this.close(wave.environment);
    return wave.reads;
  }

  /** The earliest of the members' last checks (checkedAt); undefined when one's is unknown. */
  private lastChecked(members: readonly string[]): number | undefined {
    let earliest = Infinity;
    for (const m of members) {
      const at = this.checkedAt.get(m);
      if (at === undefined) return undefined;
      earliest = Math.min(earliest, at);
    }
    return earliest === Infinity ? undefined : earliest;
  }

  /**
   * The rotation an Environment's own pass reads its shards with (environment.ts): that of the wave its pass is about
   * to open, when one is due; undefined when none is due, for the first wave of a process, or when a drift event
   * named `self` (`Environment/namespace/name`) since the last ask (leave). Asked before the pass reads AWS, so an
   * event that came before is seen by this pass's reads, and one that comes after by the next pass's.
   */
  upcoming(req: Omit<OpenRequest, 'candidates'>, self: string): WaveRotation | undefined {
    const changed = this.changed.delete(self);
    const previous = this.last.get(req.environment);
    if (changed || !isDue(previous, this.now(), req.intervalMs, req.requested)) return undefined;
    return rotationOf(previous ? previous.number + 1 : 0, req.rotate);
  }

  /**
   * The owner's next pass reads fresh (a drift event says its resources changed since the snapshot): a member
   * leaves its wave, and an Environment's next pass reads every shard (upcoming).
   */
  leave(member: string): void {
    // Only an Environment's next pass asks (upcoming); a workload's pass is no wave's once it has left.
    if (member.startsWith('Environment/')) this.changed.set(member, this.now());
    const wave = this.memberOf.get(member);
    if (!wave) return;
    this.memberOf.delete(member);
    wave.members.delete(member);
    if (wave.members.size === 0) this.close(wave.environment);
  }

  /** Whether the Environment's waves are running: the last began within RUNNING_INTERVALS intervals. */
  running(environment: string, intervalMs: number): boolean {
    const last = this.last.get(environment);
    return !!last && this.now() - last.openedAt < RUNNING_INTERVALS * intervalMs;
  }

  /** The snapshot of the Environment's open wave, for the Environment's own reads that ride on it (its sweep). */
  snapshot(environment: string): WaveReads | undefined {
    const wave = this.open_.get(environment);
    return wave && this.now() <= wave.closesAt ? wave.reads : undefined;
  }

  /** The members still waiting in the Environment's open wave (for tests and diagnostics). */
  pending(environment: string): number {
    const wave = this.open_.get(environment);
    return wave && this.now() <= wave.closesAt ? wave.members.size : 0;
  }

  private close(environment: string, only?: Wave): void {
    const wave = this.open_.get(environment);
    if (!wave || (only && wave !== only)) return;
    clearTimeout(wave.timer);
    this.open_.delete(environment);
    for (const m of wave.members) if (this.memberOf.get(m) === wave) this.memberOf.delete(m);
  }

  /** Drops what is past use: waves past their deadline, pass times older than a wave can span. */
  private prune(now: number): void {
    for (const [env, wave] of this.open_) if (now > wave.closesAt) this.close(env);
    for (const times of [this.lastPass, this.checkedAt, this.changed]) {
      if (times.size < 1_024) continue;
      for (const [m, at] of times) if (now - at > 24 * 60 * 60_000) times.delete(m);
    }
  }
}
