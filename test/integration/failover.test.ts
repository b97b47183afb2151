// Two replicas with leader election, as the chart runs them: the leader is killed outright (SIGKILL) in the middle
// of a create wave, the standby takes the Lease over and finishes the wave, and the AWS account ends up with exactly
// one of everything: never two writers, nothing created twice. How long the takeover takes is reported (it is
// bounded by the Lease's duration, 15 s), not asserted: timings belong to RELIABILITY.md, not to a test.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Environment, Service } from '../../src/api/index.js';
import type { AwsClients } from '../../src/aws/clients.js';
import { ENVIRONMENT_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import { CoreTypes, type Lease } from '../../src/runtime/index.js';
import { freePort } from '../env/processes.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
import { condition, createNamespace, eventually, installCrds, kubeClient } from '../support/kube.js';
import { apply, environmentYaml, serviceYaml } from '../support/manifests.js';

const root = join(import.meta.dirname, '..', '..');
const suffix = uniqueSuffix();
const ns = `failover-${suffix}`;
const leaseName = `slipway-failover-${suffix}`;
const kube = kubeClient();
const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
const services = kube.resource<Service>(SERVICE_TYPE);
const leases = kube.resource<Lease>(CoreTypes.lease);
const SERVICES = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];

let aws: AwsClients;
let land: Landscape;
const replicas = new Map<string, ChildProcess>();

async function startReplica(pod: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      SLIPWAY_CLUSTER_ID: 'failover',
      SLIPWAY_WATCH_NAMESPACE: ns,
      SLIPWAY_LEADER_ELECTION: 'true',
      SLIPWAY_LEASE_NAMESPACE: ns,
      SLIPWAY_LEASE_NAME: leaseName,
      SLIPWAY_METRICS_PORT: String(await freePort()),
      POD_NAME: pod,
      SLIPWAY_LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  replicas.set(pod, child);
}

/** The pod holding the Lease (its identity starts with the pod name). */
async function leader(): Promise<string | undefined> {
  const lease = await leases.find({ namespace: ns, name: leaseName });
  const holder = lease?.spec?.holderIdentity ?? '';
  return [...replicas.keys()].find((pod) => holder.startsWith(`${pod}_`));
}

const ready = (o: { status?: Service['status'] } | undefined) => condition(o, 'Ready')?.status === 'True';

describe('two replicas', { timeout: 300_000 }, () => {
  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    land = await createLandscape(aws, `failover-${suffix}.shop.test`);
    await startReplica('replica-a');
    await startReplica('replica-b');
  });
  after(async () => {
    for (const child of replicas.values()) child.kill('SIGKILL');
    aws?.destroy();
  });

  test('the standby takes over when the leader is killed mid-wave, and nothing is created twice', async () => {
    apply(environmentYaml(ns, land, 'dev'));
    const first = await eventually('a leader', leader, 60_000);
    await eventually(
      'the Environment Ready',
      async () => (ready(await environments.find({ namespace: ns, name: 'dev' })) ? true : undefined),
      120_000,
    );

    // The wave starts; the leader dies as soon as the first Service has AWS resources, with the rest under way.
    for (const name of SERVICES) apply(serviceYaml(ns, name, { subdomain: name }));
    await eventually('the first Service to own AWS resources', async () => {
      const list = await Promise.all(SERVICES.map((name) => services.find({ namespace: ns, name })));
      return list.some((s) => (s?.status?.resources ?? []).length > 0) ? true : undefined;
    });
    const killedAt = Date.now();
    replicas.get(first)!.kill('SIGKILL');
    const second = await eventually(
      'the standby to hold the Lease',
      async () => {
        const now = await leader();
        return now && now !== first ? now : undefined;
      },
      60_000,
      100,
    );
    process.stderr.write(`[failover] ${first} killed; ${second} took the Lease ${Date.now() - killedAt} ms later\n`);

    const done = await eventually(
      'every Service Ready under the new leader',
      async () => {
        const list = await Promise.all(SERVICES.map((name) => services.find({ namespace: ns, name })));
        return list.every(ready) ? (list as Service[]) : undefined;
      },
      180_000,
    );
    // Exactly one of each in AWS: one target group and one ECS service per Service, none left over from the kill.
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const ecs = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: SERVICES }),
    );
    assert.deepEqual(
      (ecs.services ?? [])
        .filter((s) => s.status === 'ACTIVE')
        .map((s) => s.serviceName)
        .sort(),
      [...SERVICES].sort(),
    );
    // Rules have no name, so a create sent twice would show here: exactly one rule per Service host.
    const rules = await aws.elbv2.send(
      new DescribeRulesCommand({ ListenerArn: env.status!.loadBalancer!.listenerArn! }),
    );
    const hosts = (rules.Rules ?? [])
      .filter((r) => !r.IsDefault)
      .flatMap((r) => (r.Conditions ?? []).filter((c) => c.Field === 'host-header'))
      .flatMap((c) => c.HostHeaderConfig?.Values ?? c.Values ?? []);
    assert.deepEqual(hosts.sort(), SERVICES.map((name) => `${name}.${land.baseDomain}`).sort());
    assert.deepEqual(
      done.map((s) => s.status!.ruleArn).filter(Boolean).length,
      SERVICES.length,
      'every Service names its rule',
    );
  });
});
