// kubectl against the sandbox's control plane. Synchronous is fine here: the operator runs in its own process.
import { execFileSync } from 'node:child_process';

export function kubectlIn(kubeconfig: string, cwd: string) {
  return (args: readonly string[], input?: string): string =>
    execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...args], {
      cwd,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(input !== undefined ? { input } : {}),
    });
}
