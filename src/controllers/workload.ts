// What a Service and a PreviewDeployment share: finding the Environment and reading what a workload needs from its
// status, planning, deleting, and the workload's status fields. Both are hooks on the one reconcile sequence.
import type {
  DeploymentRecord,
  Environment,
  ImageStatus,
  PreviewDeploymentStatus,
  ServiceStatus,
} from '../api/index.js';
import { parseDuration } from '../config.js';
import { deploymentInputs, imageStatusOf, imageToRun, reusable } from '../images/pinning.js';
import { updateHistory, type ObservedDeployment, type ObservedService } from '../drift/history.js';
import { ImageResolver } from '../images/resolve.js';
import { outcome, OutcomeError, TERMINAL, WATCH } from '../outcome/outcome.js';
import { clusterName, MAX_CALLBACK_URLS } from '../planner/environment.js';
import { ownerKey } from '../planner/naming.js';
import type { Plan } from '../planner/plan.js';
import {
  planWorkload,
  SERVICE_LOGICAL,
  workloadLogical,
  type EnvironmentView,
  type Workload,
} from '../planner/service.js';
import { choosePlacement } from '../planner/shards.js';
import { LOAD_BALANCER_QUOTA_REASON, noNewShardMessage } from '../outcome/load-balancer-quota.js';
import { arnBaseOf, type ArnBase } from '../reconcilers/contract.js';
import type { DiscoveryScope } from '../reconcilers/discovery.js';
import { wasRead } from '../reconcilers/ecs-service.js';
import type { Prepared, Stop } from './reconcile.js';
import { memberKey, placementsOf, type Member } from './shards.js';
import { awsFor, type CommonStatus, type OperatorDeps, type PassResult } from './shared.js';
import { BACKSTOP_INTERVALS } from './waves.js';
import { formatTime, type KubeObject } from '../runtime/index.js';

/** The informer index of Services and previews by the Environment they name: `namespace/name`. */
export const BY_ENVIRONMENT = 'environment';

/** An Environment's key in the BY_ENVIRONMENT index: what environmentKeyOf gives for its workloads. */
export function environmentKey(env: {
  readonly metadata: { readonly namespace?: string; readonly name: string };
}): string {
  return `${env.metadata.namespace ?? 'default'}/${env.metadata.name}`;
}

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
 * The resync period of a workload that its pass succeeded for: its Environment's interval, or BACKSTOP_INTERVALS of
 * it while the Environment's resync waves run (they resync the workload every interval; its own timer is then only
 * the backstop should they stop).
 */
export function workloadResyncOf(deps: OperatorDeps, env: Environment): number {
  const interval = resyncOf(deps, env);
  const key = environmentKey(env);
  return deps.waves?.running(key, interval) ? BACKSTOP_INTERVALS * interval : interval;
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
  const view = viewOnShard(env, 0);
  if (!view) {
    const message = `Environment ${name} has not created its load balancer and cluster yet`;
    return { ok: false, env, stop: outcome('EnvironmentNotReady', message, WATCH) };
  }
  return { ok: true, env, view };
}

/**
 * What a workload on `shard` needs from its Environment's status: that shard's listener, DNS name and app client
 * (shard 0 is also status.loadBalancer, as before shards). Undefined while the shard is not created yet.
 */
export function viewOnShard(env: Environment, shard: number): EnvironmentView | undefined {
  const entry = env.status?.shards?.find((s) => s.index === shard);
  const first = shard === 0 ? env.status?.loadBalancer : undefined;
  const listenerArn = entry?.listenerArn ?? first?.listenerArn;
  const dnsName = entry?.dnsName ?? first?.dnsName;
  const zoneId = entry?.canonicalHostedZoneId ?? first?.canonicalHostedZoneId;
  const clusterArn = env.status?.clusterArn;
  const network = networkView(env);
  if (!listenerArn || !dnsName || !zoneId || !clusterArn || !network) return undefined;
  const cognito = env.status?.cognito;
  const clientId = entry?.clientId ?? (shard === 0 ? cognito?.clientId : undefined);
  return {
    environment: env,
    shard,
    listenerArn,
    loadBalancerDnsName: dnsName,
    loadBalancerZoneId: zoneId,
    clusterArn,
    clusterName: clusterName(env),
    network: network.view,
    securityGroupIds: network.securityGroupIds,
    ...(cognito?.userPoolArn && clientId && cognito.domain
      ? { cognito: { userPoolArn: cognito.userPoolArn, clientId, domain: cognito.domain } }
      : {}),
  };
}

