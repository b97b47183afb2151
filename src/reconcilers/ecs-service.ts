// ecs.Service — identity: the service name in its cluster, described through the shared DescribeServices batcher
// (with tags). attrs: `arn`, `name`, `clusterArn`, and for status `runningCount`, `desiredCount`, `rolloutState`
// (of the PRIMARY deployment; empty when ECS reports none), `taskDefinition` and `deployments` (JSON).
// Managed: task definition, network configuration (subnets and security groups as sets), the one load balancer,
// health check grace period, deployment configuration, and desiredCount ONLY when the props carry it: when
// Application Auto Scaling owns the count the props omit it, and it is then never diffed nor sent.
// A service being deleted lingers as DRAINING, then INACTIVE: both count as absent.
//
// With a wave's rotation (drift events on) a settled owner's service is described only in its turn
// (ctx.readEach(ecsServiceTurn)); otherwise it is taken to be as planned under the ARN the inventory records, its
// running state left as the owner's last status showed it (attribute `read` is 'false'). What changes it in between
// reaches the owner in seconds: an UpdateService (Application Auto Scaling's too) or DeleteService as a CloudTrail
// event, a task that stopped, a service action or a deployment's state as ECS's own events (events/ecs-events.ts).
// The turn is the backstop.
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  UpdateServiceCommand,
  paginateListServices,
  type DeploymentConfiguration,
  type NetworkConfiguration,
  type Service,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import { advancingPages } from '../aws/pages.js';
import { randomUUID } from 'node:crypto';
import {
  clusterName,
  DESCRIBE_SERVICES_MAX,
  describeServices,
  ecsDescribeBatcher,
} from '../aws/ecs-describe-batcher.js';
import { errorName, isNotFound, unlessNotFound } from '../aws/errors.js';
import { ecsResourceId } from '../planner/naming.js';
import type { EcsServiceProps, Resolved } from '../planner/plan.js';
import {
  takenAsPlanned,
  type Change,
  type Desired,
  type KindReconciler,
  type Observed,
  type ReconcileContext,
} from './contract.js';
import { diffFields, type DiffOptions } from './diff.js';
import { rolledBackFrom, type ObservedDeployment } from '../drift/history.js';
import { ecsTagApi, tagsFromEcs, tagsToEcs, writeTags } from './tags.js';

type Props = Resolved<EcsServiceProps>;

export const ecsServiceDiffOptions: DiffOptions = {
  unordered: ['subnetIds', 'securityGroupIds'],
  // Part of the identity (the service is looked up in that cluster): an ARN and a name would differ needlessly.
  ignore: ['clusterArn', 'holdTaskDefinition', 'rollingOut'],
};

/**
 * The diff, without the task definition while the plan holds the one ECS rolled back to (holdTaskDefinition), or
 * when the service is seen rolled back from the revision still rolling out (rollingOut): putting it back would
 * deploy the failed revision again, on every pass, before status.history could record the rollback.
 */
export function diffService(
  desired: { readonly props: Props },
  observed: { readonly props: Props; readonly attrs?: Readonly<Record<string, string>> },
): Change[] {
  const changes = diffFields(desired.props, observed.props, ecsServiceDiffOptions);
  const hold = desired.props.holdTaskDefinition || seenRolledBack(desired.props, observed.attrs);
  return hold ? changes.filter((c) => c.path !== 'taskDefinitionArn') : changes;
}

/** The service is on another revision because the circuit breaker rolled back the one the plan says is rolling out. */
function seenRolledBack(props: Props, attrs: Readonly<Record<string, string>> | undefined): boolean {
  const rolling = props.rollingOut;
  if (!rolling || props.taskDefinitionArn !== rolling || !attrs) return false;
  let deployments: ObservedDeployment[];
  try {
    deployments = JSON.parse(attrs.deployments ?? '[]') as ObservedDeployment[];
  } catch {
    return false;
  }
  return rolledBackFrom(rolling, {
    ...(attrs.taskDefinition ? { taskDefinition: attrs.taskDefinition } : {}),
    deployments,
  });
}

/** Applied when autoscaling owns the count: CreateService needs a start; the scalable target takes over at once. */
export const INITIAL_DESIRED_COUNT = 1;

/** The memo key of one service's description within a pass; invalidated after every write to it. */
export function serviceMemoKey(cluster: string, name: string): string {
  return `ecs.Service:${clusterName(cluster)}/${name}`;
}

