// `slipway status ENV`: reads the Environment and the Services and previews on it, and renders them as a tree
// (status-tree.ts). Read only.
import type { Environment, PreviewDeployment, Service } from '../api/index.js';
import { ENVIRONMENT_TYPE, PREVIEW_TYPE, SERVICE_TYPE } from '../controllers/resource-types.js';
import type { KubeClient } from '../runtime/index.js';
import { Refused } from './release-commands.js';
import { renderStatusTree, type TreeEnvironment, type TreeObject, type TreePreview } from './status-tree.js';

export async function environmentStatus(kube: KubeClient, namespace: string, name: string): Promise<string> {
  const env = await kube.resource<Environment>(ENVIRONMENT_TYPE).find({ namespace, name });
  if (!env) throw new Refused(`no Environment ${name} in namespace ${namespace}; check the name, or give -n NAMESPACE`);
  const on = <T extends Service | PreviewDeployment>(items: T[]) =>
    items.filter((o) => o.spec.environmentRef.name === name);
  const [services, previews] = await Promise.all([
    kube.resource<Service>(SERVICE_TYPE).listAll({ namespace }),
    kube.resource<PreviewDeployment>(PREVIEW_TYPE).listAll({ namespace }),
  ]);
  return renderStatusTree(
    env as unknown as TreeEnvironment,
    on(services.items) as unknown as TreeObject[],
    on(previews.items) as unknown as TreePreview[],
  );
}
