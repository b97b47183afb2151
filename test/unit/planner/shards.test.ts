// Load-balancer shards, pure: where a workload is placed, which shards an Environment plans, and what a shard's plan
// holds (shard 0 unchanged, shard k >= 1 with its own ids, names and app client).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planEnvironment, shardLogical } from '../../../src/planner/environment.js';
import { planWorkload } from '../../../src/planner/service.js';
import { choosePlacement, planShards } from '../../../src/planner/shards.js';
import { loadBalancerQuotaMessage } from '../../../src/outcome/load-balancer-quota.js';
import { environment, serviceSpec } from '../../support/objects.js';

const counts = (entries: Record<number, number>) => new Map(Object.entries(entries).map(([k, v]) => [Number(k), v]));
const base = { capacity: 2, shards: [0, 1], existingListener: false };

test('a new workload fills the lowest shard with room, then opens the lowest free number', () => {
  assert.deepEqual(choosePlacement({ ...base, counts: counts({ 0: 1 }) }), { shard: 0 });
  assert.deepEqual(choosePlacement({ ...base, counts: counts({ 0: 2, 1: 1 }) }), { shard: 1 });
  assert.deepEqual(choosePlacement({ ...base, counts: counts({ 0: 2, 1: 2 }) }), { shard: 2 });
  // A shard being created (placed on, not yet in status) is filled before another is opened.
  assert.deepEqual(choosePlacement({ ...base, shards: [0], counts: counts({ 0: 2, 1: 1 }) }), { shard: 1 });
  assert.deepEqual(choosePlacement({ ...base, shards: [0, 2], counts: counts({ 0: 2, 2: 2 }) }), { shard: 1 });
});

test('a placed workload stays, even on a full shard, and moves only when its spec asks for a shard with room', () => {
  assert.deepEqual(choosePlacement({ ...base, current: 1, counts: counts({ 0: 0, 1: 5 }) }), { shard: 1 });
  assert.deepEqual(choosePlacement({ ...base, current: 1, requested: 1, counts: counts({ 1: 2 }) }), { shard: 1 });
  assert.deepEqual(choosePlacement({ ...base, current: 1, requested: 0, counts: counts({ 0: 1 }) }), { shard: 0 });
  const full = choosePlacement({ ...base, current: 1, requested: 0, counts: counts({ 0: 2 }) });
  assert.ok('refused' in full);
  assert.equal(full.refused.reason, 'ShardFull');
  assert.match(full.refused.message, /^spec\.loadBalancer\.shard: shard 0 already holds 2 of at most 2/);
  assert.match(full.refused.message, /stays on shard 1/);
});

test('an existing listener has shard 0 only: full, it refuses new workloads naming the field and the fix', () => {
  const existing = { ...base, shards: [0], existingListener: true };
  assert.deepEqual(choosePlacement({ ...existing, counts: counts({ 0: 1 }) }), { shard: 0 });
  const full = choosePlacement({ ...existing, counts: counts({ 0: 2 }) });
  assert.ok('refused' in full);
  assert.equal(full.refused.reason, 'LoadBalancerFull');
  assert.match(
    full.refused.message,
    /^spec\.loadBalancer\.existingListenerArn: the existing listener holds 2 of at most 2/,
  );
  assert.match(full.refused.message, /set spec\.loadBalancer\.certificateArn/);
  const asked = choosePlacement({ ...existing, requested: 1, counts: counts({}) });
  assert.ok('refused' in asked);
  assert.equal(asked.refused.reason, 'ShardUnavailable');
});

test('an Environment plans shard 0, every shard with workloads, and new shards for the workloads waiting', () => {
  assert.deepEqual(planShards(counts({}), 0, 2, false), { shards: [0], overflow: 0, withheld: [] });
  assert.deepEqual(planShards(counts({}), 3, 2, false), { shards: [0, 1], overflow: 0, withheld: [] });
  assert.deepEqual(planShards(counts({ 0: 2, 2: 1 }), 0, 2, false), { shards: [0, 2], overflow: 0, withheld: [] });
  assert.deepEqual(planShards(counts({ 0: 2, 2: 1 }), 4, 2, false), {
    shards: [0, 1, 2, 3],
    overflow: 0,
    withheld: [],
  });
  // An emptied shard k >= 1 leaves the plan.
  assert.deepEqual(planShards(counts({ 0: 1, 1: 0 }), 0, 2, false), { shards: [0], overflow: 0, withheld: [] });
  assert.deepEqual(planShards(counts({ 0: 2 }), 3, 2, true), { shards: [0], overflow: 3, withheld: [] });
  assert.deepEqual(planShards(counts({ 0: 1 }), 1, 2, true), { shards: [0], overflow: 0, withheld: [] });
});

