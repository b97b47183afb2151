// A TCP relay that can go silent: connections stay open and nothing is answered, as when a NAT gateway or a proxy
// drops a connection without telling either end. It relays bytes only, so it stands in front of plain HTTP (the AWS
// emulator) and TLS (kube-apiserver) alike.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { listenOnLoopback } from './loopback.js';

export class SilenceableRelay {
  silent = false;
  private readonly open = new Set<Socket>();
  private readonly server: Server;

  /** `target` is the URL of what is relayed to; only its host and port are used. */
  constructor(target: URL) {
    this.server = createServer((client) => {
      this.open.add(client);
      client.on('close', () => this.open.delete(client));
      client.on('error', () => client.destroy());
      if (this.silent) return; // accepted, read, never answered
      const upstream = connect(Number(target.port), target.hostname);
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
  }

  /** Starts listening on a free loopback port; resolves to `<scheme>://127.0.0.1:<port>`. */
  listen(scheme = 'http'): Promise<string> {
    return listenOnLoopback(this.server, scheme);
  }

  /** Goes silent for new connections and for the kept-alive ones, which would otherwise still relay. */
  goSilent(): void {
    this.silent = true;
    for (const s of this.open) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
