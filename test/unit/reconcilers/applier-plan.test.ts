// The applier's plan mode against an in-memory AWS of three kinds: it says what apply would create, update and
// delete, resolves references to what would be created to placeholders so their dependents are still diffed, and
// never calls a write of any kind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownershipTags } from '../../../src/planner/naming.js';
import { ref, type Owner, type Plan, type ResourceKind } from '../../../src/planner/plan.js';
import { applyPlan, knownAfterApply, type InventoryItem } from '../../../src/reconcilers/applier.js';
import type {
  Change,
  Desired,
  KindReconciler,
  Observed,
  ReconcileContext,
  ReconcilerRegistry,
} from '../../../src/reconcilers/contract.js';
import { recordingContext } from '../../support/recording-context.js';

const owner: Owner = { clusterId: 'test', kind: 'Service', namespace: 'shop', name: 'catalog' };

interface Stored {
  readonly identifier: string;
  readonly props: Record<string, unknown>;
  readonly tags: Record<string, string>;
}

/** One kind kept in a map by name; every write is recorded and refused. */
function fakeKind(kind: ResourceKind, cloud: Map<string, Stored>, writes: string[]): KindReconciler<ResourceKind> {
  const observed = (s: Stored): Observed =>
    ({ identifier: s.identifier, props: s.props, tags: s.tags, attrs: { arn: s.identifier } }) as unknown as Observed;
  const refuse = (op: string) => async () => {
    writes.push(`${kind}:${op}`);
    throw new Error(`${op} called in plan mode`);
  };
  return {
    kind,
    tagging: 'tags',
    async observe(_ctx: ReconcileContext, desired: Desired) {
      const s = cloud.get((desired.props as unknown as { name: string }).name);
      return s ? observed(s) : undefined;
    },
    async observeByIdentifier(_ctx: ReconcileContext, identifier: string) {
      const s = [...cloud.values()].find((x) => x.identifier === identifier);
      return s ? observed(s) : undefined;
    },
    diff(desired: Desired, current: Observed): Change[] {
      const want = desired.props as unknown as Record<string, unknown>;
      const have = current.props as unknown as Record<string, unknown>;
      return Object.keys(want)
        .filter((k) => JSON.stringify(want[k]) !== JSON.stringify(have[k]))
        .map((k) => ({ path: k, desired: String(want[k]), actual: String(have[k]) }));
    },
    create: refuse('create'),
    update: refuse('update'),
    delete: refuse('delete'),
    setTags: refuse('setTags'),
  } as unknown as KindReconciler<ResourceKind>;
}

const ctx = (): ReconcileContext => recordingContext().ctx;

test('plan mode reports create, update and delete, and writes nothing', async () => {
  const writes: string[] = [];
  const logs = new Map<string, Stored>();
  const groups = new Map<string, Stored>();
  const rules = new Map<string, Stored>();
  const tags = (id: string) => ownershipTags(owner, id);
  // In AWS: the log group as planned, the target group with another health-check path, the rule, and a leftover.
  logs.set('/ecs/catalog', {
    identifier: 'arn:log/catalog',
    props: { name: '/ecs/catalog', retentionDays: 30 },
    tags: tags('log'),
  });
  logs.set('/ecs/old', {
    identifier: 'arn:log/old',
    props: { name: '/ecs/old', retentionDays: 30 },
    tags: tags('old-log'),
  });
  groups.set('catalog-tg', {
    identifier: 'arn:tg/catalog',
    props: { name: 'catalog-tg', path: '/healthz' },
    tags: tags('tg'),
  });
  rules.set('catalog-rule', {
    identifier: 'arn:rule/catalog',
    props: { name: 'catalog-rule', forward: 'arn:tg/catalog' },
    tags: tags('rule'),
  });
  const registry = {
    'logs.LogGroup': fakeKind('logs.LogGroup', logs, writes),
    'elbv2.TargetGroup': fakeKind('elbv2.TargetGroup', groups, writes),
    'elbv2.ListenerRule': fakeKind('elbv2.ListenerRule', rules, writes),
  } as unknown as ReconcilerRegistry;
  const plan = {
    owner,
    resources: [
      { id: 'log', kind: 'logs.LogGroup', props: { name: '/ecs/catalog', retentionDays: 30 }, tags: tags('log') },
      { id: 'tg', kind: 'elbv2.TargetGroup', props: { name: 'catalog-tg', path: '/ready' }, tags: tags('tg') },
      // A second target group that does not exist yet, and a rule that forwards to it.
      { id: 'tg2', kind: 'elbv2.TargetGroup', props: { name: 'catalog-tg2', path: '/ready' }, tags: tags('tg2') },
      {
        id: 'rule',
        kind: 'elbv2.ListenerRule',
        props: { name: 'catalog-rule', forward: ref('tg2', 'arn') },
        tags: tags('rule'),
      },
    ],
  } as unknown as Plan;
  const inventory: InventoryItem[] = [
    { kind: 'logs.LogGroup', logicalId: 'log', identifier: 'arn:log/catalog' },
    { kind: 'logs.LogGroup', logicalId: 'old-log', identifier: 'arn:log/old' },
    { kind: 'elbv2.TargetGroup', logicalId: 'tg', identifier: 'arn:tg/catalog' },
    { kind: 'elbv2.ListenerRule', logicalId: 'rule', identifier: 'arn:rule/catalog' },
  ];
  const report = await applyPlan(ctx(), registry, plan, { mode: 'plan', inventory });
  assert.deepEqual(writes, [], 'no write of any kind');
  const byId = new Map(report.outcomes.map((o) => [o.id, o]));
  assert.equal(byId.get('log')?.action, 'in-sync');
  assert.equal(byId.get('tg')?.action, 'to-update');
  assert.deepEqual(byId.get('tg')?.changes, [{ path: 'path', desired: '/ready', actual: '/healthz' }]);
  assert.equal(byId.get('tg2')?.action, 'to-create');
  assert.equal(byId.get('rule')?.action, 'to-update', 'a dependent of a resource to create is still diffed');
  assert.deepEqual(byId.get('rule')?.changes, [
    { path: 'forward', desired: knownAfterApply('tg2', 'arn'), actual: 'arn:tg/catalog' },
  ]);
  assert.equal(byId.get('old-log')?.action, 'to-delete');
  assert.equal(byId.get('old-log')?.identifier, 'arn:log/old');
  // What exists stays in the inventory: nothing was deleted.
  assert.ok(report.inventory.some((i) => i.identifier === 'arn:log/old'));
});

