// The plan's cost section: the summary of before/after figures, its text, and the estimate of one custom resource
// in a state of the cluster (the operator's status.cost functions over plain objects; no cluster, no AWS).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Environment, PreviewDeployment, Service } from '../../../src/api/index.js';
import { planCost, planDocument } from '../../../src/cli/document.js';
import { monthlyCost, type CostKind, type CostWorld } from '../../../src/cli/plan-cost.js';
import { costLines, renderText } from '../../../src/cli/render.js';
import { PRICE_TABLE } from '../../../src/cost/prices.js';
import type { KubeObject } from '../../../src/runtime/index.js';
import { planSchemaErrors } from '../../support/plan-schema.js';

const id = (kind: CostKind, name: string) => ({ kind, namespace: 'shop', name });

test('planCost: figures and deltas in cents, totals over what is priced on both sides', () => {
  const cost = planCost(
    [
      { ...id('Environment', 'dev'), before: { usd: 0 }, after: { usd: 16.425 } },
      { ...id('Service', 'catalog'), before: { usd: 31.78 }, after: { usd: 0 } },
      { ...id('Service', 'cart'), before: { usd: 0 }, after: { usd: 0.1 + 0.2 } },
      { ...id('Service', 'far'), before: { usd: 10 }, after: { unknown: 'price unknown: region xx-far-1' } },
    ],
    '2026-11-29',
  );
  assert.deepEqual(cost, {
    currency: 'USD',
    priceTable: '2026-11-29',
    before: 31.78,
    after: 16.73,
    delta: -15.05,
    unknown: 1,
    resources: [
      { ...id('Environment', 'dev'), before: 0, after: 16.43, delta: 16.43 },
      { ...id('Service', 'catalog'), before: 31.78, after: 0, delta: -31.78 },
      { ...id('Service', 'cart'), before: 0, after: 0.3, delta: 0.3 },
      { ...id('Service', 'far'), before: 10, unknown: 'price unknown: region xx-far-1' },
    ],
  });
  const doc = planDocument([], cost);
  assert.deepEqual(planSchemaErrors(doc), [], 'the cost conforms to docs/plan-schema.json');
});

test('the text: one aligned line per resource that costs or changes, the unknown with its reason, then the total', () => {
  const cost = planCost(
    [
      { ...id('Environment', 'dev'), before: { usd: 0 }, after: { usd: 0 } },
      { ...id('Service', 'catalog'), before: { usd: 31.78 }, after: { usd: 59.31 } },
      { ...id('Service', 'web'), before: { usd: 127.5 }, after: { usd: 127.5 } },
      { ...id('Service', 'far'), before: { usd: 0 }, after: { unknown: 'price unknown: region xx-far-1' } },
    ],
    '2026-11-29',
  );
  assert.deepEqual(costLines(cost), [
    'Monthly cost (estimated, USD, price table of 2026-11-29):',
    '  Service shop/catalog   31.78 →  59.31  +27.53',
    '  Service shop/web      127.50 → 127.50    0.00',
    '  Service shop/far      price unknown: region xx-far-1',
    '  Total                 159.28 → 186.81  +27.53  (1 resource without a price left out)',
  ]);
  // After the summary line; nothing when nothing was priced.
  assert.match(
    renderText(planDocument([], cost)),
    /\.\n\nMonthly cost \(estimated, USD, price table of 2026-11-29\):\n/,
  );
  assert.doesNotMatch(renderText(planDocument([])), /Monthly cost/);
});

const env = (name: string, region: string, status: Environment['status'] = {}): Environment =>
  ({
    metadata: { name, namespace: 'shop' },
    spec: { region, loadBalancer: {}, network: { subnetIds: ['a', 'b'] } },
    status,
  }) as unknown as Environment;

const service = (name: string, envName: string, spec: Partial<Service['spec']> = {}): Service =>
  ({
    metadata: { name, namespace: 'shop' },
    spec: { environmentRef: { name: envName }, cpu: 256, memory: 512, ...spec },
    status: { loadBalancerShard: 0 },
  }) as unknown as Service;

function world(objects: { Environment?: Environment[]; Service?: Service[]; PreviewDeployment?: PreviewDeployment[] }) {
  return {
    list: async (kind: CostKind) => (objects[kind] ?? []) as readonly KubeObject[],
    shardsOf: () => [0],
    resourcesOf: () => [],
  } satisfies CostWorld;
}

const now = new Date('2026-11-29T10:00:00Z');

test('monthlyCost: a Service by the price table, its Environment own part only, 0 when absent', async () => {
  const w = world({ Environment: [env('dev', 'us-east-1')], Service: [service('catalog', 'dev')] });
  // us-east-1, X86_64, 1 task of 0.25 vCPU and 0.5 GB, alone on shard 0, 730 h:
  //   0.25 x 0.04048 x 730 = 7.3876 → 7.39; 0.5 x 0.004445 x 730 = 1.622425 → 1.62;
  //   load balancer 0.0225 x 730 / 1 = 16.425 → 16.43; 1 LCU x 0.008 x 730 = 5.84; logs 1 GB x 0.5 = 0.50
  //   = 31.78
  assert.deepEqual(await monthlyCost(w, 'Service', 'shop', 'catalog', now), { usd: 31.78 });
  // Shard 0 is carried by its workload, and the Environment owns nothing else that costs.
  assert.deepEqual(await monthlyCost(w, 'Environment', 'shop', 'dev', now), { usd: 0 });
  assert.deepEqual(await monthlyCost(w, 'Service', 'shop', 'cart', now), { usd: 0 }, 'not in this state');
  // Without workloads the Environment carries its load balancer: 0.0225 x 730 = 16.425 → 16.43.
  const empty = world({ Environment: [env('dev', 'us-east-1')] });
  assert.deepEqual(await monthlyCost(empty, 'Environment', 'shop', 'dev', now), { usd: 16.43 });
});

test('monthlyCost: a region missing from the price table is named, not guessed', async () => {
  assert.ok(!('xx-nowhere-1' in PRICE_TABLE.regions));
  const w = world({ Environment: [env('far', 'xx-nowhere-1')], Service: [service('api', 'far')] });
  const unknown = {
    unknown: `price unknown: the price table of ${PRICE_TABLE.date} has no prices for region xx-nowhere-1`,
  };
  assert.deepEqual(await monthlyCost(w, 'Service', 'shop', 'api', now), unknown);
  assert.deepEqual(await monthlyCost(w, 'Environment', 'shop', 'far', now), unknown);
  const orphan = world({ Service: [service('api', 'gone')] });
  assert.deepEqual(await monthlyCost(orphan, 'Service', 'shop', 'api', now), {
    unknown: 'not estimated: its Environment gone does not exist',
  });
});
