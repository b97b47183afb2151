// Image references, the registry's token challenge, and when a tag is resolved again (pure parts of deploy by digest).
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { ImageStatus } from '../../../src/api/index.js';
import { imageToRun, reusable } from '../../../src/images/pinning.js';
import { ecrRegistryOf, parseImageRef } from '../../../src/images/reference.js';
import { parseBearerChallenge, registryBaseUrl } from '../../../src/images/registry.js';
import { ImageResolver } from '../../../src/images/resolve.js';
import type { AwsClients } from '../../../src/aws/clients.js';

const D = `sha256:${'a'.repeat(64)}`;

test('references parse as Docker reads them: Docker Hub names, registries with ports, tags and digests', () => {
  assert.deepEqual(parseImageRef('nginx:1.27'), {
    name: 'nginx',
    registry: 'docker.io',
    repository: 'library/nginx',
    tag: '1.27',
  });
  assert.deepEqual(parseImageRef('grafana/grafana:11.0.0'), {
    name: 'grafana/grafana',
    registry: 'docker.io',
    repository: 'grafana/grafana',
    tag: '11.0.0',
  });
  assert.deepEqual(parseImageRef('127.0.0.1:5000/team/api:1.0'), {
    name: '127.0.0.1:5000/team/api',
    registry: '127.0.0.1:5000',
    repository: 'team/api',
    tag: '1.0',
  });
  assert.deepEqual(parseImageRef(`ghcr.io/org/app:v2@${D}`), {
    name: 'ghcr.io/org/app',
    registry: 'ghcr.io',
    repository: 'org/app',
    tag: 'v2',
    digest: D,
  });
  assert.equal(parseImageRef('nginx'), undefined, 'no tag, no digest');
  assert.equal(parseImageRef('Nginx:1'), undefined, 'uppercase repository');
  assert.equal(parseImageRef('nginx@sha256:abc'), undefined, 'short digest');
});

test('ECR registries are recognised by their host, with account and region', () => {
  assert.deepEqual(ecrRegistryOf('123456789012.dkr.ecr.eu-west-1.amazonaws.com'), {
    account: '123456789012',
    region: 'eu-west-1',
  });
  assert.deepEqual(ecrRegistryOf('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn')?.region, 'cn-north-1');
  assert.equal(ecrRegistryOf('ghcr.io'), undefined);
  assert.equal(ecrRegistryOf('public.ecr.aws'), undefined, 'ECR Public is a plain registry');
});

test('registry API bases: Docker Hub API host, plain HTTP only on loopback', () => {
  assert.equal(registryBaseUrl('docker.io'), 'https://registry-1.docker.io');
  assert.equal(registryBaseUrl('ghcr.io'), 'https://ghcr.io');
  assert.equal(registryBaseUrl('localhost:5000'), 'http://localhost:5000');
  assert.equal(registryBaseUrl('127.0.0.1:41000'), 'http://127.0.0.1:41000');
  assert.equal(registryBaseUrl('registry.example.com:5000'), 'https://registry.example.com:5000');
});

test('a Bearer challenge gives its realm, service and scope; Basic is no challenge to answer anonymously', () => {
  assert.deepEqual(
    parseBearerChallenge(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
    ),
    { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' },
  );
  assert.equal(parseBearerChallenge('Basic realm="Registry"'), undefined);
  assert.equal(parseBearerChallenge(null), undefined);
});

test('the digest is reused while the reference and what starts a deployment are unchanged', () => {
  const previous: ImageStatus = { reference: 'nginx:1.27', digest: D, pinned: true, inputs: 'h1' };
  assert.equal(reusable(previous, 'nginx:1.27', 'h1'), previous);
  assert.equal(reusable(previous, 'nginx:1.28', 'h1'), undefined, 'a new reference');
  assert.equal(reusable(previous, 'nginx:1.27', 'h2'), undefined, 'a new revision or slipway.dev/sync');
  assert.equal(reusable(undefined, 'nginx:1.27', 'h1'), undefined);
});

test('the image run: name@digest when pinned, the reference as given otherwise or when it has its own digest', () => {
  assert.equal(imageToRun({ reference: 'ghcr.io/org/app:v2', digest: D, pinned: true }), `ghcr.io/org/app@${D}`);
  assert.equal(imageToRun({ reference: 'ghcr.io/org/app:v2', pinned: false }), 'ghcr.io/org/app:v2');
  assert.equal(imageToRun({ reference: `org/app:v2@${D}`, digest: D, pinned: true }), `org/app:v2@${D}`);
});

test('a digest reference is pinned as given, an invalid one is not, and neither asks anyone', async () => {
  const resolver = new ImageResolver();
  const opts = { aws: undefined as unknown as AwsClients, signal: new AbortController().signal };
  assert.deepEqual(await resolver.resolve(`nginx@${D}`, opts), { reference: `nginx@${D}`, digest: D, pinned: true });
  assert.equal((await resolver.resolve('nginx', opts)).pinned, false);
});

test('an unreachable registry is remembered for a while: the next Services do not wait for its deadline', async () => {
  let now = 0;
  const resolver = new ImageResolver(() => now);
  const opts = { aws: undefined as unknown as AwsClients, signal: new AbortController().signal, timeoutMs: 1_000 };
  // A loopback port nobody listens on: the connection is refused at once.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((resolve) => probe.close(resolve));
  const first = await resolver.resolve(`${host}/team/a:1`, opts);
  assert.ok(first.reason!.startsWith(`${host}: manifest API unreachable: ECONNREFUSED`), first.reason);
  const started = Date.now();
  const second = await resolver.resolve(`${host}/team/b:2`, opts);
  assert.equal(second.reason, first.reason, 'from the cache, for another image of the same registry');
  assert.ok(Date.now() - started < 50);
  now += 61_000;
  const later = await resolver.resolve(`${host}/team/b:2`, opts);
  assert.equal(later.pinned, false);
});
