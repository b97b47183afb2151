// An HTTP relay in front of the AWS emulator that plays CloudTrail's event history, which moto does not serve
// (LookupEvents answers 500 there). Every write of a query-protocol service (ELBv2, EC2, ...) that passes through and
// succeeds is recorded as CloudTrail records it: its event name, region, request parameters and the caller's user
// agent, which is how the operator's own calls are told apart. LookupEvents is answered from those records, filtered
// by event name and time as CloudTrail does, newest first, 50 a page. A record is listed `listDelayMs` after its call,
// as CloudTrail lists calls minutes late. Every other request and answer is relayed byte for byte.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { cloudTrailRecord } from './cloudtrail.js';
import { listenOnLoopback, relayTo } from './loopback.js';

interface Recorded {
  readonly eventName: string;
  readonly eventSource: string;
  /** When the call was made and when the history lists it (ms). */
  readonly at: number;
  listedAt: number;
  readonly record: Record<string, unknown>;
}

interface LookupInput {
  LookupAttributes?: { AttributeKey?: string; AttributeValue?: string }[];
  StartTime?: number;
  EndTime?: number;
  MaxResults?: number;
  NextToken?: string;
}

const WRITE = /^(Add|Create|Delete|Deregister|Modify|Register|Remove|Set)/;

/** `TargetGroupArn` → `targetGroupArn`, as CloudTrail writes request fields. */
const camel = (key: string) => key.charAt(0).toLowerCase() + key.slice(1);

/** Service and region from a SigV4 Authorization header's credential scope. */
function scopeOf(req: IncomingMessage): { service: string; region: string } | undefined {
  const m = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(String(req.headers.authorization ?? ''));
  return m ? { region: m[1]!, service: m[2]! } : undefined;
}

export class EventHistoryRelay {
  private readonly records: Recorded[] = [];
  private readonly server: Server;
  /** How long after its call a record is listed (CloudTrail's delay). */
  listDelayMs = 0;
  /** While set, LookupEvents is refused as a caller without the permission is. */
  refuseLookups = false;
  /** LookupEvents requests answered (refused ones included). */
  lookups = 0;

  /** `upstream`: the emulator's URL (or another relay's). */
  constructor(private readonly upstream: URL) {
    this.server = createServer((req, res) => this.relay(req, res));
  }

  /** Starts listening on a free loopback port; resolves to its URL. */
  listen(): Promise<string> {
    return listenOnLoopback(this.server);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Lists every record not listed yet, as CloudTrail eventually does. */
  listAll(): void {
    const now = Date.now();
    for (const r of this.records) r.listedAt = Math.min(r.listedAt, now);
  }

  /** The calls recorded so far named `eventName` (for a test's own checks). */
  recorded(eventName: string): readonly Record<string, unknown>[] {
    return this.records.filter((r) => r.eventName === eventName).map((r) => r.record);
  }

  private relay(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (String(req.headers['x-amz-target'] ?? '').endsWith('.LookupEvents')) {
        this.lookup(body, res);
        return;
      }
      this.forward(req, res, body, this.writeOf(req, body));
    });
  }

  /** The CloudTrail record a query-protocol write would leave, before its answer says whether it succeeded. */
  private writeOf(req: IncomingMessage, body: Buffer): Recorded | undefined {
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return undefined;
    const form = new URLSearchParams(body.toString('utf8'));
    const action = form.get('Action') ?? '';
    const scope = scopeOf(req);
    if (!WRITE.test(action) || !scope) return undefined;
    // Top-level fields only (a target group's ARN, a rule's): what the operator looks a change up by.
    const requestParameters: Record<string, unknown> = {};
    for (const [key, value] of form)
      if (!key.includes('.') && key !== 'Action' && key !== 'Version') requestParameters[camel(key)] = value;
    const userAgent = [req.headers['x-amz-user-agent'], req.headers['user-agent']].filter(Boolean).join(' ');
    const at = Date.now();
    return {
      eventName: action,
      eventSource: `${scope.service}.amazonaws.com`,
      at,
      listedAt: at + this.listDelayMs,
      record: cloudTrailRecord({
        service: scope.service,
        eventName: action,
        region: scope.region,
        requestParameters,
        userAgent,
      }),
    };
  }

  private lookup(body: Buffer, res: ServerResponse): void {
    this.lookups++;
    const answer = (status: number, out: unknown) => {
      const text = Buffer.from(JSON.stringify(out));
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': String(text.length) });
      res.end(text);
    };
    if (this.refuseLookups) {
      answer(400, { __type: 'AccessDeniedException', message: 'not authorized to perform: cloudtrail:LookupEvents' });
      return;
    }
    const input = JSON.parse(body.toString('utf8') || '{}') as LookupInput;
    const now = Date.now();
    const name = input.LookupAttributes?.find((a) => a.AttributeKey === 'EventName')?.AttributeValue;
    const from = (input.StartTime ?? 0) * 1000;
    const to = input.EndTime === undefined ? Infinity : input.EndTime * 1000;
    const matching = this.records
      .filter((r) => r.listedAt <= now && r.at >= from && r.at <= to && (!name || r.eventName === name))
      .sort((a, b) => b.at - a.at);
    const offset = Number(input.NextToken ?? 0);
    const size = Math.min(input.MaxResults ?? 50, 50);
    const page = matching.slice(offset, offset + size);
    answer(200, {
      Events: page.map((r) => ({
        EventId: String(r.record.eventID),
        EventName: r.eventName,
        ReadOnly: 'false',
        EventTime: r.at / 1000,
        EventSource: r.eventSource,
        Resources: [],
        CloudTrailEvent: JSON.stringify(r.record),
      })),
      ...(offset + size < matching.length ? { NextToken: String(offset + size) } : {}),
    });
  }

  private forward(req: IncomingMessage, res: ServerResponse, body: Buffer, write: Recorded | undefined): void {
    relayTo(this.upstream, req, res, body, (answer) => {
      // CloudTrail records a failed call too, with its error code; the operator skips those, so only successes matter.
      if (write && answer.statusCode === 200) this.records.push(write);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
  }
}
