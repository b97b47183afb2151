// The tags of everything one Slipway cluster owns in an account and region, read for a resync wave by one paginated
// Resource Groups Tagging API scan (100 resources a page) instead of one tag read per resource. A resource missing
// from the scan carries no cluster tag (removed by hand, or not ours): its ownership is unknown, and the kind reads
// its tags itself, so a removed ownership tag is still seen as drift.
//
// With drift events on, a wave reads the scan only in its turn (ctx.listingTurn, one wave in ROTATION_SLOTS): in the
// others a member takes the tags of a resource its inventory records as planned (waveTagsOf), and a tag changed by
// hand reaches its owner as a drift event (TagResource, AddTags, ...) in between. The scan in its turn is the
// backstop for a lost event.
import { findTagged } from '../aws/tagged.js';
import { TAG_CLUSTER } from '../planner/naming.js';
import { listingRead, takenAsPlanned, type ReconcileContext } from './contract.js';

/** The key of the cluster's tag scan in a wave (ReconcileContext.bulk) and in the rotation (listingTurn). */
export const clusterScanKey = (clusterId: string): string => `tagging:${clusterId}`;

/**
 * ARN → tags, or undefined when this pass reads tags for itself (see ReconcileContext.bulk), or the wave reads no
 * scan (it is not the scan's turn).
 */
export function clusterTags(
  ctx: ReconcileContext,
  clusterId: string | undefined,
): Promise<ReadonlyMap<string, Readonly<Record<string, string>>> | undefined> {
  if (!clusterId || !(ctx.listingTurn?.(clusterScanKey(clusterId)) ?? true)) return Promise.resolve(undefined);
  return ctx.bulk(clusterScanKey(clusterId), async (listing) => {
    const found = await findTagged(listing.aws, { [TAG_CLUSTER]: clusterId });
    return new Map(found.map((r) => [r.arn, r.tags]));
  });
}

/**
 * The tags of a planned resource a member found as `arn`, as its wave serves them: from the wave's scan in the scan's
 * turn; in another wave, the planned tags (its ownership as recorded, `planned: true`) when the owner's inventory
 * records `arn` and the owner may take it as planned (takenAsPlanned). Tags taken as planned settle no ownership for a
 * write: the kind marks its observation (Observed.assumed), and the applier reads it fresh before a write rests on
 * it. Undefined: the pass reads them
 * itself (outside a wave, a resource the scan does not carry, one not recorded under `arn`, an owner with drift
 * reported or that wrote).
 */
export async function waveTagsOf(
  ctx: ReconcileContext,
  planned: Readonly<Record<string, string>>,
  arn: string,
  recorded: string | undefined,
): Promise<{ readonly tags: Readonly<Record<string, string>>; readonly planned: boolean } | undefined> {
  const clusterId = planned[TAG_CLUSTER];
  if (!clusterId) return undefined;
  const key = clusterScanKey(clusterId);
  if (listingRead(ctx, key) === 'listing') {
    const scanned = (await clusterTags(ctx, clusterId))?.get(arn);
    return scanned && { tags: scanned, planned: false };
  }
  return takenAsPlanned(ctx, recorded, arn, { listing: key }) ? { tags: { ...planned }, planned: true } : undefined;
}
