// The real operator, in this process, as the integration tests run it — except that its log goes to stderr, so
// that stdout carries only the benchmark's report.
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { createOperator, type Operator } from '../src/operator.js';
import { EMULATOR_LOAD_BALANCER_QUOTA, getTestEnv } from '../test/support/env.js';

/** `endpoint`: where the operator's AWS calls go, the emulator's URL unless a relay stands in front of it. */
export async function startBenchOperator(workers: number, namespace: string, endpoint?: string): Promise<Operator> {
  const env = getTestEnv();
  const config = loadConfig({
    SLIPWAY_CLUSTER_ID: 'bench',
    SLIPWAY_AWS_ENDPOINT: endpoint ?? env.awsEndpoint,
    AWS_REGION: env.awsRegion,
    SLIPWAY_LEADER_ELECTION: 'false',
    SLIPWAY_METRICS_PORT: '0',
    SLIPWAY_WORKERS: String(workers),
    SLIPWAY_LOAD_BALANCER_QUOTA: EMULATOR_LOAD_BALANCER_QUOTA,
    // Only the benchmark's objects, even in an environment other runs have left objects in.
    SLIPWAY_WATCH_NAMESPACE: namespace,
  });
  process.env.AWS_ACCESS_KEY_ID ??= env.awsCredentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ??= env.awsCredentials.secretAccessKey;
  const logger = pino({ level: process.env.SLIPWAY_BENCH_LOG_LEVEL ?? 'error' }, pino.destination(2));
  const operator = createOperator({ config, kubeConfig: env.kubeConfig, logger, serveHealth: false });
  await operator.start();
  return operator;
}
