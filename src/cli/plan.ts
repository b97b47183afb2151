// `slipway plan`: what applying a set of manifests would change, in the cluster and in AWS, without writing to either.
//
// For each manifest: the API server validates and defaults it by a dry run (dryRun=All: nothing is stored, so no
// resourceVersion changes), and its spec is compared with the live object's. Then the custom resource is planned
// exactly as the operator plans it (the same planners, on the Environment's status and the same facts), and the
// applier runs in plan mode against the Environment's AWS account with the operator's clients: it observes and
// diffs, and writes nothing.
//
// A custom resource in the cluster that the manifests cover but no longer hold (removed.ts has the rule) is planned
// as its deletion: the custom resource `-`, and `-` for each AWS resource it owns (an empty plan over its inventory,
// which is how the operator deletes); the other objects are planned without it.
//
// A new load-balancer shard is planned only while the region's quota of Application Load Balancers has room, as the
// operator plans it; the Environment's plan says which it withholds, with the reason and the fix of its
// LoadBalancerCapacity condition.
//
// What the plan cannot see: a workload whose Environment has not created its load balancer yet (it is planned once
// it has); and a new workload's load-balancer shard, which the operator chooses when it places it (the plan assumes
// spec.loadBalancer.shard or 0).
import type { DeploymentRecord, Environment, ImageStatus, PreviewDeployment, Service } from '../api/index.js';
import type { AwsClients } from '../aws/clients.js';
import { loadBalancerOfListener, resolveNetwork } from '../aws/network.js';
import {
  environmentKey,
  environmentKeyOf,
  lastDeployment,
  planWithCurrentImage,
  viewOnShard,
  BY_ENVIRONMENT,
} from '../controllers/workload.js';
import { previewWorkload } from '../controllers/preview.js';
import { previewIsLive } from '../controllers/preview-hosts.js';
import { gatedHostsByShard } from '../controllers/gate-hosts.js';
import { ENVIRONMENT_TYPE, PREVIEW_TYPE, SERVICE_TYPE } from '../controllers/resource-types.js';
import { serviceWorkload } from '../controllers/service.js';
import { persistedShard, Placements, plannedShards, regionReads, shardCapacity } from '../controllers/shards.js';
import type { OperatorDeps } from '../controllers/shared.js';
import { PRICE_TABLE } from '../cost/prices.js';
import { fromStatusResources } from '../drift/summary.js';
import { resourcePlanOf, type ResourcePlan } from '../drift/plan.js';
import { LOAD_BALANCER_QUOTA_REASON } from '../outcome/load-balancer-quota.js';
import { OutcomeError } from '../outcome/outcome.js';
import { MAX_CALLBACK_URLS, planEnvironment, type ShardFacts } from '../planner/environment.js';
import { SYNC_ANNOTATION } from '../images/pinning.js';
import { ownerKey } from '../planner/naming.js';
import type { Plan } from '../planner/plan.js';
import type { Workload } from '../planner/service.js';
import { applyPlan } from '../reconcilers/applier.js';
import { withPassContext } from '../reconcilers/contract.js';
import { registry } from '../reconcilers/index.js';
import { HttpMethod } from '@kubernetes/client-node/dist/gen/http/http.js';
import { resourcePath, type KubeClient, type KubeObject, type ResourceType } from '../runtime/index.js';
import { KubeApiError } from '../runtime/kube.js';
import {
  diffValues,
  planCost,
  planDocument,
  REMOVED_SOURCE,
  type CostEntry,
  type CustomResourcePlan,
  type PlanChange,
  type PlanDocument,
} from './document.js';
import { PlanInputError, type Manifest, type ManifestSet } from './manifests.js';
import { monthlyCost, placedAsOperatorWould, type CostWorld } from './plan-cost.js';
import { removedBy } from './removed.js';

