// Controller metrics, named after controller-runtime's so existing dashboards and alerts apply. Several controllers
// share one registry, and prom-client refuses to register a name twice, so the metric objects are created once per
// registry and every controller adds its own label values.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type ReconcileResult = 'success' | 'requeue_after' | 'error' | 'terminal';

export interface RuntimeMetrics {
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileDuration: Histogram<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  /**
   * Adds a queue to the depth gauge and, given `longestRunningMs`, to the gauge of its longest-running worker;
   * both are read at scrape time.
   */
  registerQueue(controller: string, depth: () => number, longestRunningMs?: () => number): void;
}

const byRegistry = new WeakMap<Registry, RuntimeMetrics>();

export function runtimeMetrics(registry: Registry): RuntimeMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const queues = new Map<string, () => number>();
  const running = new Map<string, () => number>();
  const metrics: RuntimeMetrics = {
    reconcileTotal: new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Reconciliations by controller and result (success, requeue_after, error, terminal).',
      labelNames: ['controller', 'result'],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Reconciliations that failed, terminal or retried.',
      labelNames: ['controller'],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Time spent in one reconciliation.',
      labelNames: ['controller'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    activeWorkers: new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Workers currently running a reconciliation.',
      labelNames: ['controller'],
      registers: [registry],
    }),
    registerQueue: (controller, depth, longestRunningMs) => {
      queues.set(controller, depth);
      if (longestRunningMs) running.set(controller, longestRunningMs);
    },
  };
  new Gauge({
    name: 'workqueue_depth',
    help: 'Keys ready to be reconciled, per controller.',
    labelNames: ['name'],
    registers: [registry],
    collect() {
      for (const [name, depth] of queues) this.set({ name }, depth());
    },
  });
  // client-go's name: how long the worker that has held its key longest has been at it. A pass is abandoned at
  // its deadline (SLIPWAY_PASS_DEADLINE), so this never grows much past it; a value that does is a stuck worker.
  new Gauge({
    name: 'workqueue_longest_running_processor_seconds',
    help: 'Seconds the longest-running worker has held its key, per controller; 0 when none is busy.',
    labelNames: ['name'],
    registers: [registry],
    collect() {
      for (const [name, ms] of running) this.set({ name }, ms() / 1000);
    },
  });
  byRegistry.set(registry, metrics);
  return metrics;
}
