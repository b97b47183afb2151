// The test command: builds or reuses the servers, starts the local environment, runs every test file with node's
// test runner against it, and tears it all down — also when the run fails or is interrupted.
//   npm test            unit + integration tests
//   npm test -- --unit  unit tests only (no servers)
//   npm test -- FILE... only these files (integration files get the environment)
//
// Integration and e2e files run in lanes (SLIPWAY_TEST_LANES, default 2): each lane is one `node --test` process
// that runs its files one at a time against its own API server and emulator, since integration files assume they
// are alone on both (the Helm test installs and removes the CRDs; several tests count what exists in the AWS
// account). Most of an integration test is waiting on the operator and the emulator, so two lanes on two cores
// finish in a little more than half the time of one. Unit files run in one more lane, with no servers. Files are
// balanced across lanes by how long they took last time (a table of seeds in test/durations.json, refined per
// machine in the cache).
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { ensureHelm } from './env/build.js';
import { startLocalEnvironment, type LocalEnvironment } from './env/index.js';
import { onInterrupt } from './env/interrupt.js';
import { cacheRoot } from './env/versions.js';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const explicit = args.filter((a) => !a.startsWith('--'));

function testFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

const files =
  explicit.length > 0
    ? explicit
    : unitOnly
      ? testFiles('test/unit')
      : [...testFiles('test/unit'), ...testFiles('test/integration'), ...testFiles('test/e2e')];
const needsEnv = (f: string): boolean => !f.startsWith('test/unit');
const usesHelm = (f: string): boolean => /chart|helm/.test(f);

// ---- Balancing: longest file first onto the lane with the least work (durations in ms) ----

const SEED_FILE = join(root, 'test/durations.json');
const CACHE_FILE = join(cacheRoot(), 'test-durations.json');

function readDurations(file: string): Record<string, number> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

const known = { ...readDurations(SEED_FILE), ...readDurations(CACHE_FILE) };
// A file never timed yet: guess from its size (integration files spend far more time per line than unit files).
const estimate = (f: string): number => known[f] ?? statSync(join(root, f)).size * (needsEnv(f) ? 4 : 0.2);

// Unit files need no servers: they run in a lane of their own, started at once, beside the integration lanes (whose
// files mostly wait on the operator and the emulator) and, on a cold machine, beside the server builds.
const unitFiles = files.filter((f) => !needsEnv(f));
const envFiles = files.filter(needsEnv);
const laneCount = Math.max(1, Math.min(Number(process.env.SLIPWAY_TEST_LANES ?? 2) || 1, envFiles.length));
const lanes: { files: string[]; load: number; label: string }[] = Array.from({ length: laneCount }, (_, i) => ({
  files: [],
  load: 0,
  label: String(i + 1),
}));
for (const f of [...envFiles].sort((a, b) => estimate(b) - estimate(a))) {
  const lane = lanes.reduce((min, l) => (l.load < min.load ? l : min));
  lane.files.push(f);
  lane.load += estimate(f);
}
if (envFiles.length === 0) lanes.length = 0;
if (unitFiles.length > 0) lanes.push({ files: unitFiles, load: 0, label: 'u' });

// ---- One lane: its environment if it needs one, then `node --test` over its files ----

interface LaneResult {
  readonly code: number;
  readonly counts: Record<string, number>;
}

const reportDir = mkdtempSync(join(tmpdir(), 'slipway-test-'));
const environments: LocalEnvironment[] = [];

