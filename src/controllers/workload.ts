// The part of reconciling a Service that a PreviewDeployment shares: find the Environment and read what the
// workload needs from its status, plan, apply, and build the workload's status fields. Deletion too.
import type { Environment, ServiceStatus } from '../api/index.js';
import { clusterName } from '../planner/environment.js';
import type { Plan } from '../planner/plan.js';
import { planWorkload, SERVICE_LOGICAL, type EnvironmentView, type Workload } from '../planner/service.js';
import {
  removeFinalizer,
  TerminalError,
  type KubeObject,
  type ResourceClient,
  type Result,
  type StatusWriter,
} from '../runtime/index.js';
import {
  awsFor,
  blockedStatus,
  commonStatus,
  type CommonStatus,
  failureToThrow,
  FINALIZER,
  type OperatorDeps,
  type PassResult,
  planningFailure,
  runPass,
} from './shared.js';

export type EnvironmentLookup =
  | { readonly ok: true; readonly env: Environment; readonly view: EnvironmentView }
  | {
      readonly ok: false;
      readonly env?: Environment;
      readonly reason: string;
      readonly message: string;
      readonly retryMs: number;
    };

/** The Environment a workload names, and whether it is far enough along to host the workload. */
export function lookupEnvironment(
  deps: OperatorDeps,
  namespace: string,
  name: string,
  field: string,
): EnvironmentLookup {
  const env = deps.environments.get(`${namespace}/${name}`);
  if (!env) {
    return {
      ok: false,
      reason: 'EnvironmentNotFound',
      message: `${field}: Environment ${name} does not exist in namespace ${namespace}; create it or fix the name`,
      retryMs: 60_000,
    };
  }
  if (env.metadata.deletionTimestamp) {
    return {
      ok: false,
      env,
      reason: 'EnvironmentDeleting',
      message: `${field}: Environment ${name} is being deleted`,
      retryMs: 30_000,
    };
  }
  const lb = env.status?.loadBalancer;
  if (!lb?.listenerArn || !lb.dnsName || !lb.canonicalHostedZoneId || !env.status?.clusterArn) {
    return {
      ok: false,
      env,
      reason: 'EnvironmentNotReady',
      message: `Environment ${name} has not created its load balancer and cluster yet`,
      retryMs: 10_000,
    };
  }
  const cognito = env.status.cognito;
  return {
    ok: true,
    env,
    view: {
      environment: env,
      listenerArn: lb.listenerArn,
      loadBalancerDnsName: lb.dnsName,
      loadBalancerZoneId: lb.canonicalHostedZoneId,
      clusterArn: env.status.clusterArn,
      clusterName: clusterName(env),
      securityGroupIds: env.spec.network.securityGroupIds ?? [],
      ...(cognito?.userPoolArn && cognito.clientId && cognito.domain
        ? { cognito: { userPoolArn: cognito.userPoolArn, clientId: cognito.clientId, domain: cognito.domain } }
        : {}),
    },
  };
}

export interface WorkloadPass {
  readonly pass: PassResult;
  readonly fields: WorkloadStatusFields;
}

/** The workload part of a Service's status (a preview nests the same fields under status.service). */
export type WorkloadStatusFields = Pick<
  ServiceStatus,
  | 'url'
  | 'taskDefinitionArn'
  | 'revision'
  | 'desiredCount'
  | 'runningCount'
  | 'pendingCount'
  | 'rolloutState'
  | 'priority'
  | 'targetGroupArn'
  | 'ruleArn'
  | 'cdn'
>;

function num(v: string | undefined): number | undefined {
  return v === undefined || v === '' || Number.isNaN(Number(v)) ? undefined : Number(v);
}

/** Plans the workload; a user error becomes a TerminalError that names the field. */
export function planOrThrow(workload: Workload, view: EnvironmentView, clusterId: string): Plan {
  try {
    return planWorkload(workload, view, clusterId);
  } catch (err) {
    throw planningFailure(err) ?? err;
  }
}

