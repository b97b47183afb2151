// Helpers for the API tests: walk the CRD schemas, list their CEL rules with the field path each one reports,
// read the invalid fixtures, and check values against the structural part of a schema (types, enums, patterns,
// bounds, required and unknown fields; CEL rules are left to the API server, see test/integration/crds.test.ts).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  CRD_DIR,
  REPO_ROOT,
  loadCrds,
  type CelRule,
  type Crd,
  type JsonSchema,
} from '../../../scripts/gen-api-types.js';

export { CRD_DIR, REPO_ROOT, loadCrds, type CelRule, type Crd, type JsonSchema };

export const EXAMPLES_DIR = join(REPO_ROOT, 'examples');
export const INVALID_DIR = join(REPO_ROOT, 'test', 'fixtures', 'invalid');
export const IMMUTABLE_FILE = join(REPO_ROOT, 'test', 'fixtures', 'immutable-changes.yaml');
export const EXPECT_ERROR = 'slipway.dev/expect-error';
export const EXPECT_MESSAGE = 'slipway.dev/expect-message';

export interface SchemaNode {
  /** Dotted path from the root: `spec.network.subnetIds[*]`, `spec.tags[*]` for map values. */
  readonly path: string;
  readonly schema: JsonSchema;
  /** How the node hangs off its parent. */
  readonly via: 'root' | 'property' | 'items' | 'additionalProperties';
}

/** Every schema node under (and including) `schema`, depth first. */
export function walk(schema: JsonSchema, path = '', via: SchemaNode['via'] = 'root'): SchemaNode[] {
  const nodes: SchemaNode[] = [{ path, schema, via }];
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    nodes.push(...walk(child, path ? `${path}.${key}` : key, 'property'));
  }
  if (schema.items) nodes.push(...walk(schema.items, `${path}[*]`, 'items'));
  if (typeof schema.additionalProperties === 'object') {
    nodes.push(...walk(schema.additionalProperties, `${path}[*]`, 'additionalProperties'));
  }
  return nodes;
}

export interface LocatedRule extends CelRule {
  readonly kind: string;
  /** Where the rule is declared. */
  readonly declaredAt: string;
  /** The field path the API server reports when the rule fails (declaredAt + fieldPath). */
  readonly errorPath: string;
  /** A transition rule (uses oldSelf): only checked on updates. */
  readonly transition: boolean;
}

export function rulesOf(crd: Crd): LocatedRule[] {
  return walk(crd.schema).flatMap((node) =>
    (node.schema['x-kubernetes-validations'] ?? []).map((rule) => {
      const suffix = rule.fieldPath ?? '';
      const errorPath = `${node.path}${suffix}`.replace(/^\./, '');
      return { ...rule, kind: crd.kind, declaredAt: node.path, errorPath, transition: /\boldSelf\b/.test(rule.rule) };
    }),
  );
}

/** The string literals of a CEL expression (single- or double-quoted, no escapes needed here). */
export function celStringLiterals(expression: string): string[] {
  return [...expression.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => (m[1] ?? m[2] ?? '').replace(/\s+/g, ' '));
}

/** Field paths in API-server form with list indexes turned into `[*]`: spec.env[1].name → spec.env[*].name. */
export const normalisePath = (path: string): string => path.replace(/\[\d+\]/g, '[*]');

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly annotations?: Record<string, string>;
  };
  readonly spec?: unknown;
}

