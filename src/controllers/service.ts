// Service controller: hooks on the one reconcile sequence. Look up the Environment, plan the workload, and put
// the workload's fields in status; while ECS rolls out a new revision, look again soon.
import type { Service, ServiceStatus } from '../api/index.js';
import { SERVICE_LOGICAL, type Workload } from '../planner/service.js';
import { refOf, type ResourceClient } from '../runtime/index.js';
import { customResourceReconciler } from './reconcile.js';
import { persistedShard } from './shards.js';
import { ADOPT_ANNOTATION, type OperatorDeps } from './shared.js';
import {
  lookupEnvironment,
  prepareWorkload,
  prepareWorkloadDeletion,
  workloadStatusFields,
  type WorkloadPrepared,
} from './workload.js';

/** How often a Service whose deployment is rolling out is looked at again. */
export const ROLLOUT_POLL_MS = 30_000;

export function serviceWorkload(svc: Service, clusterId: string): Workload {
  return {
    owner: { clusterId, kind: 'Service', namespace: svc.metadata.namespace ?? 'default', name: svc.metadata.name },
    spec: svc.spec,
    subdomain: svc.spec.subdomain ?? svc.metadata.name,
    serviceName: svc.metadata.name,
  };
}

function lookup(deps: OperatorDeps, svc: Service) {
  return lookupEnvironment(
    deps,
    svc.metadata.namespace ?? 'default',
    svc.spec.environmentRef.name,
    'spec.environmentRef.name',
  );
}

export function serviceReconciler(deps: OperatorDeps, client: ResourceClient<Service>) {
  return customResourceReconciler<Service, ServiceStatus, WorkloadPrepared>(deps, {
    client,
    async prepare(svc) {
      const found = lookup(deps, svc);
      if (!found.ok) return { stop: found.stop };
      return prepareWorkload(deps, serviceWorkload(svc, deps.clusterId), found, {
        driftPolicy: svc.spec.driftPolicy ?? found.env.spec.driftPolicy,
        adopt: svc.metadata.annotations?.[ADOPT_ANNOTATION] === 'true',
        placement: {
          kind: 'Service',
          name: svc.metadata.name,
          ...(svc.spec.loadBalancer?.shard !== undefined ? { requested: svc.spec.loadBalancer.shard } : {}),
          persist: async (shard) => {
            await client.patchStatus(refOf(svc), { status: { loadBalancerShard: shard } });
          },
        },
      });
    },
    async prepareDeletion(svc) {
      const workload = serviceWorkload(svc, deps.clusterId);
      const found = lookup(deps, svc);
      return prepareWorkloadDeletion(deps, workload.owner, workload, found, svc.status, persistedShard(svc));
    },
    statusFields: (_svc, { prepared, pass }) => workloadStatusFields(prepared.plan, pass, prepared.shard),
    // While ECS rolls out a new revision, look again soon so status shows when it completes (or fails).
    requeueAfterMs: (_svc, { pass }) =>
      pass.report.attrs[SERVICE_LOGICAL.service]?.rolloutState === 'IN_PROGRESS' ? ROLLOUT_POLL_MS : undefined,
  });
}
