// The applier's guard on observations a kind took in part as planned (Observed.assumed): whatever it would act on
// (a change, duplicates, a conflict, a deletion) is observed again, fresh, outside the pass's wave, and the write,
// the reported drift or the conflict rests on that; an assumed observation as planned costs no second read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownershipTags } from '../../../src/planner/naming.js';
import type { Owner, Plan, ResourceKind } from '../../../src/planner/plan.js';
import { applyPlan, type ApplyMode, type InventoryItem } from '../../../src/reconcilers/applier.js';
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
const ours = ownershipTags(owner, 'tg');
const theirs = ownershipTags({ ...owner, name: 'other' }, 'tg');
const arn = 'arn:tg/catalog';
const planned = { name: 'catalog-tg', path: '/ready' };

interface Stored {
  readonly props: Record<string, unknown>;
  readonly tags: Record<string, string>;
  readonly duplicates?: readonly string[];
}

/**
 * A target-group-like kind whose resource lives in `cloud`. In a pass whose context leaves it unread (readEach false,
 * as a wave out of its turn) it reads its props but takes its tags as planned, and marks the observation; read in a
 * context of its own (the applier's fresh one), it reads everything. Records each observe and write.
 */
function kind(cloud: { current?: Stored }) {
  const log: string[] = [];
  const updatedFrom: Observed[] = [];
  const r = {
    kind: 'elbv2.TargetGroup',
    tagging: 'tags',
    async observe(ctx: ReconcileContext, desired: Desired, recorded?: string) {
      const s = cloud.current;
      const unread = recorded === arn && !ctx.readEach(arn);
      log.push(unread ? 'observe:assumed' : 'observe:fresh');
      if (!s) return undefined;
      const one = (identifier: string, tags: Record<string, string>) =>
        ({ identifier, props: s.props, tags, attrs: { arn: identifier } }) as unknown as Observed;
      return {
        ...one(arn, unread ? { ...desired.tags } : s.tags),
        ...(s.duplicates ? { duplicates: s.duplicates.map((d) => one(d, s.tags)) } : {}),
        ...(unread ? { assumed: true } : {}),
      };
    },
    async observeByIdentifier() {
      return undefined;
    },
    diff(desired: Desired, current: Observed): Change[] {
      const want = desired.props as unknown as Record<string, unknown>;
      const have = current.props as unknown as Record<string, unknown>;
      return Object.keys(want)
        .filter((k) => want[k] !== have[k])
        .map((k) => ({ path: k, desired: String(want[k]), actual: String(have[k]) }));
    },
    async create(_ctx: ReconcileContext, desired: Desired) {
      log.push('create');
      return { identifier: arn, props: desired.props, tags: desired.tags, attrs: { arn } };
    },
    async update(_ctx: ReconcileContext, desired: Desired, current: Observed) {
      log.push('update');
      updatedFrom.push(current);
      return { ...current, props: desired.props };
    },
    async delete(_ctx: ReconcileContext, o: Observed) {
      log.push(`delete:${o.identifier}`);
    },
    async setTags(_ctx: ReconcileContext, _o: Observed, set: Record<string, string>) {
      log.push(`setTags:${Object.keys(set).length}`);
    },
  };
  return { r: r as unknown as KindReconciler<ResourceKind>, log, updatedFrom };
}

/** A wave member's context out of the resource's turn: what it records may be taken as planned. */
const outOfTurn = (): ReconcileContext => ({ ...recordingContext().ctx, readEach: () => false, rotating: () => true });

const plan = {
  owner,
  resources: [{ id: 'tg', kind: 'elbv2.TargetGroup', props: planned, tags: ours }],
} as unknown as Plan;
const inventory: InventoryItem[] = [{ kind: 'elbv2.TargetGroup', logicalId: 'tg', identifier: arn }];

async function pass(cloud: { current?: Stored }, mode: ApplyMode, adopt = false) {
  const k = kind(cloud);
  const registry = { 'elbv2.TargetGroup': k.r } as unknown as ReconcilerRegistry;
  const report = await applyPlan(outOfTurn(), registry, plan, { mode, inventory, adopt });
  return { ...k, outcome: report.outcomes.find((o) => o.id === 'tg')!, report };
}

