// Every SDK call has a deadline: against a local HTTP server that accepts requests and never answers, a call
// through a pass's view (withSignal) ends when the pass is aborted, paginators included, and a call with a short
// requestTimeout fails with a timeout instead of hanging. Nothing here sleeps: each test awaits the rejection (or
// the server seeing the request), and the test's own timeout turns a hang into a failure.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ECSClient, ListClustersCommand, paginateListClusters } from '@aws-sdk/client-ecs';
import { AwsClients, type AwsClientOptions } from '../../../src/aws/clients.js';
import type { CallRecord } from '../../../src/aws/calls.js';

/** A server that reads every request and never responds. `next()` resolves when the next request arrives. */
class SilentServer {
  private readonly server: Server = createServer((req) => {
    this.requests++;
    req.resume();
    for (const resolve of this.waiters.splice(0)) resolve();
  });
  private waiters: (() => void)[] = [];
  requests = 0;

  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
/** A hang fails the test instead of the run; every call here would otherwise wait for the 30 s default. */
const DEADLINE = { timeout: 10_000 };

let server: SilentServer;
let endpoint: string;
const opened: AwsClients[] = [];

function clients(extra: Partial<AwsClientOptions> = {}): AwsClients {
  const aws = new AwsClients({ region: 'eu-west-1', endpoint, credentials, ...extra });
  opened.push(aws);
  return aws;
}

/** A rejection check started now (so the rejection is never unhandled), to be awaited later. */
function rejection(promise: Promise<unknown>, name: string, message?: RegExp): Promise<void> {
  return assert.rejects(promise, (err: Error) => {
    assert.equal(err.name, name, String(err));
    if (message) assert.match(err.message, message);
    return true;
  });
}

async function elapsedMs(from: number, done: Promise<void>): Promise<number> {
  await done;
  return performance.now() - from;
}

before(async () => {
  server = new SilentServer();
  endpoint = await server.listen();
});

after(async () => {
  for (const aws of opened) aws.destroy();
  await server.close();
});

test('a call through withSignal rejects with an abort error as soon as the pass is aborted', DEADLINE, async () => {
  const calls: CallRecord[] = [];
  const aws = clients({ onCall: (c) => calls.push(c) });
  const pass = new AbortController();
  const arrived = server.next();
  const done = rejection(aws.withSignal(pass.signal).ecs.send(new ListClustersCommand({})), 'AbortError');
  await arrived;
  const ms = await elapsedMs(performance.now(), (pass.abort(), done));
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms after the abort`);
  // The view's call went through the shared client's metrics middleware.
  assert.deepEqual(
    calls.map((c) => [c.service, c.operation, c.outcome]),
    [['ecs', 'ListClusters', 'error']],
  );
});

test('a paginator given the view is aborted with the pass too', DEADLINE, async () => {
  const aws = clients();
  const pass = new AbortController();
  const view = aws.withSignal(pass.signal);
  const arrived = server.next();
  const pages = (async () => {
    for await (const page of paginateListClusters({ client: view.ecs }, {})) void page;
  })();
  const done = rejection(pages, 'AbortError');
  await arrived;
  const ms = await elapsedMs(performance.now(), (pass.abort(), done));
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms after the abort`);
});

test('an abortSignal the caller passes itself wins over the view’s', DEADLINE, async () => {
  const aws = clients();
  const pass = new AbortController();
  pass.abort(); // had the view's signal been used, the call would fail before reaching the server
  const own = new AbortController();
  const arrived = server.next();
  const done = rejection(
    aws.withSignal(pass.signal).ecs.send(new ListClustersCommand({}), { abortSignal: own.signal }),
    'AbortError',
  );
  await arrived;
  own.abort();
  await done;
});

test('a call through a view whose pass is already aborted fails at once, without a request', DEADLINE, async () => {
  const aws = clients();
  const before = server.requests;
  await rejection(aws.withSignal(AbortSignal.abort()).ecs.send(new ListClustersCommand({})), 'AbortError');
  assert.equal(server.requests, before);
});

test('a call with a short requestTimeout fails with a timeout, after the SDK retried it', DEADLINE, async () => {
  const aws = clients({ requestTimeout: 200 });
  const before = server.requests;
  const started = performance.now();
  const ms = await elapsedMs(
    started,
    rejection(aws.ecs.send(new ListClustersCommand({})), 'TimeoutError', /200 ms requestTimeout/),
  );
  // maxAttempts 3: a timed-out attempt is transient, so the SDK tried three times, each cut off at 200 ms.
  assert.equal(server.requests - before, 3);
  assert.ok(ms >= 600 && ms < 5000, `took ${ms.toFixed(0)} ms`);
});

test('a single attempt with a short requestTimeout fails after about that long', DEADLINE, async () => {
  const aws = clients({ requestTimeout: 150, maxAttempts: 1 });
  const ms = await elapsedMs(performance.now(), rejection(aws.ecs.send(new ListClustersCommand({})), 'TimeoutError'));
  assert.ok(ms >= 140 && ms < 1500, `took ${ms.toFixed(0)} ms`);
});

test('every client has a connection timeout of 3 s and a request timeout of 30 s, unless overridden', async () => {
  /** The handler's options, resolved (it resolves them on its first request: one that is aborted at once). */
  const optionsOf = async (aws: AwsClients) => {
    await rejection(aws.withSignal(AbortSignal.abort()).ecs.send(new ListClustersCommand({})), 'AbortError');
    const handler = aws.ecs.config.requestHandler as { httpHandlerConfigs(): Record<string, unknown> };
    const { connectionTimeout, requestTimeout, throwOnRequestTimeout } = handler.httpHandlerConfigs();
    return { connectionTimeout, requestTimeout, throwOnRequestTimeout };
  };
  // Rate limits off: an aborted call then fails in the HTTP handler, which resolves its options doing so.
  assert.deepEqual(await optionsOf(clients({ rateLimits: false })), {
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    throwOnRequestTimeout: true,
  });
  assert.deepEqual(await optionsOf(clients({ connectionTimeout: 1000, requestTimeout: 5000, rateLimits: false })), {
    connectionTimeout: 1000,
    requestTimeout: 5000,
    throwOnRequestTimeout: true,
  });
});

test('a view shares the SDK clients and its destroy() leaves them open', () => {
  const aws = clients();
  const shared = aws.ecs;
  const view = aws.withSignal(new AbortController().signal);
  assert.notEqual(view.ecs, shared, 'the view wraps the client');
  assert.ok(view.ecs instanceof ECSClient, 'paginators check instanceof');
  assert.equal(view.ecs.config, shared.config);
  assert.equal(view.ecs.middlewareStack, shared.middlewareStack);
  assert.equal(view.ecs, view.ecs, 'one wrapper per service and view');
  assert.equal(view.root, aws);
  assert.equal(aws.root, aws);
  assert.equal(view.region, 'eu-west-1');
  assert.equal(view.withSignal(new AbortController().signal).root, aws, 'a view of a view is a view of the root');
  let destroyed = 0;
  const original = shared.destroy.bind(shared);
  shared.destroy = () => {
    destroyed++;
    original();
  };
  view.destroy();
  assert.equal(destroyed, 0);
  assert.equal(aws.ecs, shared, 'the shared client is still cached');
  aws.destroy();
  assert.equal(destroyed, 1);
});
