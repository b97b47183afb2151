// What the container image runs, proven without a container engine: the Dockerfile's own steps (npm run build,
// then its production-only `npm ci` in an empty directory, then its CMD) are repeated in a temporary directory,
// and the process is run against the test control plane: probes, metrics, the leader Lease, and a clean SIGTERM.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CoreTypes, type Lease } from '../../src/runtime/index.js';
import { freePort } from '../env/processes.js';
import { uniqueSuffix } from '../support/aws-fixtures.js';
import { getTestEnv } from '../support/env.js';
import { createNamespace, eventually, installCrds, kubeClient } from '../support/kube.js';
import { imageEnv } from '../support/dockerfile.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const suffix = uniqueSuffix();
const ns = `image-${suffix}`;
const leaseName = `slipway-image-${suffix}`;
const podName = `slipway-image-${suffix}-pod`;
const leases = kubeClient().resource<Lease>(CoreTypes.lease);

let dir: string;
let child: ChildProcess | undefined;
let output = '';
let port: number;

/** The production `npm ci` of the Dockerfile's deps stage, as an argument list. */
function productionInstall(): string[] {
  const line = /^RUN (npm ci .*--omit=dev.*)$/m.exec(dockerfile);
  assert.ok(line, 'the Dockerfile installs production dependencies with npm ci --omit=dev');
  return line[1]!.split(/\s+/);
}

/** The runtime stage's CMD, as an argument list. */
function command(): string[] {
  const cmd = [...dockerfile.matchAll(/^CMD (\[.*\])$/gm)].at(-1);
  assert.ok(cmd, 'the Dockerfile has an exec-form CMD');
  return JSON.parse(cmd[1]!) as string[];
}

async function get(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

async function exited(proc: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (proc.exitCode !== null) return proc.exitCode;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`still running ${timeoutMs} ms after SIGTERM\n${output.slice(-3000)}`)),
      timeoutMs,
    );
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('the image: production dependencies, dist/ and `node dist/main.js`', { timeout: 600_000 }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-image-'));
    // npm run build, into the image directory rather than the shared work tree's dist/.
    await run('npm', ['run', 'build', '--', '--outDir', join(dir, 'dist')], { cwd: root });
    copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
    copyFileSync(join(root, 'package-lock.json'), join(dir, 'package-lock.json'));
    const [npm, ...args] = productionInstall();
    await run(npm!, args, { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
    installCrds();
    createNamespace(ns);
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exited(child, 5000).catch(() => undefined);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the directory holds dist/ and production dependencies only', () => {
    assert.ok(existsSync(join(dir, 'dist', 'main.js')), 'dist/main.js is built');
    // The entry point is one bundle (scripts/build.ts): it loads no package of its own, only Node's built-ins.
    const bundle = readFileSync(join(dir, 'dist', 'main.js'), 'utf8');
    const entryImports = [...bundle.matchAll(/^import .* from ["']([^"']+)["']/gm)];
    assert.deepEqual(
      entryImports.map((m) => m[1]).filter((spec) => !isBuiltin(spec!)),
      [],
      "dist/main.js imports only Node's built-in modules",
    );
    // Latin-1 throughout, so that V8 holds its source at one byte a character (scripts/build.ts, latin1Source).
    assert.equal(bundle.search(/[\u0100-\uffff]/), -1, 'dist/main.js holds only Latin-1 characters');
    // yaml is a production dependency since `slipway plan` reads manifests with it.
    for (const prod of ['@kubernetes/client-node', '@aws-sdk/client-ecs', 'pino', 'prom-client', 'yaml']) {
      assert.ok(existsSync(join(dir, 'node_modules', prod, 'package.json')), `${prod} is installed`);
    }
    for (const dev of ['typescript', 'tsx', 'eslint', 'fengari', '@aws-sdk/client-acm']) {
      assert.ok(!existsSync(join(dir, 'node_modules', dev)), `${dev} (a dev dependency) is not installed`);
    }
    assert.deepEqual(command(), ['node', 'dist/main.js']);
  });

  test('it starts, answers its probes, serves metrics and takes the leader Lease', async () => {
    const env = getTestEnv();
    port = await freePort();
    const [bin, ...args] = command();
    child = spawn(bin!, args, {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Only what the chart's Deployment sets (plus the emulator), not this test process's environment.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ...imageEnv(dockerfile),
        KUBECONFIG: env.kubeconfigPath,
        SLIPWAY_AWS_ENDPOINT: env.awsEndpoint,
        AWS_REGION: env.awsRegion,
        AWS_ACCESS_KEY_ID: env.awsCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: env.awsCredentials.secretAccessKey,
        SLIPWAY_CLUSTER_ID: `image-${suffix}`,
        SLIPWAY_WATCH_NAMESPACE: ns,
        SLIPWAY_METRICS_PORT: String(port),
        SLIPWAY_LEADER_ELECTION: 'true',
        SLIPWAY_LEASE_NAMESPACE: ns,
        SLIPWAY_LEASE_NAME: leaseName,
        POD_NAME: podName,
        POD_NAMESPACE: ns,
      },
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));

    const healthz = await eventually(
      '/healthz to answer 200',
      async () => ((await get('/healthz')).status === 200 ? true : undefined),
      30_000,
    );
    assert.equal(healthz, true);
    const lease = await eventually(
      'the Lease to be held by this process',
      async () => {
        const l = await leases.find({ namespace: ns, name: leaseName });
        return l?.spec?.holderIdentity?.startsWith(`${podName}_`) ? l : undefined;
      },
      30_000,
    );
    assert.equal(lease.spec?.leaseDurationSeconds, 10);
    const readyz = await eventually(
      '/readyz to answer 200 as leader',
      async () => {
        const r = await get('/readyz');
        return r.status === 200 && r.body === 'ok\n' ? r : undefined;
      },
      30_000,
    );
    assert.equal(readyz.body, 'ok\n', 'ready as the leader with synced informers, not as a standby');
    const metrics = await get('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /slipway_aws_calls_total|controller_runtime_reconcile_total/);
    assert.match(output, /slipway operator started/);
  });

  test('SIGTERM exits 0 within a few seconds and hands the Lease back', async () => {
    assert.ok(child, 'the operator runs');
    const started = Date.now();
    child.kill('SIGTERM');
    const code = await exited(child, 8000);
    assert.equal(code, 0, output.slice(-3000));
    assert.ok(Date.now() - started < 8000);
    const lease = await leases.get({ namespace: ns, name: leaseName });
    assert.equal(lease.spec?.holderIdentity, '', 'the lease was released, so a standby takes over at once');
    assert.match(output, /released the lease/);
  });
});
