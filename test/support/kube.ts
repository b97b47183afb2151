// Kubernetes helpers for integration tests: CRD install, namespaces, objects, and polling for a condition.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient, type ResourceClient } from '../../src/runtime/index.js';
import { getTestEnv } from './env.js';

const root = join(import.meta.dirname, '..', '..');

export function kubectl(args: readonly string[], input?: string): string {
  return execFileSync('kubectl', ['--kubeconfig', getTestEnv().kubeconfigPath, ...args], {
    cwd: root,
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

let installed = false;
/** Installs crds/ (server-side apply) and waits until every CRD is Established. */
export function installCrds(): void {
  if (installed) return;
  kubectl(['apply', '--server-side', '--force-conflicts', '-f', 'crds/']);
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', 'crds/']);
  installed = true;
}

export function kubeClient(): KubeClient {
  return new KubeClient(getTestEnv().kubeConfig);
}

export function createNamespace(name: string): void {
  kubectl(['create', 'namespace', name]);
}

/** Polls until `check` returns a value (not undefined), or fails with the last observation. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

interface WithConditions {
  readonly status?: {
    readonly conditions?: readonly {
      readonly type: string;
      readonly status: string;
      readonly reason?: string;
      readonly message?: string;
    }[];
  };
}

export function condition(obj: WithConditions | undefined, type: string) {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the object's condition `type` has `status` (and, if given, `reason`), and returns the object. */
export async function waitForCondition<T extends WithConditions>(
  client: ResourceClient<T & { metadata?: object; apiVersion?: string; kind?: string }>,
  ref: { namespace: string; name: string },
  type: string,
  status: 'True' | 'False',
  opts: { reason?: string; timeoutMs?: number } = {},
): Promise<T> {
  let seen: unknown;
  try {
    return (await eventually(
      `${ref.namespace}/${ref.name} ${type}=${status}${opts.reason ? ` (${opts.reason})` : ''}`,
      async () => {
        const obj = (await client.find(ref)) as T | undefined;
        seen = obj?.status;
        const c = condition(obj, type);
        return c?.status === status && (!opts.reason || c.reason === opts.reason) ? obj : undefined;
      },
      opts.timeoutMs ?? 60_000,
    )) as T;
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast status: ${JSON.stringify(seen, null, 1)?.slice(0, 3000)}`);
  }
}

/** A recorded Event as a test reads it. */
export interface RecordedEvent {
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  readonly name: string;
}

/**
 * The Events of a namespace that match a field selector on reason and, optionally, type and the involved object's
 * name: the one way the tests read what the operator recorded.
 */
export function eventsOf(
  namespace: string,
  match: { readonly reason: string; readonly type?: 'Normal' | 'Warning'; readonly name?: string },
): RecordedEvent[] {
  const selector = [
    `reason=${match.reason}`,
    ...(match.type ? [`type=${match.type}`] : []),
    ...(match.name ? [`involvedObject.name=${match.name}`] : []),
  ].join(',');
  const list = JSON.parse(kubectl(['get', 'events', '-n', namespace, '--field-selector', selector, '-o', 'json'])) as {
    items: { type?: string; reason?: string; message?: string; note?: string; involvedObject?: { name?: string } }[];
  };
  return list.items.map((e) => ({
    type: e.type ?? '',
    reason: e.reason ?? '',
    message: e.message ?? e.note ?? '',
    name: e.involvedObject?.name ?? '',
  }));
}
