// How a preview appears to its Environment: its host, and whether it is live (gate-hosts.ts says whether it
// needs a callback URL on the gate's app client).
import type { Environment, PreviewDeployment } from '../api/index.js';
import { isBeingDeleted } from '../runtime/index.js';

/** The DNS label: `spec.subdomain`, else `pr-<number>-<service>` (cut to a 63-character label). */
export function previewSubdomain(p: PreviewDeployment): string {
  return (
    p.spec.subdomain ?? `pr-${p.spec.pullRequest.number}-${p.spec.serviceRef.name}`.slice(0, 63).replace(/-+$/, '')
  );
}

export function previewHost(p: PreviewDeployment, env: Environment): string {
  return `${previewSubdomain(p)}.${env.spec.domain.baseDomain}`.toLowerCase();
}

export function previewIsLive(p: PreviewDeployment): boolean {
  return (
    !isBeingDeleted(p) &&
    p.spec.pullRequest.state === 'open' &&
    p.status?.phase !== 'Expired' &&
    p.status?.phase !== 'Blocked'
  );
}

/** Older first: creation time, then name. The oldest live previews hold previews.maxActive's slots. */
export function olderPreview(a: PreviewDeployment, b: PreviewDeployment): boolean {
  const created = String(a.metadata.creationTimestamp ?? '').localeCompare(String(b.metadata.creationTimestamp ?? ''));
  return (created || a.metadata.name.localeCompare(b.metadata.name)) < 0;
}

/**
 * previews.maxActive's rule, one statement for the preview's own pass (preview.ts) and its Environment's placing
 * (runnablePreviews): a preview runs when it already owns AWS resources, or when fewer than maxActive live previews
 * of its Environment are older than it (`rank`; the oldest live ones hold the slots).
 */
export function holdsPreviewSlot(p: PreviewDeployment, rank: number, maxActive: number): boolean {
  return (p.status?.resources ?? []).length > 0 || rank < maxActive;
}

/**
 * The preview's rank among its Environment's live previews (`previews`, itself possibly among them): how many are
 * older, or all of them when it is not live itself. Counted, not sorted, as every pass of each of up to 1,000
 * previews asks.
 */
export function previewRank(p: PreviewDeployment, previews: Iterable<PreviewDeployment>): number {
  const selfLive = previewIsLive(p);
  let rank = 0;
  for (const o of previews) {
    if (o.metadata.name !== p.metadata.name && previewIsLive(o) && (!selfLive || olderPreview(o, p))) rank++;
  }
  return rank;
}

/**
 * The previews of an Environment that their own pass would place on a load balancer, as preview.ts decides: live,
 * the Environment allows previews, their Service (one of `serviceNames`, the Environment's) exists, and they hold
 * one of previews.maxActive's slots (holdsPreviewSlot). Sorted once, so each live preview's rank is its index.
 */
export function runnablePreviews(
  env: Environment,
  previews: readonly PreviewDeployment[],
  serviceNames: ReadonlySet<string>,
): PreviewDeployment[] {
  if (env.spec.tier === 'production' || !env.spec.previews?.enabled) return [];
  const maxActive = env.spec.previews.maxActive;
  const live = previews.filter(previewIsLive).sort((a, b) => (olderPreview(a, b) ? -1 : olderPreview(b, a) ? 1 : 0));
  return live.filter((p, rank) => serviceNames.has(p.spec.serviceRef.name) && holdsPreviewSlot(p, rank, maxActive));
}
