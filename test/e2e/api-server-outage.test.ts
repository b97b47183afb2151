// The API server going away for 30 s while work is queued, with the operator as its own process (as in a pod):
// kube-apiserver is stopped while a wave of Services is being reconciled and started again over the same etcd.
// Meanwhile /readyz says not ready (the informers cannot follow the server) and the process stays up; afterwards it
// is ready again, every Service becomes Ready, and a spec change made once the server is back is applied (the
// watches were re-established), all without a restart of the operator. Its own environment: it stops the API server.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import type { Environment, Service } from '../../src/api/index.js';
import type { AwsClients } from '../../src/aws/clients.js';
import { ENVIRONMENT_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import { startLocalEnvironment } from '../env/index.js';
import { freePort } from '../env/processes.js';
import { createLandscape, testAws, uniqueSuffix } from '../support/aws-fixtures.js';
import { condition, createNamespace, eventually, installCrds, kubeClient } from '../support/kube.js';
import { apply, environmentYaml, serviceYaml } from '../support/manifests.js';

const root = join(import.meta.dirname, '..', '..');
const OUTAGE_MS = 30_000;
const SERVICES = ['amber', 'birch', 'cedar', 'dune'];

const ready = (o: Service | Environment | undefined) => condition(o, 'Ready')?.status === 'True';

/** True when something accepts TCP connections at host:port (kube-apiserver is up, if not necessarily ready). */
function accepts(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function probe(port: number, path: string): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
    await res.text();
    return res.status;
  } catch {
    return 0;
  }
}

interface Sample {
  readonly at: number;
  readonly apiServerUp: boolean;
  readonly readyz: number;
}

