// Service controller: finalizer → find the Environment → plan → apply → status.
import type { Service, ServiceStatus } from '../api/index.js';
import type { Workload } from '../planner/service.js';
import {
  addFinalizer,
  isBeingDeleted,
  parseKey,
  type ReconcileContext,
  type ResourceClient,
  type Result,
  StatusWriter,
  TerminalError,
} from '../runtime/index.js';
import {
  ADOPT_ANNOTATION,
  blockedStatus,
  commonStatus,
  failureToThrow,
  FINALIZER,
  jittered,
  type OperatorDeps,
} from './shared.js';
import { applyWorkload, finishDeletion, lookupEnvironment } from './workload.js';
import { parseDuration } from '../config.js';

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

export function serviceReconciler(deps: OperatorDeps, client: ResourceClient<Service>) {
  const statusWriter = new StatusWriter<Service>(client, deps.log);

  return async function reconcile(key: string, rctx: ReconcileContext): Promise<Result> {
    let svc = await client.find(parseKey(key), rctx.signal);
    if (!svc) return { requeue: false };
    const now = deps.now();
    const generation = svc.metadata.generation;
    const status = svc.status;
    const ns = svc.metadata.namespace ?? 'default';
    const workload = serviceWorkload(svc, deps.clusterId);
    const lookup = lookupEnvironment(deps, ns, svc.spec.environmentRef.name, 'spec.environmentRef.name');

    if (isBeingDeleted(svc)) {
      return finishDeletion(deps, { client, statusWriter }, svc, { owner: workload.owner, workload, lookup }, now);
    }

    svc = await addFinalizer(client, svc, FINALIZER);

    if (!lookup.ok) {
      await statusWriter.write(svc, blockedStatus(status, generation, now, lookup.reason, lookup.message));
      // The Environment's appearance (or readiness) wakes this Service through the Environment watch.
      return { requeueAfterMs: lookup.retryMs };
    }

    let result;
    try {
      result = await applyWorkload(deps, workload, lookup, status, {
        driftPolicy: svc.spec.driftPolicy ?? lookup.env.spec.driftPolicy,
        adopt: svc.metadata.annotations?.[ADOPT_ANNOTATION] === 'true',
        now,
      });
    } catch (err) {
      if (!(err instanceof TerminalError)) throw err;
      await statusWriter.write(svc, blockedStatus(status, generation, now, err.reason, err.message));
      await deps.events.warning(svc, err.reason, err.message);
      throw err;
    }
    const { pass, fields } = result;
    const next: ServiceStatus = { ...commonStatus(pass, status, generation, now), ...fields };
    await statusWriter.write(svc, next);
    for (const line of pass.summary.corrections) await deps.events.normal(svc, 'DriftCorrected', line);
    const failure = failureToThrow(pass.report);
    if (failure instanceof Error) {
      if (failure instanceof TerminalError) await deps.events.warning(svc, failure.reason, failure.message);
      throw failure;
    }
    if (failure) return failure;
    const resyncMs = jittered(parseDuration(lookup.env.spec.resyncInterval ?? '5m') || deps.defaultResyncMs);
    // While ECS rolls out a new revision, look again soon so status shows when it completes (or fails).
    return { requeueAfterMs: fields.rolloutState === 'IN_PROGRESS' ? Math.min(resyncMs, ROLLOUT_POLL_MS) : resyncMs };
  };
}
