// `npm run chaos -- --services N --minutes M --seed S [--throttle 0.05 --error5xx 0.03 --drop 0.02 --silent 0.005
//                  --create-kills 3 --delete-kills 2 --request-timeout 3s --out FILE]`
// `npm run chaos -- --failover [--repeat 3 --lease-duration 10s --renew-deadline 7s --retry-period 2s --out FILE]`
//
// Runs the chaos suite (harness.ts), or with --failover the leader failover scenario (failover.ts) N times, against
// its own local environment. Prints the report as markdown on stdout, writes the JSON to
// test/chaos/results/<date>-<N>svc-seed<S>.json or <date>-failover-lease<D>.json (or --out), and exits 1 when a
// check failed, 2 when the run itself could not complete.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../../src/config.js';
import { renderFailoverMarkdown, runFailoverSuite } from './failover.js';
import { DEFAULT_OPTIONS, runChaos } from './harness.js';
import { renderMarkdown } from './report.js';

// The SDK is pinned to the last versions that support Node 20; its reminder about that is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '30' },
    minutes: { type: 'string', default: '3' },
    seed: { type: 'string', default: String(Date.now() % 100_000) },
    throttle: { type: 'string', default: String(DEFAULT_OPTIONS.rates.throttle) },
    error5xx: { type: 'string', default: String(DEFAULT_OPTIONS.rates.error5xx) },
    drop: { type: 'string', default: String(DEFAULT_OPTIONS.rates.drop) },
    silent: { type: 'string', default: String(DEFAULT_OPTIONS.rates.silent) },
    'create-kills': { type: 'string', default: String(DEFAULT_OPTIONS.createKills) },
    'delete-kills': { type: 'string', default: String(DEFAULT_OPTIONS.deleteKills) },
    'request-timeout': { type: 'string', default: DEFAULT_OPTIONS.requestTimeout },
    out: { type: 'string' },
    failover: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '3' },
    // The operator's defaults (src/config.ts), which the chart ships.
    'lease-duration': { type: 'string', default: '10s' },
    'renew-deadline': { type: 'string', default: '7s' },
    'retry-period': { type: 'string', default: '2s' },
  },
});

const num = (name: string, v: string, min: number, max: number, integer = true): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
    throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${v}"`);
  return n;
};

if (values.failover) {
  const lease = {
    leaseDuration: values['lease-duration'],
    renewDeadline: values['renew-deadline'],
    retryPeriod: values['retry-period'],
  };
  for (const v of Object.values(lease)) parseDuration(v); // a bad value stops here, not in the operator
  const log = (line: string) => process.stderr.write(`[chaos] ${line}\n`);
  const results = await runFailoverSuite({ repeat: num('repeat', values.repeat, 1, 20), lease, log });
  const file =
    values.out ??
    join(
      import.meta.dirname,
      'results',
      `${results.startedAt.slice(0, 10)}-failover-lease${lease.leaseDuration}-${results.startedAt.slice(11, 16).replace(':', '')}.json`,
    );
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${renderFailoverMarkdown(results)}\n`);
  log(`results written to ${file}`);
  process.exit(results.error ? 2 : results.checks.some((c) => !c.ok) ? 1 : 0);
}

const rates = {
  throttle: num('throttle', values.throttle, 0, 1, false),
  error5xx: num('error5xx', values.error5xx, 0, 1, false),
  drop: num('drop', values.drop, 0, 1, false),
  silent: num('silent', values.silent, 0, 1, false),
};
if (rates.throttle + rates.error5xx + rates.drop + rates.silent > 1)
  throw new Error('the fault rates add up to more than 1');

const options = {
  ...DEFAULT_OPTIONS,
  // 100 rules per load balancer is the AWS default quota the operator enforces.
  services: num('services', values.services, 1, 100),
  minutes: num('minutes', values.minutes, 0, 600, false),
  seed: num('seed', values.seed, 0, 2 ** 31),
  rates,
  createKills: num('create-kills', values['create-kills'], 0, 50),
  deleteKills: num('delete-kills', values['delete-kills'], 0, 50),
  requestTimeout: values['request-timeout'],
  log: (line: string) => process.stderr.write(`[chaos] ${line}\n`),
};

const results = await runChaos(options);
const file =
  values.out ??
  join(
    import.meta.dirname,
    'results',
    `${results.startedAt.slice(0, 10)}-${options.services}svc-seed${options.seed}.json`,
  );
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`${renderMarkdown(results)}\n`);
options.log(`results written to ${file}`);
const failed = results.checks.filter((c) => !c.ok);
process.exit(results.error ? 2 : failed.length > 0 ? 1 : 0);
