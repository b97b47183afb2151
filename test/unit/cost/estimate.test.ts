// The pure cost estimate, checked against figures computed by hand from the literal table prices (not by calling
// the code under test twice).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cents,
  estimateEnvironment,
  estimateWorkload,
  isPriceUnknown,
  ownedCostItems,
  previewCost,
  workloadCostInput,
  type PriceUnknown,
  type WorkloadCost,
} from '../../../src/cost/estimate.js';
import { PRICE_TABLE } from '../../../src/cost/prices.js';

const H = 730;
const round = (x: number) => Math.round(x * 100 + 1e-9) / 100;

function known<T extends object>(e: T | PriceUnknown): T {
  if (isPriceUnknown(e)) assert.fail(`the region has prices: ${e.message}`);
  return e;
}

const byName = (c: WorkloadCost) => Object.fromEntries(c.components.map((x) => [x.name, x.monthlyUsd]));

test('0.5 vCPU / 1 GiB x2 on x86 in us-east-1, sharing shard 0 with one other workload', () => {
  const spec = { cpu: 512, memory: 1024, cpuArchitecture: 'X86_64' as const, desiredCount: 2 };
  const cost = known(
    estimateWorkload(workloadCostInput(spec, 'us-east-1', { shard: 0, workloads: 2 }, false), PRICE_TABLE),
  );
  // us-east-1: Fargate x86 $0.04048/vCPU-h, $0.004445/GB-h; ALB $0.0225/h, $0.008/LCU-h; logs $0.50/GB.
  const expected = {
    'fargate-vcpu': round(2 * 0.5 * 0.04048 * H), // 29.5504
    'fargate-memory': round(2 * 1 * 0.004445 * H), // 6.4897
    'load-balancer-share': round((0.0225 * H) / 2), // 8.2125
    'load-balancer-lcu': round(1 * 0.008 * H), // 5.84
    logs: round(2 * 1 * 0.5), // 1.00
  };
  assert.deepEqual(byName(cost), expected);
  assert.deepEqual(expected, {
    'fargate-vcpu': 29.55,
    'fargate-memory': 6.49,
    'load-balancer-share': 8.21,
    'load-balancer-lcu': 5.84,
    logs: 1,
  });
  assert.equal(cost.monthlyUsd, 51.09);
  assert.equal(cost.currency, 'USD');
  assert.equal(cost.priceTable, PRICE_TABLE.date);
  const vcpu = cost.components.find((c) => c.name === 'fargate-vcpu')!;
  assert.match(
    vcpu.detail,
    /2 task\(s\) \(desiredCount\) x 0\.5 vCPU x \$0\.04048\/vCPU-hour x 730 h \(X86_64, us-east-1\)/,
  );
});

test('1 vCPU / 2 GiB on ARM64 with autoscaling (minimum 3) and CloudFront: priced at the minimum', () => {
  const spec = {
    cpu: 1024,
    memory: 2048,
    cpuArchitecture: 'ARM64' as const,
    desiredCount: 1,
    autoscaling: { minTasks: 3 },
    cdn: { enabled: true },
  };
  const cost = known(
    estimateWorkload(workloadCostInput(spec, 'us-east-1', { shard: 0, workloads: 2 }, false), PRICE_TABLE),
  );
  // ARM $0.03238/vCPU-h, $0.00356/GB-h; CloudFront base 10 GB x $0.085 + 1,000,000 requests x $0.01/10,000.
  assert.deepEqual(byName(cost), {
    'fargate-vcpu': 70.91, // 3 x 1 x 0.03238 x 730 = 70.9122
    'fargate-memory': 15.59, // 3 x 2 x 0.00356 x 730 = 15.5928
    'load-balancer-share': 8.21,
    'load-balancer-lcu': 5.84,
    cloudfront: 1.85, // 0.85 + 1.00
    logs: 1.5, // 3 x 1 GB x 0.50
  });
  assert.equal(cost.monthlyUsd, 103.9);
  assert.match(cost.components[0]!.detail, /3 task\(s\) \(autoscaling\.minTasks\)/);
});

test('another region: 0.25 vCPU / 0.5 GiB alone on its shard in eu-central-1', () => {
  const cost = known(
    estimateWorkload(
      workloadCostInput({ cpu: 256, memory: 512 }, 'eu-central-1', { shard: 1, workloads: 1 }, false),
      PRICE_TABLE,
    ),
  );
  // eu-central-1: x86 $0.04656/vCPU-h, $0.00511/GB-h; ALB $0.027/h, $0.008/LCU-h; logs $0.63/GB.
  assert.deepEqual(byName(cost), {
    'fargate-vcpu': 8.5, // 0.25 x 0.04656 x 730 = 8.4972
    'fargate-memory': 1.87, // 0.5 x 0.00511 x 730 = 1.86515
    'load-balancer-share': 19.71, // 0.027 x 730, alone
    'load-balancer-lcu': 5.84,
    logs: 0.63,
  });
  assert.equal(cost.monthlyUsd, 36.55);
});

