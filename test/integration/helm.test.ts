// charts/slipway installed into the test control plane with helm, and then the real operator, in-process but
// authenticated with the chart's own ServiceAccount token, reconciling an Environment against moto to Ready and
// deleting it again: the chart's RBAC is enough. Actions the operator never takes are refused: it is no wider.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import type { Environment } from '../../src/api/index.js';
import { loadConfig } from '../../src/config.js';
import { ENVIRONMENT_TYPE, PREVIEW_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import { createOperator, type Operator } from '../../src/operator.js';
import {
  CoreTypes,
  KubeClient,
  statusCodeOf,
  type KubeEvent,
  type Lease,
  type ResourceType,
} from '../../src/runtime/index.js';
import { ensureHelm } from '../env/build.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
import { getTestEnv } from '../support/env.js';
import { createNamespace, eventually, kubeClient, kubectl, waitForCondition } from '../support/kube.js';
import { environmentYaml } from '../support/manifests.js';

const execFileAsync = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const suffix = uniqueSuffix();
const release = `slipway-${suffix}`; // the chart's full name, ServiceAccount and Lease are the release name
const releaseNs = `slipway-system-${suffix}`;
const appNs = `helm-app-${suffix}`;
const scopedRelease = `slipway-scoped-${suffix}`;
const scopedNs = `helm-scoped-${suffix}`;
const saUser = `system:serviceaccount:${releaseNs}:${release}`;
const CRDS = ['environments.slipway.dev', 'services.slipway.dev', 'previewdeployments.slipway.dev'];

const admin = kubeClient();
const environments = admin.resource<Environment>(ENVIRONMENT_TYPE);
let helmBin: string;
let land: Landscape;
let operator: Operator | undefined;
let asOperator: KubeClient;
let crdsExistedBefore = false;

async function helm(args: readonly string[]): Promise<string> {
  const { stdout } = await execFileAsync(helmBin, [...args, '--kubeconfig', getTestEnv().kubeconfigPath], {
    cwd: root,
  });
  return stdout;
}

/** `kubectl auth can-i` as the chart's ServiceAccount. */
function can(verb: string, resource: string, namespace?: string, user = saUser): boolean {
  const scope = namespace ? ['-n', namespace] : ['--all-namespaces'];
  try {
    return kubectl(['auth', 'can-i', verb, resource, ...scope, `--as=${user}`]).trim() === 'yes';
  } catch {
    return false; // can-i exits 1 on "no"
  }
}

/**
 * Earlier test files installed the CRDs with kubectl. To see helm install them, they go first, with every object
 * of their kinds (finalizers stripped: no operator of those files is left to remove them).
 */
async function removeSlipwayCrds(): Promise<void> {
  const present = () =>
    kubectl(['get', 'crd', '-o', 'name'])
      .split('\n')
      .filter((n) => CRDS.some((c) => n === `customresourcedefinition.apiextensions.k8s.io/${c}`));
  crdsExistedBefore = present().length > 0;
  if (!crdsExistedBefore) return;
  for (const type of [PREVIEW_TYPE, SERVICE_TYPE, ENVIRONMENT_TYPE] as const satisfies readonly ResourceType[]) {
    const client = admin.resource(type);
    for (const obj of (await client.listAll()).items) {
      if (!obj.metadata?.finalizers?.length) continue;
      await client
        .mergePatch({ namespace: obj.metadata.namespace, name: obj.metadata.name! }, { metadata: { finalizers: null } })
        .catch(() => undefined);
    }
  }
  kubectl(['delete', 'crd', ...CRDS, '--ignore-not-found', '--wait=false']);
  await eventually('the Slipway CRDs to be gone', async () => (present().length > 0 ? undefined : true), 120_000);
}

function saKubeConfig(token: string): KubeConfig {
  const server = getTestEnv().kubeConfig.getCurrentCluster()?.server;
  assert.ok(server);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server, skipTLSVerify: true }],
    users: [{ name: release, token }],
    contexts: [{ name: 'operator', cluster: 'test', user: release }],
    currentContext: 'operator',
  });
  return kc;
}

async function refused(what: string, call: () => Promise<unknown>): Promise<void> {
  await assert.rejects(call, (err: unknown) => statusCodeOf(err) === 403, `${what} is refused with 403`);
}

