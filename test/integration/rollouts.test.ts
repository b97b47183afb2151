// The rollout watcher end to end: the real operator in-process, a real kube-apiserver, and moto behind a relay that
// plays ECS's scheduler (moto's deployments never progress). Two Services roll out; while nothing moves, the
// operator makes one DescribeServices a poll for both and no pass; when one deployment completes, that Service alone
// gets one pass and its status says COMPLETED with its tasks running, and the other is still followed. Then ECS's
// circuit breaker rolls a deployment back: status.history and an Event say so, and the service stays where ECS put it;
// likewise a preview's, whose status.service.deployment says so.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PreviewDeployment, Service } from '../../src/api/index.js';
import type { AwsClients } from '../../src/aws/clients.js';
import { PREVIEW_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import type { Operator } from '../../src/operator.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
import { EcsRolloutRelay } from '../support/ecs-rollout-relay.js';
import { getTestEnv } from '../support/env.js';
import {
  createNamespace,
  eventsOf,
  eventually,
  installCrds,
  kubeClient,
  kubectl,
  waitForCondition,
} from '../support/kube.js';
import { nudge, waitQuiet } from '../support/nudge.js';
import { apply, environmentYaml, previewYaml, serviceYaml } from '../support/manifests.js';
import { reconcileCount, startOperator } from '../support/operator.js';

const suffix = uniqueSuffix();
const ns = `rollouts-${suffix}`;
const kube = kubeClient();
const services = kube.resource<Service>(SERVICE_TYPE);
const previews = kube.resource<PreviewDeployment>(PREVIEW_TYPE);
const POLL_MS = 1_000;

let aws: AwsClients;
let land: Landscape;
let relay: EcsRolloutRelay;
let operator: Operator;

/** Calls since `before`, by `service:operation`. */
function callsSince(before: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of operator.calls.snapshot()) {
    const op = key.split(':').slice(0, 2).join(':');
    const delta = n - (before.get(key) ?? 0);
    if (delta > 0) out[op] = (out[op] ?? 0) + delta;
  }
  return out;
}

/** The ECS service's name, from the inventory in status. */
async function ecsNameOf(name: string): Promise<string> {
  const svc = await services.get({ namespace: ns, name });
  const arn = svc.status?.resources?.find((r) => r.kind === 'ecs.Service')?.arn ?? '';
  assert.ok(arn, `${name} lists its ECS service`);
  return arn.split('/').pop()!;
}

