// Static checks as part of `npm test`, so CI (which runs exactly that) fails on a type error, a broken layer
// boundary or unformatted code: the type checker, ESLint (with the architecture's import rules) and Prettier.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

function run(command: string, args: readonly string[]): { code: number | null; output: string } {
  const out = spawnSync(command, args, { cwd: root, encoding: 'utf8', timeout: 300_000 });
  return { code: out.status, output: `${out.stdout ?? ''}${out.stderr ?? ''}`.trim() };
}

test('the type checker accepts src, test, scripts and bench', () => {
  const r = run(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
  assert.equal(r.code, 0, r.output);
});

test('ESLint passes, layer boundaries included', () => {
  const r = run(bin('eslint'), ['.']);
  assert.equal(r.code, 0, r.output);
});

test('every TypeScript and JavaScript file is formatted by Prettier', () => {
  const r = run(bin('prettier'), ['--check', '--log-level=warn', '**/*.{ts,js,mjs}']);
  assert.equal(r.code, 0, `unformatted (run npm run format):\n${r.output}`);
});
