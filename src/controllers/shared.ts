// What every Slipway controller shares: the dependencies, the AWS clients per Environment, and one pass of the
// applier with the status it summarises to.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Environment, PreviewDeployment, Service } from '../api/index.js';
import type { RateLimitListener } from '../aws/rate-limits.js';
import { AwsClients } from '../aws/clients.js';
import type { CallListener } from '../aws/calls.js';
import type { ConditionChange } from './outcome-map.js';
import type { RolloutFollower } from './rollouts.js';
import type { WaveRegistry } from './waves.js';
import { fromStatusResources, summarize, type DriftItem, type Summary } from '../drift/summary.js';
import { ownerKey } from '../planner/naming.js';
import type { Plan } from '../planner/plan.js';
import { applyPlan, type ApplyMode, type ApplyReport } from '../reconcilers/applier.js';
import { withPassContext, type ArnBase, type PassScope, type WaveReads } from '../reconcilers/contract.js';
import { discoverOwned, type DiscoveryScope } from '../reconcilers/discovery.js';
import { registry } from '../reconcilers/index.js';
import {
  type Condition,
  type ConditionUpdate,
  type EventRecorder,
  formatTime,
  type Informer,
  type KubeClient,
  setCondition,
} from '../runtime/index.js';

export const FINALIZER = 'slipway.dev/cleanup';
export const ADOPT_ANNOTATION = 'slipway.dev/adopt';

export interface OperatorDeps {
  readonly kube: KubeClient;
  readonly clusterId: string;
  readonly awsEndpoint?: string;
  readonly onAwsCall?: CallListener;
  readonly events: EventRecorder;
  readonly log: Logger;
  readonly environments: Informer<Environment>;
  readonly services: Informer<Service>;
  readonly previews: Informer<PreviewDeployment>;
  readonly now: () => Date;
  readonly defaultResyncMs: number;
  readonly passDeadlineMs: number;
  /** Connection and per-attempt request timeouts of every AWS client. */
  readonly awsTimeouts?: { readonly connectMs: number; readonly requestMs: number };
  /** Client-side rate limits on every AWS client (default on), and where their waits are counted. */
  readonly awsRateLimits?: boolean;
  readonly onRateLimitWait?: RateLimitListener;
  /**
   * The session name of every assumed role and the app id in every call's user agent (Config.awsSessionName):
   * how CloudTrail, and so drift events, tell the operator's own calls. Default `slipway-<clusterId>`.
   */
  readonly awsSessionName?: string;
  /** How long a registry's manifest API may take to resolve a tag (default 3 s; ECR goes through the AWS clients). */
  readonly registryTimeoutMs?: number;
  /** Follows the ECS services that are rolling out between passes (rollouts.ts); absent, nothing follows them. */
  readonly rollouts?: RolloutFollower;
  /** The resync waves of the Environments (waves.ts); absent, every pass reads for itself. */
  readonly waves?: WaveRegistry;
}

/** The operator's session name and user-agent app id. */
export function sessionNameOf(deps: Pick<OperatorDeps, 'awsSessionName' | 'clusterId'>): string {
  return deps.awsSessionName ?? `slipway-${deps.clusterId}`;
}

const clientCache = new WeakMap<OperatorDeps, Map<string, AwsClients>>();

/** The clients for an Environment's account and region, shared by every reconcile that touches it. */
export function awsFor(deps: OperatorDeps, env: Environment): AwsClients {
  let byKey = clientCache.get(deps);
  if (!byKey) clientCache.set(deps, (byKey = new Map()));
  const key = `${env.spec.region}|${env.spec.accountRoleArn ?? ''}`;
  let clients = byKey.get(key);
  if (!clients) {
    clients = new AwsClients({
      region: env.spec.region,
      ...(deps.awsEndpoint ? { endpoint: deps.awsEndpoint } : {}),
      ...(env.spec.accountRoleArn ? { roleArn: env.spec.accountRoleArn, roleSessionName: sessionNameOf(deps) } : {}),
      userAgentAppId: sessionNameOf(deps),
      ...(deps.onAwsCall ? { onCall: deps.onAwsCall } : {}),
      ...(deps.awsRateLimits === false ? { rateLimits: false } : {}),
      ...(deps.onRateLimitWait ? { onRateLimitWait: deps.onRateLimitWait } : {}),
      ...(deps.awsTimeouts
        ? { connectionTimeout: deps.awsTimeouts.connectMs, requestTimeout: deps.awsTimeouts.requestMs }
        : {}),
    });
    byKey.set(key, clients);
  }
  return clients;
}

