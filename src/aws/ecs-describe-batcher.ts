// Batches ECS DescribeServices, DataLoader style: lookups for one cluster that arrive within a few milliseconds
// are merged into calls of at most 10 service names each (the API's limit; DescribeServices is throttled at
// 20/s sustained, so one call per service would not scale to an Environment with many Services). One batcher per
// account's shared clients (AwsClients.root), so the passes running side by side share it whichever view they hold.
// It does not cache: a lookup always reaches AWS.
//
// No waiter waits forever: a batch is sent through the shared clients, whose request timeout bounds it, and a
// lookup made through a pass's view (withSignal) is rejected as soon as that pass's signal fires, while the batch
// goes on for the other passes.
import { DescribeServicesCommand, type DescribeServicesCommandOutput, type Service } from '@aws-sdk/client-ecs';
import type { AwsClients } from './clients.js';

/** DescribeServices accepts at most this many services per call. */
export const DESCRIBE_SERVICES_MAX = 10;

/**
 * What Slipway reads of a described service, and nothing else: the fields its props, status and history take, its
 * deployments' identity and state, and its tags. AWS answers much more (up to 100 service events a service, each
 * deployment's own network configuration and counts, placement, capacity providers), and a resync wave holds the
 * description of every service of the cluster (2,000 at the benchmark's size) until its members have passed.
 */
export function compactService(s: Service): Service {
  const net = s.networkConfiguration?.awsvpcConfiguration;
  const dc = s.deploymentConfiguration;
  return {
    serviceArn: s.serviceArn,
    serviceName: s.serviceName,
    clusterArn: s.clusterArn,
    status: s.status,
    taskDefinition: s.taskDefinition,
    desiredCount: s.desiredCount,
    runningCount: s.runningCount,
    ...(net
      ? {
          networkConfiguration: {
            awsvpcConfiguration: {
              subnets: net.subnets,
              securityGroups: net.securityGroups,
              assignPublicIp: net.assignPublicIp,
            },
          },
        }
      : {}),
    loadBalancers: s.loadBalancers?.map((lb) => ({
      targetGroupArn: lb.targetGroupArn,
      containerName: lb.containerName,
      containerPort: lb.containerPort,
    })),
    healthCheckGracePeriodSeconds: s.healthCheckGracePeriodSeconds,
    ...(dc
      ? {
          deploymentConfiguration: {
            deploymentCircuitBreaker: dc.deploymentCircuitBreaker,
            minimumHealthyPercent: dc.minimumHealthyPercent,
            maximumPercent: dc.maximumPercent,
          },
        }
      : {}),
    deployments: s.deployments?.map((d) => ({
      id: d.id,
      status: d.status,
      taskDefinition: d.taskDefinition,
      rolloutState: d.rolloutState,
      rolloutStateReason: d.rolloutStateReason,
    })),
    tags: s.tags,
  };
}

/** One DescribeServices call (at most DESCRIBE_SERVICES_MAX names), tags included, each service compacted. */
export async function describeServices(
  aws: Pick<AwsClients, 'ecs'>,
  cluster: string,
  names: readonly string[],
): Promise<DescribeServicesCommandOutput> {
  const out = await aws.ecs.send(new DescribeServicesCommand({ cluster, services: [...names], include: ['TAGS'] }));
  return { ...out, services: out.services?.map(compactService) };
}

interface Waiter {
  readonly resolve: (service: Service | undefined) => void;
  readonly reject: (err: unknown) => void;
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('ECS DescribeServices lookup aborted'), { name: 'AbortError', cause: signal.reason });
}

interface PendingBatch {
  readonly waiters: Map<string, Waiter[]>;
  timer?: NodeJS.Timeout;
}

/** `arn:aws:ecs:region:account:cluster/NAME` or `NAME` → `NAME`, so lookups by ARN and by name share a batch. */
export function clusterName(clusterOrArn: string): string {
  const m = /:cluster\/(.+)$/.exec(clusterOrArn);
  return m ? m[1]! : clusterOrArn;
}

