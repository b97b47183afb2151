// Pinned versions of the servers the local environment runs. Changing one rebuilds into a new cache folder.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Kubernetes release whose kube-apiserver and kube-controller-manager are built from the Go module proxy. */
export const KUBERNETES_VERSION = '1.33.13';
/** The etcd release that Kubernetes 1.33 itself requires (its go.mod pins go.etcd.io/etcd/server/v3 to it). */
export const ETCD_VERSION = '3.5.21';
/** moto in server mode, from PyPI. */
export const MOTO_VERSION = '5.2.5';

/** Binaries and the moto virtualenv are cached here, outside the work tree, keyed by version. */
export function cacheRoot(): string {
  if (process.env.SLIPWAY_CACHE_DIR) return process.env.SLIPWAY_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'slipway');
}
