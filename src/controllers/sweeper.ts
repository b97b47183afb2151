// The sweep: AWS resources tagged for a Service or preview of this Environment whose custom resource no longer
// exists (its finalizer was removed by hand, or the operator was down when it went) are deleted. It rides on the
// Environment's pass, so it shares its resync, and finds them by tag (reconcilers/discovery.ts), so it needs
// nothing from any status. With drift events on it runs with the waves that read the cluster's tag scan, one in
// ROTATION_SLOTS (sweepScope): an orphan is then swept within that many resync intervals of its owner going. Before
// deleting, each owner is re-checked against the API server, so an object created a moment ago is never mistaken for
// a gone one; and the delete itself is the applier's, with an empty plan, so the ownership rule is the same as
// everywhere: only what carries exactly that owner's tags is deleted.
import type { Environment } from '../api/index.js';
import type { AwsClients } from '../aws/clients.js';
import type { Owner } from '../planner/plan.js';
import { applyPlan } from '../reconcilers/applier.js';
import { withPassContext, type WaveReads } from '../reconcilers/contract.js';
import { discoverOwned, type Discovered } from '../reconcilers/discovery.js';
import { registry } from '../reconcilers/index.js';
import type { KubeObject, ResourceClient } from '../runtime/index.js';
import type { OperatorDeps } from './shared.js';
import { environmentListenerArns } from './workload.js';

/** The owner kinds a sweep deletes for: workloads. An Environment's own resources go with the Environment. */
type SweptKind = 'Service' | 'PreviewDeployment';

function parseOwner(key: string, clusterId: string): (Owner & { readonly kind: SweptKind }) | undefined {
  const [kind, namespace, name, ...rest] = key.split('/');
  if (!namespace || !name || rest.length > 0 || (kind !== 'Service' && kind !== 'PreviewDeployment')) return undefined;
  return { clusterId, kind, namespace, name };
}

export interface SweepResult {
  /** Owner keys whose resources were all deleted. */
  readonly swept: readonly string[];
  /** Owner keys with resources still left (a CloudFront distribution disabling, a failure): the next sweep goes on. */
  readonly pending: readonly string[];
}

/** What an Environment's last sweep saw: when, which workloads referenced it, and its own generation and annotations. */
export interface SweepMark {
  readonly at: number;
  /** `Kind/name` of the Services and previews referencing the Environment. */
  readonly holders: ReadonlySet<string>;
  /** generation and annotations: a change of the Environment itself (a person's nudge included). */
  readonly self: string;
  /** Owners the sweep left resources of (a distribution disabling, a failure): the next pass goes on. */
  readonly pending?: boolean;
  /** Those owners' keys (their owner tag values): between the scan's turns the sweep goes on with them alone. */
  readonly pendingOwners?: readonly string[];
}

/**
 * Whether the Environment's pass sweeps again. Orphans appear only when a workload goes away, so a pass woken by
 * workloads joining (a burst of new Services, each woken once by its placement) need not scan again: it sweeps when
 * a workload that referenced the Environment at the last sweep is gone, when that sweep left something, when the
 * Environment itself changed, and at least once per `minGapMs` (half its resync interval: every resync sweeps).
 */
export function sweepDue(last: SweepMark | undefined, now: Omit<SweepMark, 'pending'>, minGapMs: number): boolean {
  if (!last || last.pending || last.self !== now.self || now.at - last.at >= minGapMs) return true;
  for (const holder of last.holders) if (!now.holders.has(holder)) return true;
  return false;
}

/**
 * What a sweep that is due (sweepDue) looks at: 'all', every owner's resources of the Environment, found in the
 * cluster's tag scan; 'pending', only the owners the last sweep left something of, each found by its own tags (a
 * filtered listing of a few resources); undefined, nothing now. With drift events on, the waves read the cluster's tag
 * scan only in its turn, one wave in ROTATION_SLOTS (cluster-tags.ts): a sweep of every owner then runs with a wave
 * whose turn the scan is (`scanTurn`), filtering the wave's scan, rather than start a whole scan of its own in the
 * other waves (89 pages at 1,000 Services and 1,000 previews). So an orphan is swept within ROTATION_SLOTS waves of
 * its owner going, and a sweep that left something goes on promptly. Without a rotation every due sweep looks at all.
 */
export function sweepScope(
  last: SweepMark | undefined,
  rotating: boolean,
  scanTurn: boolean,
): 'all' | 'pending' | undefined {
  if (!rotating || scanTurn) return 'all';
  return last?.pendingOwners?.length ? 'pending' : undefined;
}

export async function sweepOrphans(
  deps: OperatorDeps,
  env: Environment,
  aws: AwsClients,
  clients: { readonly [K in SweptKind]: ResourceClient<KubeObject> },
  /**
   * The Environment's resync wave, opened by this pass: the sweep finds what is tagged for the Environment in the
   * wave's snapshot (its scan of the cluster's tags, the listener's rules, the zone's records), which the wave's
   * members read anyway, instead of reading all of it a second time.
   */
  wave?: WaveReads,
  /** Only these owners (owner tag values), each found by its own tags, outside any wave (sweepScope 'pending'). */
  only?: readonly string[],
): Promise<SweepResult> {
  const ns = env.metadata.namespace ?? 'default';
  /** Whether the informer of the owner's kind holds it: a live owner, whose resources the sweep leaves alone. */
  const inCache = (owner: ReturnType<typeof parseOwner>): boolean =>
    !!owner && !!(owner.kind === 'Service' ? deps.services : deps.previews).get(`${owner.namespace}/${owner.name}`);
  const passScope =
    wave && !only ? { owner: `${deps.clusterId}/sweep/${ns}/${env.metadata.name}`, steady: true, wave } : undefined;
  return withPassContext(
    aws,
    async (ctx) => {
      const scope = {
        clusterId: deps.clusterId,
        environment: `${ns}/${env.metadata.name}`,
        // Every shard's: an orphan's rule is on the listener of the shard its workload was placed on.
        listenerArns: environmentListenerArns(env),
        hostedZoneIds: [env.spec.domain.hostedZoneId],
        // What the sweep leaves alone: a workload that exists, and what is no workload's (the Environment's own).
        live: (key: string) => {
          const owner = parseOwner(key, deps.clusterId);
          return !owner || inCache(owner);
        },
      };
      const found: Discovered[] = [];
      if (!only) found.push(...(await discoverOwned(ctx, scope)));
      for (const owner of only ?? []) found.push(...(await discoverOwned(ctx, { ...scope, owner })));
      const byOwner = new Map<string, Discovered[]>();
      for (const item of found) byOwner.set(item.owner, [...(byOwner.get(item.owner) ?? []), item]);
      const swept: string[] = [];
      const pending: string[] = [];
      for (const [key, items] of byOwner) {
        const owner = parseOwner(key, deps.clusterId);
        if (!owner || inCache(owner)) continue;
        // The cache may be behind: a fresh read decides.
        if (await clients[owner.kind].find({ namespace: owner.namespace, name: owner.name })) continue;
        const report = await applyPlan(ctx, registry, { owner, resources: [] }, { mode: 'delete', inventory: items });
        (report.inventory.length === 0 ? swept : pending).push(key);
      }
      return { swept, pending };
    },
    passScope,
  );
}
