// When a tag is resolved, and which image a plan runs. Pure.
//
// A deployment starts when the task definition would change (a new image reference, or anything else that registers
// a new revision: size, environment, roles, the Environment's log settings) or when the annotation slipway.dev/sync
// takes a new value. Only then is the tag resolved; otherwise the digest in status.image is planned again, so a tag
// that moves in its registry redeploys nothing, drift is measured against the pinned image, and a resync asks no
// registry anything.
import { createHash } from 'node:crypto';
import type { ImageStatus } from '../api/index.js';
import type { Plan } from '../planner/plan.js';
import { parseImageRef, pinnedReference } from './reference.js';
import type { ImageResolution } from './resolve.js';

/** Any new value starts a deployment, which resolves the image's tag again. */
export const SYNC_ANNOTATION = 'slipway.dev/sync';

/** What starts a deployment, hashed: the planned task definition (with the image as referenced) and the sync value. */
export function deploymentInputs(plan: Plan, sync: string | undefined): string {
  const td = plan.resources.find((r) => r.kind === 'ecs.TaskDefinition');
  return createHash('sha256')
    .update(JSON.stringify([td?.props ?? null, sync ?? null]))
    .digest('hex')
    .slice(0, 32);
}

/** The image status to keep: the previous one while nothing that starts a deployment changed, else undefined. */
export function reusable(
  previous: ImageStatus | undefined,
  reference: string,
  inputs: string,
): ImageStatus | undefined {
  return previous && previous.reference === reference && previous.inputs === inputs ? previous : undefined;
}

/** The image a task definition runs: `<name>@<digest>` when pinned, else the reference as given. */
export function imageToRun(image: Pick<ImageStatus, 'reference' | 'digest' | 'pinned'>): string {
  if (!image.pinned || !image.digest) return image.reference;
  const ref = parseImageRef(image.reference);
  // A reference with a digest of its own runs as written (its tag, if any, is only a label).
  return ref && !ref.digest ? pinnedReference(ref, image.digest) : image.reference;
}

export function imageStatusOf(resolution: ImageResolution, inputs: string, resolvedAt: string): ImageStatus {
  return {
    reference: resolution.reference,
    pinned: resolution.pinned,
    ...(resolution.digest ? { digest: resolution.digest } : {}),
    ...(resolution.reason ? { reason: resolution.reason } : {}),
    resolvedAt,
    inputs,
  };
}
