// The Slipway API (group slipway.dev, version v1alpha1): the TypeScript types of the three custom resources,
// generated from crds/*.yaml, and the names the rest of the operator uses to address them.
// test/unit/api/index.test.ts checks every constant here against the CRDs.
import type {
  EnvironmentSpec,
  EnvironmentStatus,
  PreviewDeploymentSpec,
  PreviewDeploymentStatus,
  ServiceSpec,
} from './types.generated.js';
import type { Environment, PreviewDeployment, Service } from './types.generated.js';

export type * from './types.generated.js';
export type { ObjectMeta, OwnerReference } from './meta.js';

export const GROUP = 'slipway.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;
/** The category of all three kinds: `kubectl get slipway` lists them. */
export const CATEGORY = 'slipway';

export const KINDS = {
  environment: 'Environment',
  service: 'Service',
  previewDeployment: 'PreviewDeployment',
} as const;

/** URL path segments: /apis/slipway.dev/v1alpha1/namespaces/<ns>/<plural>. */
export const PLURALS = {
  environment: 'environments',
  service: 'services',
  previewDeployment: 'previewdeployments',
} as const;

/** kubectl short names (`slenv` and `ssvc` avoid clashing with other `env` and core `svc`). */
export const SHORT_NAMES = {
  environment: 'slenv',
  service: 'ssvc',
  previewDeployment: 'preview',
} as const;

export type SlipwayKind = (typeof KINDS)[keyof typeof KINDS];
export type SlipwayObject = Environment | Service | PreviewDeployment;

/** Kind, plural and CRD name of each custom resource, e.g. for watches and RBAC. */
export const RESOURCES: readonly {
  readonly kind: SlipwayKind;
  readonly plural: (typeof PLURALS)[keyof typeof PLURALS];
  readonly crdName: string;
}[] = [
  { kind: KINDS.environment, plural: PLURALS.environment, crdName: `${PLURALS.environment}.${GROUP}` },
  { kind: KINDS.service, plural: PLURALS.service, crdName: `${PLURALS.service}.${GROUP}` },
  {
    kind: KINDS.previewDeployment,
    plural: PLURALS.previewDeployment,
    crdName: `${PLURALS.previewDeployment}.${GROUP}`,
  },
];

/** Condition types Slipway writes in status.conditions. */
export const CONDITIONS = {
  /** Everything is in place and serving (for an Environment: ready to take Services). */
  ready: 'Ready',
  /** The last sync reached AWS without error. */
  synced: 'Synced',
  /** AWS differed from the spec at the last sync (see status.drift). */
  drifted: 'Drifted',
} as const;

/** status.drift holds at most this many items (schema maxItems); status.driftCount counts them all. */
export const MAX_DRIFT_ITEMS = 50;

export type Tier = EnvironmentSpec['tier'];
export type DriftPolicy = EnvironmentSpec['driftPolicy'];
export type DeletionPolicy = EnvironmentSpec['deletionPolicy'];
export type CognitoMode = ServiceSpec['auth']['cognito'];
export type FargateCpu = ServiceSpec['cpu'];
export type LogRetentionDays = ServiceSpec['logs']['retentionDays'];
export type PullRequestState = PreviewDeploymentSpec['pullRequest']['state'];
export type PreviewPhase = NonNullable<PreviewDeploymentStatus['phase']>;
export type ConditionStatus = NonNullable<EnvironmentStatus['conditions']>[number]['status'];
export type DriftAction = NonNullable<EnvironmentStatus['drift']>[number]['action'];
