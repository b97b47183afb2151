// Reading `slipway plan -f` input, and the command line's own errors: every error names the file and the field.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseManifests, PlanInputError, readManifests } from '../../../src/cli/manifests.js';
import { runCli, USAGE } from '../../../src/cli/run.js';

const service = (name: string, extra = '') => `apiVersion: slipway.dev/v1alpha1
kind: Service
metadata: { name: ${name}${extra} }
spec: { environmentRef: { name: dev }, image: shop/${name}:1 }
`;

function rejects(fn: () => unknown, source: string, field: string | undefined, detail: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PlanInputError, String(err));
    assert.equal(err.source, source);
    assert.equal(err.field, field);
    assert.match(err.message, detail);
    assert.ok(err.message.startsWith(`${source}: ${field ? `${field}: ` : ''}`), err.message);
    return true;
  });
}

test('a directory is read recursively, several documents a file, other API groups skipped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-plan-'));
  mkdirSync(join(dir, 'apps', 'shop'), { recursive: true });
  writeFileSync(
    join(dir, 'apps', 'shop', 'services.yaml'),
    `${service('catalog')}---\n${service('cart', ', namespace: other')}`,
  );
  writeFileSync(join(dir, 'apps', 'config.yml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: {}\n');
  writeFileSync(join(dir, 'README.md'), '# not a manifest');
  const set = readManifests([dir], 'shop');
  assert.deepEqual(
    set.manifests.map((m) => [m.source.replace(dir, ''), m.kind, m.namespace, m.name]),
    [
      ['/apps/shop/services.yaml#1', 'Service', 'shop', 'catalog'],
      ['/apps/shop/services.yaml#2', 'Service', 'other', 'cart'],
    ],
  );
  assert.deepEqual(
    set.skipped.map((s) => s.replace(dir, '')),
    ['/apps/config.yml'],
  );
});

test('bad input names the file, the document and the field', () => {
  rejects(
    () => parseManifests(service('a').replace('kind: Service', 'kind: Servce'), 'a.yaml', 'ns'),
    'a.yaml',
    'kind',
    /unknown kind Servce in slipway\.dev; expected one of Environment, Service, PreviewDeployment/,
  );
  rejects(
    () => parseManifests(`${service('a')}---\n${service('b').replace('v1alpha1', 'v2')}`, 'b.yaml', 'ns'),
    'b.yaml#2',
    'apiVersion',
    /slipway\.dev\/v2 is not served/,
  );
  rejects(
    () => parseManifests('apiVersion: slipway.dev/v1alpha1\nkind: Service\nmetadata: {}\nspec: {}\n', 'c.yaml', 'ns'),
    'c.yaml',
    'metadata.name',
    /is required/,
  );
  rejects(
    () => parseManifests('apiVersion: slipway.dev/v1alpha1\nkind: Service\nmetadata: { name: x }\n', 'd.yaml', 'ns'),
    'd.yaml',
    'spec',
    /is required/,
  );
  rejects(
    () => parseManifests('kind: Service\nmetadata: { name: x }\n', 'e.yaml', 'ns'),
    'e.yaml',
    'apiVersion',
    /is required/,
  );
  rejects(() => parseManifests('a: [1, 2\n', 'f.yaml', 'ns'), 'f.yaml', undefined, /invalid YAML at line/);
  rejects(
    () => parseManifests(service('a', ', labels: { team: [x] }'), 'g.yaml', 'ns'),
    'g.yaml',
    'metadata.labels',
    /map of strings/,
  );
  const dir = mkdtempSync(join(tmpdir(), 'slipway-plan-'));
  writeFileSync(join(dir, 'one.yaml'), service('a'));
  writeFileSync(join(dir, 'two.yaml'), service('a'));
  rejects(
    () => readManifests([dir], 'ns'),
    join(dir, 'two.yaml'),
    'metadata.name',
    /Service\/ns\/a is also defined in .*one\.yaml/,
  );
  rejects(() => readManifests([join(dir, 'missing.yaml')], 'ns'), join(dir, 'missing.yaml'), undefined, /no such file/);
});

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: { KUBECONFIG: join(tmpdir(), 'slipway-plan-no-kubeconfig') },
  });
  return { code, stdout, stderr };
}

test('the command line: help exits 0, misuse and bad input exit 1 with the reason', async () => {
  assert.deepEqual(await cli('plan', '--help'), { code: 0, stdout: USAGE, stderr: '' });
  const noFile = await cli('plan');
  assert.equal(noFile.code, 1);
  assert.match(noFile.stderr, /^Error: -f DIR\|FILE is required/);
  const unknown = await cli('apply', '-f', 'x');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^Error: unknown command apply/);
  const output = await cli('plan', '-f', 'x', '-o', 'yaml');
  assert.equal(output.code, 1);
  assert.match(output.stderr, /--output must be text or json, got yaml/);
  const dir = mkdtempSync(join(tmpdir(), 'slipway-plan-'));
  writeFileSync(join(dir, 'svc.yaml'), service('a').replace('kind: Service', 'kind: Servce'));
  const bad = await cli('plan', '-f', dir);
  assert.equal(bad.code, 1);
  assert.equal(
    bad.stderr,
    `Error: ${join(dir, 'svc.yaml')}: kind: unknown kind Servce in slipway.dev; expected one of Environment, Service, PreviewDeployment\n`,
  );
  assert.equal(bad.stdout, '');
});
