// Service controller: hooks on the one reconcile sequence. Look up the Environment, plan the workload, and put
// the workload's fields in status; while ECS rolls out a new revision, the rollout watcher follows it.
import type { Service, ServiceStatus } from '../api/index.js';
import { SYNC_ANNOTATION } from '../images/pinning.js';
import type { Workload } from '../planner/service.js';
import { refOf, type ResourceClient } from '../runtime/index.js';
import { appliedSide, conditionsWithCost, pricedSide, serviceCost, statusPlanCost } from './cost.js';
import { customResourceReconciler } from './reconcile.js';
import { persistedShard } from './shards.js';
import { ADOPT_ANNOTATION, type OperatorDeps } from './shared.js';
import {
  environmentKeyOf,
  followRollout,
  lastDeployment,
  lookupEnvironment,
  placementPatch,
  prepareWorkload,
  prepareWorkloadDeletion,
  recordDeployment,
  runsSettled,
  workloadStatusFields,
  type WorkloadPrepared,
} from './workload.js';

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
    async prepare(svc, { signal, now }) {
      const found = lookup(deps, svc);
      if (!found.ok) return { stop: found.stop };
      return prepareWorkload(deps, serviceWorkload(svc, deps.clusterId), found, {
        driftPolicy: svc.spec.driftPolicy ?? found.env.spec.driftPolicy,
        adopt: svc.metadata.annotations?.[ADOPT_ANNOTATION] === 'true',
        image: {
          previous: svc.status?.image,
          sync: svc.metadata.annotations?.[SYNC_ANNOTATION],
          ...lastDeployment(svc.status?.history?.[0]),
          signal,
          now,
        },
        placement: {
          kind: 'Service',
          name: svc.metadata.name,
          ...(svc.spec.loadBalancer?.shard !== undefined ? { requested: svc.spec.loadBalancer.shard } : {}),
          persisted: persistedShard(svc),
          persist: (shard) => client.patchStatus(refOf(svc), placementPatch(svc, shard)),
        },
      });
    },
    async prepareDeletion(svc) {
      const workload = serviceWorkload(svc, deps.clusterId);
      const found = lookup(deps, svc);
      return prepareWorkloadDeletion(deps, workload.owner, workload, found, svc.status, persistedShard(svc));
    },
    planCost(svc, { prepared }) {
      const env = prepared.environment;
      const { cost, condition } = serviceCost(deps, env, svc, prepared.shard);
      return statusPlanCost(appliedSide(svc.status, env), pricedSide(cost, condition, env));
    },
    deletionPlanCost(svc) {
      const env = lookup(deps, svc).env;
      return env ? statusPlanCost(appliedSide(svc.status, env), { usd: 0 }) : undefined;
    },
    async statusFields(svc, { prepared, pass, now }) {
      const fields = workloadStatusFields(prepared.plan, pass, prepared.shard, svc.status);
      const history = await recordDeployment(
        deps,
        svc,
        svc.status?.history,
        prepared,
        pass,
        fields,
        now,
        svc.metadata.annotations,
      );
      const { cost, condition } = serviceCost(deps, prepared.environment, svc, prepared.shard);
      return {
        ...fields,
        image: prepared.image,
        history,
        cost,
        conditions: conditionsWithCost(svc, pass, now, condition),
      };
    },
    settled: (svc) => runsSettled(svc.status),
    // While ECS rolls out a new revision, the rollout watcher follows it and queues a pass when it moves.
    afterPass(svc, { prepared, pass }) {
      followRollout(deps, serviceWorkload(svc, deps.clusterId).owner, environmentKeyOf(svc), prepared, pass);
      return Promise.resolve();
    },
  });
}