export interface PlanContext {
  readonly kube: KubeClient;
  /** The operator's SLIPWAY_CLUSTER_ID: it is part of every ownership tag. */
  readonly clusterId: string;
  /** The clients for an Environment's account and region (the operator's AwsClients, with its region and role). */
  readonly awsFor: (env: Environment) => AwsClients;
  /** The operator's SLIPWAY_LOAD_BALANCER_QUOTA, in place of the account's quota of load balancers per region. */
  readonly loadBalancerQuota?: number;
  readonly signal?: AbortSignal;
}

/** A custom resource planned in AWS, or why not (a string), or planned with a note on what applying will not do. */
type Planned = ResourcePlan | string | { readonly plan: ResourcePlan; readonly message: string };

const TYPES: Readonly<Record<Manifest['kind'], ResourceType>> = {
  Environment: ENVIRONMENT_TYPE,
  Service: SERVICE_TYPE,
  PreviewDeployment: PREVIEW_TYPE,
};

/** kubectl's own bookkeeping: not part of what a manifest says. */
const IGNORED_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration']);

interface Resolved {
  readonly manifest: Manifest;
  /** In the cluster now (undefined: the manifest creates it). */
  readonly live?: KubeObject;
  /** The manifest as the API server would store it: validated and defaulted. */
  readonly object: KubeObject;
}

type WithSpec<T> = T & { readonly spec: Record<string, unknown> };

