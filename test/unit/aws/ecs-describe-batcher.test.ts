import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DescribeServicesCommand, Service } from '@aws-sdk/client-ecs';
import type { AwsClients } from '../../../src/aws/clients.js';
import { EcsDescribeBatcher } from '../../../src/aws/ecs-describe-batcher.js';
import { ecsServiceProps, rolloutAttrsOf } from '../../../src/reconcilers/ecs-service.js';

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

test("a described service keeps what Slipway reads of it, not its events nor its deployments' own settings", async () => {
  const full = {
    serviceArn: 'arn:aws:ecs:us-east-1:123456789012:service/main/a',
    serviceName: 'a',
    clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/main',
    status: 'ACTIVE',
    taskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/a:3',
    desiredCount: 2,
    runningCount: 1,
    pendingCount: 1,
    launchType: 'FARGATE',
    networkConfiguration: {
      awsvpcConfiguration: { subnets: ['subnet-1'], securityGroups: ['sg-1'], assignPublicIp: 'DISABLED' },
    },
    loadBalancers: [{ targetGroupArn: 'arn:tg', containerName: 'app', containerPort: 8080 }],
    healthCheckGracePeriodSeconds: 30,
    deploymentConfiguration: {
      deploymentCircuitBreaker: { enable: true, rollback: true },
      minimumHealthyPercent: 100,
      maximumPercent: 200,
    },
    deployments: [
      {
        id: 'ecs-svc/1',
        status: 'PRIMARY',
        taskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/a:3',
        rolloutState: 'IN_PROGRESS',
        rolloutStateReason: 'ECS deployment ecs-svc/1 in progress.',
        runningCount: 1,
        networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-1'] } },
      },
    ],
    events: [{ id: 'e1', message: '(service a) has reached a steady state.' }],
    tags: [{ key: 'slipway.dev/owner', value: 'Service/default/a' }],
  };
  const ecs = {
    send: (command: DescribeServicesCommand) =>
      Promise.resolve({ services: (command.input.services ?? []).map(() => structuredClone(full)) }),
  };
  const s = await new EcsDescribeBatcher({ ecs } as unknown as AwsClients, 1).describe('main', 'a');
  assert.ok(s);
  assert.equal(s.events, undefined);
  assert.equal(s.launchType, undefined);
  assert.deepEqual(s.deployments, [
    {
      id: 'ecs-svc/1',
      status: 'PRIMARY',
      taskDefinition: full.taskDefinition,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: 'ECS deployment ecs-svc/1 in progress.',
    },
  ]);
  // Everything the service's observation takes from it is unchanged.
  const seen = (x: Service) => ({ props: ecsServiceProps(x), rollout: rolloutAttrsOf(x), tags: x.tags });
  assert.deepEqual(seen(s), seen(full as Service));
});