export function readYamlDocuments(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'), { uniqueKeys: true }).map((doc, i) => {
    if (doc.errors.length > 0)
      throw new Error(`${file} document ${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as KubeObject;
  });
}

export interface InvalidFixture {
  readonly file: string;
  readonly object: KubeObject;
  readonly expectError: string;
  readonly expectMessage: string | undefined;
}

export function loadInvalidFixtures(): InvalidFixture[] {
  return readdirSync(INVALID_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) =>
      readYamlDocuments(join(INVALID_DIR, f)).map((object) => {
        const annotations = object.metadata.annotations ?? {};
        const expectError = annotations[EXPECT_ERROR];
        if (!expectError) throw new Error(`${f} ${object.metadata.name}: no ${EXPECT_ERROR} annotation`);
        return { file: f, object, expectError, expectMessage: annotations[EXPECT_MESSAGE] };
      }),
    );
}

/** A change to an immutable field of one of the examples (test/fixtures/immutable-changes.yaml). */
export interface ImmutableChange {
  readonly kind: string;
  readonly name: string;
  readonly patch: Record<string, unknown>;
  readonly expectError: string;
  readonly expectMessage: string;
  /**
   * The file under examples/ that holds the object, when it is not one of examples/*.yaml (those the sandbox
   * applies as one platform), e.g. `network/private-network.yaml`.
   */
  readonly example?: string;
}

export function loadImmutableChanges(): ImmutableChange[] {
  const [doc] = readYamlDocuments(IMMUTABLE_FILE) as unknown as ImmutableChange[][];
  return doc ?? [];
}

export function loadExamples(): KubeObject[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => readYamlDocuments(join(EXAMPLES_DIR, f)));
}

const chars = (s: string): number => [...s].length;

/**
 * Structural validation of `value` against `schema` after applying defaults, as the API server does before CEL:
 * returns the error messages, each prefixed with its field path. Metadata is not checked.
 */
export function validateStructure(schema: JsonSchema, value: unknown, path = ''): string[] {
  const at = path || '<root>';
  const errors: string[] = [];
  if (schema.enum && !schema.enum.includes(value as string | number))
    errors.push(`${at}: ${JSON.stringify(value)} not in enum`);
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') return [`${at}: expected a string`];
      if (schema.minLength !== undefined && chars(value) < schema.minLength)
        errors.push(`${at}: shorter than ${schema.minLength}`);
      if (schema.maxLength !== undefined && chars(value) > schema.maxLength)
        errors.push(`${at}: longer than ${schema.maxLength}`);
      if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value))
        errors.push(`${at}: does not match ${schema.pattern}`);
      if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) errors.push(`${at}: not a date-time`);
      break;
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || (schema.type === 'integer' && !Number.isInteger(value)))
        return [`${at}: expected an ${schema.type}`];
      if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${at}: below ${schema.minimum}`);
      if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${at}: above ${schema.maximum}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return [`${at}: expected a boolean`];
      break;
    case 'array': {
      if (!Array.isArray(value)) return [`${at}: expected a list`];
      if (schema.minItems !== undefined && value.length < schema.minItems)
        errors.push(`${at}: fewer than ${schema.minItems} items`);
      if (schema.maxItems !== undefined && value.length > schema.maxItems)
        errors.push(`${at}: more than ${schema.maxItems} items`);
      const listType = schema['x-kubernetes-list-type'];
      const keyOf = (item: unknown): string =>
        listType === 'map'
          ? JSON.stringify(
              (schema['x-kubernetes-list-map-keys'] ?? []).map((k) => (item as Record<string, unknown>)[k]),
            )
          : JSON.stringify(item);
      if (listType === 'set' || listType === 'map') {
        const seen = new Set<string>();
        value.forEach((item, i) => {
          const key = keyOf(item);
          if (seen.has(key)) errors.push(`${path}[${i}]: duplicate ${key}`);
          seen.add(key);
        });
      }
      value.forEach(
        (item, i) => schema.items && errors.push(...validateStructure(schema.items, item, `${path}[${i}]`)),
      );
      break;
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: expected an object`];
      const obj = value as Record<string, unknown>;
      for (const key of schema.required ?? [])
        if (!(key in obj)) errors.push(`${path ? `${path}.` : ''}${key}: required`);
      if (schema.maxProperties !== undefined && Object.keys(obj).length > schema.maxProperties)
        errors.push(`${at}: more than ${schema.maxProperties} properties`);
      for (const [key, child] of Object.entries(obj)) {
        const childPath = path ? `${path}.${key}` : key;
        if (path === '' && key === 'metadata') continue;
        const childSchema =
          schema.properties?.[key] ??
          (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
        if (!childSchema) errors.push(`${childPath}: unknown field`);
        else errors.push(...validateStructure(childSchema, child, childPath));
      }
      break;
    }
    default:
      break;
  }
  return errors;
}

/** `value` with the schema's defaults filled in, the way the API server defaults an object it decodes. */
export function applyDefaults(schema: JsonSchema, value: unknown): unknown {
  if (schema.type === 'object' && value && typeof value === 'object' && !Array.isArray(value)) {
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const [key, child] of Object.entries(schema.properties ?? {})) {
      if (out[key] === undefined && child.default !== undefined) out[key] = structuredClone(child.default);
      if (out[key] !== undefined) out[key] = applyDefaults(child, out[key]);
    }
    if (typeof schema.additionalProperties === 'object') {
      for (const key of Object.keys(out)) {
        if (!schema.properties?.[key]) out[key] = applyDefaults(schema.additionalProperties, out[key]);
      }
    }
    return out;
  }
  if (schema.type === 'array' && Array.isArray(value) && schema.items)
    return value.map((v) => applyDefaults(schema.items!, v));
  return value;
}

export function crdFor(crds: readonly Crd[], kind: string): Crd {
  const crd = crds.find((c) => c.kind === kind);
  if (!crd) throw new Error(`no CRD for kind ${kind}`);
  return crd;
}
