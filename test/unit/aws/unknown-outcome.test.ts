import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import {
  CreateRuleCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { classifyError } from '../../../src/aws/errors.js';
import { guardNotIdempotentCreates, OutcomeUnknownError } from '../../../src/aws/unknown-outcome.js';

// An endpoint that reads each request whole (as if AWS applied it) and then drops the connection unanswered.
let server: Server;
let endpoint: string;
const received: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(/Action=(\w+)/.exec(body)?.[1] ?? '?');
      res.socket?.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  endpoint = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function client(): ElasticLoadBalancingV2Client {
  return guardNotIdempotentCreates(
    new ElasticLoadBalancingV2Client({
      endpoint,
      region: 'us-east-1',
      maxAttempts: 3,
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    }),
    'elbv2',
  );
}

test('a CreateRule whose response is lost is sent once and fails as OutcomeUnknown, which the queue retries', async () => {
  received.length = 0;
  const elbv2 = client();
  const err = await elbv2
    .send(new CreateRuleCommand({ ListenerArn: 'arn:l', Priority: 1, Conditions: [], Actions: [] }))
    .then(
      () => assert.fail('the call cannot succeed'),
      (e: unknown) => e,
    );
  assert.ok(err instanceof OutcomeUnknownError, String(err));
  assert.deepEqual(received, ['CreateRule']);
  assert.equal(classifyError(err), 'transient');
  elbv2.destroy();
});

test('a read whose response is lost is still retried by the SDK', async () => {
  received.length = 0;
  const elbv2 = client();
  await assert.rejects(elbv2.send(new DescribeRulesCommand({ ListenerArn: 'arn:l' })));
  assert.deepEqual(received, ['DescribeRules', 'DescribeRules', 'DescribeRules']);
  elbv2.destroy();
});
