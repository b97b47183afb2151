// Runs the pinned helm (built once from the Go module proxy, test/env/build.ts) against charts/slipway and parses
// what `helm template` renders into plain objects.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ensureHelm } from '../../env/build.js';

export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');
export const CHART_DIR = join(REPO_ROOT, 'charts', 'slipway');
/** Building helm on a cold cache takes a few minutes; later runs find it in ~/.cache/slipway. */
export const HELM_BUILD_TIMEOUT_MS = 15 * 60_000;

export interface Rendered {
  /** The template that produced the object, as helm's `# Source:` line names it. */
  readonly source: string;
  readonly object: KubeManifest;
}

export interface KubeManifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly annotations?: Record<string, string>;
  };
  readonly [key: string]: unknown;
}

let helmPath: string | undefined;

export async function helmBinary(): Promise<string> {
  helmPath ??= await ensureHelm();
  return helmPath;
}

/** Runs helm synchronously (no operator runs in these processes); throws with helm's stderr on failure. */
export function helm(args: readonly string[]): string {
  if (!helmPath) throw new Error('call helmBinary() in before() first');
  try {
    return execFileSync(helmPath, args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`helm ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

/** `--set` flags from a flat map, e.g. { watchNamespace: 'team-a' }. */
export function setFlags(values: Readonly<Record<string, string>>): string[] {
  return Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
}

/** `helm template` of the chart as release `slipway` in namespace `slipway-system`, one entry per object. */
export function render(values: Readonly<Record<string, string>> = {}, extra: readonly string[] = []): Rendered[] {
  const out = helm(['template', 'slipway', CHART_DIR, '--namespace', 'slipway-system', ...setFlags(values), ...extra]);
  return out
    .split(/^---$/m)
    .map((doc) => ({ source: /^# Source: (.+)$/m.exec(doc)?.[1] ?? '', object: parse(doc) as KubeManifest | null }))
    .filter((d): d is Rendered => d.object !== null);
}

export function find(docs: readonly Rendered[], kind: string, name?: string): KubeManifest | undefined {
  return docs.find((d) => d.object.kind === kind && (name === undefined || d.object.metadata.name === name))?.object;
}
