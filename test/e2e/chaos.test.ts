// The short chaos run (test/chaos/): 30 Services behind the fault proxy, with operator SIGKILLs during the create
// wave and the deletion and one kube-apiserver restart. Every check of the run must pass: everything Ready, the
// exact count of each AWS kind with no duplicates, nothing left and no finalizer stuck after delete-all, and no worker
// seen (on the operator's /metrics, all run long) holding a key past the pass deadline plus 5 s. The seed is
// fixed so that a failure repeats: `npm run chaos -- --services 30 --minutes 2 --seed 8`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ChaosResults } from '../chaos/harness.js';

const root = join(import.meta.dirname, '..', '..');
const SEED = '8';

test(
  'chaos: 30 Services under AWS faults, operator kills and a kube-apiserver restart',
  { timeout: 1_200_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-chaos-test-'));
    const out = join(dir, 'results.json');
    try {
      const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            join(root, 'test/chaos/run.ts'),
            '--services',
            '30',
            '--minutes',
            '2',
            '--seed',
            SEED,
            '--out',
            out,
          ],
          { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let output = '';
        child.stdout.on('data', (d: Buffer) => (output += d.toString()));
        child.stderr.on('data', (d: Buffer) => (output += d.toString()));
        child.on('close', (c) => resolve({ code: c, output }));
      });
      assert.ok(existsSync(out), `the run wrote no results (exit ${code}):\n${output.slice(-4000)}`);
      const results = JSON.parse(readFileSync(out, 'utf8')) as ChaosResults;
      const failed = results.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
      assert.deepEqual(failed, [], `seed ${SEED}:\n${output.slice(-6000)}`);
      assert.equal(code, 0, output.slice(-4000));
      // The run did what it claims: faults of every kind were injected, and the kills and the restart happened.
      for (const kind of ['throttle', 'error5xx', 'drop', 'silent'] as const)
        assert.ok(results.injected.totals[kind] > 0, `no ${kind} fault was injected`);
      assert.ok(results.disruptions.filter((d) => d.what === 'operator SIGKILL' && d.done).length >= 5);
      assert.ok(results.disruptions.some((d) => d.what === 'kube-apiserver restart' && d.done));
      // The workers were watched: the operator's /metrics was read during the run.
      assert.ok((results.workers?.scrapes ?? 0) > 0, 'the longest-running worker was never read');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