test("an existing listener's load balancer is not counted; the workload's own traffic (LCU) is", () => {
  const cost = known(
    estimateWorkload(
      workloadCostInput({ cpu: 256, memory: 512 }, 'us-east-1', { shard: 0, workloads: 3 }, true),
      PRICE_TABLE,
    ),
  );
  assert.deepEqual(
    cost.components.map((c) => c.name),
    ['fargate-vcpu', 'fargate-memory', 'load-balancer-lcu', 'logs'],
  );
});

test('a region the table lacks gives no figure and a message naming the region and the fix', () => {
  const e = estimateWorkload(workloadCostInput({ cpu: 256, memory: 512 }, 'eu-south-2', undefined, false), PRICE_TABLE);
  assert.ok(isPriceUnknown(e));
  assert.equal(e.region, 'eu-south-2');
  assert.match(
    e.message,
    /no prices for region eu-south-2: regenerate it with `npx tsx scripts\/gen-price-table\.ts eu-south-2`/,
  );
  const env = estimateEnvironment(
    {
      region: 'eu-south-2',
      shards: [],
      natGateways: 0,
      interfaceEndpoints: 0,
      availabilityZones: 0,
      hostedZones: 0,
      workloads: [],
    },
    PRICE_TABLE,
  );
  assert.ok(isPriceUnknown(env));
  // A region name that is a property of every object is not a region.
  assert.ok(
    isPriceUnknown(
      estimateWorkload(workloadCostInput({ cpu: 256, memory: 512 }, 'constructor', undefined, false), PRICE_TABLE),
    ),
  );
});

test('an Environment: a shard with workloads is theirs, an empty one, NAT gateways and endpoints are its own; the total adds its workloads', () => {
  const inventory = [
    { kind: 'elbv2.LoadBalancer', logicalId: 'load-balancer' },
    { kind: 'ec2.NatGateway', logicalId: 'nat-gateway-a' },
    { kind: 'ec2.NatGateway', logicalId: 'nat-gateway-b' },
    { kind: 'ec2.VpcEndpoint', logicalId: 'endpoint-ecr-api' },
    { kind: 'ec2.VpcEndpoint', logicalId: 'endpoint-s3' },
    { kind: 'ec2.Subnet', logicalId: 'subnet-private-a' },
    { kind: 'ec2.Subnet', logicalId: 'subnet-private-b' },
    { kind: 'ec2.Subnet', logicalId: 'subnet-public-a' },
  ];
  const items = ownedCostItems(inventory, 0);
  assert.deepEqual(items, { natGateways: 2, interfaceEndpoints: 1, availabilityZones: 2, hostedZones: 0 });
  const cost = known(
    estimateEnvironment(
      {
        region: 'us-east-1',
        shards: [
          { index: 0, workloads: 2 },
          { index: 1, workloads: 0 },
        ],
        ...items,
        workloads: [51.09, 103.9],
      },
      PRICE_TABLE,
    ),
  );
  assert.deepEqual(
    cost.components.map((c) => [c.name, c.monthlyUsd]),
    [
      ['load-balancer-shard-0', 0],
      ['load-balancer-shard-1', 16.43], // 0.0225 x 730 = 16.425
      ['nat-gateways', 65.7], // 2 x 0.045 x 730
      ['vpc-endpoints', 14.6], // 1 x 2 AZs x 0.01 x 730
    ],
  );
  assert.equal(cost.monthlyUsd, 96.73);
  assert.equal(cost.totalMonthlyUsd, 251.72); // 96.73 + 51.09 + 103.90
  // Without network resources of its own, the AZs of an interface endpoint fall back to the spec's subnets.
  assert.equal(ownedCostItems([{ kind: 'ec2.VpcEndpoint', logicalId: 'endpoint-logs' }], 3).availabilityZones, 3);
});

test('a preview: what it has cost so far counts whole hours since creation at the monthly rate', () => {
  const cost = known(
    estimateWorkload(
      workloadCostInput({ cpu: 256, memory: 512 }, 'us-east-1', { shard: 0, workloads: 1 }, false),
      PRICE_TABLE,
    ),
  );
  // 0.25 x 0.04048 x 730 = 7.3876; 0.5 x 0.004445 x 730 = 1.622425; 16.425; 5.84; 0.50
  assert.equal(cost.monthlyUsd, round(7.39 + 1.62 + 16.43 + 5.84 + 0.5));
  const since = '2026-11-27T00:00:00Z';
  const p = previewCost(cost, since, new Date('2026-11-28T12:59:59Z')); // 36 whole hours
  assert.equal(p.since, since);
  assert.equal(p.toDateUsd, round((31.78 * 36) / 730)); // 1.567...
  assert.equal(previewCost(cost, since, new Date('2026-11-26T00:00:00Z')).toDateUsd, 0);
});

test('rounding to cents is half up and free of float noise', () => {
  assert.equal(cents(8.2125), 821);
  assert.equal(cents(16.425), 1643);
  assert.equal(cents(0.1 + 0.2), 30);
});