/**
 * The memo key of a service as its pass took it as planned (unreadService), apart from serviceMemoKey's: only what
 * scales it and is taken as planned too may take its ownership from the planned tags (ownerTagsOfScaledService). A
 * lookup that reads must find the service's real tags, since a write may follow.
 */
export function plannedServiceMemoKey(cluster: string, name: string): string {
  return `ecs.Service-planned:${clusterName(cluster)}/${name}`;
}

/**
 * What a service's turn in a wave's rotation is keyed by (ctx.readEach): its Application Auto Scaling resource id,
 * `service/<cluster>/<name>`, so that its scalable target and scaling policies take the same turn.
 */
export function ecsServiceTurn(cluster: string, name: string): string {
  return ecsResourceId(clusterName(cluster), name);
}

/** False when the pass took the service as planned without describing it: its running state is not in `attrs`. */
export function wasRead(attrs: Readonly<Record<string, string>>): boolean {
  return attrs.read !== 'false';
}

/** `arn:aws:ecs:region:account:service/CLUSTER/NAME` (or the old `service/NAME`, in the default cluster). */
export function parseServiceArn(arn: string): { readonly cluster: string; readonly name: string } | undefined {
  const m = /:service\/(?:([^/]+)\/)?([^/]+)$/.exec(arn);
  return m ? { cluster: m[1] ?? 'default', name: m[2]! } : undefined;
}

/**
 * The ACTIVE service, or undefined when missing, DRAINING or INACTIVE (or its cluster is gone). Shared within a
 * pass through the memo and across reconciles through the batcher.
 */
export function findService(ctx: ReconcileContext, cluster: string, name: string): Promise<Service | undefined> {
  return ctx.memo(serviceMemoKey(cluster, name), async () => {
    // A brand-new owner's service is looked for in the cluster's names first: absent there, it is not read. A create
    // that follows is refused by AWS if the name was taken since (an ACTIVE service's name is unique in a cluster).
    const names = await ctx.existing(`ecs:service-names:${clusterName(cluster)}`, 'ecs.Service', (listing) =>
      listServiceNames(listing, cluster),
    );
    if (names && !names.has(name)) return undefined;
    const all = await waveServices(ctx, cluster);
    if (all && !all.names.has(name)) return undefined; // not listed: absent
    if (all?.read.has(name)) {
      const listed = all.services.get(name);
      // A deployment moves on by itself: a service still rolling out is read fresh (batched with the other rolling
      // ones), so the pass that polls it sees the rollout end as soon as it does.
      if (!listed || settled(listed)) return listed;
    }
    // Listed but not described (not its turn, and its owner reads it anyway) or rolling: described by itself,
    // batched with the other passes' lookups.
    const s = await unlessNotFound(() => ecsDescribeBatcher(ctx.aws).describe(cluster, name));
    return s?.status === 'ACTIVE' ? s : undefined;
  });
}

/** A wave's listing of one cluster's services. */
export interface WaveServices {
  /** Every service name ListServices answered. */
  readonly names: ReadonlySet<string>;
  /** The names described: all of them, or with a rotation those whose turn it is (ctx.readEach(ecsServiceTurn)). */
  readonly read: ReadonlySet<string>;
  /** The ACTIVE services among those described, by name, tags included. */
  readonly services: ReadonlyMap<string, Service>;
}

/**
 * The wave's listing of a cluster's services, or undefined where the pass reads for itself (ReconcileContext.bulk).
 * With a rotation only the services whose turn it is are described; the others' owners take them as planned, or
 * (not settled) describe them by themselves. The scalable targets' read builds on it (scalable-target.ts).
 */
export function waveServices(ctx: ReconcileContext, cluster: string): Promise<WaveServices | undefined> {
  return ctx.bulk(`ecs:services:${clusterName(cluster)}`, (listing) => listServices(listing, cluster));
}

/**
 * Keeps what a write to the service just answered as the pass's description of it, tags being those the service
 * was created with or observed to carry (CreateService and UpdateService do not change them). What else reads the
 * service in the pass (its scalable target's and policies' ownership, which follows its tags) then asks no
 * DescribeServices that would only repeat the write's answer.
 */
function remember(ctx: ReconcileContext, cluster: string, name: string, service: Service, tags: Service['tags']): void {
  const key = serviceMemoKey(cluster, name);
  ctx.invalidate(key);
  // Anything but an ACTIVE service is left for a fresh read to settle.
  if (service.status === 'ACTIVE') void ctx.memo(key, () => Promise.resolve({ ...service, tags }));
}

