// CPU time by process: this one (the operator and the benchmark driver), and the local environment's servers,
// read from /proc (Linux) using the pid list the environment keeps in its state directory. CPU seconds per phase
// say where the machine's time went, which wall time alone cannot on a shared 2-CPU machine.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type CpuSnapshot = Readonly<Record<string, number>>;

export interface Tracked {
  readonly name: string;
  readonly pid: number;
}

const NAMES: readonly [RegExp, string][] = [
  [/moto_server/, 'moto'],
  [/kube-apiserver/, 'kube-apiserver'],
  [/kube-controller-manager/, 'kube-controller-manager'],
  [/etcd/, 'etcd'],
];

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** The environment's server processes, found from the kubeconfig's directory (its state directory). */
export function environmentProcesses(kubeconfigPath: string): Tracked[] {
  const file = join(dirname(kubeconfigPath), 'pids');
  if (!existsSync(file)) return [];
  const { pids } = JSON.parse(readFileSync(file, 'utf8')) as { pids: number[] };
  const out: Tracked[] = [];
  for (const pid of pids) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const name = NAMES.find(([re]) => re.test(cmd))?.[1];
      if (name) out.push({ name, pid });
    } catch {
      /* exited, or not Linux */
    }
  }
  return out;
}

/** utime + stime of a process (all its threads), in seconds; undefined when it cannot be read. */
function procSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return undefined;
  }
}

export function cpuSnapshot(tracked: readonly Tracked[]): CpuSnapshot {
  const own = process.cpuUsage();
  const out: Record<string, number> = { 'operator + driver (node)': (own.user + own.system) / 1e6 };
  for (const t of tracked) {
    const s = procSeconds(t.pid);
    if (s !== undefined) out[t.name] = s;
  }
  return out;
}
