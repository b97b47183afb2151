// What a run applies with `--environments E --services N --previews P`: E gated non-production Environments, N
// Services on each (E×N in all), and P PreviewDeployments dealt round-robin over the Environments, and within each
// Environment over its Services. Pure, so that names and spreads are unit-tested.
import { ENVIRONMENT_NAME } from './manifests.js';

/** The CRD's bound on previews.maxActive (a unit test keeps them equal): more on one Environment would stay Blocked. */
export const MAX_PREVIEWS_PER_ENVIRONMENT = 1000;
export const MAX_ENVIRONMENTS = 20;
export const MAX_SERVICES_PER_ENVIRONMENT = 1000;

export interface PlannedEnvironment {
  readonly name: string;
  /** Prefix of its Services' names (`svc` on the first, as before several Environments existed). */
  readonly prefix: string;
  /** Its own base domain and hosted zone: index into the run's landscapes. */
  readonly landscape: number;
}

export interface PlannedService {
  readonly name: string;
  readonly environment: string;
  /** Position within its Environment: the image repository and SERVICE_INDEX. */
  readonly index: number;
}

export interface PlannedPreview {
  readonly name: string;
  readonly environment: string;
  readonly service: string;
  /** Its pull request number (1, 2, ...), which also makes its host pr-<number>-<service>. */
  readonly number: number;
}

export interface BenchPlan {
  readonly environments: readonly PlannedEnvironment[];
  readonly services: readonly PlannedService[];
  readonly previews: readonly PlannedPreview[];
}

export function environmentName(j: number): string {
  return j === 0 ? ENVIRONMENT_NAME : `${ENVIRONMENT_NAME}-${j}`;
}

export function servicePrefix(j: number): string {
  return j === 0 ? 'svc' : `e${j}-svc`;
}

export function serviceNameIn(j: number, i: number): string {
  return `${servicePrefix(j)}-${String(i).padStart(3, '0')}`;
}

export function previewName(number: number): string {
  return `pr-${String(number).padStart(4, '0')}`;
}

/** Why E, N and P do not make a run, or undefined when they do. */
export function scaleError(environments: number, services: number, previews: number): string | undefined {
  if (!Number.isInteger(environments) || environments < 1 || environments > MAX_ENVIRONMENTS)
    return `--environments must be an integer from 1 to ${MAX_ENVIRONMENTS}, got ${environments}`;
  if (!Number.isInteger(services) || services < 1 || services > MAX_SERVICES_PER_ENVIRONMENT)
    return `--services (per Environment) must be an integer from 1 to ${MAX_SERVICES_PER_ENVIRONMENT}, got ${services}`;
  const most = MAX_PREVIEWS_PER_ENVIRONMENT * environments;
  if (!Number.isInteger(previews) || previews < 0 || previews > most)
    return (
      `--previews must be an integer from 0 to ${most} (${MAX_PREVIEWS_PER_ENVIRONMENT} per Environment, the ` +
      `bound of previews.maxActive; more would stay Blocked), got ${previews}`
    );
  return undefined;
}

export function benchPlan(environments: number, services: number, previews: number): BenchPlan {
  const error = scaleError(environments, services, previews);
  if (error) throw new Error(error);
  const envs = Array.from({ length: environments }, (_, j) => ({
    name: environmentName(j),
    prefix: servicePrefix(j),
    landscape: j,
  }));
  const svcs = envs.flatMap((env, j) =>
    Array.from({ length: services }, (_, i) => ({ name: serviceNameIn(j, i), environment: env.name, index: i })),
  );
  const prs = Array.from({ length: previews }, (_, k) => {
    const j = k % environments;
    const i = Math.floor(k / environments) % services;
    return { name: previewName(k + 1), environment: environmentName(j), service: serviceNameIn(j, i), number: k + 1 };
  });
  return { environments: envs, services: svcs, previews: prs };
}

/** How many of the plan's previews run on `environment`. */
export function previewsOn(plan: BenchPlan, environment: string): number {
  return plan.previews.filter((p) => p.environment === environment).length;
}

/**
 * The results file's name: `<date>-<N>svc[-rollouts-never].json` for one Environment without previews (as before),
 * `<date>-<E>env-<N>svc-<P>prev[...]` otherwise; `-2`, `-3`, ... when a run of the day already wrote that name.
 */
export function resultFileName(
  date: string,
  scale: { readonly environments: number; readonly services: number; readonly previews: number },
  rolloutsNever: boolean,
  exists: (name: string) => boolean,
): string {
  const size =
    scale.environments === 1 && scale.previews === 0
      ? `${scale.services}svc`
      : `${scale.environments}env-${scale.services}svc-${scale.previews}prev`;
  const base = `${date}-${size}${rolloutsNever ? '-rollouts-never' : ''}`;
  for (let k = 1; ; k++) {
    const name = `${base}${k === 1 ? '' : `-${k}`}.json`;
    if (!exists(name)) return name;
  }
}
