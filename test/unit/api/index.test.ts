// The constants of src/api/index.ts agree with the CRDs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  API_VERSION,
  CATEGORY,
  GROUP,
  KINDS,
  MAX_DRIFT_ITEMS,
  PLURALS,
  RESOURCES,
  SHORT_NAMES,
  VERSION,
} from '../../../src/api/index.js';
import { CRD_DIR, loadCrds, walk } from './crd-schema.js';

const crds = loadCrds(CRD_DIR);
const keys = ['environment', 'service', 'previewDeployment'] as const;

test('group, version and apiVersion', () => {
  assert.equal(GROUP, 'slipway.dev');
  assert.equal(VERSION, 'v1alpha1');
  assert.equal(API_VERSION, 'slipway.dev/v1alpha1');
  for (const crd of crds) {
    assert.equal(crd.group, GROUP);
    assert.equal(crd.version, VERSION);
  }
});

test('kinds, plurals, short names, category and CRD names match crds/', () => {
  for (const key of keys) {
    const crd = crds.find((c) => c.kind === KINDS[key]);
    assert.ok(crd, `no CRD for ${KINDS[key]}`);
    assert.equal(crd.plural, PLURALS[key]);
    assert.deepEqual(crd.shortNames, [SHORT_NAMES[key]]);
    assert.deepEqual(crd.categories, [CATEGORY]);
    const raw = parse(readFileSync(join(CRD_DIR, crd.file), 'utf8')) as { metadata: { name: string } };
    const resource = RESOURCES.find((r) => r.kind === crd.kind);
    assert.equal(resource?.crdName, raw.metadata.name);
    assert.equal(resource?.plural, crd.plural);
  }
  assert.equal(RESOURCES.length, crds.length);
});

test('MAX_DRIFT_ITEMS is the maxItems of status.drift in every CRD', () => {
  for (const crd of crds) {
    const drift = walk(crd.schema).find((n) => n.path === 'status.drift');
    assert.equal(drift?.schema.maxItems, MAX_DRIFT_ITEMS, crd.kind);
  }
});
