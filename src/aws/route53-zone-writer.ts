// A write queue per Route53 hosted zone. Route53 serialises writes to one zone (a change too soon after another
// gets PriorRequestNotComplete) and throttles the account at a few requests per second, so concurrent change
// requests for one zone are collected for a short window and sent as one ChangeResourceRecordSets call:
//   - each request (a group of changes, e.g. an alias A record and its owner TXT) is atomic: never split;
//   - a batch respects Route53's limits: 1,000 record values and 32,000 value characters, an UPSERT counting twice;
//   - requests keep their order, and a batch never touches one record set twice (Route53 rejects that), so a
//     request that does starts the next batch;
//   - one write is in flight per zone at a time; PriorRequestNotComplete and throttling are retried with backoff;
//   - a merged batch rejected as invalid is retried request by request, so one bad request fails alone
//     (Route53 applies a batch all or nothing, so nothing of the rejected batch was applied).
import { ChangeResourceRecordSetsCommand, type Change } from '@aws-sdk/client-route-53';
import type { AwsClients } from './clients.js';
import { classifyError, errorName } from './errors.js';

export const BATCH_MAX_VALUES = 1000;
export const BATCH_MAX_CHARS = 32_000;

export type SendChanges = (zoneId: string, changes: readonly Change[]) => Promise<void>;

export interface ZoneWriterOptions {
  /** How long the first request of a batch waits for others to join it. */
  readonly windowMs?: number;
  /** Attempts per batch when Route53 answers PriorRequestNotComplete or throttles. */
  readonly maxAttempts?: number;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export interface ChangeWeight {
  readonly values: number;
  readonly chars: number;
}

/** A zone id as Route53 returns it (`/hostedzone/Z123`) or bare (`Z123`): always bare. */
export function bareZoneId(zoneId: string): string {
  return zoneId.replace(/^\/?hostedzone\//, '');
}

/**
 * What one change costs against the batch limits. An alias record has no Value elements; it is counted as one
 * value and its target's length, to stay on the safe side of the limits.
 */
export function changeWeight(change: Change): ChangeWeight {
  const rrs = change.ResourceRecordSet;
  const values = rrs?.ResourceRecords?.map((r) => r.Value ?? '') ?? [];
  const base: ChangeWeight =
    values.length > 0
      ? { values: values.length, chars: values.reduce((n, v) => n + v.length, 0) }
      : { values: 1, chars: rrs?.AliasTarget?.DNSName?.length ?? 0 };
  const factor = change.Action === 'UPSERT' ? 2 : 1;
  return { values: base.values * factor, chars: base.chars * factor };
}

export function requestWeight(changes: readonly Change[]): ChangeWeight {
  return changes
    .map(changeWeight)
    .reduce((a, b) => ({ values: a.values + b.values, chars: a.chars + b.chars }), { values: 0, chars: 0 });
}

function recordKey(change: Change): string {
  const rrs = change.ResourceRecordSet;
  const name = (rrs?.Name ?? '').toLowerCase().replace(/\.$/, '').replace(/\\052/g, '*');
  return `${name}|${rrs?.Type ?? ''}|${rrs?.SetIdentifier ?? ''}`;
}

/**
 * Packs requests, in order, into batches within the limits: returns the request indices of each batch.
 * Pure, so the limits are unit-tested without a zone.
 */
export function packBatches(requests: readonly (readonly Change[])[]): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let weight: ChangeWeight = { values: 0, chars: 0 };
  let keys = new Set<string>();
  requests.forEach((changes, i) => {
    const w = requestWeight(changes);
    const ks = changes.map(recordKey);
    const fits = weight.values + w.values <= BATCH_MAX_VALUES && weight.chars + w.chars <= BATCH_MAX_CHARS;
    const clashes = ks.some((k) => keys.has(k));
    if (current.length > 0 && (!fits || clashes)) {
      batches.push(current);
      current = [];
      weight = { values: 0, chars: 0 };
      keys = new Set();
    }
    current.push(i);
    weight = { values: weight.values + w.values, chars: weight.chars + w.chars };
    for (const k of ks) keys.add(k);
  });
  if (current.length > 0) batches.push(current);
  return batches;
}

interface Pending {
  readonly changes: readonly Change[];
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

function isBusy(err: unknown): boolean {
  return errorName(err) === 'PriorRequestNotComplete' || classifyError(err) === 'throttled';
}

class ZoneQueue {
  private pending: Pending[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;

  constructor(
    private readonly zoneId: string,
    private readonly send: SendChanges,
    private readonly opts: Required<ZoneWriterOptions>,
  ) {}

  submit(changes: readonly Change[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ changes, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.timer || this.running || this.pending.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain();
    }, this.opts.windowMs);
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.length > 0) {
        const taken = this.pending.splice(0);
        for (const batch of packBatches(taken.map((p) => p.changes))) await this.commit(batch.map((i) => taken[i]!));
      }
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  private async commit(group: readonly Pending[]): Promise<void> {
    try {
      await this.sendWithRetry(group.flatMap((p) => p.changes));
      for (const p of group) p.resolve();
    } catch (err) {
      if (group.length === 1 || isBusy(err) || classifyError(err) === 'transient') {
        for (const p of group) p.reject(err);
        return;
      }
      for (const p of group) {
        try {
          await this.sendWithRetry(p.changes);
          p.resolve();
        } catch (single) {
          p.reject(single);
        }
      }
    }
  }