/** One deployment, and it completed: nothing about the service changes unless someone changes it. */
function settled(s: Service): boolean {
  return s.deployments?.length === 1 && (s.deployments[0]?.rolloutState ?? 'COMPLETED') === 'COMPLETED';
}

/** The names of a cluster's services, 100 a page, every page (one that does not advance fails the listing). */
async function listServiceNames(ctx: ReconcileContext, cluster: string): Promise<ReadonlySet<string>> {
  const names = new Set<string>();
  const listing = paginateListServices({ client: ctx.aws.ecs, pageSize: 100 }, { cluster });
  for await (const page of advancingPages(listing, (p) => p.nextToken, 'ListServices')) {
    for (const arn of page.serviceArns ?? []) {
      const parsed = parseServiceArn(arn);
      if (parsed) names.add(parsed.name);
    }
  }
  return names;
}

/**
 * A cluster's services: every name, 100 a page; those whose turn it is (all of them without a rotation) described
 * 10 a call, tags included.
 */
async function listServices(ctx: ReconcileContext, cluster: string): Promise<WaveServices> {
  let names: ReadonlySet<string>;
  try {
    names = await listServiceNames(ctx, cluster);
  } catch (err) {
    // The cluster is gone, and its services with it.
    if (isNotFound(err)) return { names: new Set(), read: new Set(), services: new Map() };
    throw err;
  }
  const read = [...names].filter((name) => ctx.readEach(ecsServiceTurn(cluster, name)));
  const services = new Map<string, Service>();
  for (let i = 0; i < read.length; i += DESCRIBE_SERVICES_MAX) {
    const res = await describeServices(ctx.aws, cluster, read.slice(i, i + DESCRIBE_SERVICES_MAX));
    for (const s of res.services ?? []) if (s.status === 'ACTIVE' && s.serviceName) services.set(s.serviceName, s);
  }
  return { names, read: new Set(read), services };
}

/** A described service in the shape of the desired props. Absent deployment settings read as ECS's defaults. */
export function ecsServiceProps(s: Service): Props {
  const net = s.networkConfiguration?.awsvpcConfiguration;
  const lb = s.loadBalancers?.[0];
  const dc = s.deploymentConfiguration;
  return {
    name: s.serviceName ?? '',
    clusterArn: s.clusterArn ?? '',
    taskDefinitionArn: s.taskDefinition ?? '',
    desiredCount: s.desiredCount ?? 0,
    subnetIds: net?.subnets ?? [],
    securityGroupIds: net?.securityGroups ?? [],
    assignPublicIp: net?.assignPublicIp === 'ENABLED',
    targetGroupArn: lb?.targetGroupArn ?? '',
    containerName: lb?.containerName ?? '',
    containerPort: lb?.containerPort ?? 0,
    healthCheckGracePeriodSeconds: s.healthCheckGracePeriodSeconds ?? 0,
    circuitBreaker: {
      enable: dc?.deploymentCircuitBreaker?.enable ?? false,
      rollback: dc?.deploymentCircuitBreaker?.rollback ?? false,
    },
    minimumHealthyPercent: dc?.minimumHealthyPercent ?? 100,
    maximumPercent: dc?.maximumPercent ?? 200,
  };
}

/** What a Service's status shows of its ECS service's deployment (attrs, as strings). */
export interface RolloutAttrs {
  readonly runningCount: string;
  readonly desiredCount: string;
  /** Of the PRIMARY deployment; empty when ECS reports none. */
  readonly rolloutState: string;
}

export function rolloutAttrsOf(s: Service): RolloutAttrs {
  const primary = s.deployments?.find((d) => d.status === 'PRIMARY');
  return {
    runningCount: String(s.runningCount ?? 0),
    desiredCount: String(s.desiredCount ?? 0),
    rolloutState: primary?.rolloutState ?? '',
  };
}

