// Reads the operator's own Prometheus metrics between phases: reconciles per controller, seconds spent in
// reconciles and seconds spent waiting on AWS calls. The benchmark trusts what /metrics would show.
import type { Registry } from 'prom-client';

/** Summed values of one metric, by the value of one label (e.g. reconciles by controller). */
export type LabelTotals = Readonly<Record<string, number>>;

export interface MetricsSnapshot {
  readonly reconciles: LabelTotals;
  readonly reconcileSeconds: LabelTotals;
  readonly awsCallSeconds: LabelTotals;
}

async function totals(registry: Registry, name: string, label: string, metricName = name): Promise<LabelTotals> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return {};
  const out: Record<string, number> = {};
  // Histograms name each value (`_bucket`, `_sum`, `_count`); counters do not.
  const values: readonly { value: number; labels: Partial<Record<string, string | number>>; metricName?: string }[] = (
    await metric.get()
  ).values;
  for (const v of values) {
    if (v.metricName !== undefined && v.metricName !== metricName) continue;
    const key = String(v.labels[label] ?? '');
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

export async function metricsSnapshot(registry: Registry): Promise<MetricsSnapshot> {
  return {
    reconciles: await totals(registry, 'controller_runtime_reconcile_total', 'controller'),
    reconcileSeconds: await totals(
      registry,
      'controller_runtime_reconcile_time_seconds',
      'controller',
      'controller_runtime_reconcile_time_seconds_sum',
    ),
    awsCallSeconds: await totals(
      registry,
      'slipway_aws_call_duration_seconds',
      'service',
      'slipway_aws_call_duration_seconds_sum',
    ),
  };
}

export function minus(after: LabelTotals, before: LabelTotals): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = round(d, 3);
  }
  return out;
}

export function sum(r: LabelTotals): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** What the metrics say happened between two snapshots. */
export interface MetricsDelta {
  readonly reconciles: Record<string, number>;
  readonly reconcileSeconds: Record<string, number>;
  /** Seconds spent inside AWS calls, summed over calls (concurrent calls overlap), by AWS service. */
  readonly awsCallSeconds: Record<string, number>;
}

export function metricsDelta(after: MetricsSnapshot, before: MetricsSnapshot): MetricsDelta {
  return {
    reconciles: minus(after.reconciles, before.reconciles),
    reconcileSeconds: minus(after.reconcileSeconds, before.reconcileSeconds),
    awsCallSeconds: minus(after.awsCallSeconds, before.awsCallSeconds),
  };
}
