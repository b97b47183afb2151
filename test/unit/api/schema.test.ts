// Properties every CRD schema must have: documented fields, bounded strings and lists (the CEL cost budget),
// no escape hatches, rules whose messages name their field, complete defaults, and the printer columns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CRD_DIR, applyDefaults, celStringLiterals, loadCrds, rulesOf, validateStructure, walk } from './crd-schema.js';

const crds = loadCrds(CRD_DIR);

test('there are the three CRDs', () => {
  assert.deepEqual(crds.map((c) => c.kind).sort(), ['Environment', 'PreviewDeployment', 'Service']);
});

for (const crd of crds) {
  const nodes = walk(crd.schema);

  test(`${crd.kind}: every field has a description`, () => {
    const missing = nodes
      .filter((n) => n.path !== 'metadata' && !n.schema.description?.trim())
      .map((n) => n.path || '<root>');
    assert.deepEqual(missing, []);
  });

  test(`${crd.kind}: every string has a maxLength (or an enum or date-time format) and every list a maxItems`, () => {
    const unbounded = nodes
      .filter(({ path }) => path !== 'apiVersion' && path !== 'kind')
      .filter(({ schema: s }) =>
        s.type === 'string'
          ? s.maxLength === undefined && !s.enum && s.format !== 'date-time'
          : s.type === 'array'
            ? s.maxItems === undefined
            : false,
      )
      .map((n) => n.path);
    assert.deepEqual(unbounded, [], 'unbounded strings and lists make CEL cost estimates explode');
    const maps = nodes.filter(
      (n) => typeof n.schema.additionalProperties === 'object' && n.schema.maxProperties === undefined,
    );
    assert.deepEqual(
      maps.map((n) => n.path),
      [],
    );
  });

  test(`${crd.kind}: no preserve-unknown-fields, int-or-string or embedded resources`, () => {
    const escapes = nodes.filter(
      ({ schema: s }) =>
        s['x-kubernetes-preserve-unknown-fields'] ||
        s['x-kubernetes-int-or-string'] ||
        s['x-kubernetes-embedded-resource'],
    );
    assert.deepEqual(
      escapes.map((n) => n.path),
      [],
    );
  });

  test(`${crd.kind}: every CEL rule has a message that names the field it reports`, () => {
    const rules = rulesOf(crd);
    assert.ok(rules.length > 0);
    for (const rule of rules) {
      const text = rule.message ?? celStringLiterals(rule.messageExpression ?? '').join(' ');
      assert.ok(text.trim(), `${rule.errorPath}: rule without message: ${rule.rule}`);
      assert.ok(text.includes(rule.errorPath), `${rule.errorPath}: message does not name the field: ${text}`);
      if (rule.transition)
        assert.match(text, /is immutable/, `${rule.errorPath}: transition rule messages say "is immutable"`);
      if (rule.reason)
        assert.ok(
          ['FieldValueInvalid', 'FieldValueForbidden', 'FieldValueRequired'].includes(rule.reason),
          rule.reason,
        );
    }
  });

  test(`${crd.kind}: object defaults are complete and every default is valid for its field`, () => {
    for (const { path, schema } of nodes) {
      if (schema.default === undefined) continue;
      assert.deepEqual(applyDefaults(schema, schema.default), schema.default, `${path}: default lacks nested defaults`);
      assert.deepEqual(validateStructure(schema, schema.default, path), [], `${path}: default is invalid`);
      if (schema.type !== 'object')
        assert.match(schema.description ?? '', /Default/, `${path}: the description documents the default`);
    }
  });

  test(`${crd.kind}: every object default also satisfies the CEL rules that read it`, () => {
    // The API server evaluates rules against defaults when the CRD is created; a rule on an object whose default
    // lacks a field it reads makes the CRD invalid. Objects with both a default and rules must default every field.
    for (const { path, schema } of nodes) {
      if (schema.type !== 'object' || schema.default === undefined || !schema['x-kubernetes-validations']) continue;
      const defaulted = Object.keys(schema.properties ?? {}).filter(
        (k) => schema.properties?.[k]?.default !== undefined,
      );
      assert.deepEqual(Object.keys(schema.default as object).sort(), defaulted.sort(), path);
    }
  });
}

interface RawCrd {
  spec: {
    names: { shortNames?: string[]; categories?: string[] };
    versions: {
      subresources?: { status?: object };
      additionalPrinterColumns?: { name: string; jsonPath: string; type: string; description?: string }[];
    }[];
  };
}

const expectedColumns: Record<string, string[]> = {
  Environment: ['Tier', 'Region', 'Domain', 'Ready', 'Drift', '$/month', 'Age'],
  Service: ['Environment', 'Image', 'Revision', 'Ready', 'URL', 'Drift', '$/month', 'Age'],
  PreviewDeployment: ['Service', 'PR', 'Phase', 'Ready', 'URL', 'Expires', 'Drift', '$/month', 'Age'],
};

for (const crd of crds) {
  const raw = parse(readFileSync(join(CRD_DIR, crd.file), 'utf8')) as RawCrd;
  const version = raw.spec.versions[0]!;

  test(`${crd.kind}: status subresource, category slipway, a short name`, () => {
    assert.deepEqual(version.subresources?.status, {});
    assert.deepEqual(raw.spec.names.categories, ['slipway']);
    assert.equal(raw.spec.names.shortNames?.length, 1);
    assert.equal(crd.file, `slipway.dev_${crd.plural}.yaml`);
  });

  test(`${crd.kind}: printer columns, each pointing at a field of the schema`, () => {
    const columns = version.additionalPrinterColumns ?? [];
    assert.deepEqual(
      columns.filter((c) => !('priority' in c)).map((c) => c.name),
      expectedColumns[crd.kind],
    );
    const ready = columns.find((c) => c.name === 'Ready');
    assert.equal(ready?.jsonPath, '.status.conditions[?(@.type=="Ready")].status');
    const paths = new Set(walk(crd.schema).map((n) => n.path));
    for (const column of columns) {
      if (column.jsonPath === '.metadata.creationTimestamp') continue;
      const path = column.jsonPath.replace(/^\./, '').replace(/\[\?\(.*\)\]/, '[*]');
      const field = path.endsWith('[*].status') ? path : path;
      assert.ok(paths.has(field), `${column.name}: ${column.jsonPath} is not a field of the schema`);
    }
  });
}
