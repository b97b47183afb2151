// PreviewDeployment controller: a copy of a Service for one pull request on a non-production Environment, always
// behind the gate, removed when it expires or its pull request closes (the controller deletes the object itself,
// and the finalizer path removes the AWS resources), capped by the Environment's previews.maxActive.
import type { PreviewDeployment, PreviewDeploymentStatus, Service, ServiceSpec } from '../api/index.js';
import { parseDuration } from '../config.js';
import { outcome, TERMINAL, WATCH } from '../outcome/outcome.js';
import { boundedName } from '../planner/naming.js';
import { SYNC_ANNOTATION } from '../images/pinning.js';
import type { Workload } from '../planner/service.js';
import { formatTime, refOf, type ResourceClient } from '../runtime/index.js';
import { holdsPreviewSlot, previewRank, previewSubdomain } from './preview-hosts.js';
import { appliedSide, conditionsWithCost, previewCostOf, pricedSide, statusPlanCost } from './cost.js';
import { customResourceReconciler } from './reconcile.js';
import type { OperatorDeps } from './shared.js';
import {
  BY_ENVIRONMENT,
  environmentKeyOf,
  followRollout,
  lastDeployment,
  lookupEnvironment,
  placementPatch,
  prepareWorkload,
  prepareWorkloadDeletion,
  recordDeployment,
  resyncOf,
  runsSettled,
  workloadStatusFields,
  type WorkloadPrepared,
} from './workload.js';
import { persistedShard } from './shards.js';

/** The image a preview runs: its own `image`, or the Service's image with the tag replaced by `imageTag`. */
export function previewImage(p: PreviewDeployment, serviceImage: string): string {
  if (p.spec.image) return p.spec.image;
  if (!p.spec.imageTag) return serviceImage;
  const repo = serviceImage.replace(/@sha256:[a-f0-9]+$/, '').replace(/:([\w][\w.-]*)$/, '');
  return `${repo}:${p.spec.imageTag}`;
}

/** The Service's spec as the preview runs it: one task, no autoscaling, no CDN, gate on, priority allocated. */
export function previewSpec(p: PreviewDeployment, svc: Service): ServiceSpec {
  const overrides = new Map((p.spec.env ?? []).map((e) => [e.name, e.value]));
  const env = [...(svc.spec.env ?? []).filter((e) => !overrides.has(e.name)), ...(p.spec.env ?? [])];
  // A preview is placed on a shard of its own: it does not follow the Service's spec.loadBalancer.
  const { autoscaling: _autoscaling, loadBalancer: _loadBalancer, ...rest } = svc.spec;
  return {
    ...rest,
    image: previewImage(p, svc.spec.image),
    cpu: p.spec.cpu ?? svc.spec.cpu,
    memory: p.spec.memory ?? svc.spec.memory,
    env,
    desiredCount: 1,
    routing: { pathPatterns: svc.spec.routing.pathPatterns },
    cdn: { ...svc.spec.cdn, enabled: false },
    auth: { cognito: 'Enabled' },
  };
}

export function previewWorkload(p: PreviewDeployment, svc: Service, clusterId: string): Workload {
  return {
    owner: {
      clusterId,
      kind: 'PreviewDeployment',
      namespace: p.metadata.namespace ?? 'default',
      name: p.metadata.name,
    },
    spec: previewSpec(p, svc),
    subdomain: previewSubdomain(p),
    serviceName: boundedName([svc.metadata.name, 'pr', String(p.spec.pullRequest.number)], 255),
    preview: true,
  };
}

/** What restarts the TTL: a new image, image tag or commit (a push to the pull request keeps its preview alive). */
export function ttlRevision(p: PreviewDeployment): string {
  return [p.spec.image ?? '', p.spec.imageTag ?? '', p.spec.pullRequest.commitSha ?? ''].join('|');
}

/** When the TTL started: the creation, or the last change of ttlRevision seen, whichever is later. */
export function ttlStart(p: PreviewDeployment, now: Date): string {
  const created = p.metadata.creationTimestamp ?? formatTime(now);
  const s = p.status;
  if (!s?.ttlStartedAt || s.ttlRevision === undefined) return created;
  return s.ttlRevision === ttlRevision(p) ? s.ttlStartedAt : formatTime(now);
}

