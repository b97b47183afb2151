// A deletion that removes everything in its first pass ends in that pass: the Deleting status is written first, and
// the finalizer is then removed from the object that write returned. (Removed from the object read before it, the
// patch carries a resourceVersion the status write made stale and fails with 409 Conflict, costing a second pass
// per deletion: with many Services deleted at once, that doubles the deletion.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Environment, Service } from '../../src/api/index.js';
import type { AwsClients } from '../../src/aws/clients.js';
import { ENVIRONMENT_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import type { Operator } from '../../src/operator.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
import { createNamespace, eventually, installCrds, kubeClient, kubectl, waitForCondition } from '../support/kube.js';
import { apply, environmentYaml, serviceYaml } from '../support/manifests.js';
import { startOperator } from '../support/operator.js';

const suffix = uniqueSuffix();
const ns = `delfin-${suffix}`;
const kube = kubeClient();
const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
const services = kube.resource<Service>(SERVICE_TYPE);

let aws: AwsClients;
let land: Landscape;
let operator: Operator;

async function serviceErrors(): Promise<number> {
  const metric = await operator.registry.getSingleMetric('controller_runtime_reconcile_errors_total')?.get();
  return metric?.values.find((v) => v.labels.controller === 'service')?.value ?? 0;
}

describe('deletion and the finalizer', { timeout: 300_000 }, () => {
  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    land = await createLandscape(aws, `delfin-${suffix}.shop.test`);
    operator = await startOperator();
  });

  after(async () => {
    kubectl(['delete', 'environments.slipway.dev', '--all', '-n', ns, '--wait=false']);
    await eventually(
      'the Environment to be gone',
      async () => ((await environments.list({ namespace: ns })).items.length === 0 ? true : undefined),
      180_000,
    ).catch(() => undefined);
    await operator?.stop();
    aws?.destroy();
  });

  test('a Service deleted in one pass loses its finalizer in that pass, without a conflict', async () => {
    apply(environmentYaml(ns, land, 'dev'));
    apply(serviceYaml(ns, 'catalog'));
    await waitForCondition(environments, { namespace: ns, name: 'dev' }, 'Ready', 'True', { timeoutMs: 120_000 });
    await waitForCondition(services, { namespace: ns, name: 'catalog' }, 'Ready', 'True', { timeoutMs: 120_000 });
    const errorsBefore = await serviceErrors();

    kubectl(['delete', 'services.slipway.dev', 'catalog', '-n', ns, '--wait=false']);
    await eventually(
      'the Service to be gone',
      async () => ((await services.find({ namespace: ns, name: 'catalog' })) ? undefined : true),
      120_000,
    );
    assert.equal(await serviceErrors(), errorsBefore, 'a deletion pass failed (a 409 Conflict on the finalizer)');
  });
});
