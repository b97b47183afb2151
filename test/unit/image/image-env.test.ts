// The environment of the image's final stage, which the image test and the memory benchmark give `node dist/main.js`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { imageEnv } from '../../support/dockerfile.js';

test('only the final stage counts, in both ENV forms, with quotes and continuations', () => {
  const dockerfile = [
    'FROM node:22 AS build',
    'ENV BUILD_ONLY=1',
    'FROM node:22-slim',
    'ENV A=1 B="two words" \\',
    '    C=3',
    'ENV LEGACY some value',
    'CMD ["node"]',
  ].join('\n');
  assert.deepEqual(imageEnv(dockerfile), { A: '1', B: 'two words', C: '3', LEGACY: 'some value' });
});

test('the image runs in production mode', () => {
  const env = imageEnv(readFileSync(join(import.meta.dirname, '..', '..', '..', 'Dockerfile'), 'utf8'));
  assert.equal(env.NODE_ENV, 'production');
});

test("V8's old space is capped inside the chart's default memory limit, with room for code and the young generation", () => {
  const env = imageEnv(readFileSync(join(import.meta.dirname, '..', '..', '..', 'Dockerfile'), 'utf8'));
  const oldSpaceMiB = Number(/--max-old-space-size=(\d+)/.exec(env.NODE_OPTIONS ?? '')?.[1]);
  const values = parse(
    readFileSync(join(import.meta.dirname, '..', '..', '..', 'charts', 'slipway', 'values.yaml'), 'utf8'),
  ) as {
    resources: { limits: { memory: string } };
  };
  const limit = /^(\d+)Mi$/.exec(values.resources.limits.memory);
  assert.ok(limit, 'the chart states its memory limit in Mi');
  assert.ok(oldSpaceMiB > 0, 'NODE_OPTIONS sets --max-old-space-size');
  assert.ok(oldSpaceMiB + 128 <= Number(limit[1]), `${oldSpaceMiB} MiB of old space leaves 128 MiB of ${limit[1]}Mi`);
});