export function expiresAt(p: PreviewDeployment, defaultTtl: string, startedAt: string): Date {
  return new Date((Date.parse(startedAt) || 0) + parseDuration(p.spec.ttl ?? defaultTtl));
}

export function previewReconciler(deps: OperatorDeps, client: ResourceClient<PreviewDeployment>) {
  const serviceOf = (p: PreviewDeployment) =>
    deps.services.get(`${p.metadata.namespace ?? 'default'}/${p.spec.serviceRef.name}`);
  const lookup = (p: PreviewDeployment) =>
    lookupEnvironment(deps, p.metadata.namespace ?? 'default', p.spec.environmentRef.name, 'spec.environmentRef.name');
  const ttlDefault = (p: PreviewDeployment) => lookup(p).env?.spec.previews?.defaultTTL ?? '72h';
  const ttlFields = (p: PreviewDeployment, now: Date) => ({
    ttlStartedAt: ttlStart(p, now),
    ttlRevision: ttlRevision(p),
  });
  const expiryOf = (p: PreviewDeployment, now: Date) => expiresAt(p, ttlDefault(p), ttlStart(p, now));

  return customResourceReconciler<PreviewDeployment, PreviewDeploymentStatus, WorkloadPrepared>(deps, {
    client,

    // A closed or merged pull request, or a run-out TTL, ends the preview: delete the object; cleanup follows
    // through the deletion path, which the deletion's own update wakes.
    async preflight(p, { now }) {
      const expiry = expiryOf(p, now);
      const pr = p.spec.pullRequest;
      const closed = pr.state !== 'open';
      if (!closed && expiry > now) return undefined;
      const ending = closed ? `pull request #${pr.number} is ${pr.state}` : `its TTL ran out at ${formatTime(expiry)}`;
      await deps.events.normal(p, closed ? 'PullRequestClosed' : 'Expired', `deleting the preview: ${ending}`);
      const phase = closed ? 'Closing' : 'Expired';
      await client.patchStatus(refOf(p), { status: { ...ttlFields(p, now), phase, expiresAt: formatTime(expiry) } });
      await client.delete(refOf(p));
      return {};
    },

    async prepare(p, { signal, now }) {
      const ns = p.metadata.namespace ?? 'default';
      const found = lookup(p);
      if (!found.ok) return { stop: found.stop, fields: { phase: 'Pending' } };
      const env = found.env;
      const resyncMs = resyncOf(deps, env);
      const blocked = (reason: string, message: string) => ({
        stop: outcome(reason, message, TERMINAL),
        fields: { phase: 'Blocked' as const },
        resyncMs,
      });
      if (env.spec.tier === 'production' || !env.spec.previews?.enabled) {
        return blocked(
          'PreviewsDisabled',
          `spec.environmentRef.name: Environment ${env.metadata.name} does not allow previews; set previews.enabled on a non-production Environment`,
        );
      }
      const svc = serviceOf(p);
      if (!svc) {
        const message = `spec.serviceRef.name: Service ${p.spec.serviceRef.name} does not exist in namespace ${ns}; create it or fix the name`;
        return { stop: outcome('ServiceNotFound', message, WATCH), fields: { phase: 'Pending' }, resyncMs };
      }
      if (svc.spec.environmentRef.name !== env.metadata.name) {
        return blocked(
          'EnvironmentMismatch',
          `spec.environmentRef.name: Service ${svc.metadata.name} runs on Environment ${svc.spec.environmentRef.name}, not ${env.metadata.name}; point the preview at ${svc.spec.environmentRef.name}`,
        );
      }
      // The cap: the oldest live previews hold the slots; one over it waits, creating nothing.
      const maxActive = env.spec.previews.maxActive;
      const rank = previewRank(p, deps.previews.byIndex(BY_ENVIRONMENT, `${ns}/${env.metadata.name}`));
      if (!holdsPreviewSlot(p, rank, maxActive)) {
        const message = `Environment ${env.metadata.name} already has ${maxActive} active previews (previews.maxActive): close one, or raise maxActive`;
        return {
          // Woken when a live preview of this Environment goes (operator.ts), the resync as the backstop.
          stop: outcome('PreviewQuotaExceeded', message, WATCH),
          fields: { phase: 'Blocked' },
          resyncMs,
        };
      }
      const prepared = await prepareWorkload(deps, previewWorkload(p, svc, deps.clusterId), found, {
        driftPolicy: svc.spec.driftPolicy ?? env.spec.driftPolicy,
        adopt: false,
        image: {
          previous: p.status?.image,
          sync: p.metadata.annotations?.[SYNC_ANNOTATION],
          ...lastDeployment(p.status?.service?.deployment),
          signal,
          now,
        },
        placement: {
          kind: 'PreviewDeployment',
          name: p.metadata.name,
          persisted: persistedShard(p),
          persist: (shard) => client.patchStatus(refOf(p), placementPatch(p, shard)),
        },
      });
      // No room on the Environment's load balancers: Blocked, like a preview over maxActive.
      if ('blocked' in prepared && prepared.blocked) {
        return { ...prepared, fields: { ...prepared.fields, phase: 'Blocked' as const } };
      }
      return prepared;
    },

    async prepareDeletion(p) {
      const ns = p.metadata.namespace ?? 'default';
      const owner = {
        clusterId: deps.clusterId,
        kind: 'PreviewDeployment' as const,
        namespace: ns,
        name: p.metadata.name,
      };
      const svc = serviceOf(p);
      const workload = svc ? previewWorkload(p, svc, deps.clusterId) : undefined;
      return prepareWorkloadDeletion(deps, owner, workload, lookup(p), p.status, persistedShard(p));
    },

    planCost(p, { prepared, now }) {
      const svc = serviceOf(p);
      if (!svc) return undefined;
      const env = prepared.environment;
      const { cost, condition } = previewCostOf(deps, env, p, previewSpec(p, svc), prepared.shard, now);
      return statusPlanCost(appliedSide(p.status, env), pricedSide(cost, condition, env));
    },

    deletionPlanCost(p) {
      const env = lookup(p).env;
      return env ? statusPlanCost(appliedSide(p.status, env), { usd: 0 }) : undefined;
    },

    async statusFields(p, { prepared, pass, now }) {
      const fields = workloadStatusFields(prepared.plan, pass, prepared.shard, p.status?.service);
      const { url, loadBalancerShard, ...service } = fields;
      // One deployment kept, not a history: enough to hold the preview where a circuit-breaker rollback left it.
      const last = p.status?.service?.deployment;
      const [deployment] = await recordDeployment(deps, p, last ? [last] : [], prepared, pass, fields, now);
      const svc = serviceOf(p);
      const priced = svc
        ? previewCostOf(deps, prepared.environment, p, previewSpec(p, svc), prepared.shard, now)
        : undefined;
      return {
        ...(url ? { url } : {}),
        ...(loadBalancerShard !== undefined ? { loadBalancerShard } : {}),
        expiresAt: formatTime(expiryOf(p, now)),
        image: prepared.image,
        service: { ...service, ...(deployment ? { deployment } : {}) },
        ...(priced ? { cost: priced.cost, conditions: conditionsWithCost(p, pass, now, priced.condition) } : {}),
      };
    },

    stageFields(p, stage, { now }, ready) {
      const phase = stage === 'deleting' ? 'Closing' : stage === 'passed' ? (ready ? 'Active' : 'Pending') : undefined;
      return { ...ttlFields(p, now), ...(phase ? { phase } : {}) };
    },

    settled: (p) => runsSettled(p.status?.service),

    // While ECS rolls out the preview's revision, the rollout watcher follows it (as a Service's).
    afterPass(p, { prepared, pass }) {
      const owner = {
        clusterId: deps.clusterId,
        kind: 'PreviewDeployment' as const,
        namespace: p.metadata.namespace ?? 'default',
        name: p.metadata.name,
      };
      followRollout(deps, owner, environmentKeyOf(p), prepared, pass);
      return Promise.resolve();
    },

    requeueAfterMs: (p, { now }) => Math.max(1_000, expiryOf(p, now).getTime() - now.getTime()),
  });
}
