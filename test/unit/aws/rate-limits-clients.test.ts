// The client-side rate limits as the SDK clients apply them: against a local HTTP server that answers ECS's JSON
// protocol, every attempt takes a token from the bucket of its account, region and family, so two AwsClients for
// one account and region draw from one bucket and another region from its own; a throttled answer is reported per
// attempt. The buckets here are a private registry on a clock that never moves, so nothing refills during a test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListClustersCommand } from '@aws-sdk/client-ecs';
import { ListHostedZonesCommand } from '@aws-sdk/client-route-53';
import { AwsClients, type AwsClientOptions } from '../../../src/aws/clients.js';
import { classifyError } from '../../../src/aws/errors.js';
import { familyOf, RateLimits, type LimiterClock, type RateLimitEvent } from '../../../src/aws/rate-limits.js';

/** Answers every request with `reply()`'s status and JSON body (ECS speaks JSON 1.1). */
class JsonServer {
  reply: () => { status: number; body: unknown } = () => ({ status: 200, body: { clusterArns: [] } });
  requests = 0;
  private readonly server: Server = createServer((req, res) => {
    this.requests++;
    req.resume();
    req.on('end', () => {
      const { status, body } = this.reply();
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A clock that stands still: buckets never refill, and a wait never ends unless aborted. */
const frozen: LimiterClock = { now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined };

let server: JsonServer;
let endpoint: string;
const opened: AwsClients[] = [];
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

function clients(extra: Partial<AwsClientOptions>): AwsClients {
  const aws = new AwsClients({ region: 'eu-west-1', endpoint, credentials, ...extra });
  opened.push(aws);
  return aws;
}

before(async () => {
  server = new JsonServer();
  endpoint = await server.listen();
});

after(async () => {
  for (const aws of opened) aws.destroy();
  await server.close();
});

const listClusters = familyOf('ecs', 'ListClusters')!;

test('two AwsClients for one account and region share buckets; another region has its own', async () => {
  const registry = new RateLimits({ clock: frozen });
  const a = clients({ rateLimitRegistry: registry });
  const b = clients({ rateLimitRegistry: registry });
  const other = clients({ rateLimitRegistry: registry, region: 'us-east-1' });
  await a.ecs.send(new ListClustersCommand({}));
  await b.ecs.send(new ListClustersCommand({}));
  await other.ecs.send(new ListClustersCommand({}));
  const shared = registry.bucketFor('default', 'eu-west-1', listClusters);
  assert.equal(shared.available(), listClusters.burst - 2, 'both clients took from one bucket');
  assert.equal(registry.bucketFor('default', 'us-east-1', listClusters).available(), listClusters.burst - 1);
  const role = clients({ rateLimitRegistry: registry, roleArn: 'arn:aws:iam::210987654321:role/slipway' });
  assert.equal(
    registry.bucketFor('arn:aws:iam::210987654321:role/slipway', 'eu-west-1', listClusters).available(),
    listClusters.burst,
    'another account (role) is not charged for them',
  );
  role.destroy();
});

test('a view made by withSignal takes from its root’s buckets', async () => {
  const registry = new RateLimits({ clock: frozen });
  const root = clients({ rateLimitRegistry: registry });
  await root.withSignal(new AbortController().signal).ecs.send(new ListClustersCommand({}));
  assert.equal(registry.bucketFor('default', 'eu-west-1', listClusters).available(), listClusters.burst - 1);
});

test('a call waiting for a token ends when its pass is aborted, before any request is sent', async () => {
  const registry = new RateLimits({ clock: frozen });
  const aws = clients({ rateLimitRegistry: registry });
  const bucket = registry.bucketFor('default', 'eu-west-1', listClusters);
  while (bucket.available() >= 1) await bucket.take(); // empty, and the frozen clock never refills it
  const before = server.requests;
  const pass = new AbortController();
  const call = aws.withSignal(pass.signal).ecs.send(new ListClustersCommand({}));
  // The call has reserved the next token and waits for it (the test's timeout catches it never getting there).
  while (bucket.available() > -1) await new Promise((resolve) => setImmediate(resolve));
  pass.abort();
  await assert.rejects(call, { name: 'AbortError' });
  assert.equal(server.requests, before, 'the request was never sent');
  assert.equal(bucket.available(), 0, 'the reservation was returned');
});

test('every attempt takes a token and a throttled answer is reported per attempt', async () => {
  const registry = new RateLimits({ clock: frozen });
  const events: RateLimitEvent[] = [];
  const aws = clients({ rateLimitRegistry: registry, maxAttempts: 2, onRateLimitWait: (e) => events.push(e) });
  server.reply = () => ({ status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } });
  try {
    const err = await aws.ecs.send(new ListClustersCommand({})).catch((e: unknown) => e);
    assert.equal(classifyError(err), 'throttled');
  } finally {
    server.reply = () => ({ status: 200, body: { clusterArns: [] } });
  }
  assert.equal(registry.bucketFor('default', 'eu-west-1', listClusters).available(), listClusters.burst - 2);
  assert.deepEqual(events, [
    { kind: 'throttled', service: 'ecs', operation: 'ListClusters', by: 'aws' },
    { kind: 'throttled', service: 'ecs', operation: 'ListClusters', by: 'aws' },
  ]);
});

test('with the limits off, no token is taken but throttled attempts are still reported', async () => {
  const registry = new RateLimits({ clock: frozen });
  const events: RateLimitEvent[] = [];
  const aws = clients({
    rateLimitRegistry: registry,
    rateLimits: false,
    maxAttempts: 1,
    onRateLimitWait: (e) => events.push(e),
  });
  server.reply = () => ({ status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } });
  try {
    await assert.rejects(aws.ecs.send(new ListClustersCommand({})), { name: 'ThrottlingException' });
  } finally {
    server.reply = () => ({ status: 200, body: { clusterArns: [] } });
  }
  assert.equal(registry.size, 0);
  assert.deepEqual(events, [{ kind: 'throttled', service: 'ecs', operation: 'ListClusters', by: 'aws' }]);
});

test('Route53 takes from one us-east-1 bucket per account, whatever the Environment’s region', async () => {
  const registry = new RateLimits({ clock: frozen });
  const ireland = clients({ rateLimitRegistry: registry });
  const frankfurt = clients({ rateLimitRegistry: registry, region: 'eu-central-1' });
  server.reply = () => ({
    status: 200,
    body:
      '<?xml version="1.0"?><ListHostedZonesResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">' +
      '<HostedZones/><IsTruncated>false</IsTruncated><MaxItems>100</MaxItems></ListHostedZonesResponse>',
  });
  try {
    await ireland.route53.send(new ListHostedZonesCommand({}));
    await frankfurt.route53.send(new ListHostedZonesCommand({}));
  } finally {
    server.reply = () => ({ status: 200, body: { clusterArns: [] } });
  }
  const route53 = familyOf('route53', 'ListHostedZones')!;
  assert.equal(registry.bucketFor('default', 'us-east-1', route53).available(), route53.burst - 2);
  assert.equal(registry.size, 1, 'no regional Route53 bucket was made');
});
