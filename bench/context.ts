// What every phase of the benchmark works with.
import type { Environment, PreviewDeployment, Service } from '../src/api/index.js';
import type { AwsClients } from '../src/aws/clients.js';
import type { Operator } from '../src/operator.js';
import type { KubeObject, ResourceClient } from '../src/runtime/index.js';
import type { Landscape } from '../test/support/aws-fixtures.js';
import type { Tracked } from './cpu.js';
import type { BenchPlan } from './scale.js';

export interface BenchOptions {
  /** How many Environments (--environments E), each gated, non-production, with its own domain and zone. */
  readonly environments: number;
  /** How many Services each Environment holds (--services N): E×N in all. */
  readonly services: number;
  /** PreviewDeployments, dealt round-robin over the Environments and their Services (--previews P). */
  readonly previews: number;
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
  /** Environments have spec.drift.events from the start (--drift-events): a wave then rotates attribute reads. */
  readonly driftEvents: boolean;
  /** CloudTrail's event history is served (--event-history; a relay in front of the emulator, which lacks it). */
  readonly eventHistory: boolean;
}

export interface BenchContext {
  readonly options: BenchOptions;
  readonly namespace: string;
  /** The first Environment's landscape (the single phase, drift, together and the replays use it). */
  readonly land: Landscape;
  /** One landscape per Environment, in the plan's order. */
  readonly lands: readonly Landscape[];
  readonly plan: BenchPlan;
  readonly operator: Operator;
  /** The benchmark's own AWS clients (not counted in the operator's calls), for checks and the replay. */
  readonly aws: AwsClients;
  readonly environments: ResourceClient<Environment>;
  readonly services: ResourceClient<Service>;
  readonly previews: ResourceClient<PreviewDeployment>;
  /** The same collections, for submitting manifests that leave defaulted fields out. */
  readonly rawEnvironments: ResourceClient<KubeObject>;
  readonly rawServices: ResourceClient<KubeObject>;
  readonly rawPreviews: ResourceClient<KubeObject>;
  /** Every Service of the plan (E×N), Environment by Environment. */
  readonly names: readonly string[];
  /** The environment's server processes, for CPU time per phase. */
  readonly processes: readonly Tracked[];
}
