// `slipway promote`, `slipway rollback` and `slipway status` against kube-apiserver, moto (ECS and ECR) and the
// operator: images pushed to moto's ECR, so the operator pins them to their digests; two Environments (dev and
// staging) in one namespace, as examples/ has them, with Services named <app>-<env>. The task definitions the
// operator registers are read from moto.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { ModifyTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Service } from '../../src/api/index.js';
import type { AwsClients } from '../../src/aws/clients.js';
import { runCli } from '../../src/cli/run.js';
import { SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import type { Operator } from '../../src/operator.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
import { getTestEnv } from '../support/env.js';
import { createNamespace, eventually, installCrds, kubeClient, waitForCondition } from '../support/kube.js';
import { apply, environmentYaml, serviceYaml } from '../support/manifests.js';
import { nudge } from '../support/nudge.js';
import { startOperator } from '../support/operator.js';

const suffix = uniqueSuffix();
const ns = `promote-${suffix}`;
const kube = kubeClient();
const services = kube.resource<Service>(SERVICE_TYPE);

const REGION = 'us-east-1';
const REPO = `shop-${suffix}/web`;
const IMAGE = `123456789012.dkr.ecr.${REGION}.amazonaws.com/${REPO}`;

let aws: AwsClients;
let ecr: ECRClient;
let land: Landscape;
let operator: Operator;
let dir: string;
/** Digests of the tags pushed. */
const digests: Record<string, string> = {};

/** A Docker v2 manifest; `layer` makes it (and so its digest) distinct. */
function manifest(layer: string): string {
  const blob = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 7, digest: blob(`config-${layer}`) },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 9, digest: blob(layer) }],
  });
}

async function push(tag: string): Promise<void> {
  const out = await ecr.send(
    new PutImageCommand({ repositoryName: REPO, imageManifest: manifest(tag), imageTag: tag }),
  );
  digests[tag] = out.image!.imageId!.imageDigest!;
}

/** A Service of app `app` on Environment `env`, named `<app>-<env>`, not gated, with no task to wait for. */
function service(app: string, env: string, image: string, extra = ''): string {
  return serviceYaml(ns, `${app}-${env}`, {
    env,
    image,
    extra: `  desiredCount: 0\n  auth: { cognito: Disabled }\n${extra}`,
  }).replace(
    `name: ${app}-${env}, namespace: ${ns} }`,
    `name: ${app}-${env}, namespace: ${ns}, labels: { app.kubernetes.io/name: ${app} } }`,
  );
}

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function slipway(...args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli([...args, '-n', ns, '--kubeconfig', getTestEnv().kubeconfigPath], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: {},
  });
  return { code, stdout, stderr };
}

async function taskImage(arn: string): Promise<string | undefined> {
  const out = await aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
  return out.taskDefinition?.containerDefinitions?.[0]?.image;
}

/** The Service once it runs (status and task definition) `image` and its latest deployment succeeded. */
function running(name: string, image: string) {
  return eventually(
    `${name} running ${image}`,
    async () => {
      const s = await services.get({ namespace: ns, name });
      const head = s.status?.history?.[0];
      if (s.status?.observedGeneration !== s.metadata.generation || head?.result !== 'Succeeded') return undefined;
      if (head.taskDefinitionArn !== s.status!.taskDefinitionArn) return undefined;
      return (await taskImage(s.status!.taskDefinitionArn!)) === image ? s : undefined;
    },
    60_000,
  );
}

