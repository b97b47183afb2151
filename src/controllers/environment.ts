// Environment controller: hooks on the one reconcile sequence. Resolve (VPC, subnets, an existing listener, the
// hosts behind the gate), plan, and put the load balancer, cluster and gate in status for the workloads to read;
// after each pass, sweep what deleted workloads left behind. An Environment that Services or previews still
// reference is not torn down.
//
// Load-balancer shards: the Environment plans shard 0, every shard with workloads placed on it (controllers/shards.ts
// holds the placements) and new shards when the workloads waiting to be placed do not fit in the room left; a shard
// k >= 1 with nothing placed leaves the plan, so the applier deletes it. The workloads still waiting are placed by
// the Environment's pass itself, as each would place itself, so a burst of new workloads costs it one pass, not one
// per few placements. Each shard's app client carries the callback URLs of the gated hosts placed on it. An existing listener cannot grow: when it is full the
// LoadBalancerCapacity condition says so, and the workloads that do not fit are refused when they are placed.
// A new shard is a new Application Load Balancer, under the account's regional quota shared with everything else
// in the account: before planning one, the Environment counts the region's load balancers (a listing read only
// in a pass that would add one) and withholds the shards the quota has no room for; the same condition names the
// quota, the count and the fix, and the workloads left without room are Blocked.
import type { Environment, EnvironmentStatus, PreviewDeployment, Service } from '../api/index.js';
import { loadBalancerOfListener, resolveNetwork } from '../aws/network.js';
import { after, outcome, TERMINAL } from '../outcome/outcome.js';
import { environmentOwner, LOGICAL, planEnvironment, shardLogical, type ShardFacts } from '../planner/environment.js';
import { resourcePlanOf } from '../drift/plan.js';
import { driftEventsEnabled } from '../planner/drift-events.js';
import { NETWORK_LOGICAL } from '../planner/network.js';
import { ownerKey } from '../planner/naming.js';
import type { Plan } from '../planner/plan.js';
import { existingListenerFullMessage } from '../planner/shards.js';
import {
  LOAD_BALANCER_QUOTA_REASON,
  QUOTA_RETRY,
  quotaRetryDelayMs,
  type QuotaRetry,
} from '../outcome/load-balancer-quota.js';
import { clusterScanKey } from '../reconcilers/cluster-tags.js';
import { WaveReads, withPassContext } from '../reconcilers/contract.js';
import { quotaUsage } from '../reconcilers/index.js';
import { readTurnTags } from '../reconcilers/listener-rule.js';
import { isBeingDeleted, keyOf as keyOfObject, refOf, type KubeObject, type ResourceClient } from '../runtime/index.js';
import {
  appliedSide,
  conditionsWithCost,
  environmentCost,
  pricedSide,
  staleWorkloadCosts,
  statusPlanCost,
  type PlacedWorkload,
} from './cost.js';
import { previewSpec } from './preview.js';
import { previewIsLive } from './preview-hosts.js';
import { gatedHostsByShard } from './gate-hosts.js';
import { customResourceReconciler, type HookContext, type Prepared, type Stop } from './reconcile.js';
import { PREVIEW_TYPE, SERVICE_TYPE } from './resource-types.js';
import {
  countsOf,
  memberKey,
  placementsOf,
  plannedShards,
  regionReads,
  shardCapacity,
  type PlannedShards,
} from './shards.js';
import {
  ADOPT_ANNOTATION,
  awsFor,
  commonStatus,
  mergeConditions,
  type OperatorDeps,
  type PassResult,
} from './shared.js';
import { sweepDue, sweepOrphans, sweepScope, type SweepMark } from './sweeper.js';
import { RESYNC_ANNOTATION } from './waves.js';
import { BY_ENVIRONMENT, environmentKey, resyncOf } from './workload.js';

/** How often an Environment being deleted looks again while Services or previews still reference it. */
const HELD_POLL_MS = 15_000;