  private async sendWithRetry(changes: readonly Change[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.send(this.zoneId, changes);
        return;
      } catch (err) {
        if (!isBusy(err) || attempt >= this.opts.maxAttempts) throw err;
        const cap = Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** (attempt - 1));
        await this.opts.sleep(cap / 2 + (this.opts.random() * cap) / 2);
      }
    }
  }
}

export class Route53ZoneWriter {
  private readonly zones = new Map<string, ZoneQueue>();
  private readonly opts: Required<ZoneWriterOptions>;

  constructor(
    private readonly send: SendChanges,
    opts: ZoneWriterOptions = {},
  ) {
    this.opts = {
      windowMs: opts.windowMs ?? 20,
      maxAttempts: opts.maxAttempts ?? 6,
      backoffBaseMs: opts.backoffBaseMs ?? 250,
      backoffMaxMs: opts.backoffMaxMs ?? 5000,
      sleep: opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      random: opts.random ?? Math.random,
    };
  }

  /**
   * Queues one atomic group of changes for a zone; resolves once Route53 accepted the batch carrying it.
   * A group that alone exceeds the batch limits is refused at once.
   */
  submit(zoneId: string, changes: readonly Change[]): Promise<void> {
    if (changes.length === 0) return Promise.resolve();
    const w = requestWeight(changes);
    if (w.values > BATCH_MAX_VALUES || w.chars > BATCH_MAX_CHARS) {
      return Promise.reject(
        new Error(
          `a Route53 change request of ${w.values} values and ${w.chars} characters exceeds one batch (${BATCH_MAX_VALUES} values, ${BATCH_MAX_CHARS} characters)`,
        ),
      );
    }
    const id = bareZoneId(zoneId);
    let q = this.zones.get(id);
    if (!q) {
      q = new ZoneQueue(id, this.send, this.opts);
      this.zones.set(id, q);
    }
    return q.submit(changes);
  }
}

const writers = new WeakMap<AwsClients, Route53ZoneWriter>();

/** The zone writer of one set of clients (one account): every reconcile sharing those clients shares its queues. */
export function zoneWriterFor(aws: AwsClients): Route53ZoneWriter {
  let w = writers.get(aws);
  if (!w) {
    w = new Route53ZoneWriter(async (zoneId, changes) => {
      await aws.route53.send(
        new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: [...changes] } }),
      );
    });
    writers.set(aws, w);
  }
  return w;
}
