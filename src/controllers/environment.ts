// Environment controller: finalizer → resolve (VPC, subnets, an existing listener, the hosts behind the gate) →
// plan → apply → status. An Environment that Services or previews still reference is not torn down.
import type { Environment, EnvironmentStatus } from '../api/index.js';
import { loadBalancerOfListener, missingSubnets, vpcCidr } from '../aws/network.js';
import { hostOf, isGated } from '../planner/service.js';
import { environmentOwner, LOGICAL, planEnvironment } from '../planner/environment.js';
import type { Plan } from '../planner/plan.js';
import { parseDuration } from '../config.js';
import { quotaUsage } from '../reconcilers/index.js';
import { withPassContext } from '../reconcilers/contract.js';
import {
  addFinalizer,
  isBeingDeleted,
  parseKey,
  removeFinalizer,
  type ReconcileContext,
  type ResourceClient,
  type Result,
  StatusWriter,
  TerminalError,
} from '../runtime/index.js';
import { previewHost, previewIsLive } from './preview-hosts.js';
import { sweepOrphanedPreviews } from './preview-sweeper.js';
import { PREVIEW_TYPE } from './resource-types.js';
import {
  ADOPT_ANNOTATION,
  awsFor,
  blockedStatus,
  commonStatus,
  failureToThrow,
  FINALIZER,
  jittered,
  mergeConditions,
  type OperatorDeps,
  planningFailure,
  runPass,
} from './shared.js';

