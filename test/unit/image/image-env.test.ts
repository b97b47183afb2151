// The environment of the image's final stage, which the image test and the memory benchmark give `node dist/main.js`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
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
