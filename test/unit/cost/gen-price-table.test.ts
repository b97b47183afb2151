// scripts/gen-price-table.ts against GetProducts answers in the Price List API's shape (test/fixtures/pricing:
// PriceList as JSON strings, on-demand terms, tiered dimensions, neighbouring products that must not be taken).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { GetProductsCommand } from '@aws-sdk/client-pricing';
import {
  apiProducts,
  GLOBAL_QUERIES,
  parsePriceList,
  regionQueries,
  renderTable,
  resolvePrices,
  type PriceQuery,
} from '../../../scripts/gen-price-table.js';
import { PRICE_TABLE } from '../../../src/cost/prices.js';

type Answer = { FormatVersion: string; PriceList: string[] };
const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/pricing/get-products-us-east-1.json', import.meta.url), 'utf8'),
) as Record<string, Answer>;
const fromFixture = async (q: PriceQuery) => parsePriceList(fixture[q.serviceCode]?.PriceList);

test('a PriceList JSON string becomes a product with its on-demand price dimensions', () => {
  const [first] = parsePriceList(fixture.AmazonECS!.PriceList);
  assert.equal(first?.productFamily, 'Compute');
  assert.equal(first?.attributes.usagetype, 'USE1-Fargate-vCPU-Hours:perCPU');
  assert.deepEqual(first?.prices, [
    { unit: 'hours', usd: 0.04048, beginRange: '0', description: 'AWS Fargate - vCPU - US East (N.Virginia)' },
  ]);
  // Parsed objects (older SDKs) are taken as they are.
  const objects = fixture.AWSELB!.PriceList.map((s) => JSON.parse(s) as unknown);
  assert.equal(parsePriceList(objects)[1]?.prices[0]?.usd, 0.008);
  assert.deepEqual(parsePriceList(undefined), []);
});

test("a region's prices come out of the answers, the first tier of each, and match the shipped table", async () => {
  const prices = await resolvePrices(regionQueries('us-east-1'), fromFixture, 'us-east-1');
  assert.deepEqual(prices, PRICE_TABLE.regions['us-east-1']);
  const global = await resolvePrices(GLOBAL_QUERIES, fromFixture, 'global prices');
  assert.deepEqual(global, { cloudFront: PRICE_TABLE.cloudFront, route53: PRICE_TABLE.route53 });
});

test('a product the API does not return fails the run, naming the region and the product', async () => {
  const noArm = async (q: PriceQuery) =>
    (await fromFixture(q)).filter((p) => !/ARM/.test(p.attributes.usagetype ?? ''));
  await assert.rejects(
    resolvePrices(regionQueries('eu-south-2'), noArm, 'eu-south-2'),
    /eu-south-2: the Price List API returned no price for Fargate ARM vCPU-hour .*; Fargate ARM GB-hour/,
  );
});

test('the API is read page by page with the query filters, once per service and filters', async () => {
  const sent: GetProductsCommand['input'][] = [];
  const client = {
    send: async (cmd: GetProductsCommand) => {
      sent.push(cmd.input);
      const list = fixture[cmd.input.ServiceCode!]!.PriceList;
      return cmd.input.NextToken
        ? { FormatVersion: 'aws_v1', PriceList: list.slice(2) }
        : { FormatVersion: 'aws_v1', PriceList: list.slice(0, 2), NextToken: 'page-2' };
    },
  } as unknown as Parameters<typeof apiProducts>[0];
  const products = apiProducts(client);
  const prices = await resolvePrices(regionQueries('us-east-1'), products, 'us-east-1');
  assert.deepEqual(prices, PRICE_TABLE.regions['us-east-1']);
  const ecs = sent.filter((s) => s.ServiceCode === 'AmazonECS');
  assert.equal(ecs.length, 2, 'two pages, and the four Fargate prices share them');
  assert.deepEqual(ecs[0]?.Filters, [
    { Type: 'TERM_MATCH', Field: 'regionCode', Value: 'us-east-1' },
    { Type: 'TERM_MATCH', Field: 'productFamily', Value: 'Compute' },
  ]);
  assert.equal(ecs[1]?.NextToken, 'page-2');
});

test('src/cost/prices.ts is in the form the script writes it', async () => {
  const file = readFileSync(new URL('../../../src/cost/prices.ts', import.meta.url), 'utf8');
  assert.equal(await renderTable(PRICE_TABLE), file);
  assert.match(PRICE_TABLE.date, /^\d{4}-\d{2}-\d{2}$/);
  assert.ok(PRICE_TABLE.source.length > 0);
  for (const region of ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-1']) {
    assert.ok(PRICE_TABLE.regions[region], `${region} is in the table`);
  }
});
