// Kubernetes Events (events.k8s.io/v1) about the objects we reconcile, so `kubectl describe` tells users what
// happened. A controller that retries emits the same event many times; repeats of one (object, type, reason,
// action, note) within a window update the first event's `series.count` instead of creating new objects, which
// keeps etcd small and the describe output readable. Recording is best effort: a failure is logged, never thrown,
// because an event must not fail a reconcile.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { type Clock, systemClock } from './clock.js';
import { type KubeObject, CoreTypes, type KubeClient, type ResourceClient, isNotFound, microTime } from './kube.js';

export type EventType = 'Normal' | 'Warning';

export interface EventSpec {
  readonly type: EventType;
  /** CamelCase reason, e.g. 'Created', 'ReconcileFailed'. */
  readonly reason: string;
  /** Human-readable text. Never put secret values here: events are readable by anyone who can read the object. */
  readonly note: string;
  /** What we were doing, e.g. 'Reconcile', 'Delete'. Default 'Reconcile'. */
  readonly action?: string;
}

interface EventSeries {
  readonly count: number;
  readonly lastObservedTime: string;
}

/** The fields of an events.k8s.io/v1 Event this recorder writes. */
export interface KubeEvent extends KubeObject {
  readonly eventTime: string;
  readonly reportingController: string;
  readonly reportingInstance: string;
  readonly action: string;
  readonly reason: string;
  readonly note?: string;
  readonly type: EventType;
  readonly regarding: {
    readonly apiVersion?: string;
    readonly kind?: string;
    readonly name?: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly resourceVersion?: string;
  };
  readonly series?: EventSeries;
}

export interface EventRecorderOptions {
  readonly client: KubeClient;
  /** Which replica emitted the event: the pod name. */
  readonly reportingInstance: string;
  readonly reportingController?: string;
  /** Repeats within this long of the first occurrence are folded into it. Default 10 minutes. */
  readonly aggregationWindowMs?: number;
  /** Most series remembered at once; the oldest are forgotten first. Default 4096. */
  readonly maxSeries?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

interface Series {
  readonly namespace: string;
  readonly name: string;
  readonly firstAt: number;
  count: number;
}

const NOTE_LIMIT = 1024;

export class EventRecorder {
  readonly reportingController: string;
  private readonly events: ResourceClient<KubeEvent>;
  private readonly options: EventRecorderOptions;
  private readonly clock: Clock;
  private readonly windowMs: number;
  private readonly maxSeries: number;
  /** Insertion-ordered, so the first entry is the oldest. */
  private readonly series = new Map<string, Series>();
  /** One write at a time per series, so two quick repeats cannot both create an event. */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(options: EventRecorderOptions) {
    this.options = options;
    this.events = options.client.resource<KubeEvent>(CoreTypes.event);
    this.reportingController = options.reportingController ?? 'slipway.dev/operator';
    this.clock = options.clock ?? systemClock;
    this.windowMs = options.aggregationWindowMs ?? 10 * 60_000;
    this.maxSeries = options.maxSeries ?? 4096;
  }

  normal(obj: KubeObject, reason: string, note: string, action?: string): Promise<void> {
    return this.record(obj, { type: 'Normal', reason, note, action });
  }

  warning(obj: KubeObject, reason: string, note: string, action?: string): Promise<void> {
    return this.record(obj, { type: 'Warning', reason, note, action });
  }

  /** Records an event about `obj`. Resolves when written (or when writing failed and was logged). */
  record(obj: KubeObject, spec: EventSpec): Promise<void> {
    const action = spec.action ?? 'Reconcile';
    const note = truncate(spec.note, NOTE_LIMIT);
    const meta = obj.metadata ?? {};
    const seriesKey = [
      meta.uid ?? `${meta.namespace ?? ''}/${obj.kind ?? ''}/${meta.name ?? ''}`,
      spec.type,
      spec.reason,
      action,
      note,
    ].join('\u0000');
    const previous = this.inFlight.get(seriesKey) ?? Promise.resolve();
    const next = previous
      .then(() => this.write(seriesKey, obj, { ...spec, action, note }))
      .catch((err: unknown) => {
        this.options.logger?.warn({ err, reason: spec.reason, object: meta.name }, 'could not record event');
      })
      .finally(() => {
        if (this.inFlight.get(seriesKey) === next) this.inFlight.delete(seriesKey);
      });
    this.inFlight.set(seriesKey, next);
    return next;
  }

  private async write(seriesKey: string, obj: KubeObject, spec: Required<EventSpec>): Promise<void> {
    const now = this.clock.now();
    const existing = this.series.get(seriesKey);
    if (existing && now - existing.firstAt < this.windowMs) {
      const count = existing.count + 1;
      try {
        await this.events.mergePatch(
          { namespace: existing.namespace, name: existing.name },
          { series: { count, lastObservedTime: microTime(new Date(now)) } },
        );
        existing.count = count;
        return;
      } catch (err) {
        // The event expired (events have a TTL) or was deleted: start a new series below.
        if (!isNotFound(err)) throw err;
      }
    }
    this.series.delete(seriesKey);
    const meta = obj.metadata ?? {};
    const namespace = meta.namespace || 'default';
    const name = `${(meta.name ?? 'object').slice(0, 200)}.${randomBytes(8).toString('hex')}`;
    await this.events.create({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace },
      eventTime: microTime(new Date(now)),
      reportingController: this.reportingController,
      reportingInstance: this.options.reportingInstance,
      action: spec.action,
      reason: spec.reason,
      note: spec.note,
      type: spec.type,
      regarding: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
    });
    this.series.set(seriesKey, { namespace, name, firstAt: now, count: 1 });
    while (this.series.size > this.maxSeries) {
      const oldest = this.series.keys().next().value;
      if (oldest === undefined) break;
      this.series.delete(oldest);
    }
  }
}

/** The server limits the note to 1024 bytes (not characters). */
function truncate(text: string, limitBytes: number): string {
  if (Buffer.byteLength(text) <= limitBytes) return text;
  let cut = text.slice(0, limitBytes);
  while (Buffer.byteLength(cut) > limitBytes - 3) cut = cut.slice(0, -1);
  return `${cut}…`;
}
