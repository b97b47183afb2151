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
