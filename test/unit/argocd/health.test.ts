// The Argo CD health scripts in argocd/health/, run in a Lua VM with only the libraries Argo CD gives them, against
// objects as the operator writes them (test/fixtures/argocd/). Every line of every script must run under the
// fixtures, and every condition reason the operator can write must have a decided health.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { HEALTH_DIR, HEALTH_SCRIPTS, REPO_ROOT } from '../../../scripts/gen-argocd-cm.js';
import { CRD_DIR, crdFor, loadCrds, validateStructure } from '../api/crd-schema.js';
import { clone, loadHealthFixtures, type HealthFixture, type StatusObject } from './fixtures.js';
import { HealthScript } from './lua-vm.js';
import { operatorReasons } from './operator-reasons.js';

/** What Argo CD must show for Ready=False with each reason (away from deletion). */
const READY_FALSE: Readonly<Record<string, 'Progressing' | 'Degraded'>> = {
  // Something Slipway waits for arrives on its own.
  Waiting: 'Progressing',
  EnvironmentNotFound: 'Progressing',
  EnvironmentNotReady: 'Progressing',
  ServiceNotFound: 'Progressing',
  InUse: 'Progressing',
  // Transient: the queue backs off and retries on its own.
  Throttled: 'Progressing',
  Unavailable: 'Progressing',
  // Ready=False/Drifted without Drifted=True: a pass that removed resources the spec no longer has.
  Drifted: 'Progressing',
  // A deletion on its way, or a pass abandoned at its deadline or by a stopping operator: retried on its own.
  Deleting: 'Progressing',
  InProgress: 'Progressing',
  DeadlineExceeded: 'Progressing',
  Stopping: 'Progressing',
  // A person has to act.
  ApplyFailed: 'Degraded',
  OwnershipConflict: 'Degraded',
  InvalidSpec: 'Degraded',
  GateRequired: 'Degraded',
  GateUnavailable: 'Degraded',
  PreviewsDisabled: 'Degraded',
  PreviewQuotaExceeded: 'Degraded',
  VpcNotFound: 'Degraded',
  SubnetNotFound: 'Degraded',
  ListenerNotFound: 'Degraded',
  CallbackQuotaExceeded: 'Degraded',
  EnvironmentDeleting: 'Degraded',
  EnvironmentGone: 'Degraded',
  EnvironmentMismatch: 'Degraded',
  AccessDenied: 'Degraded',
  ExternalMissing: 'Degraded',
  Terminal: 'Degraded',
  // Listener rules: a priority or host another rule holds, the rule quota, no free priority.
  PriorityInUse: 'Degraded',
  HostInUse: 'Degraded',
  RuleQuotaExceeded: 'Degraded',
  NoFreePriority: 'Degraded',
  // Load-balancer shards: an existing listener (or every shard) full, a shard asked for that is full or unavailable.
  LoadBalancerFull: 'Degraded',
  ShardFull: 'Degraded',
  ShardUnavailable: 'Degraded',
  // The account's regional quota of load balancers is used up: a person raises it or frees one.
  LoadBalancerQuotaExceeded: 'Degraded',
  // A deletion held by something Slipway does not own.
  DeletionBlocked: 'Degraded',
  // A field AWS cannot change in place: the message says how to replace the resource.
  LoadBalancerSchemeImmutable: 'Degraded',
  TargetGroupImmutableField: 'Degraded',
  NetworkImmutableField: 'Degraded',
  // A created network (spec.network.create): too few zones in the Region, a NAT gateway that failed, or one still
  // pending or deleting past its deadline.
  NotEnoughZones: 'Degraded',
  NatGatewayFailed: 'Degraded',
  NatGatewayPending: 'Degraded',
  NatGatewayDeleting: 'Degraded',
};
/** Reasons the operator writes only on Synced, Drifted or Ready=True. */
const NOT_READY_FALSE = new Set([
  'Reconciled',
  'Applied',
  'Observed',
  'InSync',
  'DriftCorrected',
  'DriftReported',
  // The Environment's LoadBalancerCapacity condition when there is room.
  'CapacityAvailable',
  // The PlanOnly condition of an object annotated slipway.dev/plan-only, and its Deleting condition while its
  // deletion waits for the annotation (Ready is then False with reason Deleting).
  'PlanOnly',
  'NotPlanned',
  'DeletionWaits',
  // The CostEstimated condition (both ways), which the health scripts do not read: a missing price is no fault.
  'Estimated',
  'PriceUnknown',
]);

const crds = loadCrds(CRD_DIR);
const scripts = HEALTH_SCRIPTS.map(({ kind, file }) => ({ kind, file, path: join(HEALTH_DIR, file) }));

function ready(o: StatusObject) {
  return o.status?.conditions?.find((c) => c.type === 'Ready');
}

/** A fixture blocked before the applier: Ready and Synced False with one reason, nothing else going on. */
function blockedFixture(fixtures: readonly HealthFixture[]): StatusObject {
  const found = fixtures.find(({ object: o }) => {
    const conditions = o.status?.conditions ?? [];
    return (
      !o.metadata.deletionTimestamp &&
      conditions.length === 2 &&
      conditions.every((c) => c.status === 'False' && c.reason === conditions[0]!.reason) &&
      o.status?.observedGeneration === o.metadata.generation
    );
  });
  assert.ok(found, 'a fixture with only Ready and Synced False for one reason');
  return found.object;
}

