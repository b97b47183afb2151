// Test servers listen on a free loopback port: one way of starting them and naming their URL.
import type { Server as HttpServer } from 'node:http';
import type { Server as NetServer } from 'node:net';

/** Starts `server` on a free loopback port; resolves to `<scheme>://127.0.0.1:<port>`. */
export async function listenOnLoopback(server: HttpServer | NetServer, scheme = 'http'): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return `${scheme}://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}