function toObserved(s: Service, tags: Readonly<Record<string, string>>): Observed<'ecs.Service'> {
  const arn = s.serviceArn ?? '';
  return {
    identifier: arn,
    props: ecsServiceProps(s),
    tags,
    attrs: {
      arn,
      name: s.serviceName ?? '',
      clusterArn: s.clusterArn ?? '',
      ...rolloutAttrsOf(s),
      // What the service runs and its deployments, for status.history (drift/history.ts): a rollback by the
      // circuit breaker shows only here. JSON, as attributes are strings.
      taskDefinition: s.taskDefinition ?? '',
      deployments: JSON.stringify(
        (s.deployments ?? []).map((d) => ({
          id: d.id,
          status: d.status,
          taskDefinition: d.taskDefinition,
          rolloutState: d.rolloutState,
          rolloutStateReason: d.rolloutStateReason,
        })),
      ),
    },
  };
}

function networkConfiguration(p: Props): NetworkConfiguration {
  return {
    awsvpcConfiguration: {
      subnets: [...p.subnetIds],
      securityGroups: [...p.securityGroupIds],
      assignPublicIp: p.assignPublicIp ? 'ENABLED' : 'DISABLED',
    },
  };
}

function deploymentConfiguration(p: Props): DeploymentConfiguration {
  return {
    deploymentCircuitBreaker: { enable: p.circuitBreaker.enable, rollback: p.circuitBreaker.rollback },
    minimumHealthyPercent: p.minimumHealthyPercent,
    maximumPercent: p.maximumPercent,
  };
}

function loadBalancers(p: Props) {
  return [{ targetGroupArn: p.targetGroupArn, containerName: p.containerName, containerPort: p.containerPort }];
}

/**
 * UpdateService carrying only the groups of fields that changed. desiredCount goes only when the props carry it;
 * a load balancer change needs a new deployment to take effect.
 */
export function serviceUpdateInput(props: Props, changes: readonly Change[]): UpdateServiceCommandInput {
  const touched = (...fields: string[]): boolean =>
    changes.some((c) => fields.some((f) => c.path === f || c.path.startsWith(`${f}.`) || c.path.startsWith(`${f}[`)));
  const input: UpdateServiceCommandInput = { cluster: props.clusterArn, service: props.name };
  if (touched('taskDefinitionArn')) input.taskDefinition = props.taskDefinitionArn;
  if (props.desiredCount !== undefined && touched('desiredCount')) input.desiredCount = props.desiredCount;
  if (touched('subnetIds', 'securityGroupIds', 'assignPublicIp'))
    input.networkConfiguration = networkConfiguration(props);
  if (touched('targetGroupArn', 'containerName', 'containerPort')) {
    input.loadBalancers = loadBalancers(props);
    input.forceNewDeployment = true;
  }
  if (touched('healthCheckGracePeriodSeconds'))
    input.healthCheckGracePeriodSeconds = props.healthCheckGracePeriodSeconds;
  if (touched('circuitBreaker', 'minimumHealthyPercent', 'maximumPercent'))
    input.deploymentConfiguration = deploymentConfiguration(props);
  return input;
}

async function observeService(
  ctx: ReconcileContext,
  cluster: string,
  name: string,
): Promise<Observed<'ecs.Service'> | undefined> {
  const s = await findService(ctx, cluster, name);
  return s ? toObserved(s, tagsFromEcs(s.tags)) : undefined;
}

/**
 * A settled owner's service whose turn it is not in this wave (ctx.readEach): taken to be as planned, under the ARN
 * the owner's inventory records and with the planned tags, without its running state (`read` 'false': the owner's
 * status keeps what it last showed). Its scalable target and policies taken as planned find it so
 * (plannedServiceMemoKey). Undefined where it must be read: no recorded ARN, one of another name, or its turn.
 */
function unreadService(
  ctx: ReconcileContext,
  desired: Desired<'ecs.Service'>,
  recorded: string | undefined,
): Observed<'ecs.Service'> | undefined {
  const p = desired.props;
  // Its ARN may be of the old, cluster-less form: the record is checked by the name it names.
  const names = (arn: string): boolean => parseServiceArn(arn)?.name === p.name;
  if (!takenAsPlanned(ctx, recorded, names, { each: ecsServiceTurn(p.clusterArn, p.name) })) return undefined;
  const tags = tagsToEcs(desired.tags);
  const service: Service = {
    serviceArn: recorded,
    serviceName: p.name,
    clusterArn: p.clusterArn,
    status: 'ACTIVE',
    taskDefinition: p.taskDefinitionArn,
    tags,
  };
  void ctx.memo(plannedServiceMemoKey(p.clusterArn, p.name), () => Promise.resolve(service));
  return {
    identifier: recorded,
    props: { ...p },
    tags: { ...desired.tags },
    attrs: {
      arn: recorded,
      name: p.name,
      clusterArn: p.clusterArn,
      taskDefinition: p.taskDefinitionArn,
      read: 'false',
    },
    assumed: true,
  };
}

