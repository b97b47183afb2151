// A tag → the digest it points at now, when a deployment starts (the controller decides when: see pinning.ts).
// ECR images are resolved with the ECR API and the Environment's credentials; any other registry through its manifest
// API (registry.ts), within a deadline. When there is no digest, the answer says why and the tag is deployed as given.
//
// A registry that cannot be reached at all (refused, unknown host, no answer before the deadline) is remembered for a
// minute: thirty Services starting on the same unreachable registry wait for its deadline once, not thirty times,
// and concurrent resolutions of one reference share one request.
import { deadline } from '../runtime/deadline.js';
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import type { AwsClients } from '../aws/clients.js';
import { classifyError, errorName } from '../aws/errors.js';
import { manifestDigest, RegistryError } from './registry.js';
import { ecrRegistryOf, type ImageRef, parseImageRef } from './reference.js';

export interface ImageResolution {
  /** The image as the spec gives it. */
  readonly reference: string;
  /** sha256:<64 hex>, when pinned. */
  readonly digest?: string;
  readonly pinned: boolean;
  /** Why not pinned: `<registry>: <what failed>`. */
  readonly reason?: string;
}

/** How long a registry's manifest API may take to answer, token included. */
export const DEFAULT_REGISTRY_TIMEOUT_MS = 3_000;
/** How long a registry found unreachable is not asked again. */
export const UNREACHABLE_TTL_MS = 60_000;

export interface ResolveOptions {
  /** The Environment's clients (a pass's view, carrying its signal), for ECR. */
  readonly aws: AwsClients;
  /** The pass's signal; the registry's deadline is added to it. */
  readonly signal: AbortSignal;
  readonly timeoutMs?: number;
}

function unpinned(reference: string, registry: string, why: string): ImageResolution {
  return { reference, pinned: false, reason: `${registry}: ${why}`.slice(0, 1024) };
}

/** ECR errors that a person must fix (or that mean the image cannot be pulled as it is): reported, not retried. */
const ECR_REPORTED = new Set(['ImageNotFoundException', 'RepositoryNotFoundException', 'InvalidParameterException']);

async function resolveEcr(
  reference: string,
  ref: ImageRef & { tag: string },
  ecr: { account: string; region: string },
  aws: AwsClients,
): Promise<ImageResolution> {
  try {
    const out = await aws.ecr(ecr.region).send(
      new DescribeImagesCommand({
        registryId: ecr.account,
        repositoryName: ref.repository,
        imageIds: [{ imageTag: ref.tag }],
      }),
    );
    const digest = out.imageDetails?.[0]?.imageDigest;
    if (!digest) return unpinned(reference, ref.registry, `ECR has no image tagged ${ref.tag} in ${ref.repository}`);
    return { reference, digest, pinned: true };
  } catch (err) {
    const name = errorName(err);
    const cls = classifyError(err);
    // Throttling and transient errors fail the pass, which is retried with backoff: a deployment pinned a moment
    // later beats one started unpinned.
    if (!ECR_REPORTED.has(name) && cls !== 'access-denied' && cls !== 'not-found' && cls !== 'invalid') throw err;
    return unpinned(reference, ref.registry, `ECR DescribeImages: ${name}: ${(err as Error).message}`);
  }
}

export class ImageResolver {
  private readonly unreachable = new Map<string, { until: number; why: string }>();
  private readonly inFlight = new Map<string, Promise<ImageResolution>>();

  constructor(private readonly now: () => number = Date.now) {}

  async resolve(reference: string, opts: ResolveOptions): Promise<ImageResolution> {
    const ref = parseImageRef(reference);
    if (!ref) return { reference, pinned: false, reason: 'not an image reference with a tag or a digest' };
    if (ref.digest) return { reference, digest: ref.digest, pinned: true };
    const ecr = ecrRegistryOf(ref.registry);
    if (ecr) return resolveEcr(reference, ref as ImageRef & { tag: string }, ecr, opts.aws);
    const known = this.unreachable.get(ref.registry);
    if (known && known.until > this.now()) return unpinned(reference, ref.registry, known.why);
    let pending = this.inFlight.get(reference);
    if (!pending) {
      pending = this.fromRegistry(reference, ref, opts).finally(() => this.inFlight.delete(reference));
      this.inFlight.set(reference, pending);
    }
    return pending;
  }

  private async fromRegistry(reference: string, ref: ImageRef, opts: ResolveOptions): Promise<ImageResolution> {
    const timeout = deadline(opts.timeoutMs ?? DEFAULT_REGISTRY_TIMEOUT_MS, opts.signal);
    try {
      return { reference, digest: await manifestDigest(ref, timeout.signal), pinned: true };
    } catch (err) {
      // The pass itself ending is not the registry's fault: let the pass's own deadline handling say so.
      if (opts.signal.aborted) throw err;
      const registryError = err instanceof RegistryError ? err : undefined;
      const why = registryError?.message ?? `manifest API failed: ${(err as Error).message}`;
      if (!registryError || registryError.unreachable) {
        this.unreachable.set(ref.registry, { until: this.now() + UNREACHABLE_TTL_MS, why });
      }
      return unpinned(reference, ref.registry, why);
    } finally {
      timeout.clear();
    }
  }
}
