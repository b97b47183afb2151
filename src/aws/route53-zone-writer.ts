// A write queue per Route53 hosted zone. Route53 serialises writes to one zone (a change too soon after another
// gets PriorRequestNotComplete) and throttles the account at a few requests per second, so concurrent change
// requests for one zone are collected for a short window and sent as one ChangeResourceRecordSets call:
//   - each request (a group of changes, e.g. an alias A record and its owner TXT) is atomic: never split;
//   - a batch respects Route53's limits: 1,000 record values and 32,000 value characters, an UPSERT counting twice;
//   - requests keep their order, and a batch never touches one record set twice (Route53 rejects that), so a
//     request that does starts the next batch;
//   - one write is in flight per zone at a time;
//   - a merged batch rejected as invalid is sent again request by request, so one bad request fails alone
//     (Route53 applies a batch all or nothing, so nothing of the rejected batch was applied);
//   - a batch that fails rejects every request it carried, with the error;
//   - a request given an abort signal (the pass's, through AwsClients.withSignal) is rejected when the signal
//     fires: dropped if still waiting for its batch, left to an unknown outcome if its batch is in flight.
//
// Where retries happen: not here (splitting an invalid batch is not a retry: each request is sent once alone).
// PriorRequestNotComplete and throttling are on the SDK's throttling list, so the Route53 client's standard retry
// strategy retries them with backoff (maxAttempts 3, see clients.ts); what still fails reaches the reconcile as an
// error, and the controller queue retries the key with its per-key exponential backoff. A loop here as well would
// multiply the attempts and hold every other request for the zone behind its backoff.
import { ChangeResourceRecordSetsCommand, type Change } from '@aws-sdk/client-route-53';
import type { AwsClients } from './clients.js';
import { classifyError } from './errors.js';

export const BATCH_MAX_VALUES = 1000;
export const BATCH_MAX_CHARS = 32_000;

export type SendChanges = (zoneId: string, changes: readonly Change[]) => Promise<void>;

export interface ZoneWriterOptions {
  /** How long the first request of a batch waits for others to join it. Default 20 ms. */
  readonly windowMs?: number;
}

/** What a reconcile sees of a zone writer. */
export interface ZoneChangeSubmitter {
  /**
   * Queues one atomic group of changes for a zone; resolves once Route53 accepted the batch carrying it. `signal`
   * rejects the request when it fires (see the header).
   */
  submit(zoneId: string, changes: readonly Change[], signal?: AbortSignal): Promise<void>;
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
  readonly signal: AbortSignal | undefined;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

function isBusy(err: unknown): boolean {
  return classifyError(err) === 'throttled';
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('Route53 change request aborted'), { name: 'AbortError', cause: signal.reason });
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

  submit(changes: readonly Change[], signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        // Still waiting: its changes are never sent. In flight: the batch goes on for the others, and this
        // request's outcome is unknown to its caller, whose next pass observes the zone.
        this.pending = this.pending.filter((p) => p !== entry);
        reject(abortError(signal!));
      };
      const forget = () => signal?.removeEventListener('abort', onAbort);
      const entry: Pending = {
        changes,
        signal,
        resolve: () => (forget(), resolve()),
        reject: (err) => (forget(), reject(err)),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.push(entry);
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
        for (const batch of packBatches(taken.map((p) => p.changes))) {
          const group = batch.map((i) => taken[i]!).filter((p) => !p.signal?.aborted);
          if (group.length > 0) await this.commit(group);
        }
      }
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  private async commit(group: readonly Pending[]): Promise<void> {
    try {
      await this.send(
        this.zoneId,
        group.flatMap((p) => p.changes),
      );
      for (const p of group) p.resolve();
    } catch (err) {
      if (group.length === 1 || isBusy(err) || classifyError(err) === 'transient') {
        for (const p of group) p.reject(err);
        return;
      }
      // Rejected as a whole, so nothing was applied: find the bad request by sending each alone.
      for (const p of group) {
        if (p.signal?.aborted) continue;
        try {
          await this.send(this.zoneId, p.changes);
          p.resolve();
        } catch (single) {
          p.reject(single);
        }
      }
    }
  }
}

export class Route53ZoneWriter implements ZoneChangeSubmitter {
  private readonly zones = new Map<string, ZoneQueue>();
  private readonly opts: Required<ZoneWriterOptions>;

  constructor(
    private readonly send: SendChanges,
    opts: ZoneWriterOptions = {},
  ) {
    this.opts = { windowMs: opts.windowMs ?? 20 };
  }

  /**
   * Queues one atomic group of changes for a zone; resolves once Route53 accepted the batch carrying it.
   * A group that alone exceeds the batch limits is refused at once.
   */
  submit(zoneId: string, changes: readonly Change[], signal?: AbortSignal): Promise<void> {
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
    return q.submit(changes, signal);
  }
}

const writers = new WeakMap<AwsClients, Route53ZoneWriter>();

/**
 * The zone writer of one set of clients (one account): every reconcile sharing those clients shares its queues,
 * whichever pass's view (withSignal) it holds. A batch carries several passes' changes, so it is sent through the
 * shared clients, bounded by their request timeout; the view's signal only rejects its own requests.
 */
export function zoneWriterFor(aws: AwsClients): ZoneChangeSubmitter {
  const root = aws.root;
  let w = writers.get(root);
  if (!w) {
    w = new Route53ZoneWriter(async (zoneId, changes) => {
      await root.route53.send(
        new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: [...changes] } }),
      );
    });
    writers.set(root, w);
  }
  const writer = w;
  return aws.signal
    ? { submit: (zoneId, changes, signal = aws.signal) => writer.submit(zoneId, changes, signal) }
    : writer;
}