/** Gone already, or on its way out: nothing left to do. */
function isGone(err: unknown): boolean {
  return isNotFound(err) || errorName(err) === 'ServiceNotActiveException';
}

export const ecsServiceReconciler: KindReconciler<'ecs.Service'> = {
  kind: 'ecs.Service',

  observe: async (ctx, desired, recorded) =>
    unreadService(ctx, desired, recorded) ?? observeService(ctx, desired.props.clusterArn, desired.props.name),

  async observeByIdentifier(ctx, identifier) {
    const parsed = parseServiceArn(identifier);
    return parsed ? observeService(ctx, parsed.cluster, parsed.name) : undefined;
  },

  diff: diffService,

  // The applier observes first: CreateService over an existing name would replace it silently in some emulators.
  async create(ctx, desired: Desired<'ecs.Service'>) {
    const p = desired.props;
    const out = await ctx.aws.ecs.send(
      new CreateServiceCommand({
        // Idempotency: the SDK's retry of this call after a lost response sends the same token, and ECS answers
        // with the service the first attempt created instead of failing. One token per call, not per plan: a
        // name is already unique in its cluster (so a later pass finds the service by observing), and a token
        // reused across passes would answer the re-create of a service deleted out of band with the deleted one.
        clientToken: randomUUID(),
        cluster: p.clusterArn,
        serviceName: p.name,
        taskDefinition: p.taskDefinitionArn,
        desiredCount: p.desiredCount ?? INITIAL_DESIRED_COUNT,
        launchType: 'FARGATE',
        networkConfiguration: networkConfiguration(p),
        loadBalancers: loadBalancers(p),
        healthCheckGracePeriodSeconds: p.healthCheckGracePeriodSeconds,
        deploymentConfiguration: deploymentConfiguration(p),
        propagateTags: 'SERVICE',
        enableECSManagedTags: true,
        tags: tagsToEcs(desired.tags),
      }),
    );
    ctx.invalidate(serviceMemoKey(p.clusterArn, p.name));
    let service = out.service;
    if (!service) throw new Error(`CreateService ${p.name} returned no service`);
    // Some implementations (moto) drop deploymentConfiguration and the grace period on create but keep them on
    // update: send what the created service lacks. Against AWS the created service matches and nothing is sent.
    const missed = diffFields(p, ecsServiceProps(service), ecsServiceDiffOptions);
    if (missed.length > 0) {
      const fixed = await ctx.aws.ecs.send(new UpdateServiceCommand(serviceUpdateInput(p, missed)));
      service = fixed.service ?? service;
    }
    remember(ctx, p.clusterArn, p.name, service, tagsToEcs(desired.tags));
    return toObserved(service, { ...desired.tags });
  },

  async update(ctx, desired, observed, changes) {
    const { clusterArn, name } = desired.props;
    const out = await ctx.aws.ecs.send(new UpdateServiceCommand(serviceUpdateInput(desired.props, changes)));
    ctx.invalidate(serviceMemoKey(clusterArn, name));
    if (!out.service) return observed;
    remember(ctx, clusterArn, name, out.service, tagsToEcs(observed.tags));
    return toObserved(out.service, observed.tags);
  },

  // Scale to zero, then delete without waiting for the drain: the next pass sees it DRAINING/INACTIVE, i.e. gone.
  async delete(ctx, observed) {
    const cluster = observed.attrs.clusterArn ?? observed.props.clusterArn;
    const service = observed.props.name;
    try {
      await ctx.aws.ecs.send(new UpdateServiceCommand({ cluster, service, desiredCount: 0 }));
      await ctx.aws.ecs.send(new DeleteServiceCommand({ cluster, service, force: true }));
    } catch (err) {
      if (!isGone(err)) throw err;
    } finally {
      ctx.invalidate(serviceMemoKey(cluster, service));
    }
  },

  tagging: 'tags',

  // The memoised description carries the tags.
  setTags: (ctx, observed, set, remove) =>
    writeTags(ecsTagApi(ctx, observed.identifier), set, remove, () =>
      ctx.invalidate(serviceMemoKey(observed.props.clusterArn, observed.props.name)),
    ),
};
