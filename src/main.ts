// The operator process: configuration, logging, the operator, and a graceful shutdown on SIGTERM/SIGINT
// (stop taking work, let running reconciles finish, release the leader lease).
import { setFlagsFromString } from 'node:v8';

// The young generation stays at V8's initial size (two 1 MiB semi-spaces) instead of growing to two 16 MiB ones.
// Loading the AWS SDK and client-node allocates fast enough to grow it to the maximum at start-up, and the 32 MiB it
// then holds stay resident though they are empty between scavenges: about 30 MiB of RSS for nothing, on a process
// whose working set is a few informer caches. The cost is more frequent (and smaller) scavenges; BENCHMARKS.md
// ("Memory of node dist/main.js") has both figures. The growth factor is read each time V8 would grow the space, so
// setting it here works without a command-line flag; it must happen before the imports below allocate, hence the
// dynamic imports.
setFlagsFromString('--semi-space-growth-factor=1');

const { default: pino } = await import('pino');
const { loadConfig } = await import('./config.js');
const { createOperator } = await import('./operator.js');
const { loadKubeConfig } = await import('./runtime/index.js');

const config = loadConfig();
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
