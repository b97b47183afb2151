// The monthly cost of one custom resource in one state of the cluster, for `slipway plan`: before (the cluster as
// it is) and after (the manifests applied). The figures come from the operator's own functions for status.cost
// (controllers/cost.ts over the estimator in cost/), fed with the objects of that state in place of the informer
// caches, so a plan and the status agree. An Environment counts its own components only (load-balancer shards no
// workload carries, NAT gateways, interface endpoints, an owned zone); each workload is its own entry.
import type { Environment, PreviewDeployment, Service } from '../api/index.js';
import { PRICE_TABLE } from '../cost/prices.js';
import type { PriceTable } from '../cost/table.js';
import { environmentCost, previewCostOf, pricedSide, serviceCost, type PlacementDeps } from '../controllers/cost.js';
import { previewSpec } from '../controllers/preview.js';
import { previewIsLive } from '../controllers/preview-hosts.js';
import { persistedShard } from '../controllers/shards.js';
import { BY_ENVIRONMENT, environmentKeyOf } from '../controllers/workload.js';
import type { KubeObject } from '../runtime/index.js';
import type { PricedSide } from './document.js';

export type CostKind = 'Environment' | 'Service' | 'PreviewDeployment';

/** One state of the cluster, as the operator would see it: every workload placed (see placedAsOperatorWould). */
export interface CostWorld {
  /** Every object of a kind in a namespace in this state. */
  list(kind: CostKind, namespace: string): Promise<readonly KubeObject[]>;
  /** The load-balancer shards the Environment has in this state. */
  shardsOf(env: Environment): readonly number[];
  /** The AWS resources it owns in this state (kind and logical id, as status.resources lists them). */
  resourcesOf(env: Environment): readonly { readonly kind: string; readonly logicalId: string }[];
}

/**
 * A workload as the operator places it: where its status says, else where its spec asks
 * (spec.loadBalancer.shard), else on the first load balancer. Environments pass unchanged.
 */
export function placedAsOperatorWould<T extends KubeObject>(kind: CostKind, obj: T): T {
  if (kind === 'Environment') return obj;
  const workload = obj as unknown as Service | PreviewDeployment;
  if (persistedShard(workload) !== undefined) return obj;
  const requested = kind === 'Service' ? (workload as Service).spec.loadBalancer?.shard : undefined;
  const status = (obj as { status?: Record<string, unknown> }).status;
  return { ...obj, status: { ...status, loadBalancerShard: requested ?? 0 } } as T;
}

/** The Services and previews of a state as the informers' index by Environment gives them. */
function placementDeps(services: readonly KubeObject[], previews: readonly KubeObject[]): PlacementDeps {
  const index = (items: readonly KubeObject[]) => ({
    byIndex: (name: string, key: string) =>
      name === BY_ENVIRONMENT ? items.filter((o) => environmentKeyOf(o as unknown as Service) === key) : [],
  });
  return { services: index(services), previews: index(previews) } as unknown as PlacementDeps;
}

/** The monthly estimate of one custom resource in `world`; 0 when it is not there (created or removed). */
export async function monthlyCost(
  world: CostWorld,
  kind: CostKind,
  namespace: string,
  name: string,
  now: Date,
  table: PriceTable = PRICE_TABLE,
): Promise<PricedSide> {
  const named = (items: readonly KubeObject[]) => items.find((o) => o.metadata?.name === name);
  const environments = await world.list('Environment', namespace);
  if (kind === 'Environment') {
    const env = named(environments) as Environment | undefined;
    if (!env) return { usd: 0 };
    const [services, previews] = await Promise.all([
      world.list('Service', namespace),
      world.list('PreviewDeployment', namespace),
    ]);
    const deps = placementDeps(services, previews);
    // Its own components only: the workloads on it are entries of their own.
    const { cost, condition } = environmentCost(deps, env, world.shardsOf(env), world.resourcesOf(env), [], table);
    return pricedSide(cost, condition, env, table);
  }
  const [services, previews] = await Promise.all([
    world.list('Service', namespace),
    world.list('PreviewDeployment', namespace),
  ]);
  const obj = named(kind === 'Service' ? services : previews) as Service | PreviewDeployment | undefined;
  if (!obj) return { usd: 0 };
  const envName = obj.spec.environmentRef.name;
  const env = environments.find((e) => e.metadata?.name === envName) as Environment | undefined;
  if (!env) return { unknown: `not estimated: its Environment ${envName} does not exist` };
  const deps = placementDeps(services, previews);
  const shard = persistedShard(obj) ?? 0;
  if (kind === 'Service') {
    const { cost, condition } = serviceCost(deps, env, obj as Service, shard, table);
    return pricedSide(cost, condition, env, table);
  }
  const preview = obj as PreviewDeployment;
  // A preview whose pull request closed is on its way out: nothing runs for it.
  if (!previewIsLive(preview)) return { usd: 0 };
  const svcName = preview.spec.serviceRef.name;
  const svc = services.find((s) => s.metadata?.name === svcName) as Service | undefined;
  if (!svc) return { unknown: `not estimated: its Service ${svcName} does not exist` };
  const { cost, condition } = previewCostOf(deps, env, preview, previewSpec(preview, svc), shard, now, table);
  return pricedSide(cost, condition, env, table);
}
