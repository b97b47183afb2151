import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import type { AwsClients } from '../../../src/aws/clients.js';
import { EcsDescribeBatcher } from '../../../src/aws/ecs-describe-batcher.js';

/** An ECS client whose DescribeServices answers only when the test says so. */
function heldClients() {
  const held: { readonly services: readonly string[]; readonly answer: () => void }[] = [];
  const ecs = {
    send: (command: DescribeServicesCommand) =>
      new Promise((resolve) => {
        const services = command.input.services ?? [];
        held.push({
          services,
          answer: () => resolve({ services: services.map((n) => ({ serviceName: n, status: 'ACTIVE' })) }),
        });
      }),
  };
  return { aws: { ecs } as unknown as AwsClients, held };
}

test('a lookup whose pass is aborted is released at once; the batch goes on for the other lookups in it', async () => {
  const { aws, held } = heldClients();
  const batcher = new EcsDescribeBatcher(aws, 1);
  const pass = new AbortController();
  const aborted = batcher.describe('main', 'a', pass.signal);
  const other = batcher.describe('main', 'b');
  await waitFor(() => held.length === 1);
  pass.abort(new Error('pass deadline'));
  await assert.rejects(aborted, { name: 'AbortError' });
  held[0]!.answer();
  assert.equal((await other)?.serviceName, 'b');
  assert.deepEqual(held[0]!.services, ['a', 'b']);
});

test('a lookup made with an already aborted signal is refused without a call', async () => {
  const { aws, held } = heldClients();
  const batcher = new EcsDescribeBatcher(aws, 1);
  await assert.rejects(batcher.describe('main', 'a', AbortSignal.abort()), { name: 'AbortError' });
  assert.equal(held.length, 0);
});

/** Waits for the batch window's timer to fire (a condition, bounded). */
async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), 'condition not reached');
}

test("a described service's events are not kept: a wave holds every service of the cluster", async () => {
  const event = { id: 'e1', message: '(service a) has reached a steady state.' };
  const ecs = {
    send: (command: DescribeServicesCommand) =>
      Promise.resolve({
        services: (command.input.services ?? []).map((n) => ({ serviceName: n, status: 'ACTIVE', events: [event] })),
      }),
  };
  const batcher = new EcsDescribeBatcher({ ecs } as unknown as AwsClients, 1);
  const s = await batcher.describe('main', 'a');
  assert.equal(s?.serviceName, 'a');
  assert.equal(s?.events, undefined);
});