describe('slipway promote, rollback and status', { timeout: 300_000 }, () => {
  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    const env = getTestEnv();
    ecr = new ECRClient({
      region: REGION,
      endpoint: env.awsEndpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    land = await createLandscape(aws, `promote-${suffix}.shop.test`);
    await ecr.send(new CreateRepositoryCommand({ repositoryName: REPO }));
    await Promise.all(['1.0', '2.0'].map(push));
    dir = mkdtempSync(join(tmpdir(), 'slipway-promote-'));
    operator = await startOperator();
    // Not gated: the gate adds nothing here but Cognito work.
    const ungated = (name: string) =>
      environmentYaml(ns, land, name).replace(/ {2}access: .*\n/, '  access: { cognito: { enabled: false } }\n');
    apply(ungated('dev'));
    apply(ungated('staging'));
    apply(service('web', 'dev', `${IMAGE}:2.0`));
    apply(service('web', 'staging', `${IMAGE}:1.0`));
    // Not pinned (a registry that does not resolve), and its drift only reported: the refusals below.
    apply(service('cart', 'dev', 'registry.invalid/shop/cart:1.0', '  driftPolicy: Report\n'));
    // On an Environment that does not exist: never Ready.
    apply(service('ghost', 'qa', `${IMAGE}:2.0`));
    await running('web-dev', `${IMAGE}@${digests['2.0']}`);
    await running('web-staging', `${IMAGE}@${digests['1.0']}`);
    await waitForCondition(services, { namespace: ns, name: 'cart-dev' }, 'Ready', 'True', { timeoutMs: 60_000 });
  });
  after(async () => {
    await operator?.stop();
    aws?.destroy();
    ecr?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('promote refuses a source that is not Ready, not pinned or drifted, in one line naming what is missing', async () => {
    const ghost = await slipway('promote', 'ghost', '--from', 'qa', '--to', 'staging');
    assert.equal(ghost.code, 1);
    assert.match(
      ghost.stderr,
      new RegExp(
        `^Error: Service ${ns}/ghost-qa is not Ready: Ready is False \\(EnvironmentNotFound: .*\\); promote it once it is Ready\\n$`,
      ),
    );
    const cart = await services.get({ namespace: ns, name: 'cart-dev' });
    assert.equal(cart.status?.image?.pinned, false, JSON.stringify(cart.status?.image));
    const unpinned = await slipway('promote', 'cart', '--from', 'dev', '--to', 'staging');
    assert.equal(unpinned.code, 1);
    assert.match(
      unpinned.stderr,
      new RegExp(
        `^Error: Service ${ns}/cart-dev runs registry\\.invalid/shop/cart:1\\.0, not pinned to a digest: .+; only a pinned image can be promoted unchanged: .+\\n$`,
      ),
    );
    // Drift behind the operator's back, reported (driftPolicy Report) at the next pass.
    await aws.elbv2.send(
      new ModifyTargetGroupCommand({ TargetGroupArn: cart.status!.targetGroupArn!, HealthCheckPath: '/moved' }),
    );
    await nudge(operator, 'service', ns, 'cart-dev');
    const drifted = await slipway('promote', 'cart', '--from', 'dev', '--to', 'staging');
    assert.equal(drifted.code, 1);
    assert.match(
      drifted.stderr,
      new RegExp(`^Error: Service ${ns}/cart-dev has 1 drifted field\\(s\\) \\(status\\.drift\\)`),
    );
    const missing = await slipway('promote', 'web', '--from', 'dev', '--to', 'production');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^Error: no Service web on Environment production/);
    assert.equal(ghost.stdout + unpinned.stdout + drifted.stdout + missing.stdout, '');
    // A soak longer than the deployment has run.
    const soak = await slipway('promote', 'web', '--from', 'dev', '--to', 'staging', '--soak', '2h');
    assert.equal(soak.code, 1);
    assert.match(
      soak.stderr,
      new RegExp(`^Error: Service ${ns}/web-dev has run revision \\d+ for \\d+s of the 2h soak; promote after `),
    );
    assert.equal((await services.get({ namespace: ns, name: 'web-staging' })).spec.image, `${IMAGE}:1.0`, 'unchanged');
  });

  test('--write sets the digest in the manifest and keeps every other byte; the cluster is unchanged', async () => {
    const file = join(dir, 'web-staging.yaml');
    const text = `# Staging: promoted from dev with slipway promote; review the digest.
apiVersion: slipway.dev/v1alpha1
kind: Service
metadata:
  name: web-staging # the storefront
  namespace: ${ns}
  labels: { app.kubernetes.io/name: web }
spec:
  environmentRef: { name: staging }
  image: "${IMAGE}:1.0" # promoted images are pinned
  cpu: 256   # keep
  memory: 512
`;
    writeFileSync(file, text);
    const before = await services.get({ namespace: ns, name: 'web-staging' });
    const run = await slipway('promote', 'web', '--from', 'dev', '--to', 'staging', '--write', file);
    assert.equal(run.stderr, '');
    assert.equal(run.code, 0);
    const pinned = `${IMAGE}@${digests['2.0']}`;
    assert.equal(readFileSync(file, 'utf8'), text.replace(`"${IMAGE}:1.0"`, `"${pinned}"`));
    assert.match(
      run.stdout,
      new RegExp(
        `^Promoted web from dev to staging: revision \\d+ \\(sha256:[0-9a-f]{12}, deployed .*\\) of Service ${ns}/web-dev\\n`,
      ),
    );
    assert.ok(
      run.stdout.includes(`${file}: Service web-staging spec.image set: ${IMAGE}:1.0 → ${pinned}\n`),
      run.stdout,
    );
    const afterwards = await services.get({ namespace: ns, name: 'web-staging' });
    assert.equal(afterwards.metadata.resourceVersion, before.metadata.resourceVersion, 'the cluster is unchanged');
  });

  test('promote patches the target with the source digest; the operator deploys it; rollback restores the earlier digest', async () => {
    const pinned = `${IMAGE}@${digests['2.0']}`;
    const run = await slipway('promote', 'web', '--from', 'dev', '--to', 'staging', '--soak', '1s');
    assert.equal(run.stderr, '');
    assert.equal(run.code, 0);
    assert.ok(run.stdout.endsWith(`  Service ${ns}/web-staging spec.image: ${IMAGE}:1.0 → ${pinned}\n`), run.stdout);
    assert.equal((await services.get({ namespace: ns, name: 'web-staging' })).spec.image, pinned);
    const promoted = await running('web-staging', pinned);
    assert.equal(promoted.status?.image?.digest, digests['2.0']);
    const first = promoted.status!.history![1]!;
    assert.equal(first.digest, digests['1.0']);

    const back = await slipway('rollback', 'web', '--environment', 'staging');
    assert.equal(back.stderr, '');
    assert.equal(back.code, 0);
    const earlier = `${IMAGE}@${digests['1.0']}`;
    assert.ok(back.stdout.endsWith(`  spec.image: ${pinned} → ${earlier}\n`), back.stdout);
    assert.match(
      back.stdout,
      new RegExp(`^Rolled back Service ${ns}/web-staging from revision \\d+ .* to revision ${first.revision} `),
    );
    const restored = await running('web-staging', earlier);
    assert.equal(restored.status?.image?.digest, digests['1.0']);
    // Asked again, it is already there.
    const again = await slipway('rollback', 'web-staging', '--to-revision', String(first.revision));
    assert.equal(again.code, 0);
    assert.equal(again.stdout, `Service ${ns}/web-staging spec.image is already ${earlier}: nothing to roll back\n`);
  });

  test('status prints the Environment as a tree with Ready, URL, digest, drift and cost', async () => {
    const run = await slipway('status', 'dev');
    assert.equal(run.stderr, '');
    assert.equal(run.code, 0);
    const [head, blank, header, envRow, ...rows] = run.stdout.trimEnd().split('\n');
    assert.match(
      head!,
      new RegExp(
        `^Environment ${ns}/dev, Ready True, region us-east-1, 1 load-balancer shard, 2 Services, 0 previews, \\$/month (-|\\d+\\.\\d\\d)`,
      ),
    );
    assert.equal(blank, '');
    assert.deepEqual(header!.split(/\s{2,}/), ['NAME', 'READY', 'URL', 'DIGEST', 'DRIFT', '$/MONTH']);
    assert.match(envRow!, /^Environment dev\s+True\s+-\s+-\s+0\s+(-|\d+\.\d\d)$/);
    const web = await services.get({ namespace: ns, name: 'web-dev' });
    const cart = await services.get({ namespace: ns, name: 'cart-dev' });
    const cols = (line: string) => line.split(/\s{2,}/);
    assert.deepEqual(cols(rows[0]!).slice(0, 5), [
      '├─ Service cart-dev',
      'False (Drifted)',
      cart.status!.url!,
      '-',
      '1',
    ]);
    assert.deepEqual(cols(rows[1]!).slice(0, 5), [
      '└─ Service web-dev',
      'True',
      web.status!.url!,
      digests['2.0']!.slice(0, 'sha256:'.length + 12),
      '0',
    ]);
    assert.equal(rows.length, 2);
    const none = await slipway('status', 'production');
    assert.equal(none.code, 1);
    assert.equal(
      none.stderr,
      `Error: no Environment production in namespace ${ns}; check the name, or give -n NAMESPACE\n`,
    );
  });
});
