// test/env/interrupt.ts in a process of its own, interrupted the way Ctrl-C under npm does it (SIGINT twice: from the
// terminal, then forwarded by npm): every cleanup still registered runs once, newest first, and the process exits 130.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const MODULE = pathToFileURL(join(import.meta.dirname, '..', '..', 'env', 'interrupt.ts')).href;

const SCRIPT = `
const { onInterrupt } = await import(${JSON.stringify(MODULE)});
onInterrupt(async () => { await new Promise((r) => setTimeout(r, 300)); console.log('servers'); });
onInterrupt(() => console.log('operator'));
onInterrupt(() => console.log('released'))();
console.log('ready');
setInterval(() => {}, 1000);
`;

test('an interrupted run runs each registered cleanup once, newest first, through a repeated SIGINT', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('ready\n')) resolve();
    }),
  );
  child.kill('SIGINT');
  // The second once the first is being handled (sent at once, the kernel may merge them into one).
  let err = '';
  child.stderr.setEncoding('utf8');
  await new Promise<void>((resolve) =>
    child.stderr.on('data', (chunk: string) => {
      err += chunk;
      if (err.includes('SIGINT: stopping')) resolve();
    }),
  );
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  assert.deepEqual(out.trim().split('\n'), ['ready', 'operator', 'servers']);
});
