// What a Service and a PreviewDeployment share: finding the Environment and reading what a workload needs from its
// status, planning, deleting, and the workload's status fields. Both are hooks on the one reconcile sequence.
import type { Environment, ServiceStatus } from '../api/index.js';
import { parseDuration } from '../config.js';
import { outcome, OutcomeError, TERMINAL, WATCH } from '../outcome/outcome.js';
import { clusterName } from '../planner/environment.js';
import { ownerKey } from '../planner/naming.js';
import type { Plan } from '../planner/plan.js';
import { planWorkload, SERVICE_LOGICAL, type EnvironmentView, type Workload } from '../planner/service.js';
import type { DiscoveryScope } from '../reconcilers/discovery.js';
import type { Prepared, Stop } from './reconcile.js';
import { awsFor, type CommonStatus, type OperatorDeps, type PassResult } from './shared.js';

/** The informer index of Services and previews by the Environment they name: `namespace/name`. */
export const BY_ENVIRONMENT = 'environment';

export function environmentKeyOf(obj: {
  readonly metadata: { readonly namespace?: string };
  readonly spec: { readonly environmentRef: { readonly name: string } };
}): string {
  return `${obj.metadata.namespace ?? 'default'}/${obj.spec.environmentRef.name}`;
}

export type EnvironmentLookup =
  | { readonly ok: true; readonly env: Environment; readonly view: EnvironmentView }
  | { readonly ok: false; readonly env?: Environment; readonly stop: Stop<never>['stop'] };

/** The resync period of everything on an Environment: its spec.resyncInterval. */
export function resyncOf(deps: OperatorDeps, env: Environment | undefined): number {
  return (env?.spec.resyncInterval ? parseDuration(env.spec.resyncInterval) : 0) || deps.defaultResyncMs;
}

/**
 * The Environment a workload names, and whether it is far enough along to host the workload. Waiting for it is
 * a watch, not a timed retry: the Environment's changes wake every workload that names it.
 */
export function lookupEnvironment(
  deps: OperatorDeps,
  namespace: string,
  name: string,
  field: string,
): EnvironmentLookup {
  const env = deps.environments.get(`${namespace}/${name}`);
  if (!env) {
    const message = `${field}: Environment ${name} does not exist in namespace ${namespace}; create it or fix the name`;
    return { ok: false, stop: outcome('EnvironmentNotFound', message, WATCH) };
  }
  if (env.metadata.deletionTimestamp) {
    return {
      ok: false,
      env,
      stop: outcome('EnvironmentDeleting', `${field}: Environment ${name} is being deleted`, WATCH),
    };
  }
  const lb = env.status?.loadBalancer;
  if (!lb?.listenerArn || !lb.dnsName || !lb.canonicalHostedZoneId || !env.status?.clusterArn) {
    const message = `Environment ${name} has not created its load balancer and cluster yet`;
    return { ok: false, env, stop: outcome('EnvironmentNotReady', message, WATCH) };
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

/** Where a workload's resources can be found by tag: its owner's, on the Environment's listener and zone. */
function discoveryScope(deps: OperatorDeps, owner: Workload['owner'], env: Environment): DiscoveryScope {
  const listenerArn = env.status?.loadBalancer?.listenerArn;
  return {
    clusterId: deps.clusterId,
    owner: ownerKey(owner),
    environment: `${env.metadata.namespace ?? 'default'}/${env.metadata.name}`,
    listenerArns: listenerArn ? [listenerArn] : [],
    hostedZoneIds: [env.spec.domain.hostedZoneId],
  };
}

/** A workload ready for its pass: planned against its Environment; a planning error stops it, naming the field. */
export function prepareWorkload(
  deps: OperatorDeps,
  workload: Workload,
  lookup: Extract<EnvironmentLookup, { ok: true }>,
  opts: { readonly driftPolicy: 'Correct' | 'Report'; readonly adopt: boolean },
): Prepared | Stop<never> {
  let plan: Plan;
  try {
    plan = planWorkload(workload, lookup.view, deps.clusterId);
  } catch (err) {
    if (err instanceof OutcomeError) return { stop: err.outcome, resyncMs: resyncOf(deps, lookup.env) };
    throw err;
  }
  return {
    aws: awsFor(deps, lookup.env),
    plan,
    driftPolicy: opts.driftPolicy,
    adopt: opts.adopt,
    resyncMs: resyncOf(deps, lookup.env),
    discover: discoveryScope(deps, workload.owner, lookup.env),
  };
}

/**
 * What deleting a workload needs. Without its Environment there is no account or region to reach: with nothing
 * recorded the finalizer goes; with resources recorded a person must act.
 */
export function prepareWorkloadDeletion(
  deps: OperatorDeps,
  owner: Workload['owner'],
  /** Absent when the workload can no longer be rebuilt (a preview whose Service is gone). */
  workload: Workload | undefined,
  lookup: EnvironmentLookup,
  status: CommonStatus | undefined,
): Prepared | Stop<never> | 'release' {
  if (!lookup.env) {
    if ((status?.resources ?? []).length === 0) return 'release';
    const message =
      'the Environment is gone, so the AWS resources in status.resources cannot be reached with its account and ' +
      'region; delete them by hand, then remove the finalizer slipway.dev/cleanup';
    return { stop: outcome('EnvironmentGone', message, TERMINAL) };
  }
  let plan: Plan = { owner, resources: [] };
  if (lookup.ok && workload) {
    try {
      plan = planWorkload(workload, lookup.view, deps.clusterId);
    } catch {
      /* an unplannable spec: the inventory and the tags in AWS still say what exists */
    }
  }
  return {
    aws: awsFor(deps, lookup.env),
    plan,
    driftPolicy: 'Correct',
    adopt: false,
    resyncMs: resyncOf(deps, lookup.env),
    discover: discoveryScope(deps, owner, lookup.env),
  };
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

export function workloadStatusFields(plan: Plan, pass: PassResult): WorkloadStatusFields {
  const a = pass.report.attrs;
  const L = SERVICE_LOGICAL;
  const svc = a[L.service];
  const td = a[L.taskDefinition];
  const rule = a[L.listenerRule];
  const cdn = a[L.distribution];
  const host = plan.resources.find((r) => r.id === L.record);
  return {
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
}
