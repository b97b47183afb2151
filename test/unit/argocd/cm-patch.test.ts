// argocd/argocd-cm-patch.yaml is generated from argocd/health/*.lua: the committed file must be what the generator
// writes now, and each key must carry its script byte for byte under the name Argo CD looks up.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import {
  GROUP,
  HEALTH_DIR,
  HEALTH_SCRIPTS,
  PATCH_FILE,
  healthKey,
  renderArgocdCmPatch,
} from '../../../scripts/gen-argocd-cm.js';
import { CRD_DIR, loadCrds } from '../api/crd-schema.js';

interface ConfigMapPatch {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly data: Record<string, string>;
}

test('the committed patch is what scripts/gen-argocd-cm.ts generates from the scripts', () => {
  assert.equal(readFileSync(PATCH_FILE, 'utf8'), renderArgocdCmPatch(), 'stale: run npx tsx scripts/gen-argocd-cm.ts');
});

test('the patch is an argocd-cm ConfigMap whose keys carry each script verbatim', () => {
  const patch = parse(readFileSync(PATCH_FILE, 'utf8')) as ConfigMapPatch;
  assert.equal(patch.apiVersion, 'v1');
  assert.equal(patch.kind, 'ConfigMap');
  assert.equal(patch.metadata.name, 'argocd-cm');
  assert.deepEqual(Object.keys(patch.data).sort(), HEALTH_SCRIPTS.map((s) => healthKey(s.kind)).sort());
  for (const { kind, file } of HEALTH_SCRIPTS) {
    assert.equal(patch.data[healthKey(kind)], readFileSync(join(HEALTH_DIR, file), 'utf8'), kind);
  }
});

test('one script per Slipway kind, keyed as Argo CD looks them up: resource.customizations.health.<group>_<kind>', () => {
  const kinds = loadCrds(CRD_DIR)
    .map((c) => c.kind)
    .sort();
  assert.deepEqual(HEALTH_SCRIPTS.map((s) => s.kind).sort(), kinds);
  for (const crd of loadCrds(CRD_DIR)) assert.equal(crd.group, GROUP, crd.kind);
  assert.equal(healthKey('Service'), 'resource.customizations.health.slipway.dev_Service');
  assert.deepEqual(
    readdirSync(HEALTH_DIR)
      .filter((f) => f.endsWith('.lua'))
      .sort(),
    HEALTH_SCRIPTS.map((s) => s.file).sort(),
  );
});

test('the generator embeds whatever the scripts say: a changed script changes the patch', () => {
  const changed = renderArgocdCmPatch((file) =>
    file === 'service.lua' ? 'return { status = "Healthy" }\n' : readFileSync(join(HEALTH_DIR, file), 'utf8'),
  );
  const data = (parse(changed) as ConfigMapPatch).data;
  assert.equal(data[healthKey('Service')], 'return { status = "Healthy" }\n');
  assert.notEqual(changed, renderArgocdCmPatch());
});