test('an assumed observation as planned is in sync, read once, in every mode', async () => {
  for (const mode of ['apply', 'report', 'plan'] as const) {
    const { log, outcome } = await pass({ current: { props: planned, tags: ours } }, mode);
    assert.equal(outcome.action, 'in-sync', mode);
    assert.deepEqual(log, ['observe:assumed'], `${mode}: no second read`);
  }
  // Even where the cloud's tags are not the plan's: taken as planned, they yield no change (a drift event reports it).
  const { log, outcome } = await pass({ current: { props: planned, tags: theirs } }, 'report');
  assert.equal(outcome.action, 'in-sync');
  assert.deepEqual(log, ['observe:assumed']);
});

test('an assumed observation that would change is observed again fresh, and the update rests on the fresh one', async () => {
  const { log, outcome, updatedFrom } = await pass(
    { current: { props: { ...planned, path: '/' }, tags: ours } },
    'apply',
  );
  assert.deepEqual(log, ['observe:assumed', 'observe:fresh', 'update']);
  assert.equal(outcome.action, 'updated');
  assert.equal(updatedFrom[0]?.assumed, undefined, 'the update is handed the fresh observation');
  assert.deepEqual(updatedFrom[0]?.tags, ours);
});

test("an assumed observation whose fresh tags are another owner's is a conflict: nothing written, nothing reported drifted", async () => {
  for (const mode of ['apply', 'report', 'plan'] as const) {
    const { log, outcome } = await pass({ current: { props: { ...planned, path: '/' }, tags: theirs } }, mode);
    assert.deepEqual(log, ['observe:assumed', 'observe:fresh'], mode);
    assert.equal(outcome.action, 'conflict', mode);
    assert.match(outcome.message ?? '', /owned by Service\/shop\/other/);
  }
  // Adopting: the fresh tags are what is adopted, then the change written.
  const adopted = await pass({ current: { props: { ...planned, path: '/' }, tags: theirs } }, 'apply', true);
  assert.deepEqual(adopted.log, ['observe:assumed', 'observe:fresh', `setTags:${Object.keys(ours).length}`, 'update']);
});

test('report mode: the drift reported of an assumed observation is what the fresh read shows', async () => {
  const { log, outcome } = await pass({ current: { props: { ...planned, path: '/' }, tags: ours } }, 'report');
  assert.deepEqual(log, ['observe:assumed', 'observe:fresh']);
  assert.equal(outcome.action, 'drifted');
  assert.deepEqual(outcome.changes, [{ path: 'path', desired: '/ready', actual: '/' }]);
});

test('duplicates of an assumed observation are deleted only as the fresh read finds them; one gone since is created', async () => {
  const dup = await pass({ current: { props: planned, tags: ours, duplicates: ['arn:tg/copy'] } }, 'apply');
  assert.deepEqual(dup.log, ['observe:assumed', 'observe:fresh', 'delete:arn:tg/copy']);
  assert.equal(dup.outcome.action, 'updated');

  // Found changed out of its turn, gone by the fresh read: created, as any resource found missing.
  const cloud: { current?: Stored } = { current: { props: { ...planned, path: '/' }, tags: ours } };
  const k = kind(cloud);
  const vanishing = {
    ...k.r,
    observe: async (c: ReconcileContext, d: Desired, rec?: string) => {
      const seen = await k.r.observe(c, d, rec);
      delete cloud.current;
      return seen;
    },
  };
  const registry = { 'elbv2.TargetGroup': vanishing } as unknown as ReconcilerRegistry;
  const report = await applyPlan(outOfTurn(), registry, plan, { mode: 'apply', inventory });
  assert.deepEqual(k.log, ['observe:assumed', 'observe:fresh', 'create']);
  assert.equal(report.outcomes[0]?.action, 'created');
});

test('the delete walk deletes nothing by an assumed observation: it reads it fresh first', async () => {
  const cloud: { current?: Stored } = { current: { props: planned, tags: theirs } };
  const k = kind(cloud);
  // As if a kind took it as planned with no record to go by: the guard does not depend on the kind's reasons.
  const assuming = {
    ...k.r,
    observe: async (c: ReconcileContext, d: Desired) => {
      const seen = await k.r.observe(c, d, arn);
      return seen && c.readEach(arn) ? seen : seen && { ...seen, tags: ours };
    },
  };
  const registry = { 'elbv2.TargetGroup': assuming } as unknown as ReconcilerRegistry;
  const report = await applyPlan(outOfTurn(), registry, plan, { mode: 'delete', inventory });
  assert.deepEqual(k.log, ['observe:assumed', 'observe:fresh'], 'not deleted: the fresh read shows it is not ours');
  assert.deepEqual(report.inventory, []);
});
