// Child-process plumbing for the local environment: free loopback ports, log files, health polling, and a
// teardown that also runs when the parent is interrupted. Each environment records its children's pids in its
// state folder, so a run that was killed outright (SIGKILL) is cleaned up by the next one.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Managed {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
}

export class ProcessGroup {
  private readonly children: Managed[] = [];
  private stopping: Promise<void> | undefined;

  constructor(readonly stateDir: string) {}

  start(name: string, cmd: string, args: readonly string[], env: Record<string, string> = {}): Managed {
    // Interrupted while starting up: nothing more is started behind the stop's back.
    if (this.stopping) throw new Error(`not starting ${name}: the environment is stopping`);
    const logFile = join(this.stateDir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    const managed = { name, child, logFile };
    this.children.push(managed);
    this.recordPids();
    return managed;
  }

  /** Polls `probe` until it resolves true; fails early, with the log tail, if the process exits. */
  async waitFor(m: Managed, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (m.child.exitCode !== null || m.child.signalCode !== null) {
        throw new Error(
          `${m.name} exited (${m.child.exitCode ?? m.child.signalCode}) before it was ready:\n${tail(m.logFile)}`,
        );
      }
      if (await probe().catch(() => false)) return;
      await sleep(150);
    }
    throw new Error(`${m.name} was not ready within ${timeoutMs / 1000}s:\n${tail(m.logFile)}`);
  }

  /** Stops one child (SIGTERM, then SIGKILL after the grace period) and waits for it to exit. */
  async stopOne(m: Managed, graceMs = 5000): Promise<void> {
    if (m.child.exitCode !== null || m.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => m.child.once('exit', () => resolve()));
    killGroup(m.child.pid, 'SIGTERM');
    const timer = sleep(graceMs).then(() => 'timeout' as const);
    if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout') {
      killGroup(m.child.pid, 'SIGKILL');
      await exited;
    }
  }

  /**
   * Stops children in reverse start order: SIGTERM, then SIGKILL after a grace period. A second caller (the run's
   * own teardown while an interruption's is under way) waits for the same stop instead of returning early.
   */
  stop(graceMs = 5000): Promise<void> {
    this.stopping ??= (async () => {
      for (const m of [...this.children].reverse()) await this.stopOne(m, graceMs);
      rmSync(join(this.stateDir, 'pids'), { force: true });
    })();
    return this.stopping;
  }

  private recordPids(): void {
    const pids = this.children
      .filter((c) => c.child.exitCode === null && c.child.signalCode === null) // a restarted server's old pid is gone
      .map((c) => c.child.pid)
      .filter((p): p is number => typeof p === 'number');
    writeFileSync(join(this.stateDir, 'pids'), JSON.stringify({ owner: process.pid, pids }));
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal); // the child leads its own process group (detached)
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills servers left behind by environments whose owning process died without tearing them down. */
export function reapOrphans(root: string): void {
  if (!existsSync(root)) return;
  for (const entry of readdirSync(root)) {
    const pidsFile = join(root, entry, 'pids');
    if (!existsSync(pidsFile)) continue;
    try {
      const { owner, pids } = JSON.parse(readFileSync(pidsFile, 'utf8')) as { owner: number; pids: number[] };
      if (isAlive(owner)) continue;
      for (const pid of pids) killGroup(pid, 'SIGKILL');
      rmSync(join(root, entry), { recursive: true, force: true });
    } catch {
      /* a half-written file: leave it for the next run */
    }
  }
}

export function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