test('the regional quota of load balancers: a shard without one is planned only while there is room', () => {
  const room = (existing: number[], free: number) => ({ existing: new Set(existing), free });
  // Shards 0 and 1 exist and are full; 3 wait: shard 2 fits the one free place, shard 3 is withheld.
  assert.deepEqual(planShards(counts({ 0: 2, 1: 2 }), 3, 2, false, room([0, 1], 1)), {
    shards: [0, 1, 2],
    overflow: 1,
    withheld: [3],
  });
  // No room at all: nothing new, every waiting workload is overflow.
  assert.deepEqual(planShards(counts({ 0: 2, 1: 2 }), 3, 2, false, room([0, 1], 0)), {
    shards: [0, 1],
    overflow: 3,
    withheld: [2, 3],
  });
  // Another actor went past the quota (free < 0): the same, and existing shards are never withheld.
  assert.deepEqual(planShards(counts({ 0: 2, 1: 1 }), 1, 2, false, room([0, 1], -2)), {
    shards: [0, 1],
    overflow: 0,
    withheld: [],
  });
  // A workload already placed on a shard whose load balancer does not exist: it waits with the shard.
  assert.deepEqual(planShards(counts({ 0: 2, 2: 1 }), 0, 2, false, room([0], 0)), {
    shards: [0],
    overflow: 1,
    withheld: [2],
  });
  // Shard 0 is the Environment itself: always planned, and it takes a place when it is new.
  assert.deepEqual(planShards(counts({}), 3, 2, false, room([], 1)), { shards: [0], overflow: 1, withheld: [1] });
  // With room, the same plan as without the quota.
  assert.deepEqual(
    planShards(counts({ 0: 2, 2: 1 }), 4, 2, false, room([0, 2], 10)),
    planShards(counts({ 0: 2, 2: 1 }), 4, 2, false),
  );
});

test('under the quota a new workload fills only the shards the Environment lists, else it is refused', () => {
  const noNewShards = 'the quota of Application Load Balancers in us-east-1 is 3 and the account has 3';
  const quota = { ...base, shards: [0, 1], noNewShards };
  assert.deepEqual(choosePlacement({ ...quota, counts: counts({ 0: 2, 1: 1 }) }), { shard: 1 });
  // Shard 2 holds a workload placed before the quota was seen, but the Environment withholds it: not filled.
  const refused = choosePlacement({ ...quota, counts: counts({ 0: 2, 1: 2, 2: 1 }) });
  assert.ok('refused' in refused);
  assert.equal(refused.refused.reason, 'LoadBalancerQuotaExceeded');
  assert.match(refused.refused.message, /^spec\.environmentRef\.name: the Environment cannot add a load balancer: /);
  assert.ok(refused.refused.message.endsWith(noNewShards));
  // A workload placed on a withheld shard (never created) takes room on a listed shard when some appears...
  assert.deepEqual(choosePlacement({ ...quota, current: 2, counts: counts({ 0: 1, 1: 2 }) }), { shard: 0 });
  const waits = choosePlacement({ ...quota, current: 2, counts: counts({ 0: 2, 1: 2 }) });
  assert.ok('refused' in waits && waits.refused.reason === 'LoadBalancerQuotaExceeded');
  // ...unless its spec asks for that shard; on a listed shard it stays, even a full one.
  const asked = choosePlacement({ ...quota, current: 2, requested: 2, counts: counts({ 0: 1, 1: 2 }) });
  assert.deepEqual(asked, { shard: 2 });
  assert.deepEqual(choosePlacement({ ...quota, current: 1, counts: counts({ 0: 1, 1: 5 }) }), { shard: 1 });
});

