// Wiring: informers for the three kinds, one controller each, AWS call metrics, leader election, health and
// metrics endpoints. main.ts runs it as a process; tests and the sandbox run it in-process.
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { Logger } from 'pino';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Environment, PreviewDeployment, Service } from './api/index.js';
import { ENVIRONMENT_TYPE, PREVIEW_TYPE, SERVICE_TYPE } from './controllers/resource-types.js';
import { CallCounter, type CallListener } from './aws/calls.js';
import type { RateLimitListener } from './aws/rate-limits.js';
import type { Config } from './config.js';
import { environmentReconciler } from './controllers/environment.js';
import { previewReconciler } from './controllers/preview.js';
import { previewIsLive } from './controllers/preview-hosts.js';
import { serviceReconciler } from './controllers/service.js';
import { memberKey, placementsOf, type Member, type Placements } from './controllers/shards.js';
import { awsFor, awsIdentifiersOf, BY_AWS_IDENTIFIER, type OperatorDeps } from './controllers/shared.js';
import { BY_ENVIRONMENT, environmentKeyOf } from './controllers/workload.js';
import { DriftEventPoller, type DriftQueue } from './events/drift-events.js';
import { ROLLOUT_POLL_MS, RolloutWatcher } from './controllers/rollouts.js';
import { RESYNC_ANNOTATION, WaveRegistry } from './controllers/waves.js';
import { beganLeading } from './reconcilers/contract.js';
import { driftEventsEnabled } from './planner/drift-events.js';
import type { QuotaRetry } from './outcome/load-balancer-quota.js';

/** The informer index of previews by the Service they copy: `namespace/name`. */
const BY_SERVICE = 'service';
import {
  Controller,
  defaultIdentity,
  EventRecorder,
  Informer,
  KubeClient,
  keyOf,
  LeaderElector,
  startHealthServer,
  type HealthServer,
  type KubeObject,
} from './runtime/index.js';