test(
  'kube-apiserver down for 30 s mid-wave: not ready meanwhile, then everything converges without a restart',
  { timeout: 600_000 },
  async () => {
    const local = await startLocalEnvironment({ controllerManager: false, log: () => undefined });
    // The support helpers (kubectl, the AWS fixtures) read the environment from these variables.
    Object.assign(process.env, local.exports);
    let operator: ChildProcess | undefined;
    let aws: AwsClients | undefined;
    try {
      const suffix = uniqueSuffix();
      const ns = `outage-${suffix}`;
      installCrds();
      createNamespace(ns);
      aws = testAws();
      const land = await createLandscape(aws, `outage-${suffix}.shop.test`);
      const kube = kubeClient();
      const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
      const services = kube.resource<Service>(SERVICE_TYPE);

      const port = await freePort();
      let exited: string | undefined;
      operator = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts')], {
        cwd: root,
        env: {
          ...process.env,
          ...local.exports,
          SLIPWAY_CLUSTER_ID: `outage-${suffix}`,
          SLIPWAY_WATCH_NAMESPACE: ns,
          SLIPWAY_LEADER_ELECTION: 'false',
          SLIPWAY_METRICS_PORT: String(port),
          SLIPWAY_LOG_LEVEL: 'error',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      operator.once('exit', (code, signal) => (exited = `exit code ${code}, signal ${signal}`));
      await eventually('the operator ready', async () => ((await probe(port, '/readyz')) === 200 ? true : undefined));

      apply(environmentYaml(ns, land, 'dev'));
      await eventually(
        'the Environment Ready',
        async () => (ready(await environments.find({ namespace: ns, name: 'dev' })) ? true : undefined),
        180_000,
      );

      // The wave: the API server goes away as soon as the operator has started on it, with the rest queued.
      for (const name of SERVICES) apply(serviceYaml(ns, name, { subdomain: name }));
      await eventually(
        'the service controller at work',
        async () => {
          const metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
          const busy = /^controller_runtime_active_workers\{controller="service"\} ([1-9]\d*)$/m.test(metrics);
          const queued = /^workqueue_depth\{name="service"\} ([1-9]\d*)$/m.test(metrics);
          return busy || queued ? true : undefined;
        },
        60_000,
        50,
      );
      const pending = (await Promise.all(SERVICES.map((name) => services.find({ namespace: ns, name })))).filter(
        (s) => !ready(s),
      );
      assert.ok(pending.length > 0, 'work was still queued or in flight when the API server went away');

      const apiServer = new URL(local.kubeApiUrl);
      const samples: Sample[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const [apiServerUp, readyz] = await Promise.all([accepts(apiServer), probe(port, '/readyz')]);
          samples.push({ at: Date.now(), apiServerUp, readyz });
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      const stoppedAt = Date.now();
      let exitedAt: number | undefined;
      try {
        await local.restartKubeApiserver(OUTAGE_MS, () => (exitedAt = Date.now()));
      } finally {
        sampling = false;
        await sampler;
      }
      const backAt = Date.now();

      // While the API server was down: never ready. Its informers notice once its process has exited (their watches
      // end and cannot be re-established; before that, a graceful shutdown refuses new connections while the open
      // watches still deliver, which can last seconds on a loaded machine); a few seconds are allowed for that. The
      // last second is left out: the server may come back, and the operator reconnect, between the two probes of one
      // sample.
      const down = samples.filter((s) => !s.apiServerUp);
      assert.ok(down.length > 0, 'the API server was seen down');
      assert.ok(exitedAt !== undefined, 'the old API server process exited');
      const downFrom = Math.max(down[0]!.at, exitedAt);
      const downTo = down.at(-1)!.at;
      assert.ok(downTo - downFrom >= OUTAGE_MS / 2, `down from ${downFrom} to ${downTo}`);
      const whileDown = samples.filter((s) => s.at >= downFrom + 5000 && s.at <= downTo - 1000);
      assert.ok(whileDown.length > 0, 'readiness was probed while the API server was down');
      assert.deepEqual(
        whileDown.filter((s) => s.readyz !== 503),
        [],
        'the operator said not ready (503) all the while the API server was down',
      );
      const firstNotReady = samples.find((s) => s.readyz === 503);

      await eventually('the operator ready again', async () =>
        (await probe(port, '/readyz')) === 200 ? true : undefined,
      );
      const readyAgainAt = Date.now();

      await eventually(
        'every Service Ready',
        async () => {
          const list = await Promise.all(SERVICES.map((name) => services.find({ namespace: ns, name })));
          return list.every(ready) ? true : undefined;
        },
        240_000,
      );
      const convergedAt = Date.now();

      // A change made now reaches the operator only through a watch established after the outage.
      const changedImage = 'registry.shop.test/catalog:2.0.0';
      apply(serviceYaml(ns, 'amber', { subdomain: 'amber', image: changedImage }));
      const ecs = aws.ecs;
      const image = await eventually(
        'the image change applied',
        async () => {
          const svc = await services.find({ namespace: ns, name: 'amber' });
          const arn = svc?.status?.taskDefinitionArn;
          if (!svc || !ready(svc) || svc.status?.observedGeneration !== svc.metadata.generation || !arn) return;
          const revision = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
          const running = revision.taskDefinition?.containerDefinitions?.[0]?.image;
          return running === changedImage ? running : undefined;
        },
        120_000,
      );
      assert.equal(image, changedImage);
      const appliedAt = Date.now();

      assert.equal(exited, undefined, 'the operator process never exited');
      assert.equal(operator.exitCode, null);
      process.stderr.write(
        `[outage] ${pending.length}/${SERVICES.length} Services pending when kube-apiserver stopped; down ` +
          `${downTo - downFrom} ms; /readyz 503 from ${firstNotReady ? firstNotReady.at - stoppedAt : '?'} ms after ` +
          `the stop began; ready again ${readyAgainAt - backAt} ms after the server was back; every Service Ready ` +
          `${convergedAt - backAt} ms after; the image change applied in ${appliedAt - convergedAt} ms\n`,
      );
    } finally {
      operator?.kill('SIGKILL');
      aws?.destroy();
      await local.stop();
    }
  },
);
