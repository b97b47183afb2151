// Environment controller: hooks on the one reconcile sequence. Resolve (VPC, subnets, an existing listener, the
// hosts behind the gate), plan, and put the load balancer, cluster and gate in status for the workloads to read;
// after each pass, sweep what deleted workloads left behind. An Environment that Services or previews still
// reference is not torn down.
import type { Environment, EnvironmentStatus } from '../api/index.js';
import { loadBalancerOfListener, missingSubnets, vpcCidr } from '../aws/network.js';
import { after, outcome, TERMINAL } from '../outcome/outcome.js';
import { environmentOwner, LOGICAL, planEnvironment } from '../planner/environment.js';
import { ownerKey } from '../planner/naming.js';
import type { Plan } from '../planner/plan.js';
import { hostOf, isGated } from '../planner/service.js';
import { withPassContext } from '../reconcilers/contract.js';
import { quotaUsage } from '../reconcilers/index.js';
import { isBeingDeleted, type KubeObject, type ResourceClient } from '../runtime/index.js';
import { previewHost, previewIsLive } from './preview-hosts.js';
import { customResourceReconciler, type HookContext, type Prepared, type Stop } from './reconcile.js';
import { PREVIEW_TYPE, SERVICE_TYPE } from './resource-types.js';
import { ADOPT_ANNOTATION, awsFor, type OperatorDeps } from './shared.js';
import { sweepOrphans } from './sweeper.js';
import { BY_ENVIRONMENT, resyncOf } from './workload.js';

/** How often an Environment being deleted looks again while Services or previews still reference it. */
const HELD_POLL_MS = 15_000;

