// The preview sweeper: AWS resources tagged as a preview's whose PreviewDeployment no longer exists (its
// finalizer was removed by hand, or the operator was down when it went) are deleted. It runs with the
// Environment's reconcile, so it shares its resync period, and it re-checks each owner against the API server
// before deleting, so a preview created a moment ago is never mistaken for a gone one.
import type { Environment, PreviewDeployment } from '../api/index.js';
import type { AwsClients } from '../aws/clients.js';
import { discoverPreviewResources, type DiscoveredKind } from '../aws/preview-discovery.js';
import { boundedName, TAG_CLUSTER, TAG_OWNER, TAG_PREVIEW } from '../planner/naming.js';
import { parseRecordOwnerValue } from '../planner/record-owner.js';
import { newContext } from '../reconcilers/contract.js';
import { registry } from '../reconcilers/index.js';
import type { ResourceClient } from '../runtime/index.js';
import type { OperatorDeps } from './shared.js';

/** Dependents first: the service before the rule that feeds it, the rule before its target group, DNS last. */
const DELETE_ORDER: readonly DiscoveredKind[] = [
  'ecs.Service',
  'elbv2.ListenerRule',
  'elbv2.TargetGroup',
  'ecs.TaskDefinition',
  'logs.LogGroup',
  'route53.Record',
];

export async function sweepOrphanedPreviews(
  deps: OperatorDeps,
  env: Environment,
  aws: AwsClients,
  previews: ResourceClient<PreviewDeployment>,
): Promise<readonly string[]> {
  const lb = env.status?.loadBalancer;
  if (!lb?.listenerArn || !env.status?.clusterArn) return [];
  const ns = env.metadata.namespace ?? 'default';
  const found = await discoverPreviewResources(aws, {
    clusterArn: env.status.clusterArn,
    listenerArn: lb.listenerArn,
    vpcId: env.spec.network.vpcId,
    hostedZoneId: env.spec.domain.hostedZoneId,
    logGroupPrefix: `/slipway/${ns}/${env.metadata.name}/`,
    familyPrefix: boundedName(['slipway', ns, env.metadata.name], 255),
    tagKeys: { cluster: TAG_CLUSTER, owner: TAG_OWNER, preview: TAG_PREVIEW },
    clusterId: deps.clusterId,
    ownerOfTxt: (value) => {
      const tags = parseRecordOwnerValue(value);
      return tags?.[TAG_CLUSTER] === deps.clusterId ? tags[TAG_OWNER] : undefined;
    },
  });
  const candidates = [...new Set(found.map((f) => f.owner))].filter((owner) => {
    const [, ownerNs, name] = owner.split('/');
    return ownerNs === ns && name !== undefined && !deps.previews.get(`${ns}/${name}`);
  });
  const orphans: string[] = [];
  for (const owner of candidates) {
    const name = owner.split('/')[2]!;
    if (await previews.find({ namespace: ns, name })) continue; // the cache was behind: it exists
    orphans.push(owner);
  }
  if (orphans.length === 0) return [];
  const ctx = newContext(aws);
  for (const kind of DELETE_ORDER) {
    for (const item of found.filter((f) => f.kind === kind && orphans.includes(f.owner))) {
      const reconciler = registry[kind];
      const observed = await reconciler.observeByIdentifier(ctx, item.identifier);
      // The same ownership rule as everywhere: only what carries exactly this owner and cluster is deleted.
      if (!observed || observed.tags[TAG_OWNER] !== item.owner || observed.tags[TAG_CLUSTER] !== deps.clusterId)
        continue;
      await (reconciler.delete as (c: typeof ctx, o: typeof observed) => Promise<void>)(ctx, observed);
    }
  }
  return orphans;
}
