// Every wait has a deadline. AWS endpoints reached through a connection that goes silent (a NAT gateway or proxy
// that dropped it without telling either end) must neither hold a worker nor wedge a deletion: the pass is
// abandoned at its deadline, the status says so, and the work resumes by itself once AWS answers again.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Environment } from '../../src/api/index.js';
import type { AwsClients } from '../../src/aws/clients.js';
import { ENVIRONMENT_TYPE } from '../../src/controllers/resource-types.js';
import type { Operator } from '../../src/operator.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
import {
  condition,
  createNamespace,
  eventually,
  installCrds,
  kubeClient,
  kubectl,
  waitForCondition,
} from '../support/kube.js';
import { apply, environmentYaml } from '../support/manifests.js';
import { getTestEnv } from '../support/env.js';
import { waitQuiet } from '../support/nudge.js';
import { reconcileCount, startOperator } from '../support/operator.js';
import { SilenceableRelay } from '../support/silenceable-relay.js';

const suffix = uniqueSuffix();
const ns = `deadline-${suffix}`;
const kube = kubeClient();
const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);

let aws: AwsClients;
let land: Landscape;
let relay: SilenceableRelay;
let operator: Operator;

async function activeWorkers(controller: string): Promise<number> {
  const metric = await operator.registry.getSingleMetric('controller_runtime_active_workers')?.get();
  return metric?.values.find((v) => v.labels.controller === controller)?.value ?? 0;
}

describe('pass deadlines', { timeout: 300_000 }, () => {
  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    land = await createLandscape(aws, `deadline-${suffix}.shop.test`);
    relay = new SilenceableRelay(new URL(getTestEnv().awsEndpoint));
    operator = await startOperator({
      SLIPWAY_AWS_ENDPOINT: await relay.listen(),
      SLIPWAY_PASS_DEADLINE: '3s',
      SLIPWAY_WATCH_NAMESPACE: ns,
    });
  });
  after(async () => {
    await operator?.stop();
    await relay?.close();
    aws?.destroy();
  });

  test('a deletion whose AWS connections go silent is abandoned at the deadline, says so, and finishes once AWS answers', async () => {
    apply(environmentYaml(ns, land, 'dev'));
    await waitForCondition(environments, { namespace: ns, name: 'dev' }, 'Ready', 'True', { timeoutMs: 120_000 });

    // No pass in flight when the connections go silent: what follows is the deletion's alone.
    await waitQuiet(operator);
    relay.goSilent();
    const before = await reconcileCount(operator, 'environment');
    kubectl(['delete', 'environment', 'dev', '-n', ns, '--wait=false']);
    // On its way out, not Ready, and saying what holds it: the deletion pass ran out of time.
    const stuck = await waitForCondition(environments, { namespace: ns, name: 'dev' }, 'Deleting', 'True', {
      reason: 'DeadlineExceeded',
      timeoutMs: 60_000,
    });
    assert.ok(stuck.metadata.deletionTimestamp, 'the Environment is being deleted');
    assert.ok(stuck.metadata.finalizers?.length, 'its finalizer is kept while AWS resources may remain');
    assert.equal(condition(stuck, 'Synced')?.reason, 'DeadlineExceeded');
    assert.equal(condition(stuck, 'Ready')?.status, 'False');
    // The worker was released and the key goes on being retried with backoff: more passes, none left running.
    await eventually('a second abandoned pass', async () =>
      (await reconcileCount(operator, 'environment')) >= before + 2 ? true : undefined,
    );
    await eventually('no environment worker busy between passes', async () =>
      (await activeWorkers('environment')) === 0 ? true : undefined,
    );

    relay.silent = false;
    await eventually(
      'the Environment to be gone',
      async () => ((await environments.find({ namespace: ns, name: 'dev' })) ? undefined : true),
      180_000,
    );
  });
});
