// What an Environment's status and InUse message say about the workloads that reference it: bounded, with the
// count, so that an Environment with thousands of them still writes its status (the schema allows 100 names).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HELD_BY_LISTED, heldByFields, inUseMessage } from '../../../src/controllers/environment.js';
import { CRD_DIR, crdFor, loadCrds } from '../api/crd-schema.js';

const holders = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ kind: 'Service' as const, name: `svc-${String(i).padStart(4, '0')}` }));

test('status.heldBy names at most 100 holders, heldByCount counts them all, within the schema', () => {
  const fields = heldByFields(holders(2000));
  assert.equal(fields.heldBy.length, HELD_BY_LISTED);
  assert.equal(fields.heldBy[0]!.name, 'svc-0000');
  assert.equal(fields.heldByCount, 2000);
  const schema = crdFor(loadCrds(CRD_DIR), 'Environment').schema as unknown as {
    properties: { status: { properties: { heldBy: { maxItems: number } } } };
  };
  assert.ok(HELD_BY_LISTED <= schema.properties.status.properties.heldBy.maxItems);
  assert.deepEqual(heldByFields(holders(2)), { heldBy: holders(2), heldByCount: 2 });
});

test('the InUse message names ten holders and says how many more', () => {
  assert.equal(
    inUseMessage(holders(12)),
    'still referenced by ' +
      holders(10)
        .map((h) => `Service ${h.name}`)
        .join(', ') +
      ' and 2 more (status.heldBy): delete those first',
  );
  assert.equal(inUseMessage(holders(1)), 'still referenced by Service svc-0000: delete those first');
});