/**
 * Where a workload's tasks run. An existing VPC: the spec's subnets and security groups. A created network: its
 * private subnets and task security group, from status (undefined until the Environment has written them), and
 * never a public IP.
 */
function networkView(
  env: Environment,
): { view: EnvironmentView['network']; securityGroupIds: readonly string[] } | undefined {
  const spec = env.spec.network;
  if (!spec.create) {
    if (!spec.vpcId || !spec.subnetIds) return undefined;
    return {
      view: { vpcId: spec.vpcId, subnetIds: spec.subnetIds, assignPublicIp: spec.assignPublicIp },
      securityGroupIds: spec.securityGroupIds ?? [],
    };
  }
  const created = env.status?.network;
  const taskGroup = env.status?.taskSecurityGroupId;
  if (!created?.vpcId || !created.privateSubnetIds?.length || !taskGroup) return undefined;
  return {
    view: { vpcId: created.vpcId, subnetIds: created.privateSubnetIds, assignPublicIp: false },
    securityGroupIds: [taskGroup],
  };
}

/** The HTTPS listeners of every shard of the Environment, as its status records them: where rules are found. */
export function environmentListenerArns(env: Environment): string[] {
  const arns = [env.status?.loadBalancer?.listenerArn, ...(env.status?.shards ?? []).map((s) => s.listenerArn)];
  return [...new Set(arns.filter((a): a is string => !!a))];
}

/** Where a workload's resources can be found by tag: its owner's, on the Environment's listeners and zone. */
function discoveryScope(deps: OperatorDeps, owner: Workload['owner'], env: Environment): DiscoveryScope {
  return {
    clusterId: deps.clusterId,
    owner: ownerKey(owner),
    environment: environmentKey(env),
    listenerArns: environmentListenerArns(env),
    hostedZoneIds: [env.spec.domain.hostedZoneId],
  };
}

/** A workload's pass, with the shard it is placed on and the image it runs (for its status). */
export interface WorkloadPrepared extends Prepared {
  readonly shard: number;
  readonly image: ImageStatus;
  /** The Environment as the pass planned against it (for the cost estimate). */
  readonly environment: Environment;
}

/** What deciding the image to run needs: the image of the current deployment, and the slipway.dev/sync value. */
export interface ImageRequest {
  /** status.image. */
  readonly previous: ImageStatus | undefined;
  /** The annotation slipway.dev/sync. */
  readonly sync: string | undefined;
  /** ECS's circuit breaker rolled the current deployment back (status.history[0].result RolledBack). */
  readonly rolledBack?: boolean;
  /** The revision of the deployment status.history[0] says is rolling out (result InProgress). */
  readonly rollingOut?: string;
  readonly signal: AbortSignal;
  readonly now: Date;
}

/**
 * What the plan needs from the last deployment (a Service's status.history[0], a preview's
 * status.service.deployment): whether the circuit breaker rolled it back, or the revision still rolling out.
 */
export function lastDeployment(last: DeploymentRecord | undefined): Pick<ImageRequest, 'rolledBack' | 'rollingOut'> {
  if (last?.result === 'RolledBack') return { rolledBack: true };
  return last?.result === 'InProgress' ? { rollingOut: last.taskDefinitionArn } : {};
}

const resolvers = new WeakMap<OperatorDeps, ImageResolver>();

/** The plan with `image` run in place of the spec's reference (the same plan when they are the same). */
function planRunning(workload: Workload, view: EnvironmentView, clusterId: string, image: ImageStatus, plan: Plan) {
  const run = imageToRun(image);
  return run === workload.spec.image
    ? plan
    : planWorkload({ ...workload, spec: { ...workload.spec, image: run } }, view, clusterId);
}

/**
 * The plan while nothing that starts a deployment changed: with the image of the current deployment (status.image),
 * pinned or not, and, when ECS's circuit breaker rolled that deployment back (`rolledBack`: status.history[0]), with
 * the service held on the revision ECS went back to; while that deployment rolls out (`rollingOut`: its revision), the
 * service is not put back on it should ECS be seen to have rolled it back (EcsServiceProps.rollingOut). Otherwise
 * the plan with the spec's reference, and no `image`: the deployment starting resolves it. Pure (the operator and
 * `slipway plan` both use it).
 */