export interface Operator {
  readonly registry: Registry;
  /** Every AWS call this operator made, by service:operation:outcome. */
  readonly calls: CallCounter;
  readonly deps: OperatorDeps;
  readonly health?: HealthServer;
  /** True when no controller has a key waiting, in progress or being gathered (timed requeues aside). */
  idle(): boolean;
  /** `Kind/namespace/name` of the custom resources whose inventory holds this AWS identifier (ARN, id or name). */
  ownersOf(identifier: string): string[];
  /** Polls the drift events queues of Environments with spec.drift.events, while this operator leads. */
  readonly driftEvents: DriftEventPoller;
  /** Follows the rolling ECS services between passes, while this operator leads. */
  readonly rollouts: RolloutWatcher;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface OperatorOptions {
  readonly config: Config;
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  /** Serve /healthz, /readyz and /metrics. Default true. */
  readonly serveHealth?: boolean;
  /** The clock that decides preview expiry and drift timestamps (tests move it forward). */
  readonly now?: () => Date;
  /** How often rolling ECS services are described (default ROLLOUT_POLL_MS; tests shorten it). */
  readonly rolloutPollMs?: number;
  /** How soon an Environment waiting for room under the load-balancer quota counts again (default QUOTA_RETRY). */
  readonly quotaRetry?: QuotaRetry;
}

/**
 * Spec, deletion or annotation changes matter; our own status writes do not (they would retrigger us). `ignore`:
 * annotations whose change does not matter to this watch.
 */
function meaningfulChange(oldObj: KubeObject, newObj: KubeObject, ignore: readonly string[] = []): boolean {
  const a = oldObj.metadata ?? {};
  const b = newObj.metadata ?? {};
  const annotations = (m: typeof a) =>
    JSON.stringify(Object.entries(m.annotations ?? {}).filter(([key]) => !ignore.includes(key)));
  return (
    a.generation !== b.generation || a.deletionTimestamp !== b.deletionTimestamp || annotations(a) !== annotations(b)
  );
}

/**
 * Environment changes a Service or preview cares about: its spec, its deletion, and the status fields workloads
 * read (where to attach, the gate). Not its quota counts or drift, which change with every Service added and
 * would otherwise fan out to every Service of the Environment.
 */
function environmentChangeForWorkloads(oldEnv: Environment, newEnv: Environment): boolean {
  // A resync request reaches the workloads through the wave the Environment's pass opens, as its members.
  if (meaningfulChange(oldEnv, newEnv, [RESYNC_ANNOTATION])) return true;
  const view = (e: Environment) =>
    JSON.stringify([
      e.status?.loadBalancer,
      e.status?.clusterArn,
      e.status?.cognito,
      // Where the load balancer shards are (a new one, a removed one) and whether there is room again (an existing
      // listener's, or the region's quota of load balancers); not how many workloads each holds, which changes with
      // every placement.
      (e.status?.shards ?? []).map(({ workloads: _workloads, ...where }) => where),
      e.status?.shardCapacity,
      e.status?.conditions?.find((c) => c.type === 'LoadBalancerCapacity')?.status,
      e.status?.conditions?.find((c) => c.type === 'LoadBalancerCapacity')?.reason,
    ]);
  return view(oldEnv) !== view(newEnv);
}

/**
 * How long an Environment woken by its Services and previews (added, placed, gone) waits before its pass, so the
 * wakes of a burst fold into one pass (each costs about 20 reads). Short next to what a new Service waits for anyway
 * (its tasks starting) before its callback URL or a new shard is needed.
 */
export const WORKLOAD_WAKE_GATHER_MS = 3_000;

/**
 * A Service or preview placed on another load balancer shard than its Environment's last pass planned with: the
 * Environment plans the shards and callbacks anew. A placement it made itself, or saw pending, is already planned
 * (controllers/shards.ts), so the workload's write of it wakes nothing.
 */
function unplannedPlacement(placements: Placements, kind: Member['kind']) {
  return (a: Service | PreviewDeployment, b: Service | PreviewDeployment): boolean => {
    const shard = b.status?.loadBalancerShard;
    if (a.status?.loadBalancerShard === shard) return false;
    return !placements.plannedWith(environmentKeyOf(b), memberKey(kind, b.metadata.name), shard);
  };
}

function awsCallMetrics(registry: Registry): CallListener {
  const calls = new Counter({
    name: 'slipway_aws_calls_total',
    help: 'AWS API calls by service, operation and outcome',
    labelNames: ['service', 'operation', 'outcome'] as const,
    registers: [registry],
  });
  const seconds = new Histogram({
    name: 'slipway_aws_call_duration_seconds',
    help: 'AWS API call latency',
    labelNames: ['service', 'operation'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return (c) => {
    calls.inc({ service: c.service, operation: c.operation, outcome: c.outcome });
    seconds.observe({ service: c.service, operation: c.operation }, c.seconds);
  };
}

/**
 * The client-side rate limits on /metrics: seconds spent waiting for a token, by service and family; and throttled
 * attempts, by service, operation and who refused them (`aws`: AWS answered with a throttling error, which the SDK
 * retries; `client`: our own limit's longest wait was exceeded). Calls still throttled after the SDK's retries are
 * slipway_aws_calls_total{outcome="throttled"}.
 */
function rateLimitMetrics(registry: Registry): RateLimitListener {
  const waited = new Counter({
    name: 'slipway_aws_rate_limit_wait_seconds_total',
    help: 'Seconds AWS calls waited for a token of the client-side rate limit of their API family',
    labelNames: ['service', 'family'] as const,
    registers: [registry],
  });
  const throttled = new Counter({
    name: 'slipway_aws_throttled_attempts_total',
    help: 'AWS call attempts refused for throttling, by AWS (by="aws", retried by the SDK) or by the client-side limit (by="client")',
    labelNames: ['service', 'operation', 'by'] as const,
    registers: [registry],
  });
  return (e) => {
    if (e.kind === 'wait') waited.inc({ service: e.service, family: e.family }, e.seconds);
    else throttled.inc({ service: e.service, operation: e.operation, by: e.by });
  };
}

export function createOperator(opts: OperatorOptions): Operator {
  const { config, logger } = opts;
  const kube = new KubeClient(opts.kubeConfig);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const calls = new CallCounter();
  const metricsListener = awsCallMetrics(registry);
  const informerOpts = { client: kube, logger, ...(config.watchNamespace ? { namespace: config.watchNamespace } : {}) };
  const environments = new Informer<Environment>({ ...informerOpts, type: ENVIRONMENT_TYPE });
  const services = new Informer<Service>({ ...informerOpts, type: SERVICE_TYPE });
  const previews = new Informer<PreviewDeployment>({ ...informerOpts, type: PREVIEW_TYPE });
  const identity = `${config.podName}_${defaultIdentity()}`;
  // Rolling ECS services are followed by one batched DescribeServices per Environment, not by full passes; an owner
  // whose deployment moved is queued to its controller (bound below, once the controllers exist).
  const rollouts = new RolloutWatcher({
    intervalMs: opts.rolloutPollMs ?? ROLLOUT_POLL_MS,
    timeoutMs: config.awsRequestTimeoutMs,
    enqueue: (owner) => enqueueOwner(owner),
    log: logger.child({ component: 'rollouts' }),
  });
  // An Environment's resync wave queues its members on their controllers (bound below, once they exist), behind
  // everything else: a wave of a thousand members must not hold back a change, an event or a retry.
  const own = { sessionName: config.awsSessionName, userAgentAppId: config.awsSessionName };
  const waves = new WaveRegistry({ enqueue: (member) => enqueueOwner(member, true), own });
  const deps: OperatorDeps = {
    kube,
    clusterId: config.clusterId,
    ...(config.awsEndpoint ? { awsEndpoint: config.awsEndpoint } : {}),
    onAwsCall: (c) => {
      calls.listener(c);
      metricsListener(c);
    },
    events: new EventRecorder({ client: kube, reportingInstance: config.podName, logger }),
    log: logger,
    environments,
    services,
    previews,
    now: opts.now ?? (() => new Date()),
    defaultResyncMs: config.defaultResyncMs,
    passDeadlineMs: config.passDeadlineMs,
    awsRateLimits: config.awsRateLimits,
    onRateLimitWait: rateLimitMetrics(registry),
    awsTimeouts: { connectMs: config.awsConnectTimeoutMs, requestMs: config.awsRequestTimeoutMs },
    awsSessionName: config.awsSessionName,
    registryTimeoutMs: config.registryTimeoutMs,
    rollouts,
    waves,
  };

  const common = { logger, registry, workers: config.workers, periodicRequeueMs: config.defaultResyncMs };
  const envController = new Controller({
    ...common,
    name: 'environment',
    reconcile: environmentReconciler(deps, kube.resource(ENVIRONMENT_TYPE), {
      ...(config.maxWorkloadsPerLoadBalancer !== undefined
        ? { maxWorkloadsPerLoadBalancer: config.maxWorkloadsPerLoadBalancer }
        : {}),
      ...(config.loadBalancerQuota !== undefined ? { loadBalancerQuota: config.loadBalancerQuota } : {}),
      ...(opts.quotaRetry ? { quotaRetry: opts.quotaRetry } : {}),
    }),
  });
  const svcController = new Controller({
    ...common,
    name: 'service',
    reconcile: serviceReconciler(deps, kube.resource(SERVICE_TYPE)),
  });
  const previewController = new Controller({
    ...common,
    name: 'preview',
    reconcile: previewReconciler(deps, kube.resource(PREVIEW_TYPE)),
  });

  // Indexes, not scans: who references an Environment, which previews copy a Service, and who owns an AWS resource.
  environments.addIndex(BY_AWS_IDENTIFIER, awsIdentifiersOf);
  services.addIndex(BY_AWS_IDENTIFIER, awsIdentifiersOf);
  previews.addIndex(BY_AWS_IDENTIFIER, awsIdentifiersOf);
  services.addIndex(BY_ENVIRONMENT, (s) => [environmentKeyOf(s)]);
  previews.addIndex(BY_ENVIRONMENT, (p) => [environmentKeyOf(p)]);
  previews.addIndex(BY_SERVICE, (p) => [`${p.metadata.namespace ?? 'default'}/${p.spec.serviceRef.name}`]);
  const referencing =
    <T extends Service | PreviewDeployment>(inf: Informer<T>) =>
    (env: Environment) =>
      inf.byIndex(BY_ENVIRONMENT, keyOf(env)).map((o) => keyOf(o));
  // Environments: their own changes, plus Services and previews coming, going and being placed on a load balancer
  // shard the Environment's last pass did not plan with (the shards to plan, and each shard's callback URLs). The
  // Environment's pass places the workloads still waiting itself, so their own placement writes wake it no more.
  // Those workload events are gathered for a moment: a burst of new Services wakes its Environment once or twice.
  // A preview matters to its Environment while live (its callback URL, its place, the active count), not in which
  // live phase it is: Pending to Active wakes nothing.
  const placements = placementsOf(deps);
  const servicePlaced = unplannedPlacement(placements, 'Service');
  const previewPlaced = unplannedPlacement(placements, 'PreviewDeployment');
  envController.watch(environments, { updateFilter: meaningfulChange });
  envController.watch(services, {
    map: environmentKeyOf,
    updateFilter: (a, b) => meaningfulChange(a, b) || servicePlaced(a, b),
    gatherMs: WORKLOAD_WAKE_GATHER_MS,
  });
  envController.watch(previews, {
    map: environmentKeyOf,
    updateFilter: (a, b) => meaningfulChange(a, b) || previewIsLive(a) !== previewIsLive(b) || previewPlaced(a, b),
    gatherMs: WORKLOAD_WAKE_GATHER_MS,
  });
  // Services and previews: their own changes, plus their Environment's (its status says where to attach).
  svcController.watch(services, { updateFilter: meaningfulChange });
  svcController.watch(environments, { map: referencing(services), updateFilter: environmentChangeForWorkloads });
  previewController.watch(previews, { updateFilter: meaningfulChange });
  // A preview that stops being live frees a slot under its Environment's previews.maxActive: the previews waiting
  // for one are woken at once instead of finding out on their next resync.
  previewController.watch(previews, {
    map: (p: PreviewDeployment) =>
      previews
        .byIndex(BY_ENVIRONMENT, environmentKeyOf(p))
        .filter((o) => o.status?.phase === 'Blocked' && keyOf(o) !== keyOf(p))
        .map((o) => keyOf(o)),
    updateFilter: (a, b) => previewIsLive(a) && !previewIsLive(b),
  });
  previewController.watch(environments, { map: referencing(previews), updateFilter: environmentChangeForWorkloads });
  previewController.watch(services, {
    map: (svc: Service) => previews.byIndex(BY_SERVICE, keyOf(svc)).map((p) => keyOf(p)),
    updateFilter: meaningfulChange,
  });

  const informers = [environments, services, previews];
  const controllers = [envController, svcController, previewController];
  const ownersOf = (identifier: string): string[] => [
    ...environments.byIndex(BY_AWS_IDENTIFIER, identifier).map((o) => `Environment/${keyOf(o)}`),
    ...services.byIndex(BY_AWS_IDENTIFIER, identifier).map((o) => `Service/${keyOf(o)}`),
    ...previews.byIndex(BY_AWS_IDENTIFIER, identifier).map((o) => `PreviewDeployment/${keyOf(o)}`),
  ];
  // Drift events: the queues in the inventories of Environments that have them on (and are not being deleted).
  const controllerOfKind: Readonly<Record<string, Controller>> = {
    Environment: envController,
    Service: svcController,
    PreviewDeployment: previewController,
  };
  /** Queues a pass of `Kind/namespace/name` on its kind's controller. */
  function enqueueOwner(owner: string, background = false): void {
    const [kind = '', ...key] = owner.split('/');
    const controller = controllerOfKind[kind];
    if (background) controller?.enqueueBackground(key.join('/'));
    else controller?.enqueue(key.join('/'));
  }
  const driftEvents = new DriftEventPoller({
    queues: () =>
      environments
        .list()
        .filter((env) => driftEventsEnabled(env) && !env.metadata.deletionTimestamp)
        .flatMap((env): DriftQueue[] =>
          (env.status?.resources ?? []).flatMap((r) =>
            r.kind === 'sqs.Queue' && r.arn ? [{ arn: r.arn, aws: awsFor(deps, env) }] : [],
          ),
        ),
    ownersOf,
    // A drift event says the owner's resources changed since its wave's snapshot: its pass reads fresh.
    enqueue: (owner) => {
      waves.leave(owner);
      enqueueOwner(owner);
    },
    own,
    log: logger.child({ component: 'drift-events' }),
    registry,
    // The long poll fits in one attempt of an AWS call (SLIPWAY_AWS_REQUEST_TIMEOUT), with 5 s to spare.
    waitSeconds: Math.min(20, Math.floor(config.awsRequestTimeoutMs / 1000) - 5),
  });
  const refreshDriftEvents = () => driftEvents.refresh();
  environments.addHandlers({ onAdd: refreshDriftEvents, onUpdate: refreshDriftEvents, onDelete: refreshDriftEvents });
  let running = false;
  // The informers run from start to stop, leader or not (a warm standby, as controller-runtime's caches do): a
  // replica that takes the Lease has its caches synced already and starts reconciling at once. Only the
  // controllers and the drift-event poller, which write, wait for leadership.
  const startInformers = () => {
    for (const i of informers) i.start();
  };
  const stopInformers = () => Promise.all(informers.map((i) => i.stop()));
  const startControllers = async (signal?: AbortSignal) => {
    // A brand-new owner's listing from before this leadership may miss a previous leader's last writes.
    beganLeading();
    startInformers();
    await Promise.all(informers.map((i) => i.waitForSync(signal)));
    for (const c of controllers) c.start();
    rollouts.start();
    driftEvents.start();
    running = true;
    logger.info({ identity }, 'controllers started');
  };
  const stopControllers = async () => {
    if (!running) return;
    running = false;
    await driftEvents.stop();
    rollouts.stop();
    await Promise.all(controllers.map((c) => c.stop()));
  };
  const elector = config.leaderElection
    ? new LeaderElector({
        client: kube,
        namespace: config.leaseNamespace,
        name: config.leaseName,
        identity,
        leaseDurationMs: config.leaseDurationMs,
        renewDeadlineMs: config.leaseRenewDeadlineMs,
        retryPeriodMs: config.leaseRetryPeriodMs,
        logger,
        onStartedLeading: (signal) => startControllers(signal),
        onStoppedLeading: () => stopControllers(),
      })
    : undefined;

  let health: HealthServer | undefined;
  const operator: Operator = {
    registry,
    calls,
    deps,
    get health() {
      return health;
    },
    idle: () =>
      controllers.every((c) => c.queue.length === 0 && c.queue.processingLength === 0 && c.gatheringLength === 0),
    ownersOf,
    driftEvents,
    rollouts,
    async start() {
      if (opts.serveHealth !== false) {
        health = await startHealthServer({
          port: config.metricsPort,
          registry,
          informers: () => (running ? informers : []),
          ...(elector ? { isLeader: () => elector.isLeader() } : {}),
          logger,
        });
      }
      if (elector) {
        startInformers();
        elector.start();
      } else await startControllers();
    },
    async stop() {
      if (elector) await elector.stop();
      await stopControllers();
      await stopInformers();
      await health?.close();
    },
  };
  return operator;
}
