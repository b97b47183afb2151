// Runs the real operator in-process against the test environment: real informers, controllers and AWS calls.
import pino, { type Logger } from 'pino';
import { loadConfig } from '../../src/config.js';
import { createOperator, type Operator } from '../../src/operator.js';
import type { QuotaRetry } from '../../src/outcome/load-balancer-quota.js';
import { EMULATOR_LOAD_BALANCER_QUOTA, getTestEnv } from './env.js';

/** The cluster id of every operator the tests start (its resources' slipway.dev/cluster tag). */
export const TEST_CLUSTER_ID = 'test';

export async function startOperator(
  overrides: Record<string, string> = {},
  options: { now?: () => Date; logger?: Logger; rolloutPollMs?: number; quotaRetry?: QuotaRetry } = {},
): Promise<Operator> {
  const env = getTestEnv();
  const config = loadConfig({
    SLIPWAY_CLUSTER_ID: TEST_CLUSTER_ID,
    SLIPWAY_AWS_ENDPOINT: env.awsEndpoint,
    AWS_REGION: env.awsRegion,
    SLIPWAY_LEADER_ELECTION: 'false',
    SLIPWAY_METRICS_PORT: '0',
    SLIPWAY_WORKERS: '4',
    SLIPWAY_LOAD_BALANCER_QUOTA: EMULATOR_LOAD_BALANCER_QUOTA,
    ...overrides,
  });
  process.env.AWS_ACCESS_KEY_ID ??= env.awsCredentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ??= env.awsCredentials.secretAccessKey;
  const { logger = pino({ level: process.env.SLIPWAY_TEST_LOG_LEVEL ?? 'warn' }), ...rest } = options;
  const operator = createOperator({ config, kubeConfig: env.kubeConfig, logger, ...rest });
  await operator.start();
  return operator;
}

/** Total reconciles of one controller so far, from the operator's own metrics. */
export async function reconcileCount(operator: Operator, controller: string): Promise<number> {
  const metric = await operator.registry.getSingleMetric('controller_runtime_reconcile_total')?.get();
  return (metric?.values ?? []).filter((v) => v.labels.controller === controller).reduce((n, v) => n + v.value, 0);
}

/** AWS write calls the operator has made so far, from its own metrics, by service:operation. */
export async function operatorWrites(operator: Operator): Promise<Record<string, number>> {
  const metric = await operator.registry.getSingleMetric('slipway_aws_calls_total')?.get();
  const out: Record<string, number> = {};
  for (const v of metric?.values ?? []) {
    const op = String(v.labels.operation);
    if (/^(Describe|List|Get|Lookup|Search|Head)/.test(op)) continue;
    const key = `${v.labels.service}:${op}`;
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}