export function planWithCurrentImage(
  workload: Workload,
  view: EnvironmentView,
  clusterId: string,
  previous: ImageStatus | undefined,
  sync: string | undefined,
  rolledBack = false,
  rollingOut?: string,
): { readonly plan: Plan; readonly inputs: string; readonly image?: ImageStatus } {
  const asReferenced = planWorkload(workload, view, clusterId);
  const inputs = deploymentInputs(asReferenced, sync);
  const image = reusable(previous, workload.spec.image, inputs);
  if (!image) return { plan: asReferenced, inputs };
  const held: Workload = {
    ...workload,
    ...(rolledBack ? { holdTaskDefinition: true } : {}),
    ...(rollingOut ? { rollingOut } : {}),
  };
  const plan = planRunning(
    held,
    view,
    clusterId,
    image,
    rolledBack || rollingOut ? planWorkload(held, view, clusterId) : asReferenced,
  );
  return { plan, inputs, image };
}

/**
 * The plan with the image pinned: the previous digest while nothing that starts a deployment changed, else the tag
 * resolved now (the one registry or ECR call a deployment makes). Planning stays pure: the resolved image is an
 * input, planned a second time only when it differs from the spec's.
 */
async function planPinned(
  deps: OperatorDeps,
  workload: Workload,
  view: EnvironmentView,
  request: ImageRequest,
): Promise<{ plan: Plan; image: ImageStatus }> {
  const current = planWithCurrentImage(
    workload,
    view,
    deps.clusterId,
    request.previous,
    request.sync,
    request.rolledBack,
    request.rollingOut,
  );
  if (current.image) return { plan: current.plan, image: current.image };
  let resolver = resolvers.get(deps);
  if (!resolver) resolvers.set(deps, (resolver = new ImageResolver()));
  const resolution = await resolver.resolve(workload.spec.image, {
    aws: awsFor(deps, view.environment).withSignal(request.signal),
    signal: request.signal,
    ...(deps.registryTimeoutMs !== undefined ? { timeoutMs: deps.registryTimeoutMs } : {}),
  });
  const image = imageStatusOf(resolution, current.inputs, formatTime(request.now));
  return { plan: planRunning(workload, view, deps.clusterId, image, current.plan), image };
}

/** Status fields a stop before the pass writes: the placement, when there is one. */
type PlacementFields = Partial<ServiceStatus & PreviewDeploymentStatus>;

/** A stop before the pass; `blocked` when the Environment has no room for the workload (a preview shows Blocked). */
export type WorkloadStop = Stop<PlacementFields> & { readonly blocked?: boolean };

/** How a workload is placed on its Environment's load balancers. */
export interface PlacementRequest {
  readonly kind: Member['kind'];
  readonly name: string;
  /** spec.loadBalancer.shard (a Service's; previews never ask). */
  readonly requested?: number;
  /** The shard the workload's status records (persistedShard), as read at the start of the pass. */
  readonly persisted: number | undefined;
  /**
   * Persists a new placement in status before anything is created on the shard; answers the object as written.
   * The write carries the resourceVersion read at the start of the pass (placementPatch).
   */
  readonly persist: (shard: number) => Promise<KubeObject>;
}

/**
 * The status patch that persists a placement. Only the workload writes status.loadBalancerShard (the Environment
 * decides in the registry and never writes it), and the write carries the resourceVersion the pass read: a merge
 * patch with metadata.resourceVersion fails with 409 if anything changed the object since (a placement written by
 * another operator process that led meanwhile, an edit), and the pass is retried from a fresh read instead of
 * overwriting it. A server-side apply field manager would not do: both writes are the same operator's, under one
 * manager, and apply would take over the field silently.
 */
export function placementPatch(obj: KubeObject, shard: number): unknown {
  return { metadata: { resourceVersion: obj.metadata?.resourceVersion }, status: { loadBalancerShard: shard } };
}

/**
 * A workload ready for its pass: placed on a shard (once; moved only when the spec asks), then planned against that
 * shard of its Environment. No room, or a planning error, stops it with the field and the fix; a shard still being
 * created is waited for.
 */