test('plan mode: a resource that cannot be observed for want of one to create would be created with it', async () => {
  const writes: string[] = [];
  const groups = new Map<string, Stored>();
  const failing = fakeKind('elbv2.ListenerRule', new Map(), writes);
  const rulesKind = {
    ...failing,
    observe: async (_ctx: ReconcileContext, desired: Desired) => {
      if (String((desired.props as unknown as { forward: string }).forward).startsWith('(known after apply'))
        throw new Error('ValidationError: not an ARN');
      return undefined;
    },
  };
  const registry = {
    'elbv2.TargetGroup': fakeKind('elbv2.TargetGroup', groups, writes),
    'elbv2.ListenerRule': rulesKind,
  } as unknown as ReconcilerRegistry;
  const plan = {
    owner,
    resources: [
      { id: 'tg', kind: 'elbv2.TargetGroup', props: { name: 'tg' }, tags: {} },
      { id: 'rule', kind: 'elbv2.ListenerRule', props: { name: 'rule', forward: ref('tg', 'arn') }, tags: {} },
    ],
  } as unknown as Plan;
  const report = await applyPlan(ctx(), registry, plan, { mode: 'plan', inventory: [] });
  assert.deepEqual(
    report.outcomes.map((o) => [o.id, o.action]),
    [
      ['tg', 'to-create'],
      ['rule', 'to-create'],
    ],
  );
  assert.match(report.outcomes[1]!.message ?? '', /created after tg/);
  assert.deepEqual(writes, []);
});

test('plan mode: an update that makes a new revision changes what references it', async () => {
  const writes: string[] = [];
  const defs = new Map<string, Stored>([
    ['web', { identifier: 'arn:td/web:1', props: { name: 'web', image: 'web:1' }, tags: ownershipTags(owner, 'td') }],
  ]);
  const services = new Map<string, Stored>([
    [
      'web',
      {
        identifier: 'arn:svc/web',
        props: { name: 'web', taskDefinition: 'arn:td/web:1' },
        tags: ownershipTags(owner, 'svc'),
      },
    ],
  ]);
  const revisions = { ...fakeKind('ecs.TaskDefinition', defs, writes), identityOf: (id: string) => id.split(':')[0]! };
  const registry = {
    'ecs.TaskDefinition': revisions,
    'ecs.Service': fakeKind('ecs.Service', services, writes),
  } as unknown as ReconcilerRegistry;
  const plan = {
    owner,
    resources: [
      {
        id: 'td',
        kind: 'ecs.TaskDefinition',
        props: { name: 'web', image: 'web:2' },
        tags: ownershipTags(owner, 'td'),
      },
      {
        id: 'svc',
        kind: 'ecs.Service',
        props: { name: 'web', taskDefinition: ref('td', 'arn') },
        tags: ownershipTags(owner, 'svc'),
      },
    ],
  } as unknown as Plan;
  const inventory: InventoryItem[] = [
    { kind: 'ecs.TaskDefinition', logicalId: 'td', identifier: 'arn:td/web:1' },
    { kind: 'ecs.Service', logicalId: 'svc', identifier: 'arn:svc/web' },
  ];
  const report = await applyPlan(ctx(), registry, plan, { mode: 'plan', inventory });
  assert.deepEqual(
    report.outcomes.map((o) => [o.id, o.action, o.changes]),
    [
      ['td', 'to-update', [{ path: 'image', desired: 'web:2', actual: 'web:1' }]],
      ['svc', 'to-update', [{ path: 'taskDefinition', desired: knownAfterApply('td', 'arn'), actual: 'arn:td/web:1' }]],
    ],
  );
  assert.deepEqual(writes, []);
});
