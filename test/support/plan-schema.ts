// docs/plan-schema.json with its $refs inlined, and a check of a value against it (the structural checks the CRD
// tests use: types, enums, bounds, required and unknown fields).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateStructure, type JsonSchema } from '../unit/api/crd-schema.js';

export const PLAN_SCHEMA_FILE = join(import.meta.dirname, '..', '..', 'docs', 'plan-schema.json');

function inline(node: unknown, defs: Record<string, unknown>): unknown {
  if (Array.isArray(node)) return node.map((n) => inline(n, defs));
  if (typeof node !== 'object' || node === null) return node;
  const ref = (node as { $ref?: string }).$ref;
  if (ref) {
    const name = ref.replace('#/$defs/', '');
    if (!(name in defs)) throw new Error(`${PLAN_SCHEMA_FILE}: unknown $ref ${ref}`);
    return inline(defs[name], defs);
  }
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k]) => k !== '$defs')
      .map(([k, v]) => [k, inline(v, defs)]),
  );
}

export function planSchema(): JsonSchema {
  const raw = JSON.parse(readFileSync(PLAN_SCHEMA_FILE, 'utf8')) as { $defs?: Record<string, unknown> };
  return inline(raw, raw.$defs ?? {}) as JsonSchema;
}

/** Errors of `value` against docs/plan-schema.json; empty when it conforms. */
export function planSchemaErrors(value: unknown): string[] {
  return validateStructure(planSchema(), value);
}