export async function prepareWorkload(
  deps: OperatorDeps,
  workload: Workload,
  lookup: Extract<EnvironmentLookup, { ok: true }>,
  opts: {
    readonly driftPolicy: 'Correct' | 'Report';
    readonly adopt: boolean;
    readonly placement: PlacementRequest;
    readonly image: ImageRequest;
  },
): Promise<WorkloadPrepared | WorkloadStop> {
  const env = lookup.env;
  const resyncMs = resyncOf(deps, env);
  const envKey = environmentKey(env);
  const registry = placementsOf(deps);
  const key = memberKey(opts.placement.kind, opts.placement.name);
  const current = registry.placed(envKey).get(key);
  // The Environment has said the region's quota leaves no room for another load balancer.
  const capacity = env.status?.conditions?.find((c) => c.type === 'LoadBalancerCapacity');
  const quota =
    capacity?.status === 'False' && capacity.reason === LOAD_BALANCER_QUOTA_REASON ? capacity.message : undefined;
  const decision = choosePlacement({
    ...(current !== undefined ? { current } : {}),
    ...(opts.placement.requested !== undefined ? { requested: opts.placement.requested } : {}),
    counts: registry.counts(envKey, key),
    // Before the Environment has said (a status from before shards), the smallest capacity any account has.
    capacity: env.status?.shardCapacity ?? MAX_CALLBACK_URLS,
    shards: (env.status?.shards ?? []).map((s) => s.index),
    existingListener: !!env.spec.loadBalancer.existingListenerArn,
    ...(quota !== undefined ? { noNewShards: quota } : {}),
  });
  const placedFields = (shard: number | undefined): PlacementFields =>
    shard === undefined ? {} : { loadBalancerShard: shard };
  if ('refused' in decision) {
    // Woken when the Environment's capacity changes (its LoadBalancerCapacity condition), the resync as backstop.
    return {
      stop: outcome(decision.refused.reason, decision.refused.message, WATCH),
      fields: placedFields(current),
      resyncMs,
      blocked: true,
    };
  }
  const shard = decision.shard;
  let written: KubeObject | undefined;
  // Decided here (or by the Environment's pass, which places the workloads waiting), synchronously, so no other
  // worker can take the same room; persisted by the workload itself before anything is created.
  if (shard !== current) registry.place(envKey, key, shard);
  if (shard !== opts.placement.persisted) written = await opts.placement.persist(shard);
  const view = viewOnShard(env, shard);
  if (!view && quota !== undefined && !(env.status?.shards ?? []).some((s) => s.index === shard)) {
    // Placed on a shard the quota keeps the Environment from planning: Blocked, and first in line when room appears.
    return {
      stop: outcome(LOAD_BALANCER_QUOTA_REASON, noNewShardMessage(quota), WATCH),
      fields: placedFields(shard),
      resyncMs,
      blocked: true,
    };
  }
  if (!view) {
    const message = `Environment ${env.metadata.name} has not created load balancer shard ${shard} yet`;
    return { stop: outcome('EnvironmentNotReady', message, WATCH), fields: placedFields(shard), resyncMs };
  }
  let pinned: { plan: Plan; image: ImageStatus };
  try {
    pinned = await planPinned(deps, workload, view, opts.image);
  } catch (err) {
    if (err instanceof OutcomeError) return { stop: err.outcome, fields: placedFields(shard), resyncMs };
    throw err;
  }
  return {
    aws: awsFor(deps, env),
    plan: pinned.plan,
    image: pinned.image,
    driftPolicy: opts.driftPolicy,
    adopt: opts.adopt,
    resyncMs: workloadResyncOf(deps, env),
    discover: discoveryScope(deps, workload.owner, env),
    ...accountOf(view.clusterArn),
    shard,
    environment: env,
    ...(written ? { written } : {}),
  };
}

