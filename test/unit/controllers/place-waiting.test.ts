// The Environment's pass places the workloads still waiting (Placements.placeWaiting) as each would place itself:
// the shards planned filled from the lowest, a requested shard honoured, an existing listener and the regional
// quota respected, and a preview only when its own pass would run it (and given back when it no longer would).
// What the pass planned with is remembered, so the workload's own write of that placement wakes the Environment no
// more (plannedWith).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PreviewDeployment, Service } from '../../../src/api/index.js';
import { Placements } from '../../../src/controllers/shards.js';
import { BY_ENVIRONMENT } from '../../../src/controllers/workload.js';
import type { OperatorDeps } from '../../../src/controllers/shared.js';
import { environment, preview, service } from '../../support/objects.js';

const ENV = 'commerce/dev';

function registry(services: Service[], previews: PreviewDeployment[] = []): Placements {
  const index = <T>(items: T[]) => ({
    byIndex: (name: string, key: string) => (name === BY_ENVIRONMENT && key === ENV ? items : []),
  });
  return new Placements({ services: index(services), previews: index(previews) } as unknown as Pick<
    OperatorDeps,
    'services' | 'previews'
  >);
}

const at = <T extends Service | PreviewDeployment>(obj: T, created: string, status?: T['status']): T =>
  ({ ...obj, metadata: { ...obj.metadata, creationTimestamp: created }, ...(status ? { status } : {}) }) as T;

test('the waiting Services fill the planned shards oldest first; one asking for a shard goes there first', () => {
  const services = [
    at(service('delta'), '2026-11-01T00:00:04Z'),
    at(service('alpha'), '2026-11-01T00:00:01Z'),
    at(service('placed'), '2026-11-01T00:00:00Z', { loadBalancerShard: 0 }),
    at(service('charlie'), '2026-11-01T00:00:03Z'),
    at(service('asks', { loadBalancer: { shard: 2 } }), '2026-11-01T00:00:05Z'),
    at(service('bravo'), '2026-11-01T00:00:02Z'),
  ];
  const r = registry(services);
  const env = environment();
  assert.equal(r.waiting(env), 5);
  const placedOn = r.placeWaiting(env, { capacity: 2, shards: [0, 1, 2], existingListener: false });
  assert.deepEqual(placedOn, [2, 0, 1, 1, 2]);
  const placed = r.placed(ENV);
  assert.deepEqual(
    ['placed', 'alpha', 'bravo', 'charlie', 'delta', 'asks'].map((n) => placed.get(`Service/${n}`)),
    [0, 0, 1, 1, 2, 2],
  );
  assert.equal(r.waiting(env), 0);
  // Placed once: a second pass leaves them where they are.
  assert.deepEqual(r.placeWaiting(env, { capacity: 2, shards: [0, 1, 2], existingListener: false }), []);
});

test('an existing listener, or the quota, leaves the ones that do not fit waiting for their own pass to say why', () => {
  const services = ['a', 'b', 'c'].map((n, i) => at(service(n), `2026-11-01T00:00:0${i}Z`));
  const full = registry(services);
  const env = environment();
  assert.deepEqual(full.placeWaiting(env, { capacity: 2, shards: [0], existingListener: true }), [0, 0]);
  assert.equal(full.waiting(env), 1);

  const quota = registry(services);
  const placedOn = quota.placeWaiting(env, {
    capacity: 2,
    shards: [0],
    existingListener: false,
    noNewShards: 'the quota is used up',
  });
  assert.deepEqual(placedOn, [0, 0]);
  assert.equal(quota.placed(ENV).get('Service/c'), undefined);
});

test('a preview is placed only when its own pass would run it: previews allowed, its Service there, within maxActive', () => {
  const services = [at(service('catalog-api'), '2026-11-01T00:00:00Z')];
  const pr = (name: string, created: string, spec: Partial<PreviewDeployment['spec']> = {}, status?: object) =>
    at({ ...preview(spec), metadata: { ...preview().metadata, name } }, created, status as PreviewDeployment['status']);
  const previews = [
    pr('oldest', '2026-11-20T10:00:00Z'),
    pr('second', '2026-11-20T10:00:01Z'),
    // Over maxActive (2) with nothing created yet: Blocked by its own pass, so not placed.
    pr('third', '2026-11-20T10:00:02Z'),
    pr('orphan', '2026-11-20T09:00:00Z', { serviceRef: { name: 'gone' } }),
    pr('closed', '2026-11-20T08:00:00Z', { pullRequest: { ...preview().spec.pullRequest, state: 'closed' } }),
  ];
  const env = environment({ spec: { previews: { enabled: true, maxActive: 2, defaultTTL: '72h' } } });
  const r = registry(services, previews);
  r.placeWaiting(env, { capacity: 100, shards: [0], existingListener: false });
  // The orphan (its Service is not there) is live and older: it holds a slot, as in the previews' own count, so
  // only the oldest of the others fits.
  assert.deepEqual([...r.placed(ENV).keys()].sort(), ['PreviewDeployment/oldest', 'Service/catalog-api']);
  // Its slot taken by an older preview before its own pass persisted the place: the place is given back.
  previews.push(pr('older', '2026-11-20T09:30:00Z'));
  r.releaseUnrunnable(env);
  assert.deepEqual([...r.placed(ENV).keys()], ['Service/catalog-api']);
  const off = registry(services, previews);
  off.placeWaiting(environment({ spec: { previews: { enabled: false, maxActive: 2, defaultTTL: '72h' } } }), {
    capacity: 100,
    shards: [0],
    existingListener: false,
  });
  assert.deepEqual([...off.placed(ENV).keys()], ['Service/catalog-api'], 'previews disabled: none placed');
});

test('plannedWith: the placements a pass planned with, until the next pass or forget', () => {
  const r = registry([at(service('a'), '2026-11-01T00:00:00Z')]);
  r.placeWaiting(environment(), { capacity: 2, shards: [0], existingListener: false });
  assert.equal(r.plannedWith(ENV, 'Service/a', 0), false, 'nothing planned yet');
  r.markPlanned(ENV, r.placed(ENV));
  assert.equal(r.plannedWith(ENV, 'Service/a', 0), true);
  assert.equal(r.plannedWith(ENV, 'Service/a', 1), false, 'another shard than planned');
  assert.equal(r.plannedWith(ENV, 'Service/a', undefined), false, 'a placement removed');
  r.forget(ENV);
  assert.equal(r.plannedWith(ENV, 'Service/a', 0), false);
});
