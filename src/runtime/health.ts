// The probe and metrics endpoints. Liveness fails only when an informer is wedged (restarting the pod is the fix);
// readiness waits for the informers to have synced. A standby replica runs no informers, so it is ready as soon
// as it is up: readiness gates traffic and rollouts, and a standby that never became ready would stall a rollout.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** What the probes need from an informer (Informer satisfies it). */
export interface InformerHealth {
  readonly type: { readonly plural: string };
  readonly namespace?: string;
  hasSynced(): boolean;
  isWedged(): boolean;
}

export interface HealthServerOptions {
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Default all interfaces, so the kubelet can reach it. */
  readonly host?: string;
  readonly registry: Registry;
  /** Read on every probe, since informers start and stop with leadership. */
  readonly informers: () => readonly InformerHealth[];
  /** When given and false, this replica is a standby and /readyz does not look at informers. */
  readonly isLeader?: () => boolean;
  readonly logger?: Logger;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    handle(options, req, res).catch((err: unknown) => {
      options.logger?.error({ err, path: req.url }, 'health endpoint failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  options.logger?.info({ port }, 'health server listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function handle(options: HealthServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://probe').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'method not allowed\n');
  switch (path) {
    case '/healthz':
    case '/livez': {
      const wedged = options.informers().filter((i) => i.isWedged());
      if (wedged.length > 0) return text(res, 503, `informers wedged: ${names(wedged)}\n`);
      return text(res, 200, 'ok\n');
    }
    case '/readyz': {
      if (options.isLeader && !options.isLeader()) return text(res, 200, 'ok (standby)\n');
      const unsynced = options.informers().filter((i) => !i.hasSynced());
      if (unsynced.length > 0) return text(res, 503, `informers not synced: ${names(unsynced)}\n`);
      return text(res, 200, 'ok\n');
    }
    case '/metrics': {
      const body = await options.registry.metrics();
      res.writeHead(200, { 'Content-Type': options.registry.contentType });
      res.end(body);
      return;
    }
    default:
      return text(res, 404, 'not found\n');
  }
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

function names(informers: readonly InformerHealth[]): string {
  return informers.map((i) => (i.namespace ? `${i.type.plural}@${i.namespace}` : i.type.plural)).join(', ');
}
