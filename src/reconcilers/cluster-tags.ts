// The tags of everything one Slipway cluster owns in an account and region, read for a resync wave by one paginated
// Resource Groups Tagging API scan (100 resources a page) instead of one tag read per resource. A resource missing
// from the scan carries no cluster tag (removed by hand, or not ours): its ownership is unknown, and the kind reads
// its tags itself, so a removed ownership tag is still seen as drift.
import { findTagged } from '../aws/tagged.js';
import { TAG_CLUSTER } from '../planner/naming.js';
import type { ReconcileContext } from './contract.js';

/** ARN → tags, or undefined when this pass reads tags for itself (see ReconcileContext.bulk). */
export function clusterTags(
  ctx: ReconcileContext,
  clusterId: string | undefined,
): Promise<ReadonlyMap<string, Readonly<Record<string, string>>> | undefined> {
  if (!clusterId) return Promise.resolve(undefined);
  return ctx.bulk(`tagging:${clusterId}`, async (listing) => {
    const found = await findTagged(listing.aws, { [TAG_CLUSTER]: clusterId });
    return new Map(found.map((r) => [r.arn, r.tags]));
  });
}
