// docs/iam-plan-policy.json, the policy for running `slipway plan` in CI, must be read-only, grant nothing the
// operator's own policies do not, and allow every read the plan makes. The plan observes with the operator's own
// reconcilers, so the reads it makes are the reads in the source (iam-actions.ts); test/integration/plan.test.ts
// also checks each call a real plan made against this policy.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ACTIONS_OF_OPERATION, allows, isRead, list, sdkOperations, type Policy } from './iam-actions.js';
import { REPO_ROOT } from './helm.js';

const read = (file: string) => JSON.parse(readFileSync(join(REPO_ROOT, 'docs', file), 'utf8')) as Policy;
const planText = readFileSync(join(REPO_ROOT, 'docs', 'iam-plan-policy.json'), 'utf8');
const plan = JSON.parse(planText) as Policy;
const planActions = plan.Statement.flatMap((s) => list(s.Action));
const operatorActions = ['iam-policy.json', 'iam-policy-drift-events.json', 'iam-policy-network.json']
  .map(read)
  .flatMap((p) => p.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => list(s.Action)));

/** The reads in the source, as IAM actions. AssumeRole is the caller's to hold, not the assumed role's. */
function sourceReads(): string[] {
  return [...sdkOperations().keys()]
    .flatMap((op) => ACTIONS_OF_OPERATION[op] ?? [op])
    .filter((action) => isRead(action))
    .sort();
}

test('the plan policy is read-only: Allow statements of Describe, List and Get actions, named, not wildcards', () => {
  assert.equal(plan.Version, '2012-10-17');
  for (const s of plan.Statement) {
    assert.equal(s.Effect, 'Allow', s.Sid);
    assert.ok(s.Sid && /^[A-Za-z0-9]+$/.test(s.Sid), 'Sids are alphanumeric');
  }
  assert.deepEqual(
    planActions.filter((a) => !isRead(a) || a.includes('*')),
    [],
    'only named Describe, List and Get actions',
  );
  assert.ok(planText.replace(/\s+/g, '').length <= 6144, 'fits one managed policy');
});

test('the plan policy grants nothing the operator policies do not', () => {
  assert.deepEqual(
    planActions.filter((a) => !operatorActions.includes(a)),
    [],
  );
});

test('the plan policy allows every read the source makes', () => {
  const reads = sourceReads();
  assert.ok(reads.includes('ecs:DescribeServices') && reads.includes('elasticloadbalancing:DescribeRules'));
  assert.deepEqual(
    reads.filter((action) => !planActions.some((p) => allows(p, action))),
    [],
    'add these reads to docs/iam-plan-policy.json',
  );
  assert.deepEqual(
    planActions.filter((p) => !reads.some((action) => allows(p, action))),
    [],
    'no code makes these reads: remove them from docs/iam-plan-policy.json',
  );
});