/** The manifest validated and defaulted by the API server, storing nothing (dryRun=All). */
async function dryRun(ctx: PlanContext, m: Manifest, live: KubeObject | undefined): Promise<KubeObject> {
  const type = TYPES[m.kind];
  const query = { dryRun: 'All', fieldManager: 'slipway-plan' };
  try {
    if (!live) {
      return await ctx.kube.request<KubeObject>(HttpMethod.POST, resourcePath(type, m.namespace), {
        body: m.object,
        query,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
    }
    const { managedFields: _managedFields, ...liveMeta } = live.metadata as Record<string, unknown>;
    const meta = live.metadata as { labels?: Record<string, string>; annotations?: Record<string, string> };
    const body = {
      ...m.object,
      metadata: {
        ...liveMeta,
        labels: { ...meta.labels, ...m.object.metadata.labels },
        annotations: { ...meta.annotations, ...m.object.metadata.annotations },
      },
    };
    return await ctx.kube.request<KubeObject>(HttpMethod.PUT, resourcePath(type, m.namespace, m.name), {
      body,
      query,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  } catch (err) {
    if (err instanceof KubeApiError && (err.code === 422 || err.code === 400)) {
      throw new PlanInputError(m.source, undefined, err.status?.message ?? err.message);
    }
    throw err;
  }
}

/** What changes in the custom resource itself: its spec, and the labels and annotations the manifest sets. */
function objectChanges(m: Manifest, live: KubeObject | undefined, object: KubeObject): PlanChange[] {
  if (!live) return [];
  const spec = diffValues((live as WithSpec<KubeObject>).spec, (object as WithSpec<KubeObject>).spec, 'spec');
  const meta = (key: 'labels' | 'annotations') => {
    const before = (live.metadata as Record<string, Record<string, string> | undefined>)[key] ?? {};
    return Object.entries(m.object.metadata[key] ?? {})
      .filter(([k, v]) => !IGNORED_ANNOTATIONS.has(k) && before[k] !== v)
      .map(([k, v]) => ({ path: `metadata.${key}.${k}`, old: before[k] ?? '(none)', new: v }));
  };
  return [...spec, ...meta('labels'), ...meta('annotations')];
}

function statusOf(obj: KubeObject | undefined): unknown {
  return obj && 'status' in obj ? obj.status : undefined;
}

/**
 * The manifest's object over the live one's status: what the operator will see once the manifest is applied. A
 * workload not placed yet stays unplaced here: the Environment's plan places it as the operator's pass does, or
 * leaves it waiting (a shard the quota withholds).
 */
function afterApply<T>(r: Resolved): T {
  const status = statusOf(r.live) as Record<string, unknown> | undefined;
  return { ...r.object, ...(status ? { status } : {}) } as T;
}

/** `Kind/namespace/name`. */
const keyOf = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

class Planner {
  private readonly byKey = new Map<string, Resolved>();
  private readonly listed = new Map<string, Promise<KubeObject[]>>();
  /** Objects in the cluster the manifests remove: they are planned as deletions, and the others without them. */
  private readonly removed = new Set<string>();
  /** Each planned Environment's shards and the AWS resources it keeps once applied, by namespace/name: its cost after. */
  private readonly plannedEnvironments = new Map<
    string,
    { shards: readonly number[]; resources: readonly { kind: string; logicalId: string }[] }
  >();

  constructor(
    private readonly ctx: PlanContext,
    resolved: readonly Resolved[],
  ) {
    for (const r of resolved) this.byKey.set(keyOf(r.manifest.kind, r.manifest.namespace, r.manifest.name), r);
  }

  /** The objects of the cluster that the manifests cover and no longer hold (removed.ts), by kind. */
  async removals(manifests: readonly Manifest[]): Promise<{ kind: Manifest['kind']; obj: KubeObject }[]> {
    const out: { kind: Manifest['kind']; obj: KubeObject }[] = [];
    for (const ns of [...new Set(manifests.map((m) => m.namespace))]) {
      for (const kind of ['Environment', 'Service', 'PreviewDeployment'] as const) {
        for (const obj of removedBy(manifests, kind, await this.liveList(kind, ns))) {
          this.removed.add(keyOf(kind, ns, obj.metadata?.name ?? ''));
          out.push({ kind, obj });
        }
      }
    }
    return out;
  }

  /** An object after the manifests are applied: the manifest's if it holds one, else the cluster's. */
  private async find<T extends KubeObject>(kind: Manifest['kind'], namespace: string, name: string) {
    const r = this.byKey.get(keyOf(kind, namespace, name));
    if (r) return { obj: afterApply<T>(r), live: r.live !== undefined };
    if (this.removed.has(keyOf(kind, namespace, name))) return undefined;
    const items = await this.list(kind, namespace);
    const obj = items.find((o) => o.metadata?.name === name) as T | undefined;
    return obj ? { obj, live: true } : undefined;
  }

  /** Every object of a kind in a namespace as the cluster holds it now. */
  private liveList(kind: Manifest['kind'], namespace: string): Promise<KubeObject[]> {
    const key = `${kind}/${namespace}`;
    let listed = this.listed.get(key);
    if (!listed) {
      listed = this.ctx.kube
        .resource<KubeObject>(TYPES[kind])
        .listAll({ namespace, ...(this.ctx.signal ? { signal: this.ctx.signal } : {}) })
        .then(({ items }) => items);
      this.listed.set(key, listed);
    }
    return listed;
  }

  /** Every object of a kind in a namespace once the manifests apply: theirs in place of the cluster's, removals gone. */
  private async list(kind: Manifest['kind'], namespace: string): Promise<KubeObject[]> {
    const live = await this.liveList(kind, namespace);
    const mine = [...this.byKey.values()].filter((r) => r.manifest.kind === kind && r.manifest.namespace === namespace);
    const names = new Set(mine.map((r) => r.manifest.name));
    const kept = live.filter(
      (o) => !names.has(o.metadata?.name ?? '') && !this.removed.has(keyOf(kind, namespace, o.metadata?.name ?? '')),
    );
    return [...kept, ...mine.map((r) => afterApply<KubeObject>(r))];
  }

  /**
   * The deletion of a custom resource the manifests remove: an empty plan over its inventory, as the operator
   * deletes (each owned resource still carrying its tag is a `-`). Needs its Environment's account and region.
   */
  async deletion(kind: Manifest['kind'], obj: KubeObject): Promise<ResourcePlan | string> {
    const ns = obj.metadata?.namespace ?? 'default';
    const name = obj.metadata?.name ?? '';
    let env: Environment | undefined = kind === 'Environment' ? (obj as unknown as Environment) : undefined;
    if (!env) {
      const ref = (obj as unknown as Service).spec.environmentRef.name;
      // The Environment as it is now (a removed one still has its account and region).
      env = (await this.liveList('Environment', ns)).find((e) => e.metadata?.name === ref) as Environment | undefined;
    }
    const owner = { clusterId: this.ctx.clusterId, kind, namespace: ns, name };
    if (!env) {
      const left = ((obj as { status?: { resources?: unknown[] } }).status?.resources ?? []).length;
      return left > 0
        ? `not planned in AWS: its Environment is gone, so its ${left} AWS resources cannot be reached (the operator leaves them to a person)`
        : 'not planned in AWS: it owns no AWS resources';
    }
    const planned = await this.run({ owner, resources: [] }, this.ctx.awsFor(env), statusOf(obj));
    // Every resource goes with its owner: "no longer in the plan" would say nothing more.
    const aws = planned.aws.map(({ message, ...a }) => (a.action === 'delete' ? a : { ...a, message }));
    return { ...planned, aws };
  }

  private async run(plan: Plan, aws: AwsClients, status: unknown): Promise<ResourcePlan> {
    const inventory = fromStatusResources((status as { resources?: [] } | undefined)?.resources);
    const report = await withPassContext(
      this.ctx.signal ? aws.withSignal(this.ctx.signal) : aws,
      (pass) => applyPlan(pass, registry, plan, { mode: 'plan', inventory }),
      { owner: `${plan.owner.clusterId}/${ownerKey(plan.owner)}`, steady: false },
    );
    return resourcePlanOf(report);
  }

  /** The Environment a workload names; the field and the file when it is nowhere. */
  private async environmentOf(r: Resolved): Promise<{ env: Environment; live: boolean }> {
    const ref = (r.object as unknown as Service | PreviewDeployment).spec.environmentRef.name;
    const found = await this.find<Environment>('Environment', r.manifest.namespace, ref);
    if (!found) {
      throw new PlanInputError(
        r.manifest.source,
        'spec.environmentRef.name',
        `Environment ${ref} does not exist in namespace ${r.manifest.namespace} (nor in the manifests); create it or fix the name`,
      );
    }
    return { env: found.obj, live: found.live };
  }

  private async planWorkloadOf(
    r: Resolved,
    workload: Workload,
    env: Environment,
    shard: number,
  ): Promise<ResourcePlan | string> {
    const view = viewOnShard(env, shard);
    if (!view) {
      return `not planned in AWS: Environment ${env.metadata.name} has not created load balancer shard ${shard} and its cluster yet`;
    }
    let plan: Plan;
    try {
      // As the operator plans it: the live status.image while nothing that starts a deployment changed; else the
      // reference as the spec gives it (the operator resolves its tag when it applies).
      const obj = afterApply<Service | PreviewDeployment>(r);
      const status = statusOf(r.live) as
        | { image?: ImageStatus; history?: readonly DeploymentRecord[]; service?: { deployment?: DeploymentRecord } }
        | undefined;
      const sync = obj.metadata.annotations?.[SYNC_ANNOTATION];
      // A Service's status.history[0]; a preview's status.service.deployment.
      const last = lastDeployment(status?.history?.[0] ?? status?.service?.deployment);
      plan = planWithCurrentImage(
        workload,
        view,
        this.ctx.clusterId,
        status?.image,
        sync,
        last.rolledBack,
        last.rollingOut,
      ).plan;
    } catch (err) {
      if (err instanceof OutcomeError) throw new PlanInputError(r.manifest.source, undefined, err.outcome.message);
      throw err;
    }
    return this.run(plan, this.ctx.awsFor(env), statusOf(r.live));
  }

  async service(r: Resolved): Promise<ResourcePlan | string> {
    const { env } = await this.environmentOf(r);
    // Not placed yet: planned where it asks, else on the first load balancer (see the header).
    const svc = placedAsOperatorWould('Service', afterApply<Service>(r));
    const shard = persistedShard(svc) ?? 0;
    return this.planWorkloadOf(r, serviceWorkload(svc, this.ctx.clusterId), env, shard);
  }

  async preview(r: Resolved): Promise<ResourcePlan | string> {
    const { env } = await this.environmentOf(r);
    const preview = afterApply<PreviewDeployment>(r);
    const svcName = preview.spec.serviceRef.name;
    const found = await this.find<Service>('Service', r.manifest.namespace, svcName);
    if (!found) {
      throw new PlanInputError(
        r.manifest.source,
        'spec.serviceRef.name',
        `Service ${svcName} does not exist in namespace ${r.manifest.namespace} (nor in the manifests); create it or fix the name`,
      );
    }
    if (!previewIsLive(preview)) return 'not planned in AWS: the preview is not live (its pull request is closed)';
    const shard = persistedShard(preview) ?? 0;
    return this.planWorkloadOf(r, previewWorkload(preview, found.obj, this.ctx.clusterId), env, shard);
  }

  /**
   * Placements read as the operator reads them, over the workloads the cluster holds once the manifests apply: one
   * not placed yet waits, as in the operator, so that the shards it needs are planned or withheld as there.
   */
  private async placements(env: Environment): Promise<Placements> {
    const ns = env.metadata.namespace ?? 'default';
    const key = `${ns}/${env.metadata.name}`;
    const on = async (kind: 'Service' | 'PreviewDeployment') =>
      (await this.list(kind, ns)).filter(
        (o) => environmentKeyOf(o as unknown as Service) === key,
      ) as unknown as (Service & PreviewDeployment)[];
    const [services, previews] = await Promise.all([on('Service'), on('PreviewDeployment')]);
    const index = <T>(items: T[]) => ({ byIndex: (name: string) => (name === BY_ENVIRONMENT ? items : []) });
    const informers = { services: index(services), previews: index(previews) };
    return new Placements(informers as unknown as Pick<OperatorDeps, 'services' | 'previews'>);
  }

  async environment(r: Resolved): Promise<Planned> {
    const env = afterApply<Environment>(r);
    const ns = env.metadata.namespace ?? 'default';
    const key = `${ns}/${env.metadata.name}`;
    const aws = this.ctx.awsFor(env);
    const reads = this.ctx.signal ? aws.withSignal(this.ctx.signal) : aws;
    const source = r.manifest.source;
    const network = await resolveNetwork(reads, env.spec.network, env.spec.region);
    if ('field' in network) throw new PlanInputError(source, network.field, network.message);
    const listener = env.spec.loadBalancer.existingListenerArn;
    const existingLoadBalancerArn = listener ? await loadBalancerOfListener(reads, listener) : undefined;
    // The shards and the gated hosts on each, as the operator computes them from the placements.
    const placements = await this.placements(env);
    const capacity = env.status?.shardCapacity ?? (await shardCapacity(env, reads, undefined)) ?? MAX_CALLBACK_URLS;
    // The workloads still waiting are placed by the Environment's pass, on the shards it plans (shards.ts).
    const region = regionReads(reads);
    const shardsNow = () =>
      plannedShards(
        env,
        reads,
        placements.counts(key),
        placements.waiting(env),
        capacity,
        this.ctx.loadBalancerQuota,
        region,
      );
    const first = await shardsNow();
    const placedOn = placements.placeWaiting(env, {
      capacity,
      shards: first.shards,
      existingListener: !!listener,
      ...(first.withheld ? { noNewShards: first.withheld.message } : {}),
    });
    const { shards, withheld } = placedOn.length > 0 ? await shardsNow() : first;
    const placed = placements.placed(key);
    const hosts = gatedHostsByShard(env, placements.members(key), placed);
    const extraShards: ShardFacts[] = shards
      .filter((index) => index !== 0)
      .map((index) => ({ index, gatedHosts: hosts.get(index) ?? [] }));
    let plan: Plan;
    try {
      plan = planEnvironment(env, {
        clusterId: this.ctx.clusterId,
        gatedHosts: hosts.get(0) ?? [],
        ...(extraShards.length > 0 ? { extraShards } : {}),
        vpcCidr: network.vpcCidr,
        ...(network.availabilityZones ? { availabilityZones: network.availabilityZones } : {}),
        ...(existingLoadBalancerArn ? { existingLoadBalancerArn } : {}),
      });
    } catch (err) {
      if (err instanceof OutcomeError) throw new PlanInputError(source, undefined, err.outcome.message);
      throw err;
    }
    const planned = await this.run(plan, aws, statusOf(r.live));
    const resources = planned.aws.filter((a) => a.action !== 'delete');
    this.plannedEnvironments.set(key, { shards, resources });
    return withheld ? { plan: planned, message: `${LOAD_BALANCER_QUOTA_REASON}: ${withheld.message}` } : planned;
  }

  /**
   * The cluster for cost estimates: `before` as it is now, `after` once the manifests apply (removals gone, each
   * planned Environment with the shards and AWS resources of its plan).
   */
  costWorld(side: 'before' | 'after'): CostWorld {
    const planned = (env: Environment) =>
      side === 'after' ? this.plannedEnvironments.get(environmentKey(env)) : undefined;
    return {
      list: async (kind, namespace) =>
        (side === 'before' ? await this.liveList(kind, namespace) : await this.list(kind, namespace)).map((o) =>
          placedAsOperatorWould(kind, o),
        ),
      shardsOf: (env) => planned(env)?.shards ?? env.status?.shards?.map((s) => s.index) ?? [0],
      resourcesOf: (env) => planned(env)?.resources ?? env.status?.resources ?? [],
    };
  }
}

const NOT_PLANNED = resourcePlanOf({ outcomes: [], inventory: [], attrs: {} });

function unpack(planned: Planned): { aws: ResourcePlan; message?: string } {
  if (typeof planned === 'string') return { aws: NOT_PLANNED, message: planned };
  return 'plan' in planned ? { aws: planned.plan, message: planned.message } : { aws: planned };
}

/** Plans every manifest; throws PlanInputError for input a person must fix. */
export async function planManifests(ctx: PlanContext, set: ManifestSet): Promise<PlanDocument> {
  const resolved: Resolved[] = [];
  for (const m of set.manifests) {
    const live = await ctx.kube
      .resource<KubeObject>(TYPES[m.kind])
      .find({ namespace: m.namespace, name: m.name }, ctx.signal);
    resolved.push({ manifest: m, ...(live ? { live } : {}), object: await dryRun(ctx, m, live) });
  }
  const planner = new Planner(ctx, resolved);
  const removals = await planner.removals(set.manifests);
  const out: CustomResourcePlan[] = [];
  for (const r of resolved) {
    const m = r.manifest;
    const planned =
      m.kind === 'Environment'
        ? await planner.environment(r)
        : m.kind === 'Service'
          ? await planner.service(r)
          : await planner.preview(r);
    const changes = objectChanges(m, r.live, r.object);
    const { aws, message } = unpack(planned);
    out.push({
      kind: m.kind,
      namespace: m.namespace,
      name: m.name,
      source: m.source,
      action: !r.live ? 'create' : changes.length > 0 ? 'update' : 'no-op',
      changes,
      summary: aws.summary,
      aws: aws.aws,
      ...(message !== undefined ? { message } : {}),
    });
  }
  for (const { kind, obj } of removals) {
    const planned = await planner.deletion(kind, obj);
    const aws = typeof planned === 'string' ? resourcePlanOf({ outcomes: [], inventory: [], attrs: {} }) : planned;
    out.push({
      kind,
      namespace: obj.metadata?.namespace ?? 'default',
      name: obj.metadata?.name ?? '',
      source: REMOVED_SOURCE,
      action: 'delete',
      changes: [],
      summary: aws.summary,
      aws: aws.aws,
      ...(typeof planned === 'string' ? { message: planned } : {}),
    });
  }
  // After every plan: the Environments' planned shards and resources are their cost after.
  const now = new Date();
  const [before, after] = [planner.costWorld('before'), planner.costWorld('after')];
  const costs: CostEntry[] = [];
  for (const r of out) {
    const at = (world: CostWorld) => monthlyCost(world, r.kind, r.namespace, r.name, now);
    costs.push({
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
      before: await at(before),
      after: await at(after),
    });
  }
  return planDocument(out, planCost(costs, PRICE_TABLE.date));
}
