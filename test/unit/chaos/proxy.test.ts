// The chaos proxy's faults, as the real SDK clients see them: each protocol's throttling answer must be classified
// as throttling by src/aws/errors.ts (which asks the SDK's own predicates), its 5xx as transient; a dropped
// response reaches the emulator and fails the client; a silent one ends at the client's request timeout; and the
// same seed gives the same decisions.
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ApplicationAutoScalingClient, DescribeScalableTargetsCommand } from '@aws-sdk/client-application-auto-scaling';
import { CloudFrontClient, ListDistributionsCommand } from '@aws-sdk/client-cloudfront';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CognitoIdentityProviderClient, ListUserPoolsCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeClustersCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { ListHostedZonesCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { classifyError } from '../../../src/aws/errors.js';
import { FaultProxy, NO_FAULTS, faultFor, type FaultRates } from '../../chaos/proxy.js';

let upstream: Server;
let upstreamUrl: string;
let upstreamHits = 0;

before(async () => {
  // Stands in for the emulator: counts what reaches it and answers every call with an empty success.
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      upstreamHits++;
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const addr = upstream.address();
  upstreamUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

after(async () => {
  upstream.closeAllConnections();
  await new Promise<void>((r) => upstream.close(() => r()));
});

interface Probe {
  readonly key: string;
  readonly send: (endpoint: string, requestTimeout?: number) => Promise<unknown>;
}

const config = (endpoint: string, requestTimeout = 5_000) => ({
  region: 'us-east-1',
  endpoint,
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  maxAttempts: 1,
  requestHandler: new NodeHttpHandler({ requestTimeout, throwOnRequestTimeout: true }),
});

// One read per client Slipway uses, covering the four protocols.
const PROBES: readonly Probe[] = [
  { key: 'ecs:DescribeClusters', send: (e, t) => new ECSClient(config(e, t)).send(new DescribeClustersCommand({})) },
  {
    key: 'cognito-idp:ListUserPools',
    send: (e, t) => new CognitoIdentityProviderClient(config(e, t)).send(new ListUserPoolsCommand({ MaxResults: 1 })),
  },
  {
    key: 'logs:DescribeLogGroups',
    send: (e, t) => new CloudWatchLogsClient(config(e, t)).send(new DescribeLogGroupsCommand({})),
  },
  {
    key: 'application-autoscaling:DescribeScalableTargets',
    send: (e, t) =>
      new ApplicationAutoScalingClient(config(e, t)).send(
        new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs' }),
      ),
  },
  {
    key: 'tagging:GetResources',
    send: (e, t) => new ResourceGroupsTaggingAPIClient(config(e, t)).send(new GetResourcesCommand({})),
  },
  {
    key: 'elasticloadbalancing:DescribeLoadBalancers',
    send: (e, t) => new ElasticLoadBalancingV2Client(config(e, t)).send(new DescribeLoadBalancersCommand({})),
  },
  { key: 'sts:GetCallerIdentity', send: (e, t) => new STSClient(config(e, t)).send(new GetCallerIdentityCommand({})) },
  { key: 'ec2:DescribeVpcs', send: (e, t) => new EC2Client(config(e, t)).send(new DescribeVpcsCommand({})) },
  {
    key: 'route53:ListHostedZones',
    send: (e, t) => new Route53Client(config(e, t)).send(new ListHostedZonesCommand({})),
  },
  {
    key: 'cloudfront:ListDistributions',
    send: (e, t) => new CloudFrontClient(config(e, t)).send(new ListDistributionsCommand({})),
  },
];

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('the call succeeded, but the proxy was set to fail it');
}

async function withProxy<T>(rates: FaultRates, body: (proxy: FaultProxy, url: string) => Promise<T>, seed = 1) {
  const proxy = new FaultProxy({ upstream: upstreamUrl, seed, rates });
  const url = await proxy.start();
  try {
    return await body(proxy, url);
  } finally {
    await proxy.stop();
  }
}

describe('the chaos proxy answers in each protocol’s shape', () => {
  for (const probe of PROBES) {
    test(`${probe.key}: throttling is classified as throttled by the SDK`, () =>
      withProxy({ ...NO_FAULTS, throttle: 1 }, async (proxy, url) => {
        const hits = upstreamHits;
        const err = await failure(probe.send(url));
        assert.equal(classifyError(err), 'throttled', `${probe.key}: ${String(err)}`);
        assert.equal(proxy.counts[probe.key]?.throttle, 1, JSON.stringify(proxy.counts));
        assert.equal(upstreamHits, hits, 'a throttled call never reaches the emulator');
      }));

    test(`${probe.key}: a 5xx is classified as transient`, () =>
      withProxy({ ...NO_FAULTS, error5xx: 1 }, async (proxy, url) => {
        // Two calls: the seeded draw picks 503 or 500 per call; both must be transient.
        for (let i = 0; i < 2; i++) {
          const err = await failure(probe.send(url));
          assert.equal(classifyError(err), 'transient', `${probe.key}: ${String(err)}`);
        }
        assert.equal(proxy.counts[probe.key]?.error5xx, 2);
      }));
  }
});

describe('lost and silent responses', () => {
  test('drop: the emulator receives the call, the client gets no answer and a transient error', () =>
    withProxy({ ...NO_FAULTS, drop: 1 }, async (proxy, url) => {
      const hits = upstreamHits;
      const err = await failure(PROBES[0]!.send(url));
      assert.equal(upstreamHits, hits + 1, 'the call reached the emulator before the connection was dropped');
      assert.equal(classifyError(err), 'transient', String(err));
      assert.equal(proxy.counts['ecs:DescribeClusters']?.drop, 1);
    }));

  test('silent: the call is held until the client’s request timeout ends it', () =>
    withProxy({ ...NO_FAULTS, silent: 1 }, async (proxy, url) => {
      const hits = upstreamHits;
      const err = await failure(PROBES[0]!.send(url, 300));
      assert.equal(classifyError(err), 'transient', String(err));
      assert.equal(upstreamHits, hits, 'a silent call never reaches the emulator');
      assert.equal(proxy.counts['ecs:DescribeClusters']?.silent, 1);
    }));

  test('a forced fault hits exactly the call it names, and only while injecting', async () => {
    const proxy = new FaultProxy({
      upstream: upstreamUrl,
      seed: 1,
      rates: NO_FAULTS,
      forced: { 'ecs:DescribeClusters#1': 'drop', 'ecs:DescribeClusters#3': 'throttle' },
    });
    const url = await proxy.start();
    try {
      await PROBES[0]!.send(url);
      assert.equal(classifyError(await failure(PROBES[0]!.send(url))), 'transient');
      await PROBES[0]!.send(url);
      proxy.setInjecting(false);
      await PROBES[0]!.send(url); // the 4th call (#3) passes: injection is off
      assert.deepEqual(proxy.counts['ecs:DescribeClusters'], { pass: 3, throttle: 0, error5xx: 0, drop: 1, silent: 0 });
    } finally {
      await proxy.stop();
    }
  });

  test('pass: the emulator’s answer comes back unchanged', () =>
    withProxy(NO_FAULTS, async (proxy, url) => {
      const out = await PROBES[0]!.send(url);
      assert.deepEqual((out as { clusters?: unknown }).clusters, undefined);
      assert.equal(proxy.counts['ecs:DescribeClusters']?.pass, 1);
    }));
});

describe('seeded decisions', () => {
  const rates: FaultRates = { throttle: 0.2, error5xx: 0.2, drop: 0.1, silent: 0 };

  /** Sends `n` raw JSON-protocol calls of two operations, interleaved in the given order, and returns the counts. */
  const run = (seed: number, order: readonly string[]) =>
    withProxy(
      rates,
      async (proxy, url) => {
        for (const op of order) {
          await new Promise<void>((resolve) => {
            const req = request(`${url}/`, {
              method: 'POST',
              headers: {
                'x-amz-target': `AmazonEC2ContainerServiceV20141113.${op}`,
                authorization: 'AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/ecs/aws4_request',
              },
            });
            req.on('response', (res) => res.resume().on('end', () => resolve()));
            req.on('error', () => resolve()); // a dropped call
            req.end('{}');
          });
        }
        return structuredClone(proxy.counts);
      },
      seed,
    );

  test('the same seed gives the same fate to the n-th call of each operation, whatever the interleaving', async () => {
    const a = Array.from({ length: 40 }, (_, i) => (i % 2 ? 'CreateService' : 'DescribeServices'));
    const b = [...a].sort(); // the same calls per operation, in another global order
    const first = await run(7, a);
    const again = await run(7, b);
    assert.deepEqual(again, first);
    const faults = Object.values(first).reduce((n, k) => n + k.throttle + k.error5xx + k.drop, 0);
    assert.ok(faults > 0 && faults < 40, `a 50 % fault mix faulted ${faults} of 40 calls`);
  });

  test('another seed gives other decisions', async () => {
    const order = Array.from({ length: 40 }, () => 'CreateService');
    const seeds = [1, 2, 3, 4].map((s) => run(s, order));
    const distinct = new Set((await Promise.all(seeds)).map((c) => JSON.stringify(c)));
    assert.ok(distinct.size > 1, 'four seeds all made the same decisions');
  });

  test('rates split the draws in order: throttle, 5xx, drop, silent, then pass', () => {
    const r: FaultRates = { throttle: 0.1, error5xx: 0.1, drop: 0.1, silent: 0.1 };
    assert.deepEqual(
      [0.05, 0.15, 0.25, 0.35, 0.45].map((x) => faultFor(x, r)),
      ['throttle', 'error5xx', 'drop', 'silent', 'pass'],
    );
  });
});
