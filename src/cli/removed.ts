// Which custom resources in the cluster a set of manifests removes: those the manifests cover but no longer hold.
// A plan knows only the files it is given, so "covers" must be narrow, or planning one file would show everything
// else as deleted. The rule (docs/plan-in-ci.md): only in a namespace the manifests have objects in, and
//   - a Service whose Environment is in the manifests (its Environment's manifests are where it belongs), or
//   - any kind carrying the same tracking label as an object of the manifests: app.kubernetes.io/instance or
//     argocd.argoproj.io/instance, or the application of an argocd.argoproj.io/tracking-id annotation.
// A PreviewDeployment goes only by a tracking label (CI creates one per pull request, outside the manifests), and
// an object already being deleted is not listed (it is on its way out). Pure.
import type { Manifest } from './manifests.js';

export const TRACKING_LABELS = ['app.kubernetes.io/instance', 'argocd.argoproj.io/instance'] as const;
export const TRACKING_ID_ANNOTATION = 'argocd.argoproj.io/tracking-id';

export interface LiveObject {
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly deletionTimestamp?: string | Date;
  };
  readonly spec?: { readonly environmentRef?: { readonly name?: string } };
}

/** The tracking marks of an object: `label=value`, and `tracking-id=<application>`. */
function marks(meta: LiveObject['metadata'] | Manifest['object']['metadata'] | undefined): string[] {
  const out: string[] = [];
  for (const l of TRACKING_LABELS) {
    const v = meta?.labels?.[l];
    if (v) out.push(`${l}=${v}`);
  }
  const id = meta?.annotations?.[TRACKING_ID_ANNOTATION];
  // `<application>:<group>/<kind>:<namespace>/<name>`: the application is what objects share.
  if (id) out.push(`${TRACKING_ID_ANNOTATION}=${id.split(':')[0]}`);
  return out;
}

/** The live objects (of kind `kind`, as listed from the cluster) the manifests remove, by the rule above. */
export function removedBy<T extends LiveObject>(
  manifests: readonly Manifest[],
  kind: Manifest['kind'],
  live: readonly T[],
): T[] {
  const namespaces = new Set(manifests.map((m) => m.namespace));
  const held = new Set(manifests.map((m) => `${m.kind}/${m.namespace}/${m.name}`));
  const environments = new Set(
    manifests.filter((m) => m.kind === 'Environment').map((m) => `${m.namespace}/${m.name}`),
  );
  const tracked = new Set(manifests.flatMap((m) => marks(m.object.metadata)));
  return live.filter((o) => {
    const ns = o.metadata?.namespace ?? '';
    if (!namespaces.has(ns) || held.has(`${kind}/${ns}/${o.metadata?.name}`) || o.metadata?.deletionTimestamp) {
      return false;
    }
    if (kind === 'Service' && environments.has(`${ns}/${o.spec?.environmentRef?.name}`)) return true;
    return marks(o.metadata).some((m) => tracked.has(m));
  });
}
