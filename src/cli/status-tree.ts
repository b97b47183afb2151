// `slipway status ENV` as text: the Environment, then its Services with each one's previews beneath it, as a tree
// with one column per field: Ready, URL, the digest running, drift count and the monthly cost estimate. A field the
// status does not have (yet) is `-`. Pure.
import type { Condition } from '../api/index.js';
import { shortDigest, type ImageStatus } from './release.js';

interface Costed {
  readonly cost?: { readonly monthlyUsd?: number; readonly totalMonthlyUsd?: number };
}

export interface TreeObject {
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly status?: Costed & {
    readonly conditions?: readonly Condition[];
    readonly driftCount?: number;
    readonly url?: string;
    readonly image?: ImageStatus;
  };
}

export interface TreeEnvironment extends TreeObject {
  readonly spec: { readonly region?: string; readonly tier?: string };
  readonly status?: TreeObject['status'] & { readonly shards?: readonly unknown[] };
}

export interface TreePreview extends TreeObject {
  readonly spec: { readonly serviceRef: { readonly name: string } };
  readonly status?: TreeObject['status'] & { readonly phase?: string };
}

const DASH = '-';

function readyOf(o: TreeObject): string {
  const c = o.status?.conditions?.find((x) => x.type === 'Ready');
  if (!c) return DASH;
  return c.status === 'True' || !c.reason ? c.status : `${c.status} (${c.reason})`;
}

function usd(n: number | undefined): string {
  return typeof n === 'number' && Number.isFinite(n) ? n.toFixed(2) : DASH;
}

function row(prefix: string, kind: string, o: TreeObject): string[] {
  return [
    `${prefix}${kind} ${o.metadata.name}`,
    readyOf(o),
    o.status?.url ?? DASH,
    shortDigest(o.status?.image?.digest) ?? DASH,
    o.status?.driftCount !== undefined ? String(o.status.driftCount) : DASH,
    usd(o.status?.cost?.monthlyUsd),
  ];
}

function table(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(widths[i]! - [...cell].length)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * The tree: a line on the Environment (Ready, region, load-balancer shards, its total monthly cost when known),
 * then a table of it and its workloads, each preview beneath its Service; previews whose Service is not on the
 * Environment come last, at the top level.
 */
export function renderStatusTree(
  env: TreeEnvironment,
  services: readonly TreeObject[],
  previews: readonly TreePreview[],
): string {
  const byName = (a: TreeObject, b: TreeObject) => a.metadata.name.localeCompare(b.metadata.name);
  const svcs = [...services].sort(byName);
  const names = new Set(svcs.map((s) => s.metadata.name));
  const orphans = previews.filter((p) => !names.has(p.spec.serviceRef.name)).sort(byName);
  const rows: string[][] = [['NAME', 'READY', 'URL', 'DIGEST', 'DRIFT', '$/MONTH'], row('', 'Environment', env)];
  const top: { kind: string; o: TreeObject; children: TreePreview[] }[] = [
    ...svcs.map((s) => ({
      kind: 'Service',
      o: s,
      children: previews.filter((p) => p.spec.serviceRef.name === s.metadata.name).sort(byName),
    })),
    ...orphans.map((p) => ({ kind: 'PreviewDeployment', o: p as TreeObject, children: [] })),
  ];
  top.forEach((t, i) => {
    const last = i === top.length - 1;
    rows.push(row(last ? '└─ ' : '├─ ', t.kind, t.o));
    t.children.forEach((c, j) => {
      rows.push(row(`${last ? '   ' : '│  '}${j === t.children.length - 1 ? '└─ ' : '├─ '}`, 'PreviewDeployment', c));
    });
  });
  const shards = env.status?.shards?.length;
  const total = env.status?.cost?.totalMonthlyUsd;
  const head = [
    `Environment ${env.metadata.namespace ? `${env.metadata.namespace}/` : ''}${env.metadata.name}`,
    `Ready ${readyOf(env)}`,
    env.spec.region ? `region ${env.spec.region}` : undefined,
    shards !== undefined ? `${shards} load-balancer shard${shards === 1 ? '' : 's'}` : undefined,
    `${svcs.length} Service${svcs.length === 1 ? '' : 's'}, ${previews.length} preview${previews.length === 1 ? '' : 's'}`,
    `$/month ${usd(total ?? env.status?.cost?.monthlyUsd)}${total !== undefined ? ' in total' : ''}`,
  ].filter((x): x is string => !!x);
  return `${head.join(', ')}\n\n${table(rows)}\n`;
}