for (const { kind, path } of scripts) {
  describe(`${kind} health script`, () => {
    const fixtures = loadHealthFixtures(kind);

    for (const f of fixtures) {
      test(`${f.label} → ${f.health}`, () => {
        const got = new HealthScript(path).run(f.object);
        assert.equal(got.status, f.health, got.message);
        assert.ok(
          got.message.includes(f.message),
          `message ${JSON.stringify(got.message)} lacks ${JSON.stringify(f.message)}`,
        );
      });
    }

    test('fixtures are objects the API server would store: the CRD schema accepts spec and status', () => {
      const schema = crdFor(crds, kind).schema;
      for (const f of fixtures) assert.deepEqual(validateStructure(schema, f.object), [], f.label);
    });

    test('fixtures cover every health the script can give, and every line of it', () => {
      const script = new HealthScript(path);
      const seen = new Set(fixtures.map((f) => script.run(f.object).status));
      const expected =
        kind === 'PreviewDeployment'
          ? ['Healthy', 'Progressing', 'Degraded', 'Suspended']
          : ['Healthy', 'Progressing', 'Degraded'];
      assert.deepEqual([...seen].sort(), expected.sort());
      const lines = script.source.split('\n');
      const missed = script.missedLines().map((n) => `${n}: ${lines[n - 1]!.trim()}`);
      assert.deepEqual(missed, [], `lines of ${path} no fixture reaches`);
    });

    test('each Ready=False reason gives its decided health, with the reason in the message', () => {
      const base = blockedFixture(fixtures);
      const script = new HealthScript(path);
      for (const [reason, health] of Object.entries(READY_FALSE)) {
        const o = clone(base);
        for (const c of o.status!.conditions!) c.reason = reason;
        const got = script.run(o);
        assert.equal(got.status, health, `${reason}: ${got.message}`);
        assert.match(got.message, new RegExp(`^${reason}: `), reason);
      }
    });

    test('a status older than the spec is never read as current: Progressing until the operator catches up', () => {
      const script = new HealthScript(path);
      for (const f of fixtures.filter(
        (x) => x.object.status && !x.object.metadata.deletionTimestamp && x.object.status.phase === undefined,
      )) {
        const o = clone(f.object);
        (o.metadata as { generation: number }).generation += 1;
        const got = script.run(o);
        assert.equal(got.status, 'Progressing', f.label);
        assert.equal(got.message, `waiting for the operator to reconcile generation ${o.metadata.generation}`);
      }
    });

    test('a reported drift is Degraded even when the Ready reason alone would wait', () => {
      const drifted = fixtures.find((f) =>
        f.object.status?.conditions?.some((c) => c.type === 'Drifted' && c.status === 'True'),
      );
      assert.ok(drifted, 'a fixture with Drifted=True');
      assert.equal(ready(drifted.object)?.reason, 'Drifted');
      const script = new HealthScript(path);
      assert.equal(script.run(drifted.object).status, 'Degraded');
      const cleared = clone(drifted.object);
      for (const c of cleared.status!.conditions!) if (c.type === 'Drifted') c.status = 'False';
      assert.equal(
        script.run(cleared).status,
        'Progressing',
        'without Drifted=True, Ready=False/Drifted is resources being removed',
      );
    });
  });
}

test('every condition reason the operator writes has a decided health', () => {
  const sites = operatorReasons(REPO_ROOT);
  // The scan must still find what it was written for; if these move, update operator-reasons.ts.
  const found = new Set(sites.map((s) => s.reason));
  for (const anchor of [
    'InUse',
    'VpcNotFound',
    'PreviewQuotaExceeded',
    'ApplyFailed',
    'EnvironmentNotReady',
    'Waiting',
    'Reconciled',
    'InvalidSpec',
    // new UserActionRequired(message, 'PriorityInUse') and outcome('HostInUse', ...) in the listener rule kind.
    'PriorityInUse',
    'RuleQuotaExceeded',
    'HostInUse',
  ]) {
    assert.ok(found.has(anchor), `the source scan no longer finds ${anchor}`);
  }
  const unclassified = sites.filter((s) => !(s.reason in READY_FALSE) && !NOT_READY_FALSE.has(s.reason));
  assert.deepEqual(
    unclassified,
    [],
    'reasons with no decided Argo CD health: add them to READY_FALSE (and WAITING in argocd/health/*.lua if they wait)',
  );
});

test('the scripts share one copy of the common code, and the workload part between Service and PreviewDeployment', () => {
  const block = (source: string, name: string): string => {
    const m = new RegExp(`-- ${name}: begin[\\s\\S]*?-- ${name}: end`).exec(source);
    assert.ok(m, `no ${name} block`);
    return m[0];
  };
  const sources = new Map(scripts.map((s) => [s.kind, readFileSync(s.path, 'utf8')]));
  const common = block(sources.get('Environment')!, 'common');
  for (const [kind, source] of sources) assert.equal(block(source, 'common'), common, `${kind}: common block differs`);
  assert.equal(block(sources.get('Service')!, 'workload'), block(sources.get('PreviewDeployment')!, 'workload'));
});

test('the scripts use only what Argo CD gives them: Lua 5.1, base and table libraries', () => {
  for (const { path } of scripts) {
    const code = readFileSync(path, 'utf8')
      .replace(/--.*$/gm, '')
      .replace(/"(?:[^"\\]|\\.)*"/g, '""');
    const forbidden: [RegExp, string][] = [
      [/\b(string|math|os|io|debug|coroutine|utf8)\s*\./, 'a library Argo CD does not open for custom scripts'],
      [/\w\s*:\s*\w+\s*\(/, 'a method call (string methods need the string library)'],
      [/\b(require|load|loadstring|dofile|unpack|goto)\b/, 'a function or keyword outside base Lua 5.1'],
      [/\/\/|&|~(?!=)|<<|>>|\|/, 'a Lua 5.3 operator'],
    ];
    for (const [pattern, what] of forbidden) assert.doesNotMatch(code, pattern, `${path} uses ${what}`);
  }
});
