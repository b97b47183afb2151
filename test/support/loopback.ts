// Test servers listen on a free loopback port: one way of starting them and naming their URL, and of relaying a
// request to the server behind them.
import { request, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Server as NetServer } from 'node:net';

/** Starts `server` on a free loopback port; resolves to `<scheme>://127.0.0.1:<port>`. */
export async function listenOnLoopback(server: HttpServer | NetServer, scheme = 'http'): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return `${scheme}://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}

/**
 * Sends `req` on to `upstream` as it came (with `body` when the relay read it already, else piping it) and hands the
 * answer to `answered`, which writes `res`. A failed upstream ends `res`.
 */
export function relayTo(
  upstream: URL,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer | undefined,
  answered: (answer: IncomingMessage) => void,
): void {
  const sent = request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
    answered,
  );
  sent.on('error', () => res.destroy());
  if (body) sent.end(body);
  else req.pipe(sent);
}
