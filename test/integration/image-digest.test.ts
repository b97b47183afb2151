// Deploy by digest, end to end: a real kube-apiserver, the operator in-process, moto as AWS and ECR, and a small
// registry on loopback that speaks the manifest API with an anonymous Bearer token. One Environment serves every
// case. The task definitions are read from moto.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CreateRepositoryCommand, PutImageCommand } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import type { Environment, PreviewDeployment, Service } from '../../src/api/index.js';
import type { AwsClients } from '../../src/aws/clients.js';
import { ENVIRONMENT_TYPE, PREVIEW_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import type { Operator } from '../../src/operator.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
import { createNamespace, eventually, installCrds, kubeClient, kubectl, waitForCondition } from '../support/kube.js';
import { apply, environmentYaml, serviceYaml } from '../support/manifests.js';
import { nudge } from '../support/nudge.js';
import { startOperator } from '../support/operator.js';

const suffix = uniqueSuffix();
const ns = `img-${suffix}`;
const kube = kubeClient();
const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
const services = kube.resource<Service>(SERVICE_TYPE);
const previews = kube.resource<PreviewDeployment>(PREVIEW_TYPE);

const REGION = 'us-east-1';
const REPO = `shop-${suffix}/web`;
const ECR_NAME = `123456789012.dkr.ecr.${REGION}.amazonaws.com/${REPO}`;

let aws: AwsClients;
let land: Landscape;
let operator: Operator;

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

const sha256 = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

async function pushEcr(tag: string, layer: string): Promise<string> {
  const out = await aws
    .ecr(REGION)
    .send(new PutImageCommand({ repositoryName: REPO, imageManifest: manifest(layer), imageTag: tag }));
  return out.image!.imageId!.imageDigest!;
}

async function taskImage(arn: string): Promise<string | undefined> {
  const out = await aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
  return out.taskDefinition?.containerDefinitions?.[0]?.image;
}

/** The Service once its status describes its latest generation and `ready` holds. */
function settled(name: string, ready: (s: Service) => boolean) {
  return eventually(`Service ${name} settled`, async () => {
    const s = await services.get({ namespace: ns, name });
    return s.status?.observedGeneration === s.metadata.generation && ready(s) ? s : undefined;
  });
}

/**
 * A registry on loopback: the manifest API of the OCI distribution spec behind an anonymous Bearer token, as
 * Docker Hub and GHCR serve it.
 */
const served = manifest('loopback-api');
const requests = { token: 0, manifests: 0 };
let registry: Server;
let registryHost: string;

function startRegistry(): Promise<void> {
  registry = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${registryHost}`);
    if (url.pathname === '/token') {
      requests.token++;
      assert.equal(url.searchParams.get('scope'), 'repository:team/api:pull');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'anon-token' }));
      return;
    }
    const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (!m) return void res.writeHead(404).end();
    requests.manifests++;
    if (req.headers.authorization !== 'Bearer anon-token') {
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="http://${registryHost}/token",service="test-registry",scope="repository:team/api:pull"`,
      });
      return void res.end();
    }
    if (m[1] !== 'team/api' || m[2] !== '1.0') return void res.writeHead(404).end();
    assert.match(String(req.headers.accept), /application\/vnd\.oci\.image\.index\.v1\+json/);
    res.writeHead(200, {
      'content-type': 'application/vnd.docker.distribution.manifest.v2+json',
      'docker-content-digest': sha256(served),
      'content-length': Buffer.byteLength(served),
    });
    res.end(req.method === 'HEAD' ? undefined : served);
  });
  return new Promise((resolve) =>
    registry.listen(0, '127.0.0.1', () => {
      registryHost = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

function ecrCalls(): number {
  let n = 0;
  for (const [key, count] of operator.calls.snapshot()) if (key.startsWith('ecr:')) n += count;
  return n;
}

describe('deploy by digest', { timeout: 300_000 }, () => {
  let digest1: string;
  let digest2: string;

  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    land = await createLandscape(aws, `img-${suffix}.shop.test`);
    await aws.ecr(REGION).send(new CreateRepositoryCommand({ repositoryName: REPO }));
    digest1 = await pushEcr('v1', 'one');
    await startRegistry();
    operator = await startOperator({ SLIPWAY_REGISTRY_TIMEOUT: '2s' });
    apply(environmentYaml(ns, land, 'dev', '  previews: { enabled: true }'));
    await waitForCondition(environments, { namespace: ns, name: 'dev' }, 'Ready', 'True');
  });
  after(async () => {
    await operator?.stop();
    aws?.destroy();
    registry?.close();
  });

  test('an ECR tag is resolved with the ECR API and the task definition pins repository@digest', async () => {
    apply(
      serviceYaml(ns, 'web', { image: `${ECR_NAME}:v1` }).replace(
        'metadata: { name: web, namespace: ' + ns + ' }',
        `metadata: { name: web, namespace: ${ns}, annotations: { slipway.dev/commit: 0a1b2c3, slipway.dev/pull-request: "17" } }`,
      ),
    );
    const svc = await settled('web', (s) => !!s.status?.taskDefinitionArn);
    assert.deepEqual(
      { ...svc.status!.image, resolvedAt: undefined, inputs: undefined },
      { reference: `${ECR_NAME}:v1`, digest: digest1, pinned: true, resolvedAt: undefined, inputs: undefined },
    );
    assert.equal(await taskImage(svc.status!.taskDefinitionArn!), `${ECR_NAME}@${digest1}`);
    const [entry, ...older] = svc.status!.history!;
    assert.equal(older.length, 0);
    assert.deepEqual(
      { ...entry, deployedAt: undefined },
      {
        revision: svc.status!.revision,
        taskDefinitionArn: svc.status!.taskDefinitionArn,
        image: `${ECR_NAME}@${digest1}`,
        digest: digest1,
        deployedAt: undefined,
        commit: '0a1b2c3',
        pullRequest: '17',
        result: entry!.result,
      },
    );
  });

  test('a moved tag redeploys nothing, even on later passes; a new slipway.dev/sync deploys the new digest', async () => {
    digest2 = await pushEcr('v1', 'two');
    assert.notEqual(digest2, digest1);
    const before = await services.get({ namespace: ns, name: 'web' });
    const calls = ecrCalls();
    await nudge(operator, 'service', ns, 'web');
    await nudge(operator, 'service', ns, 'web');
    const still = await services.get({ namespace: ns, name: 'web' });
    assert.equal(still.status!.taskDefinitionArn, before.status!.taskDefinitionArn, 'no new revision');
    assert.equal(still.status!.image!.digest, digest1);
    assert.equal(still.status!.driftCount ?? 0, 0, 'the pinned image is not drift');
    assert.equal(ecrCalls(), calls, 'a pass that starts no deployment asks ECR nothing');

    kubectl(['annotate', '--overwrite', 'services.slipway.dev', 'web', '-n', ns, 'slipway.dev/sync=1']);
    const synced = await settled('web', (s) => s.status?.image?.digest === digest2 && !!s.status.history?.[1]);
    assert.equal(synced.status!.revision, before.status!.revision! + 1);
    assert.equal(await taskImage(synced.status!.taskDefinitionArn!), `${ECR_NAME}@${digest2}`);
    const env = await environments.get({ namespace: ns, name: 'dev' });
    const ecs = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: ['web'] }),
    );
    assert.equal(ecs.services![0]!.taskDefinition, synced.status!.taskDefinitionArn);
    assert.deepEqual(
      synced.status!.history!.map((h) => [h.revision, h.digest]),
      [
        [before.status!.revision! + 1, digest2],
        [before.status!.revision, digest1],
      ],
      'newest first',
    );
  });

  test('rollback: spec.image set to an earlier history entry runs that digest in a new revision', async () => {
    const svc = await services.get({ namespace: ns, name: 'web' });
    const earlier = svc.status!.history![1]!;
    kubectl([
      'patch',
      'services.slipway.dev',
      'web',
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { image: earlier.image } }),
    ]);
    const rolled = await settled('web', (s) => s.status?.image?.reference === earlier.image);
    assert.equal(rolled.status!.image!.digest, digest1);
    assert.equal(rolled.status!.image!.pinned, true);
    assert.equal(rolled.status!.revision, svc.status!.revision! + 1);
    assert.equal(await taskImage(rolled.status!.taskDefinitionArn!), `${ECR_NAME}@${digest1}`);
    assert.deepEqual(
      rolled.status!.history!.map((h) => h.digest),
      [digest1, digest2, digest1],
    );
  });

  test('a preview of an ECR Service resolves its imageTag too', async () => {
    const digest = await pushEcr('pr-9', 'preview');
    apply(`
apiVersion: slipway.dev/v1alpha1
kind: PreviewDeployment
metadata: { name: web-pr-9, namespace: ${ns} }
spec:
  environmentRef: { name: dev }
  serviceRef: { name: web }
  imageTag: pr-9
  pullRequest: { number: 9, url: "https://git.shop.test/shop/web/pull/9", branch: feature-9, commitSha: abc1234, state: open }
`);
    const p = await eventually('the preview pinned', async () => {
      const o = await previews.get({ namespace: ns, name: 'web-pr-9' });
      return o.status?.service?.taskDefinitionArn ? o : undefined;
    });
    assert.equal(p.status!.image!.digest, digest);
    assert.equal(await taskImage(p.status!.service!.taskDefinitionArn!), `${ECR_NAME}@${digest}`);
  });

  test('another registry is asked through its manifest API, anonymous Bearer token included', async () => {
    apply(serviceYaml(ns, 'api', { image: `${registryHost}/team/api:1.0` }));
    const svc = await settled('api', (s) => !!s.status?.taskDefinitionArn);
    assert.equal(svc.status!.image!.pinned, true, JSON.stringify(svc.status!.image));
    assert.equal(svc.status!.image!.digest, sha256(served));
    assert.equal(await taskImage(svc.status!.taskDefinitionArn!), `${registryHost}/team/api@${sha256(served)}`);
    assert.ok(requests.token >= 1, 'the token was asked for');
  });

  test('an unreachable registry: not pinned, the reason in status, and the Service deploys the tag', async () => {
    const host = `127.0.0.1:${await closedPort()}`;
    apply(serviceYaml(ns, 'legacy', { image: `${host}/team/legacy:2.0` }));
    const svc = await settled('legacy', (s) => !!s.status?.taskDefinitionArn);
    assert.equal(svc.status!.image!.pinned, false);
    assert.equal(svc.status!.image!.digest, undefined);
    assert.match(svc.status!.image!.reason!, new RegExp(`^${host}: manifest API unreachable: ECONNREFUSED`));
    assert.equal(await taskImage(svc.status!.taskDefinitionArn!), `${host}/team/legacy:2.0`);
    await waitForCondition(services, { namespace: ns, name: 'legacy' }, 'Ready', 'True');
  });
});
