// A deletion that takes more than one pass keeps deleting dependents before what they depend on. The survivors of a
// pass are the next pass's inventory; were they kept in the order the walk met them (reversed), the next walk would
// meet an ECS service before its scalable target, and the target, whose ownership is read from the service, would
// no longer be provably ours once the service was gone: it would be skipped and leaked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownershipTags } from '../../../src/planner/naming.js';
import type { Owner, Plan, ResourceKind } from '../../../src/planner/plan.js';
import { applyPlan, type InventoryItem } from '../../../src/reconcilers/applier.js';
import type {
  KindReconciler,
  Observed,
  ReconcileContext,
  ReconcilerRegistry,
} from '../../../src/reconcilers/contract.js';
import { recordingContext } from '../../support/recording-context.js';

const owner: Owner = { clusterId: 'test', kind: 'Service', namespace: 'shop', name: 'catalog' };

/** An in-memory account: what exists, by identifier. */
class Cloud {
  readonly live = new Set<string>(['svc', 'target', 'policy']);
  readonly deleted: string[] = [];
  /** Deletes that fail once, by identifier. */
  readonly failOnce = new Set<string>();
}

/**
 * Three kinds shaped like ECS service → scalable target → scaling policy: the service carries our tags; the target
 * and the policy are ours only while the service exists (as ownerTagsOfScaledService derives it).
 */
function registry(cloud: Cloud): ReconcilerRegistry {
  const kind = (k: ResourceKind, identifier: string, derived: boolean): KindReconciler<ResourceKind> => {
    const find = async (id: string) => {
      if (id !== identifier || !cloud.live.has(id)) return undefined;
      const tags = !derived || cloud.live.has('svc') ? ownershipTags(owner, 'x') : {};
      return { identifier: id, props: {}, tags, attrs: {} } as unknown as Observed;
    };
    return {
      kind: k,
      tagging: derived ? 'derived' : 'tags',
      observe: () => find(identifier),
      observeByIdentifier: (_ctx: ReconcileContext, id: string) => find(id),
      diff: () => [],
      async create() {
        throw new Error('no create in a deletion');
      },
      async update() {
        throw new Error('no update in a deletion');
      },
      async delete(_ctx: ReconcileContext, o: Observed) {
        if (cloud.failOnce.delete(o.identifier)) throw new Error(`throttled deleting ${o.identifier}`);
        cloud.live.delete(o.identifier);
        cloud.deleted.push(o.identifier);
      },
      async setTags() {},
    } as unknown as KindReconciler<ResourceKind>;
  };
  return {
    'ecs.Service': kind('ecs.Service', 'svc', false),
    'autoscaling.ScalableTarget': kind('autoscaling.ScalableTarget', 'target', true),
    'autoscaling.ScalingPolicy': kind('autoscaling.ScalingPolicy', 'policy', true),
  } as unknown as ReconcilerRegistry;
}

const ctx: ReconcileContext = recordingContext().ctx;

// Creation order, as a pass that applied the plan records it.
const created: InventoryItem[] = [
  { kind: 'ecs.Service', logicalId: 'service', identifier: 'svc' },
  { kind: 'autoscaling.ScalableTarget', logicalId: 'scalable-target', identifier: 'target' },
  { kind: 'autoscaling.ScalingPolicy', logicalId: 'cpu-policy', identifier: 'policy' },
];

// Deleting with nothing planned (the Environment is being deleted too): every inventoried resource is a leftover.
const empty: Plan = { owner, resources: [] };

test('a deletion spread over passes by a failure keeps the creation order, and leaks nothing', async () => {
  const cloud = new Cloud();
  const reg = registry(cloud);
  cloud.failOnce.add('target');

  const first = await applyPlan(ctx, reg, empty, { mode: 'delete', inventory: created, adopt: false });
  assert.deepEqual(cloud.deleted, ['policy'], 'the failed target holds the service back');
  assert.deepEqual(
    first.inventory.map((i) => i.identifier),
    ['svc', 'target'],
    'what is left is recorded in creation order',
  );

  const second = await applyPlan(ctx, reg, empty, { mode: 'delete', inventory: first.inventory, adopt: false });
  assert.deepEqual(
    cloud.deleted,
    ['policy', 'target', 'svc'],
    'the target goes before the service its ownership needs',
  );
  assert.deepEqual(second.inventory, []);
  assert.deepEqual([...cloud.live], []);
});

test('what a planned deletion leaves is recorded in creation order too, for a next pass with nothing planned', async () => {
  const cloud = new Cloud();
  const reg = registry(cloud);
  cloud.failOnce.add('target');
  const planned = (kind: ResourceKind, id: string, after: string[]) =>
    ({ id, kind, props: {}, tags: ownershipTags(owner, id), after }) as unknown as Plan['resources'][number];
  const plan: Plan = {
    owner,
    resources: [
      planned('ecs.Service', 'service', []),
      planned('autoscaling.ScalableTarget', 'scalable-target', ['service']),
      planned('autoscaling.ScalingPolicy', 'cpu-policy', ['scalable-target']),
    ],
  };
  const first = await applyPlan(ctx, reg, plan, { mode: 'delete', inventory: created, adopt: false });
  assert.deepEqual(
    first.inventory.map((i) => i.identifier),
    ['svc', 'target'],
  );
  const second = await applyPlan(ctx, reg, empty, { mode: 'delete', inventory: first.inventory, adopt: false });
  assert.deepEqual(second.inventory, []);
  assert.deepEqual(cloud.deleted, ['policy', 'target', 'svc']);
});

test('a failure that spreads a deletion over three passes still ends with nothing left', async () => {
  const cloud = new Cloud();
  const reg = registry(cloud);
  cloud.failOnce.add('policy');
  cloud.failOnce.add('target');
  let inventory: readonly InventoryItem[] = created;
  const left: string[][] = [];
  for (let pass = 0; pass < 3 && inventory.length > 0; pass++) {
    inventory = (await applyPlan(ctx, reg, empty, { mode: 'delete', inventory, adopt: false })).inventory;
    left.push(inventory.map((i) => i.identifier));
  }
  assert.deepEqual(left, [['svc', 'target', 'policy'], ['svc', 'target'], []]);
  assert.deepEqual(cloud.deleted, ['policy', 'target', 'svc']);
});
