// A small snapshot helper for node:test on Node 20 (which has no built-in snapshots). Snapshots are committed
// under test/unit/__snapshots__; UPDATE_SNAPSHOTS=1 rewrites them. A missing snapshot fails: a first run must
// never pass by writing what it was supposed to check.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', 'unit', '__snapshots__');

export function matchSnapshot(name: string, value: unknown): void {
  const file = join(dir, `${name}.json`);
  const actual = JSON.stringify(value, null, 2) + '\n';
  if (process.env.UPDATE_SNAPSHOTS === '1') {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  assert.ok(
    existsSync(file),
    `snapshot ${name} is missing: run UPDATE_SNAPSHOTS=1 npm run test:unit, review it, and commit it`,
  );
  assert.equal(
    actual,
    readFileSync(file, 'utf8'),
    `snapshot ${name} differs (UPDATE_SNAPSHOTS=1 rewrites it after review)`,
  );
}