export function environmentReconciler(deps: OperatorDeps, client: ResourceClient<Environment>) {
  const keyOf = (env: Environment) => `${env.metadata.namespace ?? 'default'}/${env.metadata.name}`;
  const services = (env: Environment) => deps.services.byIndex(BY_ENVIRONMENT, keyOf(env));
  const previews = (env: Environment) => deps.previews.byIndex(BY_ENVIRONMENT, keyOf(env));

  /** Services and previews that reference this Environment. */
  function holders(env: Environment): { kind: 'Service' | 'PreviewDeployment'; name: string }[] {
    return [
      ...services(env).map((s) => ({ kind: 'Service' as const, name: s.metadata.name })),
      ...previews(env).map((p) => ({ kind: 'PreviewDeployment' as const, name: p.metadata.name })),
    ].sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
  }

  /** Hosts routed through the gate: the app client's callback URLs are exactly these. */
  function gatedHosts(env: Environment): string[] {
    const hosts: string[] = [];
    for (const s of services(env)) {
      if (isBeingDeleted(s)) continue;
      try {
        if (isGated(s.spec, env)) hosts.push(hostOf({ subdomain: s.spec.subdomain ?? s.metadata.name }, env));
      } catch {
        /* an impossible combination: the Service's own status says so; it routes nothing */
      }
    }
    for (const p of previews(env)) if (previewIsLive(p)) hosts.push(previewHost(p, env));
    return hosts;
  }

  /** Resolves what planning needs from AWS; a missing VPC or subnet stops the Environment, naming the field. */
  async function planFor(env: Environment, hosts: readonly string[], signal: AbortSignal): Promise<Plan | Stop<never>> {
    const aws = awsFor(deps, env).withSignal(signal);
    const cidr = await vpcCidr(aws, env.spec.network.vpcId);
    if (!cidr) {
      const message = `spec.network.vpcId: VPC ${env.spec.network.vpcId} does not exist in ${env.spec.region}; fix the id or the region`;
      return { stop: outcome('VpcNotFound', message, TERMINAL) };
    }
    const missing = await missingSubnets(aws, env.spec.network.subnetIds);
    if (missing.length > 0) {
      const message = `spec.network.subnetIds: subnet(s) ${missing.join(', ')} do not exist in ${env.spec.region}; fix the ids`;
      return { stop: outcome('SubnetNotFound', message, TERMINAL) };
    }
    const listener = env.spec.loadBalancer.existingListenerArn;
    const existingLoadBalancerArn = listener ? await loadBalancerOfListener(aws, listener) : undefined;
    return planEnvironment(env, {
      clusterId: deps.clusterId,
      gatedHosts: hosts,
      vpcCidr: cidr,
      ...(existingLoadBalancerArn ? { existingLoadBalancerArn } : {}),
    });
  }

  const prepared = (env: Environment, plan: Plan, driftPolicy: 'Correct' | 'Report', adopt: boolean): Prepared => ({
    aws: awsFor(deps, env),
    plan,
    driftPolicy,
    adopt,
    resyncMs: resyncOf(deps, env),
    discover: {
      clusterId: deps.clusterId,
      owner: ownerKey(environmentOwner(env, deps.clusterId)),
      environment: keyOf(env),
      listenerArns: [],
      hostedZoneIds: [],
    },
  });

  const kubeClients = {
    Service: deps.kube.resource<KubeObject>(SERVICE_TYPE),
    PreviewDeployment: deps.kube.resource<KubeObject>(PREVIEW_TYPE),
  };

  return customResourceReconciler<Environment, EnvironmentStatus, Prepared>(deps, {
    client,

    async prepare(env, { signal }) {
      const plan = await planFor(env, gatedHosts(env), signal);
      if ('stop' in plan) return plan;
      const adopt = env.metadata.annotations?.[ADOPT_ANNOTATION] === 'true';
      return prepared(env, plan, env.spec.driftPolicy, adopt);
    },

    async prepareDeletion(env, { signal }) {
      const held = holders(env);
      if (held.length > 0) {
        const message = `still referenced by ${held.map((h) => `${h.kind} ${h.name}`).join(', ')}: delete those first`;
        return { stop: outcome('InUse', message, after(HELD_POLL_MS)), fields: { heldBy: held } };
      }
      if (env.spec.deletionPolicy === 'Retain') return 'release';
      let plan: Plan;
      try {
        const planned = await planFor(env, [], signal);
        plan = 'stop' in planned ? { owner: environmentOwner(env, deps.clusterId), resources: [] } : planned;
      } catch {
        // The spec can no longer be planned: delete what the inventory and the tags in AWS say exists.
        plan = { owner: environmentOwner(env, deps.clusterId), resources: [] };
      }
      return prepared(env, plan, 'Correct', false);
    },

    async statusFields(env, { prepared: p, pass, signal }) {
      const attrs = pass.report.attrs;
      const lb = attrs[LOGICAL.loadBalancer];
      const pool = attrs[LOGICAL.userPool];
      const appClient = attrs[LOGICAL.userPoolClient];
      const domain = attrs[LOGICAL.userPoolDomain];
      const listenerArn = attrs[LOGICAL.httpsListener]?.arn;
      const quota =
        listenerArn && lb?.arn
          ? await withPassContext(p.aws.withSignal(signal), (ctx) => quotaUsage(ctx, listenerArn, lb.arn!)).catch(
              () => undefined,
            )
          : undefined;
      const status: Partial<EnvironmentStatus> = {
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
        heldBy: holders(env),
        activePreviews: previews(env).filter(previewIsLive).length,
      };
      return status;
    },

    // The sweep rides on the Environment's pass: one tag scan per resync finds what deleted workloads left.
    async afterPass(env, { prepared: p }, ctx: HookContext) {
      try {
        const { swept } = await sweepOrphans(deps, env, p.aws.withSignal(ctx.signal), kubeClients);
        for (const owner of swept) {
          await deps.events.normal(env, 'Swept', `deleted the AWS resources of ${owner}, which no longer exists`);
        }
      } catch (err) {
        ctx.log.warn({ err }, 'sweep failed; it runs again with the next resync');
      }
    },
  });
}
