// The pure status summary: what counts as drift, what counts as ready, and how long corrections stay visible.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { summarize, MAX_DRIFT_ITEMS, type DriftItem } from '../../../src/drift/summary.js';
import type { ApplyReport, ResourceOutcome } from '../../../src/reconcilers/applier.js';

const now = '2026-11-22T10:00:00Z';
const outcome = (o: Partial<ResourceOutcome> & Pick<ResourceOutcome, 'id' | 'action'>): ResourceOutcome => ({
  kind: 'elbv2.TargetGroup',
  changes: [],
  wasInventoried: true,
  identifier: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/${o.id}/1`,
  ...o,
});
const report = (...outcomes: ResourceOutcome[]): ApplyReport => ({ outcomes, inventory: [], attrs: {} });
const cond = (s: ReturnType<typeof summarize>, type: string) => s.conditions.find((c) => c.type === type)!;
const change = { path: 'healthCheck.path', desired: '/healthz', actual: '/changed' };

describe('drift summary', () => {
  test('an update while the plan is unchanged is corrected drift; after a spec change it is not drift', () => {
    const r = report(outcome({ id: 'tg', action: 'updated', changes: [change] }));
    const drift = summarize({ report: r, mode: 'apply', planChanged: false, previousDrift: [], now });
    assert.deepEqual(
      drift.drift.map((d) => `${d.logicalId} ${d.path} ${d.action}`),
      ['tg healthCheck.path Corrected'],
    );
    assert.equal(cond(drift, 'Drifted').reason, 'DriftCorrected');
    assert.deepEqual(drift.corrections, ['corrected drift on tg: healthCheck.path']);
    const rollout = summarize({ report: r, mode: 'apply', planChanged: true, previousDrift: [], now });
    assert.deepEqual(rollout.drift, []);
    assert.equal(cond(rollout, 'Ready').status, 'True');
  });

  test('under Report, differences and deletions are reported and the resource is not Ready', () => {
    const s = summarize({
      report: report(
        outcome({ id: 'tg', action: 'drifted', changes: [change] }),
        outcome({ id: 'dns', kind: 'route53.Record', action: 'missing' }),
      ),
      mode: 'report',
      planChanged: false,
      previousDrift: [],
      now,
    });
    assert.deepEqual(
      s.drift.map((d) => `${d.logicalId} ${d.path} ${d.action}`),
      ['tg healthCheck.path Reported', 'dns (resource) Reported'],
    );
    assert.equal(cond(s, 'Drifted').status, 'True');
    assert.match(cond(s, 'Drifted').message, /tg healthCheck\.path is \/changed, want \/healthz/);
    assert.equal(cond(s, 'Ready').status, 'False');
  });

  test('a resource deleted because it left the plan is the plan carried out: still Ready', () => {
    const s = summarize({
      report: report(outcome({ id: 'tg', action: 'in-sync' }), outcome({ id: 'cdn', action: 'deleted' })),
      mode: 'apply',
      planChanged: true,
      previousDrift: [],
      now,
    });
    assert.equal(cond(s, 'Ready').status, 'True');
  });

  test('Synced carries the outcome of the failed resource: its reason, its message, and what comes next', () => {
    const waiting = {
      reason: 'DistributionDisabling',
      message: 'distribution is still disabling',
      retry: { kind: 'after', ms: 60_000 },
    } as const;
    const s = summarize({
      report: report(outcome({ id: 'cdn', action: 'failed', outcome: waiting, message: waiting.message })),
      mode: 'apply',
      planChanged: true,
      previousDrift: [],
      now,
    });
    assert.equal(cond(s, 'Synced').reason, 'DistributionDisabling');
    assert.match(cond(s, 'Synced').message, /cdn: distribution is still disabling/);
    assert.deepEqual(s.failure?.retry, { kind: 'after', ms: 60_000 });
    const taken = { reason: 'PriorityInUse', message: 'priority 10 is taken', retry: { kind: 'terminal' } } as const;
    const failed = summarize({
      report: report(
        outcome({ id: 'cdn', action: 'failed', outcome: waiting }),
        outcome({ id: 'rule', action: 'failed', outcome: taken }),
        outcome({ id: 'svc', action: 'blocked', message: 'waiting for rule' }),
      ),
      mode: 'apply',
      planChanged: true,
      previousDrift: [],
      now,
    });
    // The terminal failure is what a person must read; the timed retry still comes back.
    assert.equal(cond(failed, 'Synced').reason, 'PriorityInUse');
    assert.equal(cond(failed, 'Ready').reason, 'PriorityInUse');
    assert.match(cond(failed, 'Synced').message, /rule: priority 10 is taken \(and 1 more\)/);
    assert.deepEqual(failed.failure?.retry, { kind: 'after', ms: 60_000 });
  });

  test('first detection time is kept, corrections stay for an hour, and the list is bounded with a count', () => {
    const earlier: DriftItem = {
      kind: 'elbv2.TargetGroup',
      logicalId: 'tg',
      path: 'healthCheck.path',
      desired: '/healthz',
      actual: '/x',
      detectedAt: '2026-11-22T09:30:00Z',
      action: 'Reported',
    };
    const again = summarize({
      report: report(outcome({ id: 'tg', action: 'drifted', changes: [change] })),
      mode: 'report',
      planChanged: false,
      previousDrift: [earlier],
      now,
    });
    assert.equal(again.drift[0]!.detectedAt, '2026-11-22T09:30:00Z');

    const corrected = { ...earlier, action: 'Corrected' as const };
    const quiet = (at: string) =>
      summarize({
        report: report(outcome({ id: 'tg', action: 'in-sync' })),
        mode: 'apply',
        planChanged: false,
        previousDrift: [corrected],
        now: at,
      });
    assert.equal(quiet('2026-11-22T10:00:00Z').drift.length, 1, 'kept within the hour');
    assert.equal(quiet('2026-11-22T10:31:00Z').drift.length, 0, 'dropped after the hour');

    const many = Array.from({ length: 80 }, (_, i) => outcome({ id: `tg${i}`, action: 'drifted', changes: [change] }));
    const bounded = summarize({ report: report(...many), mode: 'report', planChanged: false, previousDrift: [], now });
    assert.equal(bounded.drift.length, MAX_DRIFT_ITEMS);
    assert.equal(bounded.driftCount, 80);
  });

  test('long values are cut to what the CRD accepts', () => {
    const long = { path: 'container.environment', desired: 'x'.repeat(5000), actual: 'y' };
    const s = summarize({
      report: report(outcome({ id: 'td', action: 'drifted', changes: [long] })),
      mode: 'report',
      planChanged: false,
      previousDrift: [],
      now,
    });
    assert.equal(s.drift[0]!.desired.length, 1024);
  });
});
