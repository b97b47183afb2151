// setTags of every kind with real AWS tags, one table: which API each kind calls, that an empty write sends
// nothing, that additions go before removals, and that the memoised read holding the tags is dropped even when a
// call fails. Against AWS (moto) the same kinds are exercised in the reconcilers-*.test.ts integration files.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KindReconciler, Observed } from '../../../src/reconcilers/contract.js';
import { distribution } from '../../../src/reconcilers/distribution.js';
import { ecsClusterReconciler } from '../../../src/reconcilers/ecs-cluster.js';
import { ecsServiceReconciler, serviceMemoKey } from '../../../src/reconcilers/ecs-service.js';
import { listenerRuleReconciler } from '../../../src/reconcilers/listener-rule.js';
import { listenerReconciler } from '../../../src/reconcilers/listener.js';
import { loadBalancerReconciler } from '../../../src/reconcilers/load-balancer.js';
import { logGroupReconciler } from '../../../src/reconcilers/log-group.js';
import { securityGroupReconciler } from '../../../src/reconcilers/security-group.js';
import { targetGroupReconciler } from '../../../src/reconcilers/target-group.js';
import { taskDefinitionReconciler } from '../../../src/reconcilers/task-definition.js';
import { userPool } from '../../../src/reconcilers/user-pool.js';
import { recordingContext } from '../../support/recording-context.js';

const ecsServiceArn = 'arn:aws:ecs:us-east-1:123456789012:service/main/web';
const listenerArn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/lb/1/2';
const distributionArn = 'arn:aws:cloudfront::123456789012:distribution/E1';

interface Row {
  readonly r: KindReconciler<never>;
  readonly identifier: string;
  readonly props?: Record<string, unknown>;
  readonly attrs?: Record<string, string>;
  /** `client:Command` of the addition and of the removal. */
  readonly calls: readonly [string, string];
  /** The memo prefix dropped after a write, for kinds whose observe memoises the tags. */
  readonly invalidates?: string;
}

const rows: readonly Row[] = [
  {
    r: securityGroupReconciler as unknown as KindReconciler<never>,
    identifier: 'sg-1',
    calls: ['ec2:CreateTagsCommand', 'ec2:DeleteTagsCommand'],
  },
  {
    r: loadBalancerReconciler as unknown as KindReconciler<never>,
    identifier: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/lb/1',
    calls: ['elbv2:AddTagsCommand', 'elbv2:RemoveTagsCommand'],
  },
  {
    r: listenerReconciler as unknown as KindReconciler<never>,
    identifier: listenerArn,
    calls: ['elbv2:AddTagsCommand', 'elbv2:RemoveTagsCommand'],
  },
  {
    r: targetGroupReconciler as unknown as KindReconciler<never>,
    identifier: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1',
    calls: ['elbv2:AddTagsCommand', 'elbv2:RemoveTagsCommand'],
  },
  {
    r: listenerRuleReconciler as unknown as KindReconciler<never>,
    identifier: `${listenerArn.replace(':listener/', ':listener-rule/')}/3`,
    props: { listenerArn },
    calls: ['elbv2:AddTagsCommand', 'elbv2:RemoveTagsCommand'],
    invalidates: `elbv2:rules:${listenerArn}`,
  },
  {
    r: ecsClusterReconciler as unknown as KindReconciler<never>,
    identifier: 'arn:aws:ecs:us-east-1:123456789012:cluster/main',
    calls: ['ecs:TagResourceCommand', 'ecs:UntagResourceCommand'],
  },
  {
    r: ecsServiceReconciler as unknown as KindReconciler<never>,
    identifier: ecsServiceArn,
    props: { clusterArn: 'main', name: 'web' },
    calls: ['ecs:TagResourceCommand', 'ecs:UntagResourceCommand'],
    invalidates: serviceMemoKey('main', 'web'),
  },
  {
    r: taskDefinitionReconciler as unknown as KindReconciler<never>,
    identifier: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:3',
    calls: ['ecs:TagResourceCommand', 'ecs:UntagResourceCommand'],
  },
  {
    r: logGroupReconciler as unknown as KindReconciler<never>,
    identifier: 'arn:aws:logs:us-east-1:123456789012:log-group:/slipway/web',
    calls: ['logs:TagResourceCommand', 'logs:UntagResourceCommand'],
  },
  {
    r: userPool as unknown as KindReconciler<never>,
    identifier: 'arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc',
    calls: ['cognito:TagResourceCommand', 'cognito:UntagResourceCommand'],
    invalidates: 'cognito:pool:us-east-1_abc',
  },
  {
    r: distribution as unknown as KindReconciler<never>,
    identifier: 'E1',
    attrs: { arn: distributionArn },
    calls: ['cloudfront:TagResourceCommand', 'cloudfront:UntagResourceCommand'],
    invalidates: `cloudfront:tags:${distributionArn}`,
  },
];

const observedOf = (row: Row): Observed<never> =>
  ({
    identifier: row.identifier,
    props: row.props ?? {},
    tags: {},
    attrs: row.attrs ?? {},
  }) as unknown as Observed<never>;

for (const row of rows) {
  describe(`${row.r.kind} setTags`, () => {
    test('is a kind with real tags', () => {
      assert.equal(row.r.tagging, 'tags');
    });

    test('sends nothing when there is nothing to set or remove', async () => {
      const rec = recordingContext();
      await row.r.setTags(rec.ctx, observedOf(row), {}, []);
      assert.deepEqual(rec.sent, []);
    });

    test('adds and overwrites first, then removes, each in one call carrying the tags or keys', async () => {
      const rec = recordingContext();
      await row.r.setTags(rec.ctx, observedOf(row), { team: 'payments', 'cost-centre': 'cc-42' }, ['old']);
      assert.deepEqual(
        rec.sent.map((s) => `${s.client}:${s.command}`),
        row.calls,
      );
      const [add, remove] = rec.sent.map((s) => JSON.stringify(s.input));
      assert.match(add!, /team.*payments.*cost-centre.*cc-42/);
      assert.doesNotMatch(add!, /"old"/);
      assert.match(remove!, /"old"/);
      assert.doesNotMatch(remove!, /payments/);
      if (row.invalidates) assert.ok(rec.invalidated.includes(row.invalidates), `drops ${row.invalidates}`);
    });

    test('stops at a failed call and still drops the memoised tags', async () => {
      const rec = recordingContext(() => {
        throw new Error('throttled');
      });
      await assert.rejects(row.r.setTags(rec.ctx, observedOf(row), { team: 'payments' }, ['old']), /throttled/);
      assert.equal(rec.sent.length, 1, 'the removal is not sent after a failed addition');
      if (row.invalidates) assert.ok(rec.invalidated.includes(row.invalidates), `drops ${row.invalidates}`);
    });
  });
}
