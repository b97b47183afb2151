// The AWS calls Slipway's source makes, as IAM actions, and the reading of IAM policies: shared by the checks of
// docs/iam-policy.json (the operator) and docs/iam-plan-policy.json (`slipway plan`).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './helm.js';

/** IAM service prefix of each SDK client package the operator may import. */
export const PREFIX: Readonly<Record<string, string>> = {
  'client-application-auto-scaling': 'application-autoscaling',
  'client-cloudfront': 'cloudfront',
  'client-cloudtrail': 'cloudtrail',
  'client-cloudwatch-logs': 'logs',
  'client-cognito-identity-provider': 'cognito-idp',
  'client-ec2': 'ec2',
  'client-ecr': 'ecr',
  'client-ecs': 'ecs',
  'client-elastic-load-balancing-v2': 'elasticloadbalancing',
  'client-eventbridge': 'events',
  'client-sqs': 'sqs',
  'client-route-53': 'route53',
  'client-sts': 'sts',
  'client-resource-groups-tagging-api': 'tag',
};

/** Operations whose IAM actions are not simply `prefix:Operation`. */
export const ACTIONS_OF_OPERATION: Readonly<Record<string, readonly string[]>> = {
  'cloudfront:CreateDistributionWithTags': ['cloudfront:CreateDistribution', 'cloudfront:TagResource'],
  'sqs:DeleteMessageBatch': ['sqs:DeleteMessage'],
};

export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}
export interface Policy {
  readonly Version: string;
  readonly Statement: readonly Statement[];
}

export const list = (v: string | readonly string[]): readonly string[] => (typeof v === 'string' ? [v] : v);
export const allows = (pattern: string, action: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  ).test(action);
export const isRead = (action: string) => /^[\w-]+:(Describe|List|Get|AdminGet|Lookup)/.test(action);

/** service:Operation for every SDK command constructed and paginator called under src/, with the files. */
export function sdkOperations(): Map<string, string[]> {
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
