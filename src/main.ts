// The operator process: configuration, logging, the operator, and a graceful shutdown on SIGTERM/SIGINT
// (stop taking work, let running reconciles finish, release the leader lease).
import { setFlagsFromString } from 'node:v8';
import pino from 'pino';
import { loadConfig } from './config.js';
import { createOperator } from './operator.js';
import { loadKubeConfig } from './runtime/index.js';

const config = loadConfig();
// V8 reads the flag at each full collection, so setting it now (not on the command line, which the chart's command
// and NODE_OPTIONS leave no room for) governs every collection after start-up.
if (config.heapGrowingPercent > 0) setFlagsFromString(`--heap-growing-percent=${config.heapGrowingPercent}`);
const logger = pino({
  level: config.logLevel,
  base: { pod: config.podName },
  // Secrets never reach logs: the operator only logs ARNs, names and messages, and these keys are cut if present.
  redact: { paths: ['*.secretAccessKey', '*.sessionToken', '*.ClientSecret', '*.password', '*.token'], remove: true },
});

const operator = createOperator({ config, kubeConfig: loadKubeConfig(), logger });
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    operator
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  });
}
await operator.start();
logger.info({ clusterId: config.clusterId, metricsPort: operator.health?.port }, 'slipway operator started');
