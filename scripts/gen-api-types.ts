// Generates src/api/types.generated.ts from the CRDs in crds/*.yaml, so the TypeScript types of the three kinds
// cannot drift from the schemas the API server enforces (test/unit/api/types-generated.test.ts regenerates and
// compares). Run: npx tsx scripts/gen-api-types.ts        (or --check to only compare)
//
// Mapping: every field is `readonly`; a field is non-optional when the schema requires it or gives it a default
// (the API server fills defaults before anyone reads the object); enums become string or number literal unions;
// descriptions become JSDoc, with the default. Objects get named interfaces: <Kind>Spec, <Kind>Status, the shared
// shapes named in SHARED_NAMES (which must be identical wherever they occur), and <Kind><Path> for the rest.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';

/** The subset of a structural OpenAPI v3 schema that CRDs use. */
export interface JsonSchema {
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly description?: string;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly additionalProperties?: JsonSchema | boolean;
  readonly enum?: readonly (string | number)[];
  readonly default?: unknown;
  readonly format?: string;
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly maxProperties?: number;
  readonly 'x-kubernetes-validations'?: readonly CelRule[];
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
  readonly 'x-kubernetes-int-or-string'?: boolean;
  readonly 'x-kubernetes-embedded-resource'?: boolean;
}

export interface CelRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly fieldPath?: string;
  readonly reason?: string;
  readonly optionalOldSelf?: boolean;
}

export interface Crd {
  readonly file: string;
  readonly group: string;
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly version: string;
  readonly schema: JsonSchema;
}