export async function applyWorkload(
  deps: OperatorDeps,
  workload: Workload,
  lookup: Extract<EnvironmentLookup, { ok: true }>,
  status: CommonStatus | undefined,
  opts: {
    readonly driftPolicy: 'Correct' | 'Report';
    readonly adopt: boolean;
    readonly now: Date;
    readonly deleting?: boolean;
  },
): Promise<WorkloadPass> {
  const plan = planOrThrow(workload, lookup.view, deps.clusterId);
  const pass = await runPass(awsFor(deps, lookup.env), plan, status, { deleting: opts.deleting ?? false, ...opts });
  const a = pass.report.attrs;
  const L = SERVICE_LOGICAL;
  const svc = a[L.service];
  const td = a[L.taskDefinition];
  const rule = a[L.listenerRule];
  const cdn = a[L.distribution];
  const host = plan.resources.find((r) => r.id === L.record);
  const fields: WorkloadStatusFields = {
    ...(host && host.kind === 'route53.Record' ? { url: `https://${host.props.name}` } : {}),
    ...(td?.arn
      ? { taskDefinitionArn: td.arn, ...(num(td.revision) !== undefined ? { revision: num(td.revision) } : {}) }
      : {}),
    ...(num(svc?.desiredCount) !== undefined ? { desiredCount: num(svc?.desiredCount) } : {}),
    ...(num(svc?.runningCount) !== undefined ? { runningCount: num(svc?.runningCount) } : {}),
    ...(num(svc?.pendingCount) !== undefined ? { pendingCount: num(svc?.pendingCount) } : {}),
    ...(svc?.rolloutState ? { rolloutState: svc.rolloutState } : {}),
    ...(num(rule?.priority) !== undefined ? { priority: num(rule?.priority) } : {}),
    ...(a[L.targetGroup]?.arn ? { targetGroupArn: a[L.targetGroup]!.arn } : {}),
    ...(rule?.arn ? { ruleArn: rule.arn } : {}),
    ...(cdn?.id ? { cdn: { distributionId: cdn.id, ...(cdn.domainName ? { domainName: cdn.domainName } : {}) } } : {}),
  };
  return { pass, fields };
}

/** Deletes what a workload owns. Without a usable Environment, the inventory alone says what to delete. */
async function deleteWorkload(
  deps: OperatorDeps,
  owner: Workload['owner'],
  /** Absent when the workload can no longer be rebuilt (a preview whose Service is gone). */
  workload: Workload | undefined,
  lookup: EnvironmentLookup,
  status: CommonStatus | undefined,
  now: Date,
): Promise<PassResult | undefined> {
  if (!lookup.env) {
    if ((status?.resources ?? []).length === 0) return undefined;
    throw new TerminalError(
      `the Environment is gone, so the AWS resources in status.resources cannot be reached with its account and region; delete them by hand, then remove the finalizer ${'slipway.dev/cleanup'}`,
      { reason: 'EnvironmentGone' },
    );
  }
  let plan: Plan = { owner, resources: [] };
  if (lookup.ok && workload) {
    try {
      plan = planWorkload(workload, lookup.view, deps.clusterId);
    } catch {
      /* an unplannable spec: the inventory still says what exists */
    }
  }
  return runPass(awsFor(deps, lookup.env), plan, status, { deleting: true, driftPolicy: 'Correct', adopt: false, now });
}

/**
 * The deletion path a Service and a preview share: delete what the workload owns; while anything is left, write
 * the status and come back (or back off); once nothing is left, release the finalizer. A user error (the
 * Environment is gone) is written to status and an Event, since a stalled deletion is otherwise invisible.
 */
export async function finishDeletion<T extends KubeObject & { readonly status?: CommonStatus }>(
  deps: OperatorDeps,
  io: { readonly client: ResourceClient<T>; readonly statusWriter: StatusWriter<T> },
  obj: T,
  target: {
    readonly owner: Workload['owner'];
    readonly workload: Workload | undefined;
    readonly lookup: EnvironmentLookup;
  },
  now: Date,
  /** Extra status fields while deleting (a preview's phase). */
  extra: Partial<NonNullable<T['status']>> = {},
): Promise<Result> {
  if (!obj.metadata?.finalizers?.includes(FINALIZER)) return { requeue: false };
  const status = obj.status;
  const generation = obj.metadata.generation;
  let pass: PassResult | undefined;
  try {
    pass = await deleteWorkload(deps, target.owner, target.workload, target.lookup, status, now);
  } catch (err) {
    if (err instanceof TerminalError) {
      await io.statusWriter.write(obj, {
        ...blockedStatus(status, generation, now, err.reason, err.message),
        ...extra,
      } as NonNullable<T['status']>);
      await deps.events.warning(obj, err.reason, err.message);
    }
    throw err;
  }
  if (pass && pass.report.inventory.length > 0) {
    await io.statusWriter.write(obj, {
      ...status,
      ...extra,
      ...commonStatus(pass, status, generation, now),
    } as NonNullable<T['status']>);
    const failure = failureToThrow(pass.report);
    if (failure instanceof Error) throw failure;
    return failure ?? { requeueAfterMs: 10_000 };
  }
  await removeFinalizer(io.client, obj, FINALIZER);
  return { requeue: false };
}
