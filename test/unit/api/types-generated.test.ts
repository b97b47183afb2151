// The committed TypeScript types are exactly what the generator makes of crds/*.yaml, so they cannot drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  CRD_DIR,
  GENERATED_TYPES,
  generateApiTypes,
  loadCrds,
  type Crd,
  type JsonSchema,
} from '../../../scripts/gen-api-types.js';

const crds = loadCrds(CRD_DIR);

test('src/api/types.generated.ts is byte-identical to a fresh generation from crds/*.yaml', () => {
  const fresh = generateApiTypes(crds);
  const committed = readFileSync(GENERATED_TYPES, 'utf8');
  assert.equal(committed, fresh, 'src/api/types.generated.ts is stale: run npx tsx scripts/gen-api-types.ts');
});

test('generation is deterministic', () => {
  assert.equal(generateApiTypes(loadCrds(CRD_DIR)), generateApiTypes(crds));
});

test('fields with a schema default or in required are non-optional; others optional; enums are literal unions', () => {
  const text = generateApiTypes(crds);
  const service = text.slice(text.indexOf('export interface ServiceSpec {'));
  const body = service.slice(0, service.indexOf('\n}\n'));
  assert.match(body, /readonly containerPort: number;/, 'containerPort has default 8080');
  assert.match(body, /readonly image: string;/, 'image is required');
  assert.match(body, /readonly subdomain\?: string;/, 'subdomain has no default');
  assert.match(body, /readonly cpu: 256 \| 512 \| 1024 \| 2048 \| 4096 \| 8192 \| 16384;/);
  assert.match(body, /readonly driftPolicy\?: 'Correct' \| 'Report';/, 'absent driftPolicy means inherit');
  assert.match(body, /readonly autoscaling\?: ServiceAutoscaling;/);
  assert.match(body, /readonly healthCheck: ServiceHealthCheck;/, 'healthCheck defaults to a complete object');
  assert.match(body, /@default 8080/);
  assert.match(text, /readonly tags\?: Readonly<Record<string, string>>;/);
  assert.match(text, /readonly conditions\?: readonly Condition\[\];/);
});

function clone(crd: Crd, edit: (schema: { properties: Record<string, JsonSchema> }) => void): Crd {
  const schema = structuredClone(crd.schema) as JsonSchema & { properties: Record<string, JsonSchema> };
  edit(schema);
  return { ...crd, schema };
}

test('a shared shape that differs between CRDs is refused rather than silently renamed', () => {
  const [first, ...rest] = crds;
  const changed = clone(first!, (s) => {
    const status = s.properties.status as {
      properties: Record<string, { items: { properties: Record<string, JsonSchema> } }>;
    };
    status.properties.conditions!.items.properties.reason = { type: 'string', description: 'changed' };
  });
  assert.throws(() => generateApiTypes([changed, ...rest]), /Condition differs between/);
});

test('the generator refuses schema escapes it cannot type', () => {
  const [first, ...rest] = crds;
  const changed = clone(first!, (s) => {
    (s.properties.spec as { properties: Record<string, JsonSchema> }).properties.extra = {
      type: 'object',
      description: 'anything',
      'x-kubernetes-preserve-unknown-fields': true,
    };
  });
  assert.throws(() => generateApiTypes([changed, ...rest]), /x-kubernetes-preserve-unknown-fields is not supported/);
});