test('the quota message names the quota, its source, the count and the fix', () => {
  const facts = { region: 'eu-west-1', quota: 50, count: 50, own: 20 };
  const account = loadBalancerQuotaMessage({ ...facts, source: 'account' }, 1, 3);
  assert.match(account, /^the quota of Application Load Balancers in eu-west-1 is 50 \(the account's/);
  assert.match(account, /the account has 50, 20 of them this Environment's: 3 Services and previews wait for 1 more/);
  assert.match(account, /raise "Application Load Balancers per Region" in Service Quotas/);
  assert.match(account, /spread the workloads over Environments in other regions or accounts/);
  assert.match(loadBalancerQuotaMessage({ ...facts, source: 'default' }, 1, 3), /AWS's default/);
  assert.match(loadBalancerQuotaMessage({ ...facts, source: 'setting' }, 1, 3), /raise SLIPWAY_LOAD_BALANCER_QUOTA/);
});

const facts = { clusterId: 'prod-eu', vpcCidr: '10.0.0.0/16' };

test('shard 0 plans exactly what an Environment always had; shard k adds its own load balancer and app client', () => {
  const env = environment();
  const one = planEnvironment(env, { ...facts, gatedHosts: ['a.dev.shop.example'] });
  const two = planEnvironment(env, {
    ...facts,
    gatedHosts: ['a.dev.shop.example'],
    extraShards: [{ index: 1, gatedHosts: ['b.dev.shop.example'] }],
  });
  const ids = (p: typeof one) => p.resources.map((r) => r.id);
  const s1 = shardLogical(1);
  assert.deepEqual(
    ids(two).filter((id) => !id.endsWith('-shard-1')),
    ids(one),
  );
  assert.deepEqual(
    ids(two).filter((id) => id.endsWith('-shard-1')),
    [s1.securityGroup, s1.loadBalancer, s1.httpsListener, s1.httpListener, s1.userPoolClient],
  );
  for (const r of one.resources) {
    assert.deepEqual(
      two.resources.find((x) => x.id === r.id),
      r,
      `${r.id} is unchanged by a second shard`,
    );
  }
  const byId = (id: string) => two.resources.find((r) => r.id === id)!;
  const lb0 = byId('load-balancer').props as unknown as { name: string };
  const lb1 = byId(s1.loadBalancer).props as unknown as { name: string; securityGroupIds: unknown[] };
  assert.notEqual(lb1.name, lb0.name);
  assert.ok(lb1.name.length <= 32);
  assert.deepEqual(lb1.securityGroupIds, [{ $ref: { id: s1.securityGroup, attr: 'id' } }]);
  const https0 = byId('https-listener').props as unknown as Record<string, unknown>;
  const https1 = byId(s1.httpsListener).props as unknown as Record<string, unknown>;
  assert.deepEqual(
    { ...https1, loadBalancerArn: undefined },
    { ...https0, loadBalancerArn: undefined },
    'same certificate, SSL policy and 404 default',
  );
  assert.deepEqual((byId(s1.userPoolClient).props as unknown as { callbackUrls: string[] }).callbackUrls, [
    'https://b.dev.shop.example/oauth2/idpresponse',
  ]);
  assert.deepEqual((byId('user-pool-client').props as unknown as { callbackUrls: string[] }).callbackUrls, [
    'https://a.dev.shop.example/oauth2/idpresponse',
  ]);
});

test('an existing listener is never given more shards', () => {
  const env = environment({
    spec: {
      loadBalancer: {
        existingListenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shared/1/2',
        scheme: 'internet-facing',
      },
    },
  });
  const plan = planEnvironment(env, {
    ...facts,
    gatedHosts: [],
    existingLoadBalancerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shared/1',
    extraShards: [{ index: 1, gatedHosts: [] }],
  });
  assert.deepEqual(
    plan.resources.filter((r) => r.id.includes('-shard-')).map((r) => r.id),
    [],
  );
  assert.ok(
    plan.resources.some((r) => r.id === 'user-pool-client'),
    'the gate is planned, on shard 0 only',
  );
});

test('a workload on shard k has its own target group and rule ids and name, on that shard listener', () => {
  const env = environment();
  const view = {
    environment: env,
    listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/sw1-commerce-dev/abc/def',
    loadBalancerDnsName: 'sw1.eu-west-1.elb.amazonaws.com',
    loadBalancerZoneId: 'Z32O12XQLNTSW2',
    clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/slipway-commerce-dev',
    clusterName: 'slipway-commerce-dev',
    network: { vpcId: 'vpc-1', subnetIds: ['subnet-1', 'subnet-2'], assignPublicIp: false },
    securityGroupIds: ['sg-1'],
    cognito: { userPoolArn: 'arn:pool', clientId: 'client-1', domain: 'auth' },
  };
  const workload = {
    owner: { clusterId: 'prod-eu', kind: 'Service' as const, namespace: 'commerce', name: 'catalog' },
    spec: serviceSpec(),
    subdomain: 'catalog',
    serviceName: 'catalog',
  };
  const zero = planWorkload(workload, view, 'prod-eu');
  const one = planWorkload(workload, { ...view, shard: 1 }, 'prod-eu');
  const find = (p: typeof zero, kind: string) => p.resources.find((r) => r.kind === kind)!;
  assert.equal(find(zero, 'elbv2.TargetGroup').id, 'target-group');
  assert.equal(find(one, 'elbv2.TargetGroup').id, 'target-group-shard-1');
  assert.equal(find(one, 'elbv2.ListenerRule').id, 'listener-rule-shard-1');
  const tg0 = find(zero, 'elbv2.TargetGroup').props as unknown as { name: string };
  const tg1 = find(one, 'elbv2.TargetGroup').props as unknown as { name: string };
  assert.notEqual(tg1.name, tg0.name);
  assert.ok(tg1.name.length <= 32);
  assert.deepEqual(find(one, 'ecs.Service').after, ['listener-rule-shard-1']);
  const rule = find(one, 'elbv2.ListenerRule').props as unknown as { listenerArn: string; actions: { type: string }[] };
  assert.equal(rule.listenerArn, view.listenerArn);
  const record = find(one, 'route53.Record').props as unknown as { alias: { dnsName: string } };
  assert.equal(record.alias.dnsName, view.loadBalancerDnsName);
});