/**
 * The plan's hash, without the ECS service's hints about the last deployment (holdTaskDefinition, rollingOut): they
 * steer its diff, not what AWS should hold, so a deployment recorded in status does not make the next pass a changed
 * plan (which would apply under driftPolicy Report, and count drift as a spec change).
 */
export function planHash(plan: Plan): string {
  const resources = plan.resources.map((r) => {
    if (r.kind !== 'ecs.Service') return r;
    const { holdTaskDefinition: _hold, rollingOut: _rolling, ...props } = r.props;
    return { ...r, props };
  });
  return createHash('sha256')
    .update(JSON.stringify({ ...plan, resources }))
    .digest('hex')
    .slice(0, 16);
}

export interface CommonStatus {
  readonly observedGeneration?: number;
  readonly conditions?: readonly Condition[];
  readonly resources?: readonly { kind: string; logicalId: string; arn?: string; id?: string; name?: string }[];
  readonly drift?: readonly DriftItem[];
  readonly driftCount?: number;
  readonly lastSyncTime?: string;
  readonly appliedPlanHash?: string;
}

export interface PassResult {
  readonly report: ApplyReport;
  readonly summary: Summary;
  readonly mode: ApplyMode;
  readonly hash: string;
}

export interface PassOptions {
  readonly deleting: boolean;
  readonly driftPolicy: 'Correct' | 'Report';
  readonly adopt: boolean;
  readonly now: Date;
  /** The snapshot of the resync wave the pass is a member of: its steady reads come from it (PassScope.wave). */
  readonly wave?: WaveReads;
  /**
   * Where this owner's resources may be found by their tags. Searched when the status holds no inventory (a new
   * or re-created custom resource) and when deleting, so nothing an earlier incarnation created is leaked.
   */
  readonly discover?: DiscoveryScope;
  /** The object is annotated slipway.dev/plan-only: the pass observes and diffs in plan mode and writes nothing. */
  readonly planOnly?: boolean;
  /** The account and region of `aws`, when known from an ARN AWS answered (ReconcileContext.account). */
  readonly account?: ArnBase;
  /** The owner is not settled (PassScope.unsettled): its pass reads every resource whatever a wave's rotation. */
  readonly unsettled?: boolean;
}

/**
 * One pass of the applier for a custom resource: chooses the mode (a changed plan is applied; an unchanged one
 * is applied or only reported per the drift policy; a plan-only object is planned), runs it, and summarises.
 */
export async function runPass(
  aws: AwsClients,
  plan: Plan,
  status: CommonStatus | undefined,
  opts: PassOptions,
): Promise<PassResult> {
  const hash = planHash(plan);
  const planChanged = status?.appliedPlanHash !== hash;
  const mode: ApplyMode = opts.deleting
    ? 'delete'
    : opts.planOnly
      ? 'plan'
      : planChanged || opts.driftPolicy === 'Correct'
        ? 'apply'
        : 'report';
  const inventory = fromStatusResources(status?.resources);
  const scope: PassScope = {
    owner: `${plan.owner.clusterId}/${ownerKey(plan.owner)}`,
    steady: !opts.deleting && !planChanged,
    ...(opts.wave ? { wave: opts.wave } : {}),
    ...(opts.account ? { account: opts.account } : {}),
    ...((status?.driftCount ?? status?.drift?.length ?? 0) > 0 ? { drifted: true } : {}),
    ...(opts.unsettled ? { unsettled: true } : {}),
  };
  const report = await withPassContext(
    aws,
    async (ctx) => {
      const search = opts.discover && (opts.deleting || inventory.length === 0);
      const found = search && opts.discover ? await discoverOwned(ctx, opts.discover) : [];
      // Nothing recorded and nothing found by its tags: a brand-new owner (PassScope.newOwner).
      scope.newOwner = !!search && !opts.deleting && found.length === 0;
      return applyPlan(ctx, registry, plan, { mode, inventory: [...inventory, ...found], adopt: opts.adopt });
    },
    scope,
  );
  const summary = summarize({
    report,
    mode,
    planChanged,
    previousDrift: status?.drift ?? [],
    now: formatTime(opts.now),
  });
  return { report, summary, mode, hash };
}