export class EcsDescribeBatcher {
  private readonly pending = new Map<string, PendingBatch>();

  constructor(
    private readonly aws: AwsClients,
    /** How long the first lookup of a batch waits for others to join it. */
    private readonly windowMs = 5,
  ) {}

  /**
   * The service as DescribeServices reports it (tags included), or undefined when ECS says MISSING.
   * Services with status INACTIVE or DRAINING are returned as they are: the caller decides what they mean.
   * Rejects when the call fails (ClusterNotFoundException for a missing cluster).
   */
  describe(cluster: string, serviceName: string, signal?: AbortSignal): Promise<Service | undefined> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const key = clusterName(cluster);
    let batch = this.pending.get(key);
    if (!batch) {
      batch = { waiters: new Map() };
      this.pending.set(key, batch);
    }
    const current = batch;
    const promise = new Promise<Service | undefined>((resolve, reject) => {
      const onAbort = () => reject(abortError(signal!));
      const forget = () => signal?.removeEventListener('abort', onAbort);
      signal?.addEventListener('abort', onAbort, { once: true });
      const list = current.waiters.get(serviceName) ?? [];
      list.push({ resolve: (s) => (forget(), resolve(s)), reject: (err) => (forget(), reject(err)) });
      current.waiters.set(serviceName, list);
    });
    // A full batch gains nothing by waiting; otherwise give concurrent lookups a moment to join.
    if (current.waiters.size >= DESCRIBE_SERVICES_MAX) this.flush(key);
    else current.timer ??= setTimeout(() => this.flush(key), this.windowMs);
    return promise;
  }

  private flush(key: string): void {
    const batch = this.pending.get(key);
    if (!batch) return;
    this.pending.delete(key);
    if (batch.timer) clearTimeout(batch.timer);
    const names = [...batch.waiters.keys()];
    for (let i = 0; i < names.length; i += DESCRIBE_SERVICES_MAX) {
      void this.send(key, names.slice(i, i + DESCRIBE_SERVICES_MAX), batch.waiters);
    }
  }

  private async send(cluster: string, names: readonly string[], waiters: ReadonlyMap<string, Waiter[]>): Promise<void> {
    try {
      const out = await describeServices(this.aws, cluster, names);
      const found = new Map<string, Service>();
      for (const s of out.services ?? []) {
        if (s.serviceName) found.set(s.serviceName, s);
        if (s.serviceArn) found.set(s.serviceArn, s);
      }
      const failed = new Map<string, string>();
      for (const f of out.failures ?? []) {
        const name = f.arn?.split('/').pop();
        if (name && f.reason !== 'MISSING') failed.set(name, f.reason ?? 'unknown');
      }
      for (const name of names) {
        const reason = failed.get(name);
        for (const w of waiters.get(name) ?? []) {
          if (reason) w.reject(new Error(`DescribeServices ${cluster}/${name} failed: ${reason}`));
          else w.resolve(found.get(name));
        }
      }
    } catch (err) {
      for (const name of names) for (const w of waiters.get(name) ?? []) w.reject(err);
    }
  }
}

const batchers = new WeakMap<AwsClients, EcsDescribeBatcher>();

/** What a reconcile sees of the batcher: lookups carry its view's signal. */
export interface EcsServiceLookup {
  describe(cluster: string, serviceName: string): Promise<Service | undefined>;
}

/** The batcher shared by everything that uses these clients' account, seen through `aws`'s signal. */
export function ecsDescribeBatcher(aws: AwsClients): EcsServiceLookup {
  let b = batchers.get(aws.root);
  if (!b) {
    b = new EcsDescribeBatcher(aws.root);
    batchers.set(aws.root, b);
  }
  const batcher = b;
  return { describe: (cluster, serviceName) => batcher.describe(cluster, serviceName, aws.signal) };
}