/** The account and region the Environment's ECS cluster is in: those of its clients, which created it. */
function accountOf(clusterArn: string): { account?: ArnBase } {
  const account = arnBaseOf(clusterArn);
  return account ? { account } : {};
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
  /** The shard the workload is placed on (its status). */
  shard = 0,
): Prepared | Stop<never> | 'release' {
  deps.rollouts?.forget(`${owner.kind}/${owner.namespace}/${owner.name}`);
  if (!lookup.env) {
    if ((status?.resources ?? []).length === 0) return 'release';
    const message =
      'the Environment is gone, so the AWS resources in status.resources cannot be reached with its account and ' +
      'region; delete them by hand, then remove the finalizer slipway.dev/cleanup';
    return { stop: outcome('EnvironmentGone', message, TERMINAL) };
  }
  let plan: Plan = { owner, resources: [] };
  const view = lookup.ok ? viewOnShard(lookup.env, shard) : undefined;
  if (view && workload) {
    try {
      plan = planWorkload(workload, view, deps.clusterId);
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
  | 'loadBalancerShard'
>;

/**
 * Whether the ECS service ran as wanted when the status was written: its deployment completed and as many tasks
 * running as it wants (KindHooks.settled). Until then a resync wave reads it, and the rest of the owner, every time.
 */
export function runsSettled(
  fields: Pick<WorkloadStatusFields, 'rolloutState' | 'runningCount' | 'desiredCount'> | undefined,
): boolean {
  return (
    fields?.rolloutState === 'COMPLETED' &&
    fields.runningCount !== undefined &&
    fields.runningCount === fields.desiredCount
  );
}

/**
 * The ECS service's deployments as the pass observed them (the ecs.Service attributes), for status.history; none
 * when the pass took the service as planned without reading it (a settled owner's, not in its turn).
 */
export function observedServiceOf(pass: PassResult): ObservedService | undefined {
  const svc = pass.report.attrs[SERVICE_LOGICAL.service];
  if (!svc || !wasRead(svc)) return undefined;
  let deployments: ObservedDeployment[] = [];
  try {
    deployments = JSON.parse(svc.deployments ?? '[]') as ObservedDeployment[];
  } catch {
    /* an attribute from before this field: no deployments known */
  }
  return { ...(svc.taskDefinition ? { taskDefinition: svc.taskDefinition } : {}), deployments };
}

function num(v: string | undefined): number | undefined {
  return v === undefined || v === '' || Number.isNaN(Number(v)) ? undefined : Number(v);
}

/**
 * After a workload's pass: hands its ECS service to the rollout watcher while the deployment rolls out (the
 * watcher queues the next pass when the deployment moves), and takes it back otherwise.
 */
export function followRollout(
  deps: OperatorDeps,
  owner: Workload['owner'],
  /** The Environment's key (environmentKeyOf). */
  environment: string,
  prepared: WorkloadPrepared,
  pass: PassResult,
): void {
  const svc = pass.report.attrs[workloadLogical(prepared.shard).service];
  deps.rollouts?.follow(
    {
      owner: `${owner.kind}/${owner.namespace}/${owner.name}`,
      environment,
      aws: prepared.aws,
      cluster: svc?.clusterArn ?? '',
      service: svc?.name ?? '',
    },
    svc
      ? {
          rolloutState: svc.rolloutState ?? '',
          runningCount: svc.runningCount ?? '',
          desiredCount: svc.desiredCount ?? '',
        }
      : undefined,
  );
}

/**
 * The workload's status fields after a pass. Where the pass took the ECS service as planned without reading it
 * (wasRead), its running state is what `previous` (the last status) showed.
 */
export function workloadStatusFields(
  plan: Plan,
  pass: PassResult,
  shard: number,
  previous?: Pick<WorkloadStatusFields, 'desiredCount' | 'runningCount' | 'pendingCount' | 'rolloutState'>,
): WorkloadStatusFields {
  const a = pass.report.attrs;
  const L = workloadLogical(shard);
  const observed = a[L.service];
  const svc =
    observed && !wasRead(observed)
      ? {
          ...observed,
          ...(previous?.desiredCount !== undefined ? { desiredCount: String(previous.desiredCount) } : {}),
          ...(previous?.runningCount !== undefined ? { runningCount: String(previous.runningCount) } : {}),
          ...(previous?.pendingCount !== undefined ? { pendingCount: String(previous.pendingCount) } : {}),
          ...(previous?.rolloutState ? { rolloutState: previous.rolloutState } : {}),
        }
      : observed;
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
    loadBalancerShard: shard,
  };
}

/**
 * The deployments after a pass, newest first: the revision the pass planned opens an entry, and what ECS says of the
 * service's deployments settles it (drift/history.ts). A deployment that ended Failed or RolledBack raises a Warning
 * Event on the workload.
 */
export async function recordDeployment(
  deps: OperatorDeps,
  obj: KubeObject,
  previous: readonly DeploymentRecord[] | undefined,
  prepared: WorkloadPrepared,
  pass: PassResult,
  fields: WorkloadStatusFields,
  now: Date,
  annotations?: Readonly<Record<string, string>>,
): Promise<DeploymentRecord[]> {
  const planned =
    fields.taskDefinitionArn && fields.revision !== undefined
      ? {
          taskDefinitionArn: fields.taskDefinitionArn,
          revision: fields.revision,
          image: imageToRun(prepared.image),
          ...(prepared.image.pinned && prepared.image.digest ? { digest: prepared.image.digest } : {}),
          ...(annotations ? { annotations } : {}),
        }
      : undefined;
  const { history, ended } = updateHistory(previous, planned, observedServiceOf(pass), formatTime(now));
  if (ended) {
    const how = ended.result === 'RolledBack' ? 'was rolled back by the ECS deployment circuit breaker' : 'failed';
    await deps.events.warning(
      obj,
      ended.result === 'RolledBack' ? 'DeploymentRolledBack' : 'DeploymentFailed',
      `the deployment of task definition revision ${ended.revision} (${ended.image}) ${how}${ended.message ? `: ${ended.message}` : ''}`,
    );
  }
  return history;
}
