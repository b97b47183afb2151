// Reads the manifests `slipway plan -f` is given: YAML files (several documents each) or directories of them,
// searched recursively. Only Slipway's kinds are planned; documents of other API groups are skipped and named.
// Every error names the file (and the document within it) and the field at fault.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { API_VERSION, GROUP, KINDS } from '../api/index.js';

export type PlannedKind = (typeof KINDS)[keyof typeof KINDS];

export interface Manifest {
  /** `file` or `file#N` (the N-th document, from 1) when the file holds several. */
  readonly source: string;
  readonly kind: PlannedKind;
  readonly namespace: string;
  readonly name: string;
  /** The document as written, namespace filled in. */
  readonly object: {
    readonly apiVersion: string;
    readonly kind: PlannedKind;
    readonly metadata: {
      readonly name: string;
      readonly namespace: string;
      readonly labels?: Record<string, string>;
      readonly annotations?: Record<string, string>;
    };
    readonly spec: Record<string, unknown>;
  };
}

export interface ManifestSet {
  readonly manifests: readonly Manifest[];
  /** Documents of other API groups, by source: not Slipway's to plan. */
  readonly skipped: readonly string[];
}

/** Input a person must fix: the message names the file and the field. */
export class PlanInputError extends Error {
  override readonly name = 'PlanInputError';
  constructor(
    readonly source: string,
    readonly field: string | undefined,
    detail: string,
  ) {
    super(`${source}: ${field ? `${field}: ` : ''}${detail}`);
  }
}

const YAML_EXTENSIONS = new Set(['.yaml', '.yml']);
const PLANNED_KINDS = new Set<string>(Object.values(KINDS));

function filesOf(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new PlanInputError(path, undefined, 'no such file or directory');
  }
  if (!stat.isDirectory()) return [path];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && YAML_EXTENSIONS.has(extname(e.name)))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(value: unknown, source: string, field: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new PlanInputError(source, field, 'must be a map of strings');
  }
  return value as Record<string, string>;
}

/** One document, checked as far as the plan needs; the API server's dry run checks the rest against the CRD. */
export function parseManifest(doc: unknown, source: string, defaultNamespace: string): Manifest | 'skip' {
  if (!isObject(doc)) throw new PlanInputError(source, undefined, 'a manifest must be a YAML mapping');
  const { apiVersion, kind, metadata, spec } = doc;
  if (typeof apiVersion !== 'string' || apiVersion === '')
    throw new PlanInputError(source, 'apiVersion', 'is required');
  if (typeof kind !== 'string' || kind === '') throw new PlanInputError(source, 'kind', 'is required');
  if (apiVersion.split('/')[0] !== GROUP) return 'skip';
  if (apiVersion !== API_VERSION) {
    throw new PlanInputError(source, 'apiVersion', `${apiVersion} is not served; use ${API_VERSION}`);
  }
  if (!PLANNED_KINDS.has(kind)) {
    throw new PlanInputError(
      source,
      'kind',
      `unknown kind ${kind} in ${GROUP}; expected one of ${[...PLANNED_KINDS].join(', ')}`,
    );
  }
  if (!isObject(metadata)) throw new PlanInputError(source, 'metadata', 'is required');
  if (typeof metadata.name !== 'string' || metadata.name === '') {
    throw new PlanInputError(source, 'metadata.name', 'is required (generateName cannot be planned)');
  }
  if (metadata.namespace !== undefined && typeof metadata.namespace !== 'string') {
    throw new PlanInputError(source, 'metadata.namespace', 'must be a string');
  }
  if (!isObject(spec)) throw new PlanInputError(source, 'spec', 'is required and must be a mapping');
  const namespace = (metadata.namespace as string | undefined) || defaultNamespace;
  const labels = stringMap(metadata.labels, source, 'metadata.labels');
  const annotations = stringMap(metadata.annotations, source, 'metadata.annotations');
  const k = kind as PlannedKind;
  return {
    source,
    kind: k,
    namespace,
    name: metadata.name,
    object: {
      apiVersion,
      kind: k,
      metadata: {
        name: metadata.name,
        namespace,
        ...(labels ? { labels } : {}),
        ...(annotations ? { annotations } : {}),
      },
      spec,
    },
  };
}

/** Parses YAML text that holds any number of documents. */
export function parseManifests(text: string, file: string, defaultNamespace: string): ManifestSet {
  const docs = parseAllDocuments(text).filter((d) => d.contents !== null);
  const manifests: Manifest[] = [];
  const skipped: string[] = [];
  docs.forEach((d, i) => {
    const source = docs.length > 1 ? `${file}#${i + 1}` : file;
    const error = d.errors[0];
    if (error) {
      const at = error.linePos?.[0];
      throw new PlanInputError(source, undefined, `invalid YAML${at ? ` at line ${at.line}` : ''}: ${error.message}`);
    }
    const m = parseManifest(d.toJS(), source, defaultNamespace);
    if (m === 'skip') skipped.push(source);
    else manifests.push(m);
  });
  return { manifests, skipped };
}

/** Reads every path (a file, or a directory searched recursively for .yaml and .yml files). */
export function readManifests(paths: readonly string[], defaultNamespace: string): ManifestSet {
  const manifests: Manifest[] = [];
  const skipped: string[] = [];
  for (const file of paths.flatMap(filesOf)) {
    const set = parseManifests(readFileSync(file, 'utf8'), file, defaultNamespace);
    manifests.push(...set.manifests);
    skipped.push(...set.skipped);
  }
  const seen = new Map<string, string>();
  for (const m of manifests) {
    const key = `${m.kind}/${m.namespace}/${m.name}`;
    const first = seen.get(key);
    if (first) throw new PlanInputError(m.source, 'metadata.name', `${key} is also defined in ${first}`);
    seen.set(key, m.source);
  }
  if (manifests.length === 0) {
    throw new PlanInputError(paths.join(', '), undefined, `no ${GROUP} manifests found`);
  }
  return { manifests, skipped };
}