describe('rollout watcher', { timeout: 300_000 }, () => {
  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    land = await createLandscape(aws, `rollouts-${suffix}.shop.test`);
    relay = new EcsRolloutRelay(new URL(getTestEnv().awsEndpoint));
    const endpoint = await relay.listen();
    // Its own namespace only: the test counts passes and waits for an idle operator, which objects other files of
    // the lane left on the same API server would never let it see.
    operator = await startOperator(
      { SLIPWAY_AWS_ENDPOINT: endpoint, SLIPWAY_WATCH_NAMESPACE: ns },
      { rolloutPollMs: POLL_MS },
    );
  });
  after(async () => {
    await operator?.stop();
    await relay?.close();
    aws?.destroy();
  });

  test('rolling Services are polled in one batched DescribeServices; a completed one gets one pass and COMPLETED', async () => {
    apply(environmentYaml(ns, land, 'dev'));
    const names = ['roll-a', 'roll-b'];
    for (const name of names) apply(serviceYaml(ns, name, { subdomain: name }));
    for (const name of names) {
      await waitForCondition(services, { namespace: ns, name }, 'Ready', 'True', { timeoutMs: 120_000 });
      const svc = await services.get({ namespace: ns, name });
      assert.equal(svc.status?.rolloutState, 'IN_PROGRESS', `${name} is rolling out (moto starts no task)`);
    }
    const [a, b] = [await ecsNameOf('roll-a'), await ecsNameOf('roll-b')];
    await eventually('both rollouts followed, the operator idle', async () =>
      operator.rollouts.size === 2 && operator.idle() ? true : undefined,
    );

    // Nothing moves: polls only, each one DescribeServices naming both, and no pass.
    const calls = operator.calls.snapshot();
    const passes = await reconcileCount(operator, 'service');
    const seen = relay.describeCalls.length;
    await eventually('two polls', async () => (relay.describeCalls.length - seen >= 2 ? true : undefined), 30_000);
    const polls = relay.describeCalls.slice(seen);
    for (const poll of polls) assert.deepEqual([...poll].sort(), [a, b].sort(), 'one call describes both');
    const made = callsSince(calls);
    assert.deepEqual(Object.keys(made), ['ecs:DescribeServices'], 'a poll reads nothing else and writes nothing');
    assert.equal(await reconcileCount(operator, 'service'), passes, 'no pass while nothing moved');

    // One deployment completes: that Service alone gets a pass, and its status follows ECS.
    relay.complete(a);
    const done = await eventually('roll-a COMPLETED in status', async () => {
      const svc = await services.get({ namespace: ns, name: 'roll-a' });
      return svc.status?.rolloutState === 'COMPLETED' ? svc : undefined;
    });
    assert.equal(done.status?.runningCount, done.status?.desiredCount, 'its desired tasks show as running');
    assert.ok((done.status?.runningCount ?? 0) > 0);
    await eventually('the operator idle again', async () => (operator.idle() ? true : undefined));
    assert.equal(await reconcileCount(operator, 'service'), passes + 1, 'one pass, for roll-a');
    const other = await services.get({ namespace: ns, name: 'roll-b' });
    assert.equal(other.status?.rolloutState, 'IN_PROGRESS');
    assert.equal(operator.rollouts.size, 1, 'roll-b is still followed, roll-a no longer');
    const after = relay.describeCalls.length;
    await eventually('the next poll', async () => (relay.describeCalls.length > after ? true : undefined), 30_000);
    assert.deepEqual(relay.describeCalls.at(-1), [b], 'the poll names only what still rolls');
  });

  test('a circuit-breaker rollback: history says RolledBack, a Warning Event says so, and the failed revision is not deployed again', async () => {
    // roll-a's first deployment completed in the test before.
    const first = await eventually('roll-a history Succeeded', async () => {
      const svc = await services.get({ namespace: ns, name: 'roll-a' });
      return svc.status?.history?.[0]?.result === 'Succeeded' ? svc : undefined;
    });
    const td1 = first.status!.taskDefinitionArn!;
    // From now on ECS shows the next deployment of roll-a failed and rolled back to the first revision.
    relay.rollBack(await ecsNameOf('roll-a'), td1);
    const calls = operator.calls.snapshot();
    apply(serviceYaml(ns, 'roll-a', { subdomain: 'roll-a', image: 'registry.shop.test/catalog:2.0.0' }));
    const rolledBack = await eventually('the new revision RolledBack in status.history', async () => {
      const svc = await services.get({ namespace: ns, name: 'roll-a' });
      return svc.status?.history?.[0]?.result === 'RolledBack' ? svc : undefined;
    });
    const [entry, previous] = rolledBack.status!.history!;
    assert.equal(entry!.revision, first.status!.revision! + 1);
    assert.equal(entry!.image, 'registry.shop.test/catalog:2.0.0');
    assert.match(entry!.message ?? '', /circuit breaker: rolled back/);
    assert.equal(previous!.taskDefinitionArn, td1);
    assert.equal(previous!.result, 'Succeeded');
    await eventually('a DeploymentRolledBack Warning', async () => {
      const events = eventsOf(ns, { reason: 'DeploymentRolledBack', type: 'Warning', name: 'roll-a' });
      return events.length > 0 ? true : undefined;
    });
    // Another pass holds the service on the revision ECS went back to: the failed one is not deployed again.
    await nudge(operator, 'service', ns, 'roll-a');
    assert.equal(callsSince(calls)['ecs:UpdateService'], 1, 'one UpdateService: the deployment that failed');
    const held = await services.get({ namespace: ns, name: 'roll-a' });
    assert.equal(held.status?.history?.[0]?.result, 'RolledBack');
  });

  test('a circuit-breaker rollback of a preview: status.service.deployment says RolledBack, a Warning Event says so, and the failed revision is not deployed again', async () => {
    apply(environmentYaml(ns, land, 'dev', '  previews: { enabled: true, maxActive: 2 }\n'));
    apply(previewYaml(ns, 'roll-b-pr-1', 1, { service: 'roll-b' }));
    const ref = { namespace: ns, name: 'roll-b-pr-1' };
    await waitForCondition(previews, ref, 'Ready', 'True', { timeoutMs: 120_000 });
    const first = await eventually('the first deployment recorded', async () => {
      const p = await previews.get(ref);
      return p.status?.service?.deployment?.result === 'InProgress' ? p : undefined;
    });
    const td1 = first.status!.service!.deployment!.taskDefinitionArn;
    const arn = first.status?.resources?.find((r) => r.kind === 'ecs.Service')?.arn ?? '';
    assert.ok(arn, 'the preview lists its ECS service');
    // From now on ECS shows the preview's next deployment failed and rolled back to its first revision.
    relay.rollBack(arn.split('/').pop()!, td1);
    await waitQuiet(operator);
    const calls = operator.calls.snapshot();
    kubectl([
      'patch',
      'previewdeployments.slipway.dev',
      '-n',
      ns,
      'roll-b-pr-1',
      '--type',
      'merge',
      '-p',
      '{"spec":{"imageTag":"pr-1-fix"}}',
    ]);
    const rolledBack = await eventually('the new revision RolledBack in status.service.deployment', async () => {
      const p = await previews.get(ref);
      return p.status?.service?.deployment?.result === 'RolledBack' ? p : undefined;
    });
    const entry = rolledBack.status!.service!.deployment!;
    assert.notEqual(entry.taskDefinitionArn, td1);
    assert.equal(entry.revision, first.status!.service!.deployment!.revision + 1);
    assert.equal(entry.image, 'registry.shop.test/catalog:pr-1-fix');
    assert.match(entry.message ?? '', /circuit breaker: rolled back/);
    await eventually('a DeploymentRolledBack Warning on the preview', async () => {
      const events = eventsOf(ns, { reason: 'DeploymentRolledBack', type: 'Warning', name: 'roll-b-pr-1' });
      return events.some((e) => e.message.includes(`revision ${entry.revision} `)) ? true : undefined;
    });
    // Two more passes hold the preview on the revision ECS went back to: the failed one is not deployed again.
    await nudge(operator, 'preview', ns, 'roll-b-pr-1');
    await nudge(operator, 'preview', ns, 'roll-b-pr-1');
    assert.equal(callsSince(calls)['ecs:UpdateService'], 1, 'one UpdateService: the deployment that failed');
    const held = await previews.get(ref);
    assert.deepEqual(held.status?.service?.deployment, entry);
  });
});
