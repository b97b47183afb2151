// `npm run env`: start the local environment by hand and keep it up until Ctrl-C.
import { startLocalEnvironment } from './index.js';

const env = await startLocalEnvironment();
const lines = Object.entries(env.exports).map(([k, v]) => `export ${k}=${v}`);
process.stdout.write(
  [
    '',
    'Slipway local environment is up. Point your shell at it with:',
    '',
    ...lines,
    '',
    'Then, for example:',
    '  kubectl get namespaces',
    `  aws --endpoint-url ${env.awsEndpoint} ecs list-clusters        # any AWS CLI or SDK client, region ${env.awsRegion}`,
    `  curl -s ${env.awsEndpoint}/moto-api/data.json | head           # everything the emulator holds`,
    '',
    'Ctrl-C stops every server and removes their state.',
    '',
  ].join('\n'),
);
if (process.env.SLIPWAY_ENV_FILE) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(process.env.SLIPWAY_ENV_FILE, lines.join('\n') + '\n');
}
// Stay up; the SIGINT/SIGTERM handlers installed by startLocalEnvironment tear everything down.
setInterval(() => undefined, 1 << 30);
