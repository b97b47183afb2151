// `node --import tsx bench/interrupt-check.ts [--script bench|bench:memory|env|sandbox|test|chaos]
//                                              [--signal SIGTERM|SIGINT]`
//
// Interrupts an npm script and checks that it leaves nothing running. Starts `npm run <script>` (small: a one-Service
// benchmark, the sandbox, one integration test file, a one-Service chaos run) as the leader of a process group of
// its own, waits until it runs what it is for (its operator, or the environment alone for `env`), notes every
// process under npm (etcd, kube-apiserver, kube-controller-manager and moto lead groups of their own but are still
// children of the run; the operator's process where it has one; a test lane's group), then sends the signal:
// SIGTERM to npm alone (what a supervisor or `kill` does; npm forwards it to its script), or SIGINT to the whole
// group (what Ctrl-C does). It waits for npm to exit and for every noted process to be gone. Exit 0 when none is
// left; 1 naming the ones left (which it then kills: they are its own).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '..');

interface Target {
  readonly args: readonly string[];
  /** The line the run logs once it is going. */
  readonly ready: RegExp;
  /** A process that must be running too before the signal (an operator, a test file), by its command line. */
  readonly running?: RegExp;
  /** Operator processes of its own: how to recognise them, and how many there must be. */
  readonly operators?: { readonly command: string; readonly count: number };
}

const TARGETS: Readonly<Record<string, Target>> = {
  'bench:memory': {
    args: ['run', 'bench:memory', '--', '--services', '1', '--previews', '0', '--steady', '0'],
    ready: /\[bench:memory\] start: /,
    operators: { command: 'dist/main.js', count: 1 },
  },
  bench: {
    args: ['run', 'bench', '--', '--services', '1', '--samples', '0', '--idle-window', '0'],
    ready: /\[bench\] \d+ Environment\(s\)|\[bench\] Environments Ready/,
  },
  env: { args: ['run', 'env'], ready: /Slipway local environment is up/ },
  sandbox: {
    args: ['run', 'sandbox'],
    ready: /operator pid \d+/,
    operators: { command: 'src/main.ts', count: 1 },
  },
  // A file that runs for a while (shards: about a minute), interrupted once its test process runs.
  test: {
    args: ['test', '--', 'test/integration/shards.test.ts'],
    ready: /\[env\] up: /,
    running: /tsx test\/integration\/shards\.test\.ts/,
  },
  chaos: {
    args: ['run', 'chaos', '--', '--services', '1', '--minutes', '1', '--seed', '1'],
    ready: /\[chaos\] /,
    running: /src\/main\.ts/,
    operators: { command: 'src/main.ts', count: 1 },
  },
};

const { values } = parseArgs({
  options: {
    script: { type: 'string', default: 'bench:memory' },
    signal: { type: 'string', default: 'SIGTERM' },
  },
});
const script = values.script;
const signal = values.signal;
const target = TARGETS[script];
if (!target) throw new Error(`--script must be one of ${Object.keys(TARGETS).join(', ')}`);
if (signal !== 'SIGTERM' && signal !== 'SIGINT') throw new Error(`--signal must be SIGTERM or SIGINT`);

const log = (line: string) => process.stderr.write(`[interrupt-check] ${line}\n`);
const args = [...target.args];
// dist/ as it is, when built (its freshness does not matter here)
if (script === 'bench:memory' && existsSync(join(root, 'dist', 'main.js'))) args.push('--no-build');

const logFile = join(tmpdir(), `slipway-interrupt-check-${process.pid}.log`);
const fd = openSync(logFile, 'w');
const npm = spawn('npm', args, { cwd: root, stdio: ['ignore', fd, fd], detached: true });
closeSync(fd);
const npmPid = npm.pid!;
const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
log(`npm ${args.join(' ')}: pid ${npmPid}, log ${logFile}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every live descendant of `pid`, from /proc (detached children keep their parent). */
function descendants(pid: number): Map<number, string> {
  const parent = new Map<number, number>();
  const command = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(entry), ppid);
      command.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim());
    } catch {
      /* gone meanwhile */
    }
  }
  const out = new Map<number, string>();
  const walk = (p: number) => {
    for (const [child, pp] of parent) {
      if (pp === p && !out.has(child)) {
        out.set(child, command.get(child) ?? '?');
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    // A zombie (exited, not yet reaped) counts as gone.
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

let code = 0;
try {
  const deadline = Date.now() + 15 * 60_000; // the first bench:memory builds dist/ first
  const going = () =>
    target.ready.test(readFileSync(logFile, 'utf8')) &&
    (!target.running || [...descendants(npmPid).values()].some((c) => target.running!.test(c)));
  while (!going()) {
    if (npm.exitCode !== null || npm.signalCode !== null) throw new Error(`npm exited before the run got going`);
    if (Date.now() > deadline) throw new Error('the run did not get going within 15 minutes');
    await sleep(250);
  }
  const noted = descendants(npmPid);
  const servers = [...noted.values()].filter((c) => /etcd|kube-apiserver|kube-controller-manager|moto/.test(c));
  const operators = [...noted.values()].filter((c) => !!target.operators && c.includes(target.operators.command));
  log(`${noted.size} processes under npm (${servers.length} servers, ${operators.length} operator processes)`);
  if (servers.length < 4) throw new Error(`expected etcd, kube-apiserver, kube-controller-manager and moto`);
  if (target.operators && operators.length !== target.operators.count) {
    throw new Error(`expected ${target.operators.count} operator process(es) running ${target.operators.command}`);
  }

  const sentAt = Date.now();
  if (signal === 'SIGTERM') process.kill(npmPid, 'SIGTERM');
  else process.kill(-npmPid, 'SIGINT');
  log(`${signal} sent to ${signal === 'SIGTERM' ? `npm (${npmPid})` : `process group ${npmPid}`}`);
  await Promise.race([exited, sleep(60_000)]);
  log(
    `npm ${npm.exitCode !== null || npm.signalCode !== null ? `exited (${npm.exitCode ?? npm.signalCode})` : 'STILL RUNNING'} after ${Date.now() - sentAt} ms`,
  );
  // What the run stopped is gone by the time it exits; a little slack for the last exits to be reaped.
  const until = Date.now() + 5_000;
  let left = [...noted].filter(([pid]) => alive(pid));
  while (left.length > 0 && Date.now() < until) {
    await sleep(200);
    left = left.filter(([pid]) => alive(pid));
  }
  if (left.length > 0) {
    code = 1;
    for (const [pid, cmd] of left) {
      log(`LEFT RUNNING: ${pid} ${cmd.slice(0, 160)}`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  } else log(`all ${noted.size} processes the run started are gone`);
} catch (err) {
  code = 1;
  log(`failed: ${err instanceof Error ? err.message : String(err)}; log: ${logFile}`);
  for (const pid of [...descendants(npmPid).keys(), npmPid]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
process.exit(code);