/**
 * How soon an Environment whose quota usage could not be read, and is not in its status yet, passes again: 15 s,
 * doubling with each failure in a row, never later than its resync would. A read that failed under load would
 * otherwise leave status.quota out until the next resync, and a status written then that a pass at rest did not.
 */
export function quotaReadRetryMs(failures: number, resyncMs: number): number {
  return Math.min(15_000 * 2 ** Math.min(Math.max(failures - 1, 0), 10), resyncMs);
}

/** How many referencing objects status.heldBy names (heldByCount has them all): a status must fit its schema. */
export const HELD_BY_LISTED = 100;
/** How many the InUse message names before "and N more". */
const HELD_BY_IN_MESSAGE = 10;

type Holder = { readonly kind: 'Service' | 'PreviewDeployment'; readonly name: string };

/**
 * The holders as status shows them: the first HELD_BY_LISTED by kind and name, and the count. With 2,000 workloads
 * the full list broke the Environment's every status write (the schema allows 1,024), so it stopped placing shards.
 */
export function heldByFields(held: readonly Holder[]): { heldBy: Holder[]; heldByCount: number } {
  return { heldBy: held.slice(0, HELD_BY_LISTED), heldByCount: held.length };
}

/** Why the Environment's deletion waits, naming a few holders. */
export function inUseMessage(held: readonly Holder[]): string {
  const named = held.slice(0, HELD_BY_IN_MESSAGE).map((h) => `${h.kind} ${h.name}`);
  const more = held.length > named.length ? ` and ${held.length - named.length} more (status.heldBy)` : '';
  return `still referenced by ${named.join(', ')}${more}: delete those first`;
}

/** The Environment's shards as planned: which, how full, and how many workloads do not fit. */
export interface ShardState extends PlannedShards {
  readonly capacity: number;
  readonly counts: ReadonlyMap<number, number>;
}

interface EnvironmentPrepared extends Prepared {
  readonly shardState?: ShardState;
}

/** The shards a pass plans, and the placements (by memberKey) it planned them from. */
interface PassShards {
  readonly state: ShardState;
  readonly placed: ReadonlyMap<string, number>;
}

export interface EnvironmentSettings {
  /** SLIPWAY_MAX_WORKLOADS_PER_LOAD_BALANCER: lowers the capacity of a shard below the account's quotas. */
  readonly maxWorkloadsPerLoadBalancer?: number;
  /** SLIPWAY_LOAD_BALANCER_QUOTA: Application Load Balancers per region, in place of the account's quota. */
  readonly loadBalancerQuota?: number;
  /** How soon an Environment whose shards the quota withholds counts again (default QUOTA_RETRY; tests shorten it). */
  readonly quotaRetry?: QuotaRetry;
}

