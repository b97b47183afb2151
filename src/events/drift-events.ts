// Drift events: long-polls the SQS queues that Environments with spec.drift.events own, maps each CloudTrail event
// to the custom resource owning the changed AWS resource (cloudtrail.ts, then the owners index), enqueues that
// resource only, and deletes the message once handled. Runs only while the operator leads; the periodic resync
// stays the safety net for whatever an event misses (CloudTrail delivers to EventBridge on a best-effort basis).
//
// Every wait has a deadline: a receive waits at most WaitTimeSeconds on the server and is abandoned a little after
// that on the client, and the poller's abort signal (shutdown, leadership lost) ends a receive at once. A message
// is deleted after handling whatever the verdict (an event we ignore would only come back); one that cannot be
// deleted comes back after the queue's visibility timeout and is handled again, which is harmless (enqueueing a key
// twice collapses in the work queue).
import { deadline } from '../runtime/deadline.js';
import { DeleteMessageBatchCommand, GetQueueUrlCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { AwsClients } from '../aws/clients.js';
import { isNotFound } from '../aws/errors.js';
import { parseQueueArn, sqsIn } from '../reconcilers/event-queue.js';
import { classifyEvent, type IgnoreReason, type OwnIdentity } from './cloudtrail.js';

/** One queue to poll: its ARN and the clients of the Environment that owns it (its account and role). */
export interface DriftQueue {
  readonly arn: string;
  readonly aws: AwsClients;
}

export interface DriftEventsOptions {
  /** The queues to poll now (read again on refresh()). */
  readonly queues: () => readonly DriftQueue[];
  /** `Kind/namespace/name` of the custom resources whose inventory holds an identifier. */
  readonly ownersOf: (identifier: string) => readonly string[];
  /** Enqueues one custom resource, by `Kind/namespace/name`. */
  readonly enqueue: (owner: string) => void;
  readonly own: OwnIdentity;
  readonly log: Logger;
  readonly registry?: Registry;
  /** ReceiveMessage's long-poll wait, 1 to 20 s. Default 20. */
  readonly waitSeconds?: number;
  /** First and longest pause after a failed receive (doubling in between, with jitter). Defaults 1 s and 60 s. */
  readonly backoffMs?: { readonly base: number; readonly max: number };
}

export type IgnoredReason = IgnoreReason | 'not-owned';

interface Metrics {
  readonly received: Counter<string>;
  readonly handled: Counter<string>;
  readonly ignored: Counter<'reason'>;
}

function metrics(registry: Registry | undefined): Metrics {
  const registers = registry ? [registry] : [];
  return {
    received: new Counter({
      name: 'slipway_drift_events_received_total',
      help: 'CloudTrail events received from the drift events queues',
      registers,
    }),
    handled: new Counter({
      name: 'slipway_drift_events_handled_total',
      help: 'Drift events that enqueued the custom resource owning the changed AWS resource',
      registers,
    }),
    ignored: new Counter({
      name: 'slipway_drift_events_ignored_total',
      help: "Drift events ignored, by reason: own-call (the operator's own), aws-service, failed-call, not-owned, no-resource, malformed",
      labelNames: ['reason'] as const,
      registers,
    }),
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

interface Loop {
  readonly stop: AbortController;
  readonly done: Promise<void>;
}

export class DriftEventPoller {
  private readonly loops = new Map<string, Loop>();
  private readonly metrics: Metrics;
  private running = false;
  private readonly waitSeconds: number;

  constructor(private readonly opts: DriftEventsOptions) {
    this.metrics = metrics(opts.registry);
    this.waitSeconds = Math.min(20, Math.max(1, Math.floor(opts.waitSeconds ?? 20)));
  }

  /** Starts polling the current queues. */
  start(): void {
    this.running = true;
    this.refresh();
  }

  /** Polls the queues that appeared since the last look and stops polling those that went. */
  refresh(): void {
    if (!this.running) return;
    const wanted = new Map(this.opts.queues().map((q) => [q.arn, q]));
    for (const [arn, loop] of this.loops) {
      if (!wanted.has(arn)) {
        loop.stop.abort();
        this.loops.delete(arn);
      }
    }
    for (const [arn, queue] of wanted) {
      if (this.loops.has(arn)) continue;
      const stop = new AbortController();
      const done = this.poll(queue, stop.signal).catch((err: unknown) =>
        this.opts.log.error({ err, queue: arn }, 'drift events: polling stopped on an unexpected error'),
      );
      this.loops.set(arn, { stop, done });
    }
  }

  /** The queues being polled (their ARNs). */
  get polling(): string[] {
    return [...this.loops.keys()];
  }

  /** Stops every loop, ending receives in flight, and waits until they have returned. */
  async stop(): Promise<void> {
    this.running = false;
    const loops = [...this.loops.values()];
    this.loops.clear();
    for (const l of loops) l.stop.abort();
    await Promise.all(loops.map((l) => l.done));
  }

  private async poll(queue: DriftQueue, signal: AbortSignal): Promise<void> {
    const parsed = parseQueueArn(queue.arn);
    if (!parsed) throw new Error(`${queue.arn} is not an SQS queue ARN`);
    const sqs = sqsIn({ aws: queue.aws }, parsed.region);
    const log = this.opts.log.child({ queue: queue.arn });
    const backoff = this.opts.backoffMs ?? { base: 1_000, max: 60_000 };
    // A deadline of its own for each call, besides the poller's signal: the long poll plus some slack.
    const callMs = (this.waitSeconds + 10) * 1000;
    /** Runs one call with its own deadline, cleared when it ends. */
    const bounded = async <T>(call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> => {
      const d = deadline(callMs, signal);
      try {
        return await call(d.signal);
      } finally {
        d.clear();
      }
    };
    let url: string | undefined;
    let failures = 0;
    while (!signal.aborted) {
      try {
        url ??= (
          await bounded((abortSignal) =>
            sqs.send(new GetQueueUrlCommand({ QueueName: parsed.name, QueueOwnerAWSAccountId: parsed.account }), {
              abortSignal,
            }),
          )
        ).QueueUrl;
        if (!url) throw new Error(`GetQueueUrl ${parsed.name} returned no URL`);
        const queueUrl = url;
        const out = await bounded((abortSignal) =>
          sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: queueUrl,
              MaxNumberOfMessages: 10,
              WaitTimeSeconds: this.waitSeconds,
            }),
            { abortSignal },
          ),
        );
        const messages = out.Messages ?? [];
        for (const m of messages) this.handle(m.Body ?? '', m.MessageId ?? '', log);
        const entries = messages.flatMap((m, i) =>
          m.ReceiptHandle ? [{ Id: String(i), ReceiptHandle: m.ReceiptHandle }] : [],
        );
        if (entries.length > 0) {
          const deleted = await bounded((abortSignal) =>
            sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }), { abortSignal }),
          );
          for (const f of deleted.Failed ?? []) {
            log.warn({ code: f.Code, message: f.Message }, 'drift events: a handled message was not deleted');
          }
        }
        failures = 0;
      } catch (err) {
        if (signal.aborted) return;
        // A queue deleted under us (its Environment turned drift events off) is found again by URL next time.
        if (isNotFound(err)) url = undefined;
        failures++;
        const ms = Math.min(backoff.max, backoff.base * 2 ** Math.min(failures - 1, 16));
        const wait = Math.round(ms * (0.5 + Math.random() / 2));
        log.warn({ err, retryInMs: wait, failures }, 'drift events: receiving from the queue failed');
        await pause(wait, signal);
      }
    }
  }

  /** One message: classify, look up the owners, enqueue them. Never throws: a bad message is logged and dropped. */
  private handle(body: string, messageId: string, log: Logger): void {
    this.metrics.received.inc();
    const verdict = classifyEvent(body, this.opts.own);
    if (verdict.action === 'ignore') {
      this.metrics.ignored.inc({ reason: verdict.reason });
      if (verdict.reason === 'malformed') {
        log.warn({ messageId, why: verdict.detail, body: body.slice(0, 500) }, 'drift events: malformed event dropped');
      } else log.debug({ messageId, reason: verdict.reason, detail: verdict.detail }, 'drift events: event ignored');
      return;
    }
    const owners = [...new Set(verdict.identifiers.flatMap((id) => this.opts.ownersOf(id)))];
    if (owners.length === 0) {
      this.metrics.ignored.inc({ reason: 'not-owned' });
      log.debug({ messageId, event: verdict.eventName, identifiers: verdict.identifiers }, 'drift events: not ours');
      return;
    }
    for (const owner of owners) this.opts.enqueue(owner);
    this.metrics.handled.inc();
    log.info({ messageId, event: verdict.eventName, owners }, 'drift events: owner enqueued');
  }
}
