// PreviewDeployment controller: a copy of a Service for one pull request on a non-production Environment, always
// behind the gate, removed when it expires or its pull request closes (the controller deletes the object itself,
// and the finalizer path removes the AWS resources), capped by the Environment's previews.maxActive.
import type { PreviewDeployment, PreviewDeploymentStatus, Service, ServiceSpec } from '../api/index.js';
import { parseDuration } from '../config.js';
import { boundedName } from '../planner/naming.js';
import type { Workload } from '../planner/service.js';
import {
  addFinalizer,
  isBeingDeleted,
  parseKey,
  refOf,
  type ReconcileContext,
  type ResourceClient,
  type Result,
  StatusWriter,
  TerminalError,
} from '../runtime/index.js';
import { previewIsLive, previewSubdomain } from './preview-hosts.js';
import {
  blockedStatus,
  commonStatus,
  failureToThrow,
  FINALIZER,
  formatNow,
  jittered,
  type OperatorDeps,
} from './shared.js';
import { applyWorkload, finishDeletion, lookupEnvironment } from './workload.js';

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
  const { autoscaling: _autoscaling, ...rest } = svc.spec;
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
  const created = p.metadata.creationTimestamp ?? formatNow(now);
  const s = p.status;
  if (!s?.ttlStartedAt || s.ttlRevision === undefined) return created;
  return s.ttlRevision === ttlRevision(p) ? s.ttlStartedAt : formatNow(now);
}

export function expiresAt(p: PreviewDeployment, defaultTtl: string, startedAt: string): Date {
  return new Date((Date.parse(startedAt) || 0) + parseDuration(p.spec.ttl ?? defaultTtl));
}

export function previewReconciler(deps: OperatorDeps, client: ResourceClient<PreviewDeployment>) {
  const statusWriter = new StatusWriter<PreviewDeployment>(client, deps.log);

  return async function reconcile(key: string, rctx: ReconcileContext): Promise<Result> {
    let p = await client.find(parseKey(key), rctx.signal);
    if (!p) return { requeue: false };
    const now = deps.now();
    const generation = p.metadata.generation;
    const status = p.status;
    const ns = p.metadata.namespace ?? 'default';
    const lookup = lookupEnvironment(deps, ns, p.spec.environmentRef.name, 'spec.environmentRef.name');
    const svc = deps.services.get(`${ns}/${p.spec.serviceRef.name}`);

    if (isBeingDeleted(p)) {
      const owner = {
        clusterId: deps.clusterId,
        kind: 'PreviewDeployment' as const,
        namespace: ns,
        name: p.metadata.name,
      };
      const workload = svc ? previewWorkload(p, svc, deps.clusterId) : undefined;
      return finishDeletion(deps, { client, statusWriter }, p, { owner, workload, lookup }, now, { phase: 'Closing' });
    }

    const ttlDefault = lookup.env?.spec.previews?.defaultTTL ?? '72h';
    const startedAt = ttlStart(p, now);
    const ttlFields = { ttlStartedAt: startedAt, ttlRevision: ttlRevision(p) };
    const block = async (
      reason: string,
      message: string,
      phase: PreviewDeploymentStatus['phase'],
      retryMs?: number,
    ): Promise<Result> => {
      await statusWriter.write(p!, { ...blockedStatus(status, generation, now, reason, message), ...ttlFields, phase });
      if (retryMs === undefined) {
        await deps.events.warning(p!, reason, message);
        throw new TerminalError(message, { reason });
      }
      return { requeueAfterMs: retryMs };
    };

    // A closed or merged pull request, or a run-out TTL, ends the preview: delete the object; cleanup follows.
    const expiry = expiresAt(p, ttlDefault, startedAt);
    const ending =
      p.spec.pullRequest.state !== 'open'
        ? `pull request #${p.spec.pullRequest.number} is ${p.spec.pullRequest.state}`
        : expiry <= now
          ? `its TTL ran out at ${formatNow(expiry)}`
          : undefined;
    if (ending) {
      await deps.events.normal(
        p,
        ending.startsWith('pull') ? 'PullRequestClosed' : 'Expired',
        `deleting the preview: ${ending}`,
      );
      await statusWriter.write(p, {
        ...status,
        ...ttlFields,
        phase: ending.startsWith('pull') ? 'Closing' : 'Expired',
        expiresAt: formatNow(expiry),
      });
      await client.delete(refOf(p));
      return { requeueAfterMs: 1_000 };
    }

    if (!lookup.ok) return block(lookup.reason, lookup.message, 'Pending', lookup.retryMs);
    const env = lookup.env;
    if (env.spec.tier === 'production' || !env.spec.previews?.enabled) {
      return block(
        'PreviewsDisabled',
        `spec.environmentRef.name: Environment ${env.metadata.name} does not allow previews; set previews.enabled on a non-production Environment`,
        'Blocked',
      );
    }
    if (!svc) {
      return block(
        'ServiceNotFound',
        `spec.serviceRef.name: Service ${p.spec.serviceRef.name} does not exist in namespace ${ns}; create it or fix the name`,
        'Pending',
        60_000,
      );
    }
    if (svc.spec.environmentRef.name !== env.metadata.name && !env.spec.previews.enabled) {
      return block(
        'PreviewsDisabled',
        `spec.environmentRef.name: previews are disabled on ${env.metadata.name}`,
        'Blocked',
      );
    }
    // The cap: the oldest live previews hold the slots; one over it waits, creating nothing.
    const maxActive = env.spec.previews.maxActive;
    const live = deps.previews
      .list()
      .filter(
        (o) =>
          o.metadata.namespace === ns &&
          o.spec.environmentRef.name === env.metadata.name &&
          previewIsLive(o) &&
          o.status?.phase !== 'Blocked',
      )
      .sort(
        (a, b) =>
          (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
          a.metadata.name.localeCompare(b.metadata.name),
      );
    const rank = live.findIndex((o) => o.metadata.name === p!.metadata.name);
    if ((status?.resources ?? []).length === 0 && (rank === -1 ? live.length : rank) >= maxActive) {
      return block(
        'PreviewQuotaExceeded',
        `Environment ${env.metadata.name} already has ${maxActive} active previews (previews.maxActive): close one, or raise maxActive`,
        'Blocked',
        60_000,
      );
    }

    p = await addFinalizer(client, p, FINALIZER);
    let result;
    try {
      result = await applyWorkload(deps, previewWorkload(p, svc, deps.clusterId), lookup, status, {
        driftPolicy: svc.spec.driftPolicy ?? env.spec.driftPolicy,
        adopt: false,
        now,
      });
    } catch (err) {
      if (!(err instanceof TerminalError)) throw err;
      return block(err.reason, err.message, 'Blocked');
    }
    const { pass, fields } = result;
    const { url, ...serviceFields } = fields;
    const common = commonStatus(pass, status, generation, now);
    const ready = common.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const next: PreviewDeploymentStatus = {
      ...common,
      ...(url ? { url } : {}),
      expiresAt: formatNow(expiry),
      ...ttlFields,
      phase: ready ? 'Active' : 'Pending',
      service: serviceFields,
    };
    await statusWriter.write(p, next);
    const failure = failureToThrow(pass.report);
    if (failure instanceof Error) throw failure;
    if (failure) return failure;
    const untilExpiry = Math.max(1_000, expiry.getTime() - now.getTime());
    return { requeueAfterMs: Math.min(untilExpiry, jittered(parseDuration(env.spec.resyncInterval ?? '5m'))) };
  };
}
