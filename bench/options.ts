// The benchmark's command line, parsed and validated (a pure function of argv and the environment, unit-tested).
import { parseArgs } from 'node:util';
import type { BenchOptions } from './context.js';
import { MAX_SERVICES_PER_ENVIRONMENT, scaleError } from './scale.js';

function rollouts(v: string): BenchOptions['ecsRollouts'] {
  if (v === 'complete' || v === 'never') return v;
  throw new Error(`--ecs-rollouts must be complete or never, got "${v}"`);
}

/** Phases a large run can leave out: fan-out and together each cost about as long as the cold phase. */
function skipped(v: string): BenchOptions['skip'] {
  const names = v.split(',').filter(Boolean);
  for (const name of names)
    if (name !== 'fan-out' && name !== 'together' && name !== 'drift')
      throw new Error(`--skip takes fan-out, together and drift, got "${name}"`);
  return names as BenchOptions['skip'];
}

/** The longest a phase or the whole run may wait: 4 hours. */
export const MAX_TIMEOUT_S = 4 * 3600;

export function parseBenchOptions(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): BenchOptions & { readonly reuseEnv: boolean } {
  const { values } = parseArgs({
    args: [...args],
    options: {
      environments: { type: 'string', default: '1' },
      services: { type: 'string', default: env.BENCH_SERVICES ?? '30' },
      previews: { type: 'string', default: '0' },
      workers: { type: 'string', default: env.BENCH_WORKERS ?? '4' },
      samples: { type: 'string', default: '5' },
      'phase-timeout': { type: 'string', default: '600' },
      timeout: { type: 'string', default: '1800' },
      'reuse-env': { type: 'boolean', default: false },
      'ecs-rollouts': { type: 'string', default: 'complete' },
      'idle-window': { type: 'string', default: '60' },
      skip: { type: 'string', default: '' },
      'drift-resync': { type: 'string', default: '60' },
      'drift-events': { type: 'boolean', default: false },
      'event-history': { type: 'boolean', default: false },
    },
  });
  const int = (name: string, v: string, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${v}"`);
    return n;
  };
  // Past 100 Services and previews (the default rule quota of one load balancer) an Environment opens more shards.
  const environments = int('environments', values.environments, 1, Number.MAX_SAFE_INTEGER);
  const services = int('services', values.services, 1, MAX_SERVICES_PER_ENVIRONMENT);
  const previews = int('previews', values.previews, 0, Number.MAX_SAFE_INTEGER);
  const error = scaleError(environments, services, previews);
  if (error) throw new Error(error);
  return {
    environments,
    services,
    previews,
    workers: int('workers', values.workers, 1, 64),
    replaySamples: int('samples', values.samples, 0, 50),
    // 4 h like the run: a cold phase of 1,000 Services and 1,000 previews registers 2,000 task definitions at 1/s.
    phaseTimeoutMs: int('phase-timeout', values['phase-timeout'], 10, MAX_TIMEOUT_S) * 1000,
    runTimeoutMs: int('timeout', values.timeout, 60, MAX_TIMEOUT_S) * 1000,
    reuseEnv: values['reuse-env'],
    ecsRollouts: rollouts(values['ecs-rollouts']),
    idleWindowMs: int('idle-window', values['idle-window'], 0, 3600) * 1000,
    skip: skipped(values.skip),
    // The CRD's bounds of spec.resyncInterval.
    driftResyncS: int('drift-resync', values['drift-resync'], 30, 3600),
    driftEvents: values['drift-events'],
    eventHistory: values['event-history'],
  };
}
