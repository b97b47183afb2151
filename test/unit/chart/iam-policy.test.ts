// docs/iam-policy.json (with docs/iam-policy-drift-events.json, the permissions of drift events in a second managed
// policy of their own) must allow every AWS call the operator makes and nothing it does not, and confine writes to
// resources carrying Slipway's ownership tag wherever IAM can express it. The calls are read from the source
// (`new XxxCommand(` and `paginateXxx(` of each @aws-sdk client, imported statically or loaded on first use), so a
// new call without a policy change fails here.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from './helm.js';

/** IAM service prefix of each SDK client package the operator may import. */
const PREFIX: Readonly<Record<string, string>> = {
  'client-application-auto-scaling': 'application-autoscaling',
  'client-cloudfront': 'cloudfront',
  'client-cloudwatch-logs': 'logs',
  'client-cognito-identity-provider': 'cognito-idp',
  'client-ec2': 'ec2',
  'client-ecs': 'ecs',
  'client-elastic-load-balancing-v2': 'elasticloadbalancing',
  'client-eventbridge': 'events',
  'client-sqs': 'sqs',
  'client-route-53': 'route53',
  'client-sts': 'sts',
  'client-resource-groups-tagging-api': 'tag',
};

/** Operations whose IAM actions are not simply `prefix:Operation`. */
const ACTIONS_OF_OPERATION: Readonly<Record<string, readonly string[]>> = {
  'cloudfront:CreateDistributionWithTags': ['cloudfront:CreateDistribution', 'cloudfront:TagResource'],
  'sqs:DeleteMessageBatch': ['sqs:DeleteMessage'],
};

/** Creates that carry tags are authorized a second time, for the tagging action. */
const TAG_ON_CREATE: Readonly<Record<string, string>> = {
  'application-autoscaling:RegisterScalableTarget': 'application-autoscaling:TagResource',
  'ec2:CreateSecurityGroup': 'ec2:CreateTags',
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

interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}
interface Policy {
  readonly Version: string;
  readonly Statement: readonly Statement[];
}

/** Each managed policy must fit on its own; together they must allow exactly what the operator calls. */
const POLICY_FILES = ['iam-policy.json', 'iam-policy-drift-events.json'] as const;
const policies = POLICY_FILES.map((file) => {
  const text = readFileSync(join(REPO_ROOT, 'docs', file), 'utf8');
  return { file, text, policy: JSON.parse(text) as Policy };
});
const list = (v: string | readonly string[]): readonly string[] => (typeof v === 'string' ? [v] : v);
const allows = (pattern: string, action: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  ).test(action);
const isRead = (action: string) => /^[\w-]+:(Describe|List|Get|AdminGet)/.test(action);

/** service:Operation for every SDK command constructed and paginator called under src/, with the files. */
function sdkOperations(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const srcDir = join(REPO_ROOT, 'src');
  for (const entry of readdirSync(srcDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    const text = readFileSync(file, 'utf8');
    // Static imports, and modules loaded on first use: `import('@aws-sdk/client-x').then(({ A, B }) => ...)`.
    const imports = [
      ...[...text.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s*from\s*'@aws-sdk\/([\w-]+)'/g)].map((m) => ({
        typeOnly: Boolean(m[1]),
        names: m[2]!,
        pkg: m[3]!,
      })),
      ...[...text.matchAll(/import\('@aws-sdk\/([\w-]+)'\)\.then\(\(\{([^}]*)\}\)/g)].map((m) => ({
        typeOnly: false,
        names: m[2]!,
        pkg: m[1]!,
      })),
    ];
    for (const m of imports) {
      if (m.typeOnly) continue;
      const pkg = m.pkg;
      const prefix = PREFIX[pkg];
      assert.ok(
        prefix,
        `${relative(REPO_ROOT, file)} imports @aws-sdk/${pkg}: add its IAM prefix to PREFIX and its actions to docs/iam-policy.json`,
      );
      for (const raw of m.names.split(',')) {
        const spec = raw.trim();
        if (!spec || spec.startsWith('type ')) continue;
        const [imported, local = imported] = spec.split(/\s+as\s+/) as [string, string?];
        const command = /^(\w+)Command$/.exec(imported);
        const paginator = /^paginate(\w+)$/.exec(imported);
        const used = command
          ? new RegExp(`new\\s+${local}\\(`).test(text)
          : paginator
            ? new RegExp(`\\b${local}\\(`).test(text)
            : false;
        const operation = command?.[1] ?? paginator?.[1];
        if (!operation || !used) continue;
        const key = `${prefix}:${operation}`;
        found.set(key, [...(found.get(key) ?? []), relative(REPO_ROOT, file)]);
      }
    }
  }
  return found;
}

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