describe('the Helm chart in a real control plane', { timeout: 900_000 }, () => {
  before(async () => {
    helmBin = await ensureHelm();
    await removeSlipwayCrds();
    createNamespace(releaseNs);
    createNamespace(appNs);
    createNamespace(scopedNs);
  });

  after(async () => {
    await operator?.stop();
    for (const [name, ns] of [
      [release, releaseNs],
      [scopedRelease, releaseNs],
    ] as const) {
      await helm(['uninstall', name, '--namespace', ns, '--wait=false']).catch(() => undefined);
    }
  });

  test('helm install creates the CRDs, the Deployment, the ServiceAccount and the RBAC', async () => {
    await helm([
      'install',
      release,
      join(root, 'charts', 'slipway'),
      '--namespace',
      releaseNs,
      '--set',
      `clusterId=helm-${suffix}`,
    ]);
    kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...CRDS.map((c) => `crd/${c}`)]);
    for (const crd of CRDS) {
      const { metadata } = JSON.parse(kubectl(['get', 'crd', crd, '-o', 'json', '--show-managed-fields'])) as {
        metadata: { managedFields: { manager: string }[] };
      };
      assert.ok(
        metadata.managedFields.some((f) => f.manager === 'helm'),
        `${crd} was created by helm (removed first: ${crdsExistedBefore})`,
      );
    }
    const deployment = JSON.parse(kubectl(['get', 'deployment', release, '-n', releaseNs, '-o', 'json'])) as {
      spec: { replicas: number; template: { spec: { serviceAccountName: string } } };
    };
    assert.equal(deployment.spec.replicas, 2);
    assert.equal(deployment.spec.template.spec.serviceAccountName, release);
    assert.ok(kubectl(['get', 'serviceaccount', release, '-n', releaseNs, '-o', 'name']).includes(release));
    assert.ok(kubectl(['get', 'clusterrole', release, '-o', 'name']).includes(release));
    assert.ok(kubectl(['get', 'clusterrolebinding', release, '-o', 'name']).includes(release));
    assert.ok(
      kubectl(['get', 'role', `${release}-leader-election`, '-n', releaseNs, '-o', 'name']).includes('leader-election'),
    );
    assert.ok(kubectl(['get', 'service', `${release}-metrics`, '-n', releaseNs, '-o', 'name']).includes('metrics'));
    assert.match(await helm(['status', release, '--namespace', releaseNs]), /STATUS: deployed/);
  });

  test('the operator, with the ServiceAccount token, reconciles an Environment against moto to Ready', async () => {
    const token = kubectl(['create', 'token', release, '-n', releaseNs, '--duration=1h']).trim();
    const kubeConfig = saKubeConfig(token);
    asOperator = new KubeClient(kubeConfig);
    const env = getTestEnv();
    const aws = testAws();
    land = await createLandscape(aws, `helm-${suffix}.shop.test`);
    aws.destroy();
    process.env.AWS_ACCESS_KEY_ID ??= env.awsCredentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY ??= env.awsCredentials.secretAccessKey;
    // The settings the chart's Deployment gives the operator (cluster-wide, leader election on), plus the emulator.
    const config = loadConfig({
      SLIPWAY_CLUSTER_ID: `helm-${suffix}`,
      SLIPWAY_AWS_ENDPOINT: env.awsEndpoint,
      AWS_REGION: env.awsRegion,
      SLIPWAY_LEADER_ELECTION: 'true',
      SLIPWAY_LEASE_NAMESPACE: releaseNs,
      SLIPWAY_LEASE_NAME: release,
      POD_NAME: `${release}-0`,
      SLIPWAY_METRICS_PORT: '0',
    });
    operator = createOperator({
      config,
      kubeConfig,
      logger: pino({ level: process.env.SLIPWAY_TEST_LOG_LEVEL ?? 'warn' }),
    });
    await operator.start();

    const lease = await eventually('the operator to hold its Lease', async () => {
      const l = await admin.resource<Lease>(CoreTypes.lease).find({ namespace: releaseNs, name: release });
      return l?.spec?.holderIdentity?.startsWith(`${release}-0_`) ? l : undefined;
    });
    assert.ok(lease.spec?.renewTime);

    kubectl(['apply', '-f', '-'], environmentYaml(appNs, land, 'dev'));
    const ready = await waitForCondition(environments, { namespace: appNs, name: 'dev' }, 'Ready', 'True', {
      timeoutMs: 180_000,
    });
    assert.ok(ready.metadata.finalizers?.includes('slipway.dev/cleanup'), 'the finalizer was added');
    assert.ok(ready.status?.loadBalancer?.dnsName, 'status was written');
    assert.equal(ready.status?.observedGeneration, ready.metadata.generation);
  });

  test('the ServiceAccount is refused what the operator never does', async () => {
    assert.ok(asOperator, 'the operator client exists');
    await refused('listing Secrets', () => asOperator.resource(CoreTypes.secret).list({ namespace: appNs }));
    await refused('reading ConfigMaps', () => asOperator.resource(CoreTypes.configMap).list({ namespace: releaseNs }));
    await refused('deleting an Environment', () =>
      asOperator.resource(ENVIRONMENT_TYPE).delete({ namespace: appNs, name: 'dev' }),
    );
    await refused('creating an Environment', () =>
      asOperator.resource(ENVIRONMENT_TYPE).create({
        apiVersion: 'slipway.dev/v1alpha1',
        kind: 'Environment',
        metadata: { name: 'rogue', namespace: appNs },
      }),
    );
    await refused('reading a Lease in another namespace', () =>
      asOperator.resource(CoreTypes.lease).list({ namespace: appNs }),
    );
    await refused('reading another Lease in its own namespace', () =>
      asOperator.resource(CoreTypes.lease).get({ namespace: releaseNs, name: 'someone-else' }),
    );
    await refused('deleting its own Lease', () =>
      asOperator.resource(CoreTypes.lease).delete({ namespace: releaseNs, name: release }),
    );
    assert.equal(can('delete', 'previewdeployments.slipway.dev', appNs), true, 'expired previews may be deleted');
    assert.equal(can('delete', 'services.slipway.dev', appNs), false);
    assert.equal(can('create', 'pods', appNs), false);
    assert.equal(can('list', 'namespaces'), false);
    assert.equal(can('escalate', 'clusterroles.rbac.authorization.k8s.io'), false);
  });

  test('deleting the Environment: the operator removes its AWS resources and its finalizer, and records an Event', async () => {
    kubectl(['delete', 'environments.slipway.dev', 'dev', '-n', appNs, '--wait=false']);
    await eventually(
      'the Environment to be gone',
      async () => ((await environments.find({ namespace: appNs, name: 'dev' })) ? undefined : true),
      180_000,
    );
    const events = await admin.resource<KubeEvent>(CoreTypes.event).list({ namespace: appNs });
    const deleted = events.items.find((e) => e.reason === 'Deleted' && e.regarding.name === 'dev');
    assert.ok(deleted, `a Deleted event (events: ${events.items.map((e) => e.reason).join(', ')})`);
    assert.equal(deleted.reportingController, 'slipway.dev/operator');
  });

  test('with watchNamespace the ServiceAccount may act in that namespace only', async () => {
    await helm([
      'install',
      scopedRelease,
      join(root, 'charts', 'slipway'),
      '--namespace',
      releaseNs,
      '--skip-crds',
      '--set',
      `watchNamespace=${scopedNs}`,
      '--set',
      `clusterId=scoped-${suffix}`,
    ]);
    const user = `system:serviceaccount:${releaseNs}:${scopedRelease}`;
    assert.equal(can('list', 'environments.slipway.dev', scopedNs, user), true);
    assert.equal(can('patch', 'environments.slipway.dev/status', scopedNs, user), true);
    assert.equal(can('create', 'events.events.k8s.io', scopedNs, user), true);
    assert.equal(can('list', 'environments.slipway.dev', appNs, user), false, 'not in another namespace');
    assert.equal(can('list', 'environments.slipway.dev', undefined, user), false, 'not cluster-wide');
    assert.equal(
      can('update', `leases.coordination.k8s.io/${scopedRelease}`, releaseNs, user),
      true,
      'its Lease in the release namespace',
    );
    assert.throws(() => kubectl(['get', 'clusterrole', scopedRelease]), /NotFound/);
  });
});
