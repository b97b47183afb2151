// What every phase of the benchmark works with.
import type { Environment, Service } from '../src/api/index.js';
import type { AwsClients } from '../src/aws/clients.js';
import type { Operator } from '../src/operator.js';
import type { KubeObject, ResourceClient } from '../src/runtime/index.js';
import type { Landscape } from '../test/support/aws-fixtures.js';
import type { Tracked } from './cpu.js';

export interface BenchOptions {
  /** How many Services share the one Environment. */
  readonly services: number;
  /** The operator's concurrent reconciles per controller (SLIPWAY_WORKERS). */
  readonly workers: number;
  /** Services replayed one at a time with the SDK alone, to time the emulator. */
  readonly replaySamples: number;
  /** Deadline for any one wait; the whole run has its own deadline on top. */
  readonly phaseTimeoutMs: number;
  readonly runTimeoutMs: number;
  /**
   * Whether ECS deployments in the emulator complete at once (`complete`: it reports the desired task running)
   * or never (`never`: the emulator's default, every Service stays IN_PROGRESS and is polled as a rollout).
   */
  readonly ecsRollouts: 'complete' | 'never';
  /** How long the operator is watched while idle, after everything else. */
  readonly idleWindowMs: number;
  /** Phases left out of a run (`--skip fan-out,together,drift`). */
  readonly skip: readonly ('fan-out' | 'together' | 'drift')[];
  /** The Environment's resyncInterval, in seconds, while the drift phase measures correction without events. */
  readonly driftResyncS: number;
}

export interface BenchContext {
  readonly options: BenchOptions;
  readonly namespace: string;
  readonly land: Landscape;
  readonly operator: Operator;
  /** The benchmark's own AWS clients (not counted in the operator's calls), for checks and the replay. */
  readonly aws: AwsClients;
  readonly environments: ResourceClient<Environment>;
  readonly services: ResourceClient<Service>;
  /** The same collections, for submitting manifests that leave defaulted fields out. */
  readonly rawEnvironments: ResourceClient<KubeObject>;
  readonly rawServices: ResourceClient<KubeObject>;
  readonly names: readonly string[];
  /** The environment's server processes, for CPU time per phase. */
  readonly processes: readonly Tracked[];
}