export function environmentReconciler(
  deps: OperatorDeps,
  client: ResourceClient<Environment>,
  settings: EnvironmentSettings = {},
) {
  const keyOf = environmentKey;
  const placements = placementsOf(deps);
  const services = (env: Environment) => deps.services.byIndex(BY_ENVIRONMENT, keyOf(env));
  const previews = (env: Environment) => deps.previews.byIndex(BY_ENVIRONMENT, keyOf(env));

  /** Services and previews that reference this Environment. */
  function holders(env: Environment): Holder[] {
    return [
      ...services(env).map((s) => ({ kind: 'Service' as const, name: s.metadata.name })),
      ...previews(env).map((p) => ({ kind: 'PreviewDeployment' as const, name: p.metadata.name })),
    ].sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
  }

  /** The Services and live previews placed on the Environment's load balancers, with the spec each runs. */
  function placedWorkloads(env: Environment): PlacedWorkload[] {
    const placed = placements.placed(keyOf(env));
    const out: PlacedWorkload[] = [];
    for (const s of services(env)) {
      const shard = placed.get(memberKey('Service', s.metadata.name));
      if (shard !== undefined && !isBeingDeleted(s)) out.push({ kind: 'Service', obj: s, spec: s.spec, shard });
    }
    for (const p of previews(env)) {
      const shard = placed.get(memberKey('PreviewDeployment', p.metadata.name));
      const svc = deps.services.get(`${env.metadata.namespace ?? 'default'}/${p.spec.serviceRef.name}`);
      if (shard !== undefined && svc && previewIsLive(p)) {
        out.push({ kind: 'PreviewDeployment', obj: p, spec: previewSpec(p, svc), shard });
      }
    }
    return out;
  }

  /**
   * Which shards to plan, from the placements and the workloads still waiting for one, under the region's quota of
   * load balancers (shards.ts). The workloads still waiting are then placed on the shards planned
   * (Placements.placeWaiting), and the shards planned again with them: their callback URLs and their room are in
   * this pass, before their own passes create their rules, and their placement writes do not wake the Environment
   * again (shards.ts).
   */
  async function shardStateOf(env: Environment, signal: AbortSignal): Promise<PassShards> {
    const key = keyOf(env);
    const aws = awsFor(deps, env).withSignal(signal);
    const capacity = await shardCapacity(env, aws, settings.maxWorkloadsPerLoadBalancer);
    // Listed at most once a pass, and only when a new load balancer is wanted.
    const region = regionReads(aws);
    const plan = async (): Promise<PassShards> => {
      // Read in one turn: a workload placing itself during the region read is not in this plan, and its placement
      // write wakes the Environment for the next one.
      const placed = placements.placed(key);
      const counts = countsOf(placed);
      const waiting = placements.waiting(env);
      const planned = await plannedShards(env, aws, counts, waiting, capacity, settings.loadBalancerQuota, region);
      return { state: { capacity, counts, ...planned }, placed };
    };
    placements.releaseUnrunnable(env);
    const first = await plan();
    const placedOn = placements.placeWaiting(env, {
      capacity,
      shards: first.state.shards,
      existingListener: !!env.spec.loadBalancer.existingListenerArn,
      // Under the quota, only the shards planned are filled: the rest wait, Blocked by their own pass.
      ...(first.state.withheld ? { noNewShards: first.state.withheld.message } : {}),
    });
    return placedOn.length > 0 ? plan() : first;
  }

  /** Resolves what planning needs from AWS; a missing VPC or subnet stops the Environment, naming the field. */
  async function planFor(
    env: Environment,
    hosts: ReadonlyMap<number, readonly string[]>,
    shards: readonly number[],
    signal: AbortSignal,
  ): Promise<Plan | Stop<never>> {
    const aws = awsFor(deps, env).withSignal(signal);
    const network = await resolveNetwork(aws, env.spec.network, env.spec.region);
    if ('field' in network) return { stop: outcome(network.reason, `${network.field}: ${network.message}`, TERMINAL) };
    const listener = env.spec.loadBalancer.existingListenerArn;
    const existingLoadBalancerArn = listener ? await loadBalancerOfListener(aws, listener) : undefined;
    const extraShards: ShardFacts[] = shards
      .filter((index) => index !== 0)
      .map((index) => ({ index, gatedHosts: hosts.get(index) ?? [] }));
    return planEnvironment(env, {
      clusterId: deps.clusterId,
      gatedHosts: hosts.get(0) ?? [],
      ...(extraShards.length > 0 ? { extraShards } : {}),
      vpcCidr: network.vpcCidr,
      ...(network.availabilityZones ? { availabilityZones: network.availabilityZones } : {}),
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

  /** Each Environment's last completed sweep, by key. */
  const sweeps = new Map<string, SweepMark>();
  /** How many passes in a row found no room for an Environment's shards under the quota, by key. */
  const quotaWaits = new Map<string, number>();
  /** How many passes in a row failed to read the quota usage of an Environment whose status has none yet, by key. */
  const quotaUnread = new Map<string, number>();

  /**
   * Whether the Environment's waves rotate their reads (waves.ts): drift events are on and delivering. The attributes'
   * drift events reach the owner only once the Environment's queue exists.
   */
  const rotates = (env: Environment): boolean =>
    driftEventsEnabled(env) && (env.status?.resources ?? []).some((r) => r.kind === 'sqs.Queue');

  /** What the Environment's waves are opened with, but their members. */
  function waveRequest(env: Environment) {
    const requested = env.metadata.annotations?.[RESYNC_ANNOTATION];
    return {
      environment: keyOf(env),
      intervalMs: resyncOf(deps, env),
      ...(requested !== undefined ? { requested } : {}),
      rotate: rotates(env),
    };
  }

  /**
   * The snapshot the Environment's own pass reads with: the rotation of the wave it is about to open (afterPass), so
   * that each shard's resources are read in their turn as the workloads' are (ctx.readEach), the others taken as
   * planned under their recorded identifiers. None (every resource read) for the first wave of a process, after a
   * drift event named the Environment (WaveRegistry.upcoming), or when no wave is due; one with drift reported, a
   * changed plan, or not Ready at its generation reads everything too (runPass: PassScope.drifted, steady,
   * unsettled).
   */
  function ownWave(env: Environment): WaveReads | undefined {
    const rotation = deps.waves?.upcoming(waveRequest(env), `Environment/${keyOfObject(env)}`);
    return rotation ? new WaveReads(Date.now(), rotation) : undefined;
  }

  /**
   * Opens the Environment's resync wave when one is due (waves.ts): its own resync timer paces them, and the
   * annotation slipway.dev/resync-requested asks for one now. Its members are the workloads that have applied a plan.
   */
  function openWave(env: Environment, ctx: HookContext): boolean {
    if (!deps.waves) return false;
    const applied = (o: Service | PreviewDeployment) => !!o.status?.appliedPlanHash && !isBeingDeleted(o);
    const candidates = [
      ...services(env)
        .filter(applied)
        .map((s) => `Service/${keyOfObject(s)}`),
      ...previews(env)
        .filter(applied)
        .map((o) => `PreviewDeployment/${keyOfObject(o)}`),
    ];
    const opened = deps.waves.open({ ...waveRequest(env), candidates });
    if (opened)
      ctx.log.info({ wave: opened.number, reason: opened.reason, members: opened.members.length }, 'resync wave');
    return !!opened;
  }

  /**
   * With a rotation, the tags of the rules whose turn it is on every shard's listener, 20 a call across listeners,
   * read for the wave just opened before its members ask (readTurnTags): each member would otherwise read its
   * listener's, one call per listener for a few rules each.
   */
  async function readRuleTurns(env: Environment, pass: PassResult, shards: readonly number[], ctx: HookContext) {
    const wave = deps.waves?.snapshot(keyOf(env));
    if (!wave?.rotation) return;
    const attrs = pass.report.attrs;
    const listeners = shards.flatMap((i) => attrs[shardLogical(i).httpsListener]?.arn ?? []);
    const scope = { owner: `${deps.clusterId}/rule-turns/${keyOf(env)}`, steady: true, wave };
    await withPassContext(awsFor(deps, env).withSignal(ctx.signal), (c) => readTurnTags(c, listeners), scope).catch(
      (err: unknown) => ctx.log.debug({ err }, "the wave's members read their rules' tags themselves"),
    );
  }

  const kubeClients = {
    Service: deps.kube.resource<KubeObject>(SERVICE_TYPE),
    PreviewDeployment: deps.kube.resource<KubeObject>(PREVIEW_TYPE),
  };

  return customResourceReconciler<Environment, EnvironmentStatus, EnvironmentPrepared>(deps, {
    client,

    async prepare(env, { signal }) {
      const { state: shardState, placed } = await shardStateOf(env, signal);
      // The shards and the callback URLs are planned from the same placements; a workload's write of one of them
      // wakes the Environment no more (operator.ts). A pass that fails is retried, and sees them all again.
      placements.markPlanned(keyOf(env), placed);
      const hosts = gatedHostsByShard(env, placements.members(keyOf(env)), placed);
      const plan = await planFor(env, hosts, shardState.shards, signal);
      if ('stop' in plan) {
        // Stopped before applying: nothing was planned, so every placement wakes it again.
        placements.forget(keyOf(env));
        return plan;
      }
      const adopt = env.metadata.annotations?.[ADOPT_ANNOTATION] === 'true';
      const wave = ownWave(env);
      return { ...prepared(env, plan, env.spec.driftPolicy, adopt), shardState, ...(wave ? { wave } : {}) };
    },

    async prepareDeletion(env, { signal }) {
      sweeps.delete(keyOf(env));
      quotaWaits.delete(keyOf(env));
      quotaUnread.delete(keyOf(env));
      placements.forget(keyOf(env));
      const held = holders(env);
      if (held.length > 0) {
        return { stop: outcome('InUse', inUseMessage(held), after(HELD_POLL_MS)), fields: heldByFields(held) };
      }
      if (env.spec.deletionPolicy === 'Retain') return 'release';
      let plan: Plan;
      try {
        const planned = await planFor(env, new Map(), [0], signal);
        plan = 'stop' in planned ? { owner: environmentOwner(env, deps.clusterId), resources: [] } : planned;
      } catch {
        // The spec can no longer be planned: delete what the inventory and the tags in AWS say exists.
        plan = { owner: environmentOwner(env, deps.clusterId), resources: [] };
      }
      return prepared(env, plan, 'Correct', false);
    },

    // Its own components, as `slipway plan` prices an Environment: after with the shards and the AWS resources
    // applying would keep.
    planCost(env, { prepared: p, pass }) {
      const kept = resourcePlanOf(pass.report).aws.filter((a) => a.action !== 'delete');
      const { cost, condition } = environmentCost(deps, env, p.shardState?.shards ?? [0], kept, []);
      return statusPlanCost(appliedSide(env.status, env), pricedSide(cost, condition, env));
    },

    deletionPlanCost: (env) => statusPlanCost(appliedSide(env.status, env), { usd: 0 }),

    async statusFields(env, info) {
      const { prepared: p, pass, signal } = info;
      const attrs = pass.report.attrs;
      const lb = attrs[LOGICAL.loadBalancer];
      const pool = attrs[LOGICAL.userPool];
      const appClient = attrs[LOGICAL.userPoolClient];
      const domain = attrs[LOGICAL.userPoolDomain];
      const listenerArn = attrs[LOGICAL.httpsListener]?.arn;
      const key = keyOf(env);
      const quota =
        listenerArn && lb?.arn
          ? await withPassContext(p.aws.withSignal(signal), (ctx) => quotaUsage(ctx, listenerArn, lb.arn!)).then(
              (read) => {
                quotaUnread.delete(key);
                return read;
              },
              // A failed read keeps what status said: dropping it would write a status now and again after the next
              // read. With nothing to keep, the Environment passes again soon (requeueAfterMs).
              () => {
                if (!env.status?.quota) quotaUnread.set(key, (quotaUnread.get(key) ?? 0) + 1);
                return env.status?.quota;
              },
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
        ...(env.spec.network.create ? createdNetworkFields(env.spec.network.create.availabilityZones, attrs) : {}),
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
        ...(p.shardState ? shardFields(env, p.shardState, info) : {}),
        ...heldByFields(holders(env)),
        activePreviews: previews(env).filter(previewIsLive).length,
      };
      const { cost, condition } = environmentCost(
        deps,
        env,
        p.shardState?.shards ?? [0],
        pass.summary.resources,
        placedWorkloads(env),
      );
      return { ...status, cost, conditions: conditionsWithCost(env, pass, info.now, condition, status.conditions) };
    },

    // Shards the quota withholds: nothing wakes the Environment when a load balancer goes elsewhere in the account,
    // so it counts again on a bounded backoff rather than only at its resync.
    // A quota usage not read yet is read again soon too (quotaReadRetryMs).
    requeueAfterMs(env, { prepared: p }) {
      const key = keyOf(env);
      const unread = quotaUnread.get(key);
      const readAgain = unread ? quotaReadRetryMs(unread, resyncOf(deps, env)) : undefined;
      if (!p.shardState?.withheld) {
        quotaWaits.delete(key);
        return readAgain;
      }
      const attempt = quotaWaits.get(key) ?? 0;
      quotaWaits.set(key, attempt + 1);
      return Math.min(quotaRetryDelayMs(attempt, settings.quotaRetry ?? QUOTA_RETRY), readAgain ?? Infinity);
    },

    // Workloads joining or leaving a shard change the others' share of its load balancer: their status.cost is
    // brought up to date here (a status write each, no AWS call) rather than by a pass of each of them.
    // The sweep rides on the Environment's pass: one tag scan per resync, or when a workload went, finds what
    // deleted workloads left (sweepDue); with drift events on, in the waves whose turn the scan is (sweepScope).
    async afterPass(env, { prepared: p, pass }, ctx: HookContext) {
      if (!pass.summary.failure && openWave(env, ctx)) await readRuleTurns(env, pass, p.shardState?.shards ?? [0], ctx);
      for (const { workload, cost } of staleWorkloadCosts(deps, env, placedWorkloads(env), ctx.now)) {
        await kubeClients[workload.kind]
          .patchStatus(refOf(workload.obj), { status: { cost } })
          .catch((err: unknown) => {
            // Gone meanwhile, or the API server busy: its own next pass writes the figure anyway.
            ctx.log.debug({ err, workload: workload.obj.metadata.name }, 'cost refresh skipped');
          });
      }
      const mark = {
        at: ctx.now.getTime(),
        holders: new Set(holders(env).map((h) => `${h.kind}/${h.name}`)),
        self: JSON.stringify([env.metadata.generation, env.metadata.annotations ?? {}]),
      };
      const last = sweeps.get(keyOf(env));
      if (!sweepDue(last, mark, p.resyncMs / 2)) return;
      // With drift events on, a sweep of every owner rides on a wave whose turn the cluster's tag scan is (sweepScope).
      const wave = deps.waves?.snapshot(keyOf(env));
      const rotating = rotates(env) && !!deps.waves?.running(keyOf(env), p.resyncMs);
      const scope = sweepScope(last, rotating, !!wave?.turn(clusterScanKey(deps.clusterId)));
      if (!scope) return;
      sweeps.delete(keyOf(env));
      try {
        const { swept, pending } = await sweepOrphans(
          deps,
          env,
          p.aws.withSignal(ctx.signal),
          kubeClients,
          wave,
          scope === 'pending' ? last?.pendingOwners : undefined,
        );
        sweeps.set(keyOf(env), {
          ...mark,
          // A sweep of only the pending owners does not stand for one of all: the next due one looks at all again.
          ...(scope === 'pending' && last ? { at: last.at, holders: last.holders, self: last.self } : {}),
          pending: pending.length > 0,
          pendingOwners: pending,
        });
        for (const owner of swept) {
          await deps.events.normal(env, 'Swept', `deleted the AWS resources of ${owner}, which no longer exists`);
        }
      } catch (err) {
        // The owners the last sweep left are still pending: the next pass goes on with them, not the scan's next turn.
        if (last?.pendingOwners?.length) sweeps.set(keyOf(env), { ...last, pending: true });
        ctx.log.warn(
          { err },
          rotating
            ? 'sweep failed; it runs again with a wave whose turn the scan is'
            : 'sweep failed; the next pass sweeps again',
        );
      }
    },
  });
}

/**
 * What Services read of a created network: the VPC, the subnets by zone, and the task security group. Written only
 * once every subnet exists, so a Service never runs in part of the private subnets.
 */
function createdNetworkFields(
  zones: number,
  attrs: Readonly<Record<string, Readonly<Record<string, string>>>>,
): Partial<EnvironmentStatus> {
  const ids = (logical: (i: number) => string) => [...Array(zones).keys()].map((i) => attrs[logical(i)]?.id);
  const publicSubnetIds = ids(NETWORK_LOGICAL.publicSubnet);
  const privateSubnetIds = ids(NETWORK_LOGICAL.privateSubnet);
  const vpcId = attrs[NETWORK_LOGICAL.vpc]?.id;
  const taskSecurityGroupId = attrs[NETWORK_LOGICAL.taskSecurityGroup]?.id;
  const all = (list: (string | undefined)[]): list is string[] => list.every((x) => !!x);
  if (!vpcId || !all(publicSubnetIds) || !all(privateSubnetIds)) return {};
  return {
    network: { vpcId, publicSubnetIds, privateSubnetIds },
    ...(taskSecurityGroupId ? { taskSecurityGroupId } : {}),
  };
}

/**
 * The shards in status (each with what its workloads read, and how many it holds), the capacity of one, and the
 * LoadBalancerCapacity condition: False on an existing listener with no room, naming the field and the fix.
 */
function shardFields(
  env: Environment,
  state: ShardState,
  info: { readonly pass: Parameters<typeof commonStatus>[0]; readonly now: Date },
): Partial<EnvironmentStatus> {
  const attrs = info.pass.report.attrs;
  const shards = state.shards.map((index) => {
    const id = shardLogical(index);
    const lb = attrs[id.loadBalancer];
    const listenerArn = attrs[id.httpsListener]?.arn;
    const securityGroupId = attrs[id.securityGroup]?.id;
    const clientId = attrs[id.userPoolClient]?.id;
    return {
      index,
      ...(lb?.arn ? { loadBalancerArn: lb.arn } : {}),
      ...(lb?.dnsName ? { dnsName: lb.dnsName } : {}),
      ...(lb?.canonicalHostedZoneId ? { canonicalHostedZoneId: lb.canonicalHostedZoneId } : {}),
      ...(listenerArn ? { listenerArn } : {}),
      ...(securityGroupId ? { securityGroupId } : {}),
      ...(clientId ? { clientId } : {}),
      workloads: state.counts.get(index) ?? 0,
    };
  });
  const generation = env.metadata.generation;
  const common = commonStatus(info.pass, env.status, generation, info.now);
  return {
    shards,
    shardCapacity: state.capacity,
    conditions: mergeConditions(
      common.conditions,
      [capacityCondition(env, state, info.pass.report.outcomes)],
      generation,
      info.now,
    ),
  };
}

/**
 * The LoadBalancerCapacity condition: False when an existing listener is full, or when the Environment needs a load
 * balancer the region's quota has no room for (counted before planning, or a create the quota refused in this
 * pass: another actor took the last place); True with the room otherwise.
 */
export function capacityCondition(
  env: Environment,
  state: ShardState,
  outcomes: readonly { readonly outcome?: { readonly reason: string; readonly message: string } }[],
) {
  const type = 'LoadBalancerCapacity';
  if (env.spec.loadBalancer.existingListenerArn && state.overflow > 0) {
    const message = existingListenerFullMessage(state.counts.get(0) ?? 0, state.overflow, state.capacity);
    return { type, status: 'False' as const, reason: 'LoadBalancerFull', message };
  }
  const refused = outcomes.find((o) => o.outcome?.reason === LOAD_BALANCER_QUOTA_REASON)?.outcome;
  const message = state.withheld?.message ?? refused?.message;
  if (message !== undefined) return { type, status: 'False' as const, reason: LOAD_BALANCER_QUOTA_REASON, message };
  const placed = [...state.counts.values()].reduce((a, b) => a + b, 0);
  return {
    type,
    status: 'True' as const,
    reason: 'CapacityAvailable',
    message: `${placed} Services and previews on ${state.shards.length} load balancer(s) of at most ${state.capacity} each`,
  };
}
