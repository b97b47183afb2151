// How long the operator's workers hold their keys, read from its /metrics every second for the whole run:
// workqueue_longest_running_processor_seconds{name} is the age of each controller's oldest reconcile in progress.
// The operator is SIGKILLed and restarted during the run, and a metric only lives as long as its process, so the
// watch keeps the largest value it ever read; scrapes that fail while the process is down are counted and skipped.
// A worker held for T seconds is read at T minus at most one scrape period (plus the scrape's own latency).

const METRIC = 'workqueue_longest_running_processor_seconds';

export interface WorkerWatchResult {
  /** The longest any worker was seen holding a key, in seconds, by controller. */
  readonly longestBusySeconds: Readonly<Record<string, number>>;
  readonly scrapes: number;
  readonly failedScrapes: number;
  /** The failed scrapes by cause: ECONNREFUSED while the operator was down or starting, TimeoutError past 5 s. */
  readonly failedBy: Readonly<Record<string, number>>;
  readonly periodMs: number;
}

/** The metric's values by controller, from a Prometheus text exposition. */
export function longestRunning(exposition: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of exposition.split('\n')) {
    const m = /^workqueue_longest_running_processor_seconds\{(?:[^}]*,)?name="([^"]*)"[^}]*\}\s+(\S+)/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

export class WorkerWatch {
  private readonly longest: Record<string, number> = {};
  private scrapes = 0;
  private failedScrapes = 0;
  private readonly failedBy: Record<string, number> = {};
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly metricsUrl: string,
    private readonly periodMs = 1000,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      // One scrape at a time: a slow one (the operator busy or restarting) is not stacked up.
      this.inFlight = this.inFlight.then(() => this.scrape());
    }, this.periodMs);
  }

  /** Stops the scrapes, after one last, and returns what was seen. */
  async stop(): Promise<WorkerWatchResult> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
    await this.scrape();
    return {
      longestBusySeconds: { ...this.longest },
      scrapes: this.scrapes,
      failedScrapes: this.failedScrapes,
      failedBy: { ...this.failedBy },
      periodMs: this.periodMs,
    };
  }

  private async scrape(): Promise<void> {
    try {
      const res = await fetch(this.metricsUrl, { signal: AbortSignal.timeout(5_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const text = await res.text();
      if (!text.includes(METRIC)) throw new Error(`no ${METRIC} in the answer`);
      for (const [name, seconds] of Object.entries(longestRunning(text)))
        this.longest[name] = Math.max(this.longest[name] ?? 0, seconds);
      this.scrapes++;
    } catch (err) {
      this.failedScrapes++;
      const cause = failureCause(err);
      this.failedBy[cause] = (this.failedBy[cause] ?? 0) + 1;
    }
  }
}

/** A failed fetch's cause, as a short name: the socket error code when there is one, else the error's name. */
function failureCause(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string } } | undefined;
  return e?.cause?.code ?? e?.name ?? 'Error';
}
