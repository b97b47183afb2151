// The operator as its own process (`node --import tsx src/main.ts`), so that it can be SIGKILLed mid-call the way a
// node failure or an OOM kill ends it: no shutdown hook runs, in-flight AWS calls and status writes are cut off.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { onInterrupt } from '../env/interrupt.js';

const root = join(import.meta.dirname, '..', '..');

export class OperatorProcess {
  private child: ChildProcess | undefined;
  /** How many times it was started, the first included. */
  starts = 0;
  kills = 0;

  constructor(
    private readonly env: Readonly<Record<string, string>>,
    /** Every incarnation appends its log here. */
    readonly logFile: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.running()) throw new Error('the operator is already running');
    const fd = openSync(this.logFile, 'a');
    this.child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts')], {
      cwd: root,
      env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env, ...this.env },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    this.starts++;
    // Interrupted, the run stops this incarnation before the servers it talks to (test/env/interrupt.ts).
    const release = onInterrupt(() => this.stop(5_000));
    this.child.once('exit', release);
  }

  running(): boolean {
    const c = this.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL', 10_000);
    this.kills++;
  }

  /** SIGTERM (the operator's graceful stop); SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running()) return;
    try {
      await this.signal('SIGTERM', graceMs);
    } catch {
      await this.signal('SIGKILL', 10_000);
    }
  }

  private async signal(signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    const c = this.child;
    if (!c || !this.running()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`operator pid ${c.pid} still running ${timeoutMs} ms after ${signal}`)),
        timeoutMs,
      );
      c.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      c.kill(signal);
    });
  }
}
