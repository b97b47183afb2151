// The hosts routed through an Environment's gate, by load-balancer shard: each shard's app client's callback URLs
// are exactly these. One computation for the operator (the Environment's pass) and for `slipway plan`.
import type { Environment } from '../api/index.js';
import { hostOf, isGated } from '../planner/service.js';
import { isBeingDeleted } from '../runtime/index.js';
import { isPlanOnly } from './plan-only.js';
import { previewHost, previewIsLive } from './preview-hosts.js';
import { memberKey, type Member } from './shards.js';

/**
 * Whether the gate carries a workload's callback URL. Annotated slipway.dev/plan-only, only while it owns AWS
 * resources from before (its held deletion keeps its route; a new one has none yet): adding or removing the URL
 * would be an AWS write for a resource that promised none. Otherwise while it is live.
 */
export function routesThroughGate(m: Member): boolean {
  if (isPlanOnly(m.obj)) return (m.obj.status?.resources ?? []).length > 0;
  return m.kind === 'Service' ? !isBeingDeleted(m.obj) : previewIsLive(m.obj);
}

/** The gated hosts of the placed workloads, by the shard each is placed on. A workload not placed routes nothing. */
export function gatedHostsByShard(
  env: Environment,
  members: readonly Member[],
  placed: ReadonlyMap<string, number>,
): Map<number, string[]> {
  const hosts = new Map<number, string[]>();
  for (const m of members) {
    const shard = placed.get(memberKey(m.kind, m.obj.metadata.name));
    if (shard === undefined || !routesThroughGate(m)) continue;
    let host: string | undefined;
    if (m.kind === 'PreviewDeployment') host = previewHost(m.obj, env);
    else {
      try {
        if (isGated(m.obj.spec, env)) host = hostOf({ subdomain: m.obj.spec.subdomain ?? m.obj.metadata.name }, env);
      } catch {
        /* an impossible combination: the Service's own status (or plan) says so; it routes nothing */
      }
    }
    if (host) hosts.set(shard, [...(hosts.get(shard) ?? []), host]);
  }
  return hosts;
}