export function environmentReconciler(deps: OperatorDeps, client: ResourceClient<Environment>) {
  const statusWriter = new StatusWriter<Environment>(client, deps.log);

  /** Services and previews that reference this Environment. */
  function holders(env: Environment): { kind: 'Service' | 'PreviewDeployment'; name: string }[] {
    const ns = env.metadata.namespace;
    const name = env.metadata.name;
    return [
      ...deps.services
        .list()
        .filter((s) => s.metadata.namespace === ns && s.spec.environmentRef.name === name)
        .map((s) => ({ kind: 'Service' as const, name: s.metadata.name })),
      ...deps.previews
        .list()
        .filter((p) => p.metadata.namespace === ns && p.spec.environmentRef.name === name)
        .map((p) => ({ kind: 'PreviewDeployment' as const, name: p.metadata.name })),
    ].sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
  }

  /** Hosts routed through the gate: the app client's callback URLs are exactly these. */
  function gatedHosts(env: Environment): string[] {
    const ns = env.metadata.namespace;
    const hosts: string[] = [];
    for (const s of deps.services.list()) {
      if (s.metadata.namespace !== ns || s.spec.environmentRef.name !== env.metadata.name || isBeingDeleted(s))
        continue;
      try {
        if (isGated(s.spec, env)) hosts.push(hostOf({ subdomain: s.spec.subdomain ?? s.metadata.name }, env));
      } catch {
        /* an impossible combination: the Service's own status says so; it routes nothing */
      }
    }
    for (const p of deps.previews.list()) {
      if (p.metadata.namespace === ns && p.spec.environmentRef.name === env.metadata.name && previewIsLive(p))
        hosts.push(previewHost(p, env));
    }
    return hosts;
  }

  async function writeStatus(env: Environment, status: EnvironmentStatus): Promise<void> {
    await statusWriter.write(env, status);
  }

  return async function reconcile(key: string, rctx: ReconcileContext): Promise<Result> {
    const ref = parseKey(key);
    let env = await client.find(ref, rctx.signal);
    if (!env) return { requeue: false };
    const now = deps.now();
    const generation = env.metadata.generation;
    const status = env.status;
    const aws = awsFor(deps, env);
    const resyncMs = parseDuration(env.spec.resyncInterval ?? '5m') || deps.defaultResyncMs;

    if (isBeingDeleted(env)) {
      if (!env.metadata.finalizers?.includes(FINALIZER)) return { requeue: false };
      const held = holders(env);
      if (held.length > 0) {
        const message = `still referenced by ${held.map((h) => `${h.kind} ${h.name}`).join(', ')}: delete those first`;
        await writeStatus(env, {
          ...status,
          heldBy: held,
          conditions: mergeConditions(
            status?.conditions,
            [{ type: 'Ready', status: 'False', reason: 'InUse', message }],
            generation,
            now,
          ),
        });
        return { requeueAfterMs: 15_000 };
      }
      if (env.spec.deletionPolicy !== 'Retain') {
        let plan: Plan;
        try {
          plan = await planFor(env, []);
        } catch {
          // The spec can no longer be planned (its VPC is gone, say): delete what the inventory records.
          plan = { owner: environmentOwner(env, deps.clusterId), resources: [] };
        }
        const pass = await runPass(aws, plan, status, { deleting: true, driftPolicy: 'Correct', adopt: false, now });
        rctx.log.info(
          { outcomes: pass.report.outcomes.map((o) => `${o.id}:${o.action}${o.message ? ` (${o.message})` : ''}`) },
          'deletion pass',
        );
        const left = pass.report.inventory;
        if (left.length > 0) {
          await writeStatus(env, { ...status, ...commonStatus(pass, status, generation, now) });
          const failure = failureToThrow(pass.report);
          if (failure instanceof Error) throw failure;
          return { requeueAfterMs: 10_000 };
        }
        await deps.events.normal(
          env,
          'Deleted',
          `deleted ${pass.report.outcomes.filter((o) => o.action === 'deleted').length} AWS resources`,
        );
      }
      await removeFinalizer(client, env, FINALIZER);
      return { requeue: false };
    }

    // The finalizer goes on before the first AWS create, so nothing we create can outlive the resource unseen.
    env = await addFinalizer(client, env, FINALIZER);

    async function planFor(e: Environment, hosts: readonly string[]): Promise<Plan> {
      const cidr = await vpcCidr(aws, e.spec.network.vpcId);
      if (!cidr) {
        throw new TerminalError(
          `spec.network.vpcId: VPC ${e.spec.network.vpcId} does not exist in ${e.spec.region}; fix the id or the region`,
          {
            reason: 'VpcNotFound',
          },
        );
      }
      const missing = await missingSubnets(aws, e.spec.network.subnetIds);
      if (missing.length > 0) {
        throw new TerminalError(
          `spec.network.subnetIds: subnet(s) ${missing.join(', ')} do not exist in ${e.spec.region}; fix the ids`,
          {
            reason: 'SubnetNotFound',
          },
        );
      }
      const listener = e.spec.loadBalancer.existingListenerArn;
      const existingLoadBalancerArn = listener ? await loadBalancerOfListener(aws, listener) : undefined;
      return planEnvironment(e, {
        clusterId: deps.clusterId,
        gatedHosts: hosts,
        vpcCidr: cidr,
        ...(existingLoadBalancerArn ? { existingLoadBalancerArn } : {}),
      });
    }

    let plan: Plan;
    try {
      plan = await planFor(env, gatedHosts(env));
    } catch (err) {
      const terminal = err instanceof TerminalError ? err : planningFailure(err);
      if (!terminal) throw err;
      await writeStatus(env, blockedStatus(status, generation, now, terminal.reason, terminal.message));
      await deps.events.warning(env, terminal.reason, terminal.message);
      throw terminal;
    }

    const pass = await runPass(aws, plan, status, {
      deleting: false,
      driftPolicy: env.spec.driftPolicy,
      adopt: env.metadata.annotations?.[ADOPT_ANNOTATION] === 'true',
      now,
    });
    const attrs = pass.report.attrs;
    const lb = attrs[LOGICAL.loadBalancer];
    const pool = attrs[LOGICAL.userPool];
    const appClient = attrs[LOGICAL.userPoolClient];
    const domain = attrs[LOGICAL.userPoolDomain];
    const listenerArn = attrs[LOGICAL.httpsListener]?.arn;
    const quota =
      listenerArn && lb?.arn
        ? await withPassContext(aws, (ctx) => quotaUsage(ctx, listenerArn, lb.arn!)).catch(() => undefined)
        : undefined;
    const held = holders(env);
    const next: EnvironmentStatus = {
      ...commonStatus(pass, status, generation, now),
      ...(lb?.arn
        ? {
            loadBalancer: {
              arn: lb.arn,
              ...(lb.dnsName ? { dnsName: lb.dnsName } : {}),
              ...(lb.canonicalHostedZoneId ? { canonicalHostedZoneId: lb.canonicalHostedZoneId } : {}),
              ...(listenerArn ? { listenerArn } : {}),
              ...(attrs[LOGICAL.securityGroup]?.id ? { securityGroupId: attrs[LOGICAL.securityGroup]!.id } : {}),
            },
          }
        : {}),
      ...(attrs[LOGICAL.cluster]?.arn ? { clusterArn: attrs[LOGICAL.cluster]!.arn } : {}),
      ...(pool?.id
        ? {
            cognito: {
              userPoolId: pool.id,
              ...(pool.arn ? { userPoolArn: pool.arn } : {}),
              ...(appClient?.id ? { clientId: appClient.id } : {}),
              ...(domain?.domain ? { domain: domain.domain } : {}),
            },
          }
        : {}),
      ...(quota ? { quota } : {}),
      heldBy: held,
      activePreviews: deps.previews
        .list()
        .filter(
          (p) =>
            p.metadata.namespace === env.metadata.namespace &&
            p.spec.environmentRef.name === env.metadata.name &&
            previewIsLive(p),
        ).length,
    };
    await writeStatus(env, next);
    if (env.spec.previews?.enabled) {
      try {
        const swept = await sweepOrphanedPreviews(deps, env, aws, deps.kube.resource(PREVIEW_TYPE));
        for (const owner of swept)
          await deps.events.normal(
            env,
            'PreviewSwept',
            `deleted the AWS resources of ${owner}, which no longer exists`,
          );
      } catch (err) {
        rctx.log.warn({ err }, 'preview sweep failed; it runs again with the next resync');
      }
    }
    for (const line of pass.summary.corrections) await deps.events.normal(env, 'DriftCorrected', line);
    if (pass.summary.driftCount > 0 && pass.mode === 'report') {
      await deps.events.warning(
        env,
        'DriftDetected',
        `${pass.summary.driftCount} field(s) differ from the spec (driftPolicy Report)`,
      );
    }
    const failure = failureToThrow(pass.report);
    if (failure instanceof Error) {
      if (failure instanceof TerminalError) await deps.events.warning(env, failure.reason, failure.message);
      throw failure;
    }
    if (failure) return failure;
    return { requeueAfterMs: jittered(resyncMs) };
  };
}
