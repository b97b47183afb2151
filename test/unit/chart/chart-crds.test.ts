// crds/ is the one source of truth for the CRDs. A chart cannot reach files outside its folder, so
// charts/slipway/crds/ holds copies, and this test keeps them byte-identical (see charts/slipway/README.md for why
// copies and not a symlink). After changing crds/: cp crds/*.yaml charts/slipway/crds/
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHART_DIR, REPO_ROOT } from './helm.js';

const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();

test('charts/slipway/crds/ holds exactly the files of crds/, byte for byte', () => {
  const source = join(REPO_ROOT, 'crds');
  const copy = join(CHART_DIR, 'crds');
  assert.ok(yamlFiles(source).length >= 3);
  assert.deepEqual(yamlFiles(copy), yamlFiles(source), 'the same file names');
  for (const file of yamlFiles(source)) {
    const same = readFileSync(join(source, file)).equals(readFileSync(join(copy, file)));
    assert.ok(same, `charts/slipway/crds/${file} differs from crds/${file}: run cp crds/*.yaml charts/slipway/crds/`);
  }
});
