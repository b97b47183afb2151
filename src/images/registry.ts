// The digest of a tag from a registry's manifest API (the OCI distribution spec, which Docker Hub, GHCR, Quay, GCR
// and Artifactory all serve): HEAD /v2/<repository>/manifests/<tag>, read Docker-Content-Digest. Registries that
// let anyone pull still want a token: they answer 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...`
// and hand out an anonymous token at the realm. Registries that need credentials (Basic, or a token that anonymous
// users do not get) are reported, not guessed at: the caller deploys the tag as given.
//
// Every request runs under the caller's signal, which carries the deadline; nothing here retries.
import { createHash } from 'node:crypto';
import type { ImageRef } from './reference.js';

/** Every manifest type a tag may point at: an OCI index or manifest, a Docker manifest list or manifest. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** Why a registry gave no digest; `unreachable` when no answer came at all (refused, unknown host, deadline). */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    message: string,
    readonly unreachable: boolean,
  ) {
    super(message);
  }
}

/** The API base of a registry: Docker Hub's API host; plain HTTP only on loopback, as Docker allows. */
export function registryBaseUrl(registry: string): string {
  const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
  const hostname = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const loopback = hostname === 'localhost' || hostname === '::1' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
  return `${loopback ? 'http' : 'https'}://${host}`;
}

/** `Bearer realm="...",service="...",scope="..."` → its parameters; undefined for other schemes. */
export function parseBearerChallenge(header: string | null): Record<string, string> | undefined {
  if (!header || !/^bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const m of header.slice(header.indexOf(' ') + 1).matchAll(/(\w+)="([^"]*)"/g))
    params[m[1]!.toLowerCase()] = m[2]!;
  return params.realm ? params : undefined;
}

function describeFailure(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return 'no answer before the deadline';
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}

async function request(url: string, init: RequestInit, signal: AbortSignal): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal, redirect: 'follow' });
  } catch (err) {
    throw new RegistryError(`manifest API unreachable: ${describeFailure(err, signal)}`, true);
  }
}

/** An anonymous pull token from the challenge's realm. */
async function anonymousToken(
  challenge: Record<string, string>,
  repository: string,
  signal: AbortSignal,
): Promise<string> {
  const url = new URL(challenge.realm!);
  if (challenge.service) url.searchParams.set('service', challenge.service);
  url.searchParams.set('scope', challenge.scope ?? `repository:${repository}:pull`);
  const res = await request(url.toString(), { method: 'GET' }, signal);
  if (!res.ok) {
    await res.body?.cancel();
    throw new RegistryError(`token service ${url.host} answered ${res.status}: pulling needs credentials`, false);
  }
  let body: { token?: string; access_token?: string };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new RegistryError(`token service ${url.host} answered without a token`, false);
  }
  const token = body.token ?? body.access_token;
  if (!token) throw new RegistryError(`token service ${url.host} answered without a token`, false);
  return token;
}

/**
 * The digest `ref.tag` points at in its registry. Throws RegistryError saying why there is none. The digest is the
 * one of the manifest as stored (an index for a multi-platform image), which is what a pull by digest asks for.
 */
export async function manifestDigest(ref: ImageRef, signal: AbortSignal): Promise<string> {
  if (!ref.tag) throw new RegistryError('no tag to resolve', false);
  const url = `${registryBaseUrl(ref.registry)}/v2/${ref.repository}/manifests/${encodeURIComponent(ref.tag)}`;
  const headers: Record<string, string> = { accept: MANIFEST_ACCEPT };
  let res = await request(url, { method: 'HEAD', headers }, signal);
  if (res.status === 401) {
    const challenge = parseBearerChallenge(res.headers.get('www-authenticate'));
    if (!challenge) throw new RegistryError('manifest API needs credentials', false);
    headers.authorization = `Bearer ${await anonymousToken(challenge, ref.repository, signal)}`;
    res = await request(url, { method: 'HEAD', headers }, signal);
  }
  if (res.status === 404) throw new RegistryError(`tag ${ref.tag} not found in ${ref.repository}`, false);
  if (res.status === 401 || res.status === 403) throw new RegistryError('manifest API needs credentials', false);
  if (!res.ok) throw new RegistryError(`manifest API answered ${res.status}`, res.status >= 500);
  const digest = res.headers.get('docker-content-digest');
  if (digest && /^sha256:[a-f0-9]{64}$/.test(digest)) return digest;
  // A registry that does not send the header on HEAD: the digest is the hash of the manifest's bytes.
  const got = await request(url, { method: 'GET', headers }, signal);
  if (!got.ok) throw new RegistryError(`manifest API answered ${got.status}`, got.status >= 500);
  const bytes = new Uint8Array(await got.arrayBuffer());
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
