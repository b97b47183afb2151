// The listing by tags (src/aws/tagged.ts) through the real SDK client, against the emulator behind the chaos fault
// proxy. A pagination token can be used once, so when the answer to a later page is lost after the emulator gave
// it, the SDK's retry of that page meets PaginationTokenExpiredException: the listing must start again from the
// first page and return every resource once, and give up with that error after a bounded number of restarts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateClusterCommand, DeleteClusterCommand } from '@aws-sdk/client-ecs';
import { AwsClients } from '../../src/aws/clients.js';
import { errorName } from '../../src/aws/errors.js';
import { TAGGED_LISTING_RESTARTS, findTagged } from '../../src/aws/tagged.js';
import { FaultProxy, NO_FAULTS, type FaultKind } from '../chaos/proxy.js';
import { testAws, uniqueSuffix } from '../support/aws-fixtures.js';
import { getTestEnv } from '../support/env.js';

const TAG = 'slipway.dev/tagged-test';
const value = `run-${uniqueSuffix()}`;
const PAGE = 2;
// Seven resources at two per page: four pages, the last three fetched with a token. (The emulator lets the token
// of the last page be used again, so the lost pages here are the middle ones, whose retry meets the expired token.)
const COUNT = 7;
// Each resource carries 16 tags: 112 in all, more than the emulator's default of 100 tags a page.
const EXTRA_TAGS = Array.from({ length: 15 }, (_, i) => ({ key: `${TAG}-extra-${i}`, value: 'x' }));
const direct = testAws();
const arns: string[] = [];
const open: { proxy: FaultProxy; aws: AwsClients }[] = [];

/** Clients that reach the emulator through a proxy that injects only the given faults (by GetResources call). */
async function throughProxy(forced: Record<string, FaultKind>): Promise<{ proxy: FaultProxy; aws: AwsClients }> {
  const env = getTestEnv();
  const proxy = new FaultProxy({ upstream: env.awsEndpoint, seed: 1, rates: NO_FAULTS, forced });
  const endpoint = await proxy.start();
  const aws = new AwsClients({
    region: env.awsRegion,
    endpoint,
    credentials: env.awsCredentials,
    rateLimits: false,
  });
  open.push({ proxy, aws });
  return { proxy, aws };
}

const calls = (proxy: FaultProxy) => proxy.counts['tagging:GetResources'] ?? { pass: 0, drop: 0 };

describe('findTagged when a page answer is lost', () => {
  before(async () => {
    for (let i = 0; i < COUNT; i++) {
      const out = await direct.ecs.send(
        new CreateClusterCommand({ clusterName: `tagged-${value}-${i}`, tags: [{ key: TAG, value }, ...EXTRA_TAGS] }),
      );
      arns.push(out.cluster!.clusterArn!);
    }
  });

  after(async () => {
    for (const { proxy, aws } of open) {
      aws.destroy();
      await proxy.stop();
    }
    for (const arn of arns) await direct.ecs.send(new DeleteClusterCommand({ cluster: arn }));
    direct.destroy();
  });

  test('without faults, the listing reads every page once', async () => {
    const { proxy, aws } = await throughProxy({});
    const found = await findTagged(aws, { [TAG]: value }, { pageSize: PAGE });
    assert.deepEqual(found.map((r) => r.arn).sort(), [...arns].sort());
    assert.ok(found.every((r) => r.tags[TAG] === value));
    assert.equal(calls(proxy).pass, 4);
  });

  test('a page is bounded by resources, not by 100 tags: seven resources of 16 tags come in one page', async () => {
    const { proxy, aws } = await throughProxy({});
    const found = await findTagged(aws, { [TAG]: value });
    assert.deepEqual(found.map((r) => r.arn).sort(), [...arns].sort());
    assert.ok(found.every((r) => Object.keys(r.tags).length === 16));
    assert.equal(calls(proxy).pass, 1);
  });

  test('a lost second page starts the listing again from the first page, and every resource is found once', async () => {
    // #0 first page; #1 second page, answered then cut; #2 the SDK's retry with the same token: expired.
    // Then the listing again from the first page: #3 to #6.
    const { proxy, aws } = await throughProxy({ 'tagging:GetResources#1': 'drop' });
    const found = await findTagged(aws, { [TAG]: value }, { pageSize: PAGE });
    assert.deepEqual(found.map((r) => r.arn).sort(), [...arns].sort());
    assert.equal(new Set(found.map((r) => r.arn)).size, COUNT, 'a resource was listed twice');
    assert.deepEqual({ pass: calls(proxy).pass, drop: calls(proxy).drop }, { pass: 6, drop: 1 });
  });

  test('a lost third page too: what the first attempt read is not kept', async () => {
    const { proxy, aws } = await throughProxy({ 'tagging:GetResources#2': 'drop' });
    const found = await findTagged(aws, { [TAG]: value }, { pageSize: PAGE });
    assert.deepEqual(found.map((r) => r.arn).sort(), [...arns].sort());
    // #0, #1 pages one and two; #2 page three, cut; #3 expired; #4 to #7 the listing again.
    assert.deepEqual({ pass: calls(proxy).pass, drop: calls(proxy).drop }, { pass: 7, drop: 1 });
  });

  test('after a bounded number of restarts the listing fails with the expired token', async () => {
    // Every attempt loses its second page: page one, the cut page two, its expired retry — three calls each.
    const attempts = 1 + TAGGED_LISTING_RESTARTS;
    const forced = Object.fromEntries(
      Array.from({ length: attempts + 1 }, (_, i) => [`tagging:GetResources#${3 * i + 1}`, 'drop' as const]),
    );
    const { proxy, aws } = await throughProxy(forced);
    await assert.rejects(findTagged(aws, { [TAG]: value }, { pageSize: PAGE }), (err: unknown) => {
      assert.equal(errorName(err), 'PaginationTokenExpiredException');
      return true;
    });
    assert.deepEqual({ pass: calls(proxy).pass, drop: calls(proxy).drop }, { pass: 2 * attempts, drop: attempts });
  });
});