/** Ready at the object's current generation: the last pass found what the current spec asks. */
export function readyAtGeneration(status: CommonStatus | undefined, generation: number | undefined): boolean {
  const ready = status?.conditions?.find((c) => c.type === 'Ready');
  return (
    ready?.status === 'True' &&
    generation !== undefined &&
    status?.observedGeneration === generation &&
    (ready.observedGeneration ?? generation) === generation
  );
}

/** Applies condition updates to the previous list, keeping transition times of unchanged ones. */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  updates: readonly Omit<ConditionUpdate, 'observedGeneration'>[],
  generation: number | undefined,
  now: Date,
): Condition[] {
  let out = [...(previous ?? [])];
  for (const u of updates) {
    out = setCondition(out, { ...u, ...(generation !== undefined ? { observedGeneration: generation } : {}) }, now);
  }
  return out;
}

/** The common part of a status after a pass. */
export function commonStatus(
  pass: PassResult,
  previous: CommonStatus | undefined,
  generation: number | undefined,
  now: Date,
): CommonStatus {
  const failed = pass.summary.failure !== undefined;
  const wrote = pass.report.outcomes.some((o) => ['created', 'updated', 'deleted'].includes(o.action));
  return {
    observedGeneration: generation,
    conditions: mergeConditions(previous?.conditions, pass.summary.conditions, generation, now),
    resources: pass.summary.resources,
    drift: pass.summary.drift,
    driftCount: pass.summary.driftCount,
    lastSyncTime: wrote || !previous?.lastSyncTime ? formatTime(now) : previous.lastSyncTime,
    // Only a fully applied plan becomes the baseline that later differences are measured against as drift.
    appliedPlanHash: failed || pass.mode === 'report' ? previous?.appliedPlanHash : pass.hash,
  };
}

/**
 * The conditions of an object whose AWS resources are being deleted: Deleting names the step in progress and what
 * blocks it (the first failure in deletion order, whose message names the blocker), and Ready is False, so an
 * object on its way out is never shown as Ready. Without a pass yet (the deletion just started), the step is the
 * start.
 */
export function deletingConditions(pass: PassResult | undefined): ConditionChange[] {
  let reason = 'InProgress';
  let message = 'deleting the AWS resources Slipway owns, in reverse order of creation';
  if (pass) {
    const left = pass.report.inventory.length;
    // Outcomes are in plan order and deletion runs in reverse, so the last failure is the one met first.
    const blocked = pass.report.outcomes.filter((o) => o.action === 'failed').at(-1);
    reason = blocked?.outcome?.reason ?? 'InProgress';
    message = blocked
      ? `${left} AWS resources left; deleting ${blocked.kind} ${blocked.identifier ?? blocked.id} is blocked: ${blocked.message ?? reason}`
      : `${left} AWS resources left to delete`;
  }
  return [
    { type: 'Deleting', status: 'True', reason, message },
    { type: 'Ready', status: 'False', reason: 'Deleting', message },
  ];
}

/**
 * The informer index from an AWS identifier (an ARN, id or name as the status inventory records it) to the custom
 * resources whose inventory holds it: which object owns a resource that AWS reports a change of.
 */
export const BY_AWS_IDENTIFIER = 'aws-identifier';

export function awsIdentifiersOf(obj: { readonly status?: CommonStatus }): string[] {
  return (obj.status?.resources ?? []).flatMap((r) => [r.arn, r.id, r.name].filter((x): x is string => !!x));
}
