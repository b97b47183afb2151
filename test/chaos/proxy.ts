// A fault-injecting HTTP proxy in front of the AWS emulator. The operator's SLIPWAY_AWS_ENDPOINT points here; for
// every AWS call a seeded draw decides one of:
//   pass      forward to the emulator and answer with its response
//   throttle  answer at once with the protocol's own throttling error (protocol.ts); the emulator never sees it
//   5xx       answer at once with 503 ServiceUnavailable or 500 InternalError in the protocol's shape
//   drop      forward, let the emulator apply the call, read its whole answer, then destroy the client's socket
//             without a byte of it: a lost response, the case that makes a retried create a duplicate
//   silent    accept the request and never answer (a connection a NAT gateway dropped without a word); only the
//             client's own request timeout ends it
// The draw for the n-th call of one `service:Operation` is seeded by (seed, service:Operation, n), so a run repeats
// even though concurrent calls arrive in a different order. Every decision is counted by operation and kind.
import { randomUUID } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { draw } from './prng.js';
import {
  identify,
  isWrite,
  serverErrorResponse,
  throttlingResponse,
  type AwsRequest,
  type FaultResponse,
} from './protocol.js';

export const FAULT_KINDS = ['pass', 'throttle', 'error5xx', 'drop', 'silent'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The share of calls (0–1) that meets each fault; the rest pass. */
export interface FaultRates {
  readonly throttle: number;
  readonly error5xx: number;
  readonly drop: number;
  readonly silent: number;
}

/** The mix the first report used: 5 % throttled, 3 % 5xx, 2 % lost after applying, 0.5 % silent. */
export const DEFAULT_RATES: FaultRates = { throttle: 0.05, error5xx: 0.03, drop: 0.02, silent: 0.005 };

export const NO_FAULTS: FaultRates = { throttle: 0, error5xx: 0, drop: 0, silent: 0 };

export interface ProxyOptions {
  /** The emulator, e.g. http://127.0.0.1:5000. */
  readonly upstream: string;
  readonly seed: number;
  readonly rates: FaultRates;
  /**
   * Faults that do not wait for the draw: `service:Operation#index` → kind (the index counts that operation's calls
   * from 0). A run uses them so that the calls whose lost answer matters most meet a fault in every run.
   */
  readonly forced?: Readonly<Record<string, FaultKind>>;
  /** Keep a log of every AWS call with its timing (`calls`). Off by default: a long run makes many calls. */
  readonly callLog?: boolean;
}

/** One AWS call in the proxy's call log, with its timing in milliseconds since the epoch. */
export interface CallRecord {
  readonly service: string;
  readonly operation: string;
  readonly write: boolean;
  readonly kind: FaultKind;
  /** When the whole request had arrived. */
  readonly startedAt: number;
  /**
   * When the emulator answered the call (it has applied it by then), or when it arrived for a call the emulator
   * never saw (throttled, 5xx, silent). Unset while the emulator is still working on it.
   */
  settledAt?: number;
}

export interface Decision extends AwsRequest {
  readonly kind: FaultKind;
  /** This call's index among the calls of its operation (0-based): with the seed, what decided its fate. */
  readonly index: number;
  readonly write: boolean;
}

export type Counts = Record<string, Record<FaultKind, number>>;

const zero = (): Record<FaultKind, number> => ({ pass: 0, throttle: 0, error5xx: 0, drop: 0, silent: 0 });

/** The fault the draw `r` in [0, 1) selects under `rates`. */
export function faultFor(r: number, rates: FaultRates): FaultKind {
  let edge = rates.throttle;
  if (r < edge) return 'throttle';
  edge += rates.error5xx;
  if (r < edge) return 'error5xx';
  edge += rates.drop;
  if (r < edge) return 'drop';
  edge += rates.silent;
  if (r < edge) return 'silent';
  return 'pass';
}

export class FaultProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly seen = new Map<string, number>();
  private readonly listeners: ((d: Decision) => void)[] = [];
  private readonly upstream: URL;
  private rates: FaultRates;
  /** Decisions by `service:Operation`, then kind. */
  readonly counts: Counts = {};
  /** Calls that change something, counted whatever their fate: the clock kill points are set on. */
  writes = 0;
  /** Requests held silent right now. */
  silentOpen = 0;
  /** Every AWS call in arrival order, when the call log is on (ProxyOptions.callLog). */
  readonly calls: CallRecord[] = [];

  constructor(private readonly options: ProxyOptions) {
    this.upstream = new URL(options.upstream);
    this.rates = options.rates;
  }

  private injecting = true;

  /** Turns injection off (every call passes, and is still counted) or on again, forced faults included. */
  setInjecting(on: boolean): void {
    this.injecting = on;
  }

  /** Changes the fault mix from now on. */
  setRates(rates: FaultRates): void {
    this.rates = rates;
  }

  onDecision(listener: (d: Decision) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 60_000;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const addr = server.address();
    return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Totals by kind, over every operation. */
  totals(): Record<FaultKind, number> {
    const t = zero();
    for (const byKind of Object.values(this.counts)) for (const k of FAULT_KINDS) t[k] += byKind[k];
    return t;
  }

  private decide(req: AwsRequest): Decision {
    const key = `${req.service}:${req.operation}`;
    const index = this.seen.get(key) ?? 0;
    this.seen.set(key, index + 1);
    const kind = !this.injecting
      ? 'pass'
      : (this.options.forced?.[`${key}#${index}`] ?? faultFor(draw(this.options.seed, `${key}#${index}`), this.rates));
    (this.counts[key] ??= zero())[kind]++;
    const write = isWrite(req.operation);
    if (write) this.writes++;
    return { ...req, kind, index, write };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = req.url ?? '/';
    // The emulator's own API (state dumps, reset) is never faulted or counted.
    if (url.startsWith('/moto-api')) return this.forward(req, body, res, 'pass');
    const decision = this.decide(identify(req.method ?? 'GET', url, req.headers, body.toString('utf8')));
    for (const l of this.listeners) l(decision);
    const record = this.options.callLog ? this.logCall(decision) : undefined;
    const requestId = randomUUID();
    switch (decision.kind) {
      case 'throttle':
        return answer(res, throttlingResponse(decision, requestId));
      case 'error5xx':
        return answer(
          res,
          serverErrorResponse(
            decision,
            requestId,
            draw(this.options.seed, `5xx#${decision.service}:${decision.operation}#${decision.index}`) < 0.5,
          ),
        );
      case 'silent': {
        this.silentOpen++;
        req.socket.once('close', () => this.silentOpen--);
        return; // never answered: the client's request timeout ends it
      }
      case 'drop':
      case 'pass':
        return this.forward(req, body, res, decision.kind, () => {
          if (record) record.settledAt ??= Date.now();
        });
    }
  }

  private logCall(d: Decision): CallRecord {
    const now = Date.now();
    const forwarded = d.kind === 'pass' || d.kind === 'drop';
    const record: CallRecord = {
      service: d.service,
      operation: d.operation,
      write: d.write,
      kind: d.kind,
      startedAt: now,
      ...(forwarded ? {} : { settledAt: now }),
    };
    this.calls.push(record);
    return record;
  }

  /** `settled` is called once the emulator has answered (it applies a call before it answers) or failed. */
  private forward(
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
    kind: 'pass' | 'drop',
    settled?: () => void,
  ): Promise<void> {
    return new Promise((resolve) => {
      const headers = { ...req.headers, host: this.upstream.host };
      const up = request(
        { host: this.upstream.hostname, port: this.upstream.port, method: req.method, path: req.url, headers },
        (upRes) => {
          settled?.();
          if (kind === 'drop') {
            // The emulator has applied the call; its whole answer is read and thrown away, then the connection goes.
            upRes.resume();
            upRes.on('end', () => {
              req.socket.destroy();
              resolve();
            });
            return;
          }
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          upRes.on('end', () => resolve());
        },
      );
      up.on('error', (err) => {
        settled?.();
        if (!res.headersSent)
          answer(res, { status: 502, headers: { 'content-type': 'text/plain' }, body: String(err) });
        else res.destroy();
        resolve();
      });
      up.end(body);
    });
  }
}

function answer(res: ServerResponse, fault: FaultResponse): void {
  res.writeHead(fault.status, { ...fault.headers, 'content-length': Buffer.byteLength(fault.body) });
  res.end(fault.body);
}
