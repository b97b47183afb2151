// ecs.Cluster — identity: the cluster name. attrs: `arn`, `name`.
// Managed: the containerInsights setting, written with UpdateCluster (which takes settings like UpdateClusterSettings
// does, and which the emulator implements too). A deleted cluster lingers as INACTIVE in DescribeClusters: absent.
import {
  CreateClusterCommand,
  DeleteClusterCommand,
  DescribeClustersCommand,
  UpdateClusterCommand,
  type Cluster,
  type ClusterSetting,
} from '@aws-sdk/client-ecs';
import { unlessNotFound } from '../aws/errors.js';
import type { KindReconciler, Observed, ReconcileContext } from './contract.js';
import { diffProps } from './diff.js';
import { ecsTagApi, tagsFromEcs, tagsToEcs, writeTags } from './tags.js';

/** `enhanced` is the newer, finer-grained form of Container Insights: it counts as on. */
export function containerInsightsEnabled(settings: readonly ClusterSetting[] | undefined): boolean {
  const v = settings?.find((s) => s.name === 'containerInsights')?.value;
  return v === 'enabled' || v === 'enhanced';
}

function insightsSetting(enabled: boolean): ClusterSetting[] {
  return [{ name: 'containerInsights', value: enabled ? 'enabled' : 'disabled' }];
}

function toObserved(c: Cluster): Observed<'ecs.Cluster'> {
  const arn = c.clusterArn ?? '';
  const name = c.clusterName ?? '';
  return {
    identifier: arn,
    props: { name, containerInsights: containerInsightsEnabled(c.settings) },
    tags: tagsFromEcs(c.tags),
    attrs: { arn, name },
  };
}

/** DescribeClusters takes names and ARNs alike. */
async function describe(ctx: ReconcileContext, nameOrArn: string): Promise<Observed<'ecs.Cluster'> | undefined> {
  const res = await ctx.aws.ecs.send(
    new DescribeClustersCommand({ clusters: [nameOrArn], include: ['TAGS', 'SETTINGS'] }),
  );
  const c = res.clusters?.find((x) => x.status !== 'INACTIVE');
  return c ? toObserved(c) : undefined;
}

export const ecsClusterReconciler: KindReconciler<'ecs.Cluster'> = {
  kind: 'ecs.Cluster',

  observe: (ctx, desired) => describe(ctx, desired.props.name),
  observeByIdentifier: describe,

  diff: diffProps(),

  async create(ctx, desired) {
    const res = await ctx.aws.ecs.send(
      new CreateClusterCommand({
        clusterName: desired.props.name,
        settings: insightsSetting(desired.props.containerInsights),
        tags: tagsToEcs(desired.tags),
      }),
    );
    if (!res.cluster) throw new Error(`CreateCluster ${desired.props.name} returned no cluster`);
    const created = toObserved(res.cluster);
    return { ...created, props: { ...desired.props }, tags: { ...desired.tags } };
  },

  async update(ctx, desired, observed) {
    const res = await ctx.aws.ecs.send(
      new UpdateClusterCommand({
        cluster: observed.identifier,
        settings: insightsSetting(desired.props.containerInsights),
      }),
    );
    return res.cluster ? { ...toObserved(res.cluster), tags: observed.tags } : observed;
  },

  async delete(ctx, observed) {
    // Fails while services remain (ClusterContainsServicesException): surfaced as is, the services go first.
    await unlessNotFound(() => ctx.aws.ecs.send(new DeleteClusterCommand({ cluster: observed.identifier })));
  },

  tagging: 'tags',

  setTags: (ctx, observed, set, remove) => writeTags(ecsTagApi(ctx, observed.identifier), set, remove),
};