async function runLane(label: string, laneFiles: readonly string[], helm?: Promise<string>): Promise<LaneResult> {
  const env = laneFiles.some(needsEnv) ? await startLocalEnvironment() : undefined;
  if (env) environments.push(env);
  if (laneFiles.some(usesHelm)) await helm;
  const prefix = lanes.length > 1 ? `[${label}] ` : '';
  const counts: Record<string, number> = {};
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'test/lane.ts'), join(reportDir, `lane-${label}.jsonl`), ...laneFiles],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
        // A process group of its own: interrupted, the run stops the lane with every test file it runs and what those
        // started (an operator, the sandbox), whichever signal reached the run (see stopLane).
        detached: true,
        // The SDK is pinned to the last versions that support Node 20; its reminder about that is noise in test output.
        env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env, ...env?.exports },
      },
    );
    // Lines are prefixed with their lane so that two lanes' output can be told apart; the counts are summed.
    const pipe = (from: NodeJS.ReadableStream, to: NodeJS.WritableStream) => {
      let rest = '';
      from.setEncoding('utf8');
      from.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop()!;
        for (const line of lines) {
          const count = /^ℹ (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$/.exec(line);
          if (count) counts[count[1]!] = Number(count[2]);
          to.write(`${prefix}${line}\n`);
        }
      });
      from.on('end', () => rest && to.write(`${prefix}${rest}\n`));
    };
    pipe(child.stdout, process.stdout);
    pipe(child.stderr, process.stderr);
    const release = onInterrupt(() => stopLane(child.pid));
    child.on('close', (c, signal) => {
      release();
      resolve(c ?? (signal ? 1 : 0));
    });
  });
  return { code, counts };
}

/** Whether a process of the group led by `pid` is still running (zombies do not count: nobody may reap them). */
function groupAlive(pid: number): boolean {
  if (!existsSync('/proc')) {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pid && state !== 'Z') return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

const signalGroup = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
};

/**
 * SIGTERM to the lane's process group, and a wait until it is empty (a sandbox under test stops its own servers
 * first); SIGKILL to whatever is left after 30 s. Registered with the run's interrupt cleanups, which stop the lanes'
 * environments after them.
 */
async function stopLane(pid: number | undefined): Promise<void> {
  if (pid === undefined || !groupAlive(pid)) return;
  signalGroup(pid, 'SIGTERM');
  const until = Date.now() + 30_000;
  while (groupAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pid)) signalGroup(pid, 'SIGKILL');
}

/** Merges this run's file durations into the per-machine table used to balance the next run. */
function recordDurations(): void {
  const measured: Record<string, number> = {};
  for (const entry of readdirSync(reportDir)) {
    for (const line of readFileSync(join(reportDir, entry), 'utf8').split('\n')) {
      if (!line) continue;
      const { file, ms } = JSON.parse(line) as { file: string; ms: number };
      measured[relative(root, file)] = ms;
    }
  }
  if (Object.keys(measured).length === 0) return;
  mkdirSync(dirname(CACHE_FILE), { recursive: true });
  writeFileSync(CACHE_FILE, `${JSON.stringify({ ...readDurations(CACHE_FILE), ...measured }, null, 2)}\n`);
}

const started = Date.now();
let code = 1;
try {
  // Helm (for the chart tests) builds alongside the servers, so a cold machine pays for the builds once, in parallel.
  const helm = files.some(usesHelm) ? ensureHelm() : undefined;
  helm?.catch(() => undefined); // a lane that needs Helm awaits it and reports the failure
  process.stderr.write(
    `[test] ${files.length} test files in ${lanes.length} lane(s): ${lanes.map((l) => `${l.files.length} [${l.label}]`).join(' + ')}\n`,
  );
  const results = await Promise.all(lanes.map((lane) => runLane(lane.label, lane.files, helm)));
  const total = (key: string) => results.reduce((n, r) => n + (r.counts[key] ?? 0), 0);
  process.stderr.write(
    `[test] all lanes: ${total('tests')} tests, ${total('pass')} passed, ${total('fail')} failed, ` +
      `${total('cancelled')} cancelled, ${total('skipped')} skipped, ${total('todo')} todo\n`,
  );
  code = results.every((r) => r.code === 0) ? 0 : 1;
  recordDurations();
} catch (err) {
  process.stderr.write(`[test] ${err instanceof Error ? err.message : String(err)}\n`);
  code = 1;
} finally {
  await Promise.all(environments.map((e) => e.stop()));
  rmSync(reportDir, { recursive: true, force: true });
}
process.stderr.write(`[test] finished in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
process.exit(code);
