// What a run started is stopped when it is interrupted: SIGINT (Ctrl-C reaches the whole foreground process group)
// or SIGTERM (npm forwards it to its script's process alone). The cleanups run once, newest first (an operator before
// the servers it talks to), then the process exits 128 + the signal's number. Signals that arrive meanwhile are
// ignored: npm forwards Ctrl-C's SIGINT a second time, and with no listener left Node would die of it mid-cleanup.
import { constants } from 'node:os';

export type Cleanup = () => Promise<unknown> | unknown;

const cleanups: Cleanup[] = [];
let interrupted = false;

function onSignal(signal: NodeJS.Signals): void {
  if (interrupted) return;
  interrupted = true;
  process.stderr.write(`${signal}: stopping what this run started\n`);
  void (async () => {
    for (const cleanup of [...cleanups].reverse()) {
      try {
        await cleanup();
      } catch (err) {
        process.stderr.write(`${signal}: a cleanup failed: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
  })().finally(() => process.exit(128 + constants.signals[signal]));
}

/** Runs `cleanup` if the process is interrupted; the function returned takes it back. */
export function onInterrupt(cleanup: Cleanup): () => void {
  if (cleanups.length === 0) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  cleanups.push(cleanup);
  return () => {
    const i = cleanups.lastIndexOf(cleanup);
    if (i >= 0) cleanups.splice(i, 1);
    // Nothing left to stop: the signals' default action again (unless an interruption is under way).
    if (cleanups.length === 0 && !interrupted) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  };
}