interface CrdDocument {
  readonly kind: string;
  readonly spec: {
    readonly group: string;
    readonly names: { kind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    readonly versions: readonly { name: string; storage: boolean; schema: { openAPIV3Schema: JsonSchema } }[];
  };
}

/** Reads every CustomResourceDefinition in `dir` (one per file), ordered by file name. */
export function loadCrds(dir: string): Crd[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((file) => {
      const doc = parse(readFileSync(join(dir, file), 'utf8')) as CrdDocument;
      if (doc.kind !== 'CustomResourceDefinition') throw new Error(`${file}: not a CustomResourceDefinition`);
      const storage = doc.spec.versions.filter((v) => v.storage);
      if (storage.length !== 1) throw new Error(`${file}: expected exactly one storage version`);
      const version = storage[0]!;
      return {
        file,
        group: doc.spec.group,
        kind: doc.spec.names.kind,
        plural: doc.spec.names.plural,
        singular: doc.spec.names.singular,
        shortNames: doc.spec.names.shortNames ?? [],
        categories: doc.spec.names.categories ?? [],
        version: version.name,
        schema: version.schema.openAPIV3Schema,
      };
    });
}

/**
 * Names for object shapes that occur in more than one place. Keys are `<Kind>:<path>` or `*:<path>`; a path is the
 * dotted field path from the root, with `[]` for list items.
 */
const SHARED_NAMES: Readonly<Record<string, string>> = {
  '*:status.conditions[]': 'Condition',
  '*:status.resources[]': 'OwnedResource',
  '*:status.drift[]': 'DriftItem',
  '*:spec.environmentRef': 'EnvironmentReference',
  '*:spec.env[]': 'EnvVar',
  'Service:spec.secrets[]': 'SecretEnvVar',
  'PreviewDeployment:spec.serviceRef': 'ServiceReference',
  'Environment:status.quota.listenerRules': 'QuotaUsage',
  'Environment:status.quota.targetGroups': 'QuotaUsage',
  'Environment:status.heldBy[]': 'EnvironmentHolder',
  'PreviewDeployment:status.service': 'PreviewServiceStatus',
  '*:status.image': 'ImageStatus',
  'Service:status.history[]': 'DeploymentRecord',
  'PreviewDeployment:status.service.deployment': 'DeploymentRecord',
  '*:status.cost.components[]': 'CostComponent',
};

const WIDTH = 118;

const pascal = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function wrap(text: string, indent: string): string[] {
  const width = WIDTH - indent.length - 3;
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines;
}

function jsDoc(schema: JsonSchema, indent: string, withDefault: boolean): string {
  const parts: string[] = [];
  if (schema.description) parts.push(...wrap(schema.description.replace(/\*\//g, '*\\/'), indent));
  if (withDefault && schema.default !== undefined) parts.push(`@default ${JSON.stringify(schema.default)}`);
  if (schema.format === 'date-time') parts.push('RFC 3339 date-time.');
  if (parts.length === 0) return '';
  if (parts.length === 1 && parts[0]!.length + indent.length + 7 <= WIDTH) return `${indent}/** ${parts[0]} */\n`;
  return `${indent}/**\n${parts.map((p) => `${indent} *${p ? ` ${p}` : ''}`).join('\n')}\n${indent} */\n`;
}

const literal = (v: string | number): string =>
  typeof v === 'number' ? String(v) : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

interface Emitted {
  readonly body: string;
  readonly where: string;
  readonly doc: string;
  readonly slot: number;
}

class Generator {
  private readonly out: string[] = [];
  private readonly emitted = new Map<string, Emitted>();

  constructor(private readonly crds: readonly Crd[]) {}

  run(): string {
    const header = [
      '// Generated by scripts/gen-api-types.ts from crds/*.yaml. Do not edit: change the CRD and run',
      '// `npx tsx scripts/gen-api-types.ts`. test/unit/api/types-generated.test.ts fails when this file is stale.',
      '//',
      '// Fields with a schema default are not optional: the API server fills them in before anyone reads the object.',
      "import type { ObjectMeta } from './meta.js';",
      '',
    ];
    for (const crd of this.crds) this.emitKind(crd);
    return `${header.join('\n')}\n${this.out.join('\n')}`;
  }

  private emitKind(crd: Crd): void {
    const root = crd.schema;
    const props = root.properties ?? {};
    for (const key of ['spec', 'status']) {
      const s = props[key];
      if (s && s.type !== 'object') throw new Error(`${crd.file}: ${key} must be an object`);
    }
    const spec = props.spec;
    if (!spec) throw new Error(`${crd.file}: the schema has no spec`);
    const required = new Set(root.required ?? []);
    const lines = [
      `${jsDoc(root, '', false)}export interface ${crd.kind} {`,
      `  readonly apiVersion: '${crd.group}/${crd.version}';`,
      `  readonly kind: '${crd.kind}';`,
      '  readonly metadata: ObjectMeta;',
      `${jsDoc(spec, '  ', false)}  readonly spec${required.has('spec') ? '' : '?'}: ${crd.kind}Spec;`,
    ];
    if (props.status) lines.push(`${jsDoc(props.status, '  ', false)}  readonly status?: ${crd.kind}Status;`);
    lines.push('}', '');
    this.out.push(lines.join('\n'));
    this.emitObject(crd, `${crd.kind}Spec`, spec, 'spec', true);
    if (props.status) this.emitObject(crd, `${crd.kind}Status`, props.status, 'status', true);
  }

  private nameFor(crd: Crd, path: string): string {
    const shared = SHARED_NAMES[`${crd.kind}:${path}`] ?? SHARED_NAMES[`*:${path}`];
    if (shared) return shared;
    const segments = path.replace(/\[\]/g, '').split('.');
    const [root, ...rest] = segments;
    const name = crd.kind + rest.map(pascal).join('');
    return root === 'status' ? `${name}Status` : name;
  }

  /** Emits `interface name` for an object schema (after its nested types are known) and returns the name. */
  private emitObject(crd: Crd, name: string, schema: JsonSchema, path: string, docOnInterface: boolean): string {
    const seen = this.emitted.get(name);
    // Reserve the slot first so that a parent interface comes before the types of its fields.
    const slot = seen ? -1 : this.out.push('') - 1;
    const required = new Set(schema.required ?? []);
    const fields: string[] = [];
    for (const [key, child] of Object.entries(schema.properties ?? {})) {
      const optional = !required.has(key) && child.default === undefined;
      const type = this.typeOf(crd, child, `${path}.${key}`);
      const prop = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `'${key}'`;
      fields.push(`${jsDoc(child, '  ', true)}  readonly ${prop}${optional ? '?' : ''}: ${type};`);
    }
    const doc = docOnInterface ? jsDoc(schema, '', false) : '';
    const body = `export interface ${name} {\n${fields.join('\n')}\n}\n`;
    const where = `${crd.file} ${path}`;
    if (seen) {
      if (seen.body !== body)
        throw new Error(`${name} differs between ${seen.where} and ${where}: shared shapes must be identical`);
      // A shape shared by an array item and a field: the item's description documents the interface.
      if (doc && !seen.doc) {
        this.emitted.set(name, { ...seen, doc });
        this.out[seen.slot] = `${doc}${body}`;
      }
      return name;
    }
    this.emitted.set(name, { body, where, doc, slot });
    this.out[slot] = `${doc}${body}`;
    return name;
  }

  private typeOf(crd: Crd, schema: JsonSchema, path: string): string {
    for (const ext of [
      'x-kubernetes-preserve-unknown-fields',
      'x-kubernetes-int-or-string',
      'x-kubernetes-embedded-resource',
    ] as const) {
      if (schema[ext]) throw new Error(`${crd.file} ${path}: ${ext} is not supported by the generator`);
    }
    if (schema.enum) return schema.enum.map(literal).join(' | ');
    switch (schema.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array': {
        if (!schema.items) throw new Error(`${crd.file} ${path}: array without items`);
        const item = this.typeOf(crd, schema.items, `${path}[]`);
        return item.includes(' ') ? `readonly (${item})[]` : `readonly ${item}[]`;
      }
      case 'object': {
        if (schema.properties) {
          const isItem = path.endsWith('[]');
          return this.emitObject(crd, this.nameFor(crd, path), schema, path, isItem);
        }
        if (typeof schema.additionalProperties === 'object') {
          return `Readonly<Record<string, ${this.typeOf(crd, schema.additionalProperties, `${path}[*]`)}>>`;
        }
        throw new Error(`${crd.file} ${path}: object without properties or additionalProperties`);
      }
      default:
        throw new Error(`${crd.file} ${path}: missing or unsupported type ${String(schema.type)}`);
    }
  }
}

/** The text of src/api/types.generated.ts for the given CRDs. */
export function generateApiTypes(crds: readonly Crd[]): string {
  return new Generator(crds).run();
}

export const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const CRD_DIR = join(REPO_ROOT, 'crds');
export const GENERATED_TYPES = join(REPO_ROOT, 'src', 'api', 'types.generated.ts');

function main(argv: readonly string[]): number {
  const text = generateApiTypes(loadCrds(CRD_DIR));
  if (argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(GENERATED_TYPES, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (current === text) return 0;
    process.stderr.write(`${GENERATED_TYPES} is stale: run npx tsx scripts/gen-api-types.ts\n`);
    return 1;
  }
  writeFileSync(GENERATED_TYPES, text);
  process.stdout.write(`wrote ${GENERATED_TYPES}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
