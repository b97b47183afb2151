// Image references, parsed the way Docker and the OCI distribution spec read them: `[registry/]path[:tag][@digest]`.
// Pure. The first path component is a registry host when it has a dot or a port, or is `localhost`; otherwise the
// image lives on Docker Hub, whose API host is registry-1.docker.io and whose one-word names are under library/.

export interface ImageRef {
  /** The reference without tag and digest, as written: the part `<name>@<digest>` keeps. */
  readonly name: string;
  /** The registry host (with its port), `docker.io` when none is written. */
  readonly registry: string;
  /** The repository within the registry, e.g. library/nginx or commerce/web. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** Parses a reference; undefined when it is not one (a tag or a digest is required, as the CRDs require). */
export function parseImageRef(reference: string): ImageRef | undefined {
  let rest = reference.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return undefined;
  }
  if (!tag && !digest) return undefined;
  const parts = rest.split('/');
  const first = parts[0] ?? '';
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? first.toLowerCase() : 'docker.io';
  const path = hasRegistry ? parts.slice(1) : parts;
  if (path.length === 0 || !path.every((c) => COMPONENT.test(c))) return undefined;
  const repository = registry === 'docker.io' && path.length === 1 ? `library/${path[0]}` : path.join('/');
  return { name: rest, registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The reference that runs exactly `digest`: `<name>@<digest>` (a tag beside a digest means nothing to a pull). */
export function pinnedReference(ref: Pick<ImageRef, 'name'>, digest: string): string {
  return `${ref.name}@${digest}`;
}

export interface EcrRegistry {
  readonly account: string;
  readonly region: string;
}

const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/** `<account>.dkr.ecr.<region>.amazonaws.com` → its account and region; undefined for any other registry. */
export function ecrRegistryOf(registry: string): EcrRegistry | undefined {
  const m = ECR_HOST.exec(registry);
  return m ? { account: m[1]!, region: m[2]! } : undefined;
}

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}
