// docs/iam-policy.json (with docs/iam-policy-drift-events.json and docs/iam-policy-network.json, the permissions of
// drift events and of spec.network.create in managed policies of their own) must allow every AWS call the operator makes and nothing it does not, and confine writes to
// resources carrying Slipway's ownership tag wherever IAM can express it. The calls are read from the source
// (`new XxxCommand(` and `paginateXxx(` of each @aws-sdk client, imported statically or loaded on first use), so a
// new call without a policy change fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ACTIONS_OF_OPERATION,
  allows,
  isRead,
  list,
  sdkOperations,
  type Policy,
  type Statement,
} from './iam-actions.js';
import { REPO_ROOT } from './helm.js';

/** Creates that carry tags are authorized a second time, for the tagging action. */
const TAG_ON_CREATE: Readonly<Record<string, string>> = {
  'application-autoscaling:RegisterScalableTarget': 'application-autoscaling:TagResource',
  'ec2:AllocateAddress': 'ec2:CreateTags',
  'ec2:CreateInternetGateway': 'ec2:CreateTags',
  'ec2:CreateNatGateway': 'ec2:CreateTags',
  'ec2:CreateRouteTable': 'ec2:CreateTags',
  'ec2:CreateSecurityGroup': 'ec2:CreateTags',
  'ec2:CreateSubnet': 'ec2:CreateTags',
  'ec2:CreateVpc': 'ec2:CreateTags',
  'ec2:CreateVpcEndpoint': 'ec2:CreateTags',
  'ecs:CreateCluster': 'ecs:TagResource',
  'ecs:CreateService': 'ecs:TagResource',
  'ecs:RegisterTaskDefinition': 'ecs:TagResource',
  'elasticloadbalancing:CreateListener': 'elasticloadbalancing:AddTags',
  'elasticloadbalancing:CreateLoadBalancer': 'elasticloadbalancing:AddTags',
  'elasticloadbalancing:CreateRule': 'elasticloadbalancing:AddTags',
  'elasticloadbalancing:CreateTargetGroup': 'elasticloadbalancing:AddTags',
  'events:PutRule': 'events:TagResource',
  'logs:CreateLogGroup': 'logs:TagResource',
  'sqs:CreateQueue': 'sqs:TagQueue',
};

/** Permissions that no SDK call names. */
const IMPLICIT: Readonly<Record<string, string>> = {
  'iam:PassRole': 'RegisterTaskDefinition hands ECS the task and execution roles',
  'iam:CreateServiceLinkedRole': 'ECS, ELB and Application Auto Scaling create their service-linked roles on first use',
};

/** Writes IAM cannot confine by tag; docs/install.md must name and explain each. */
const UNCONFINED: readonly string[] = [
  'ec2:CreateSecurityGroup', // the VPC it is created in is the user's
  'ec2:AuthorizeSecurityGroupIngress', // the new rule is a resource of its own, without tags
  'ecs:DeregisterTaskDefinition', // no resource-level permissions
  'route53:ChangeResourceRecordSets', // records carry no tags
  'iam:PassRole',
  'iam:CreateServiceLinkedRole',
  'sts:AssumeRole',
];

const TAG_KEY = 'slipway.dev/managed-by';

/** Each managed policy must fit on its own; together they must allow exactly what the operator calls. */
const POLICY_FILES = ['iam-policy.json', 'iam-policy-drift-events.json', 'iam-policy-network.json'] as const;
const policies = POLICY_FILES.map((file) => {
  const text = readFileSync(join(REPO_ROOT, 'docs', file), 'utf8');
  return { file, text, policy: JSON.parse(text) as Policy };
});
/** The IAM actions each operation needs, with the operation that needs it. */
function requiredActions(): Map<string, string> {
  const out = new Map<string, string>();
  for (const op of sdkOperations().keys()) {
    for (const action of ACTIONS_OF_OPERATION[op] ?? [op]) out.set(action, op);
    const tagging = TAG_ON_CREATE[op];
    if (tagging) out.set(tagging, `${op} (tags at creation)`);
  }
  for (const action of Object.keys(IMPLICIT)) out.set(action, IMPLICIT[action]!);
  return out;
}

const allowStatements = policies.flatMap(({ policy }) => policy.Statement.filter((s) => s.Effect === 'Allow'));
const tagConfined = (s: Statement) =>
  Object.values(s.Condition ?? {}).some((kv) =>
    Object.entries(kv).some(
      ([k, v]) =>
        (k === `aws:ResourceTag/${TAG_KEY}` || k === `aws:RequestTag/${TAG_KEY}`) &&
        list(v).every((x) => x === 'slipway'),
    ),
  );

test('the scan sees the operator calls, commands and paginators alike', () => {
  const ops = sdkOperations();
  for (const op of [
    'ecs:CreateService',
    'route53:ChangeResourceRecordSets',
    'cognito-idp:ListUsers',
    'sts:AssumeRole',
    'cloudfront:CreateDistributionWithTags',
  ]) {
    assert.ok(ops.has(op), `${op} is found`);
  }
  assert.ok(ops.size > 60, `${ops.size} operations`);
});

test('the policy allows every IAM action the operator needs', () => {
  const missing = [...requiredActions()].filter(
    ([action]) => !allowStatements.some((s) => list(s.Action).some((p) => allows(p, action))),
  );
  assert.deepEqual(
    missing.map(([a, why]) => `${a} (for ${why})`),
    [],
    'add these to docs/iam-policy.json',
  );
});

test('the policy allows nothing the operator does not need', () => {
  const needed = [...requiredActions().keys()];
  const extra = allowStatements.flatMap((s) => list(s.Action)).filter((p) => !needed.some((a) => allows(p, a)));
  assert.deepEqual([...new Set(extra)], [], 'remove these from docs/iam-policy.json (no code calls them)');
  assert.ok(
    !allowStatements.some((s) => list(s.Action).some((a) => a.includes('*'))),
    'actions are named, not wildcards',
  );
});

test('every write is confined by the ownership tag, except the ones IAM cannot confine, which docs/install.md explains', () => {
  const install = readFileSync(join(REPO_ROOT, 'docs', 'install.md'), 'utf8');
  for (const s of allowStatements) {
    if (tagConfined(s)) continue;
    for (const action of list(s.Action).filter((a) => !isRead(a))) {
      assert.ok(UNCONFINED.includes(action), `${s.Sid}: ${action} is allowed without a ${TAG_KEY} condition`);
    }
  }
  for (const action of UNCONFINED)
    assert.ok(install.includes(`\`${action}\``), `docs/install.md explains why ${action} has no tag condition`);
  const confined = new Set(allowStatements.filter(tagConfined).flatMap((s) => list(s.Action)));
  const writes = [...requiredActions().keys()].filter((a) => !isRead(a) && !UNCONFINED.includes(a));
  assert.deepEqual(
    writes.filter((a) => !confined.has(a)),
    [],
    'every other write has a tag-conditioned statement',
  );
});

test('each policy is well-formed and fits one managed policy', () => {
  for (const { file, policy } of policies) assert.equal(policy.Version, '2012-10-17', file);
  const sids = allowStatements.map((s) => s.Sid);
  assert.equal(new Set(sids).size, sids.length, 'Sids are unique');
  assert.ok(
    sids.every((sid) => sid && /^[A-Za-z0-9]+$/.test(sid)),
    'Sids are alphanumeric',
  );
  // IAM counts a managed policy's size without whitespace; 6,144 characters at most.
  for (const { file, text } of policies) {
    const size = text.replace(/\s+/g, '').length;
    assert.ok(size <= 6144, `${file}: ${size} characters`);
  }
});
