// A create AWS keys by name whose answer is lost after the emulator applied it: the SDK sends it again and meets
// the resource its own first attempt made (CreateLogGroup: ResourceAlreadyExistsException, CreateTargetGroup:
// DuplicateTargetGroupName). The pass must not fail on that: it observes, finds the resource it owns, and goes on
// with it as with anything found; one resource exists. Through the chaos fault proxy's forced drop.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateVpcCommand } from '@aws-sdk/client-ec2';
import { DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { AwsClients } from '../../src/aws/clients.js';
import { ownershipTags } from '../../src/planner/naming.js';
import type { Owner, PlannedResource } from '../../src/planner/plan.js';
import { applyPlan } from '../../src/reconcilers/applier.js';
import type { ReconcilerRegistry } from '../../src/reconcilers/contract.js';
import { newContext } from '../../src/reconcilers/contract.js';
import { logGroupReconciler } from '../../src/reconcilers/log-group.js';
import { targetGroupReconciler } from '../../src/reconcilers/target-group.js';
import { FaultProxy, NO_FAULTS } from '../chaos/proxy.js';
import { targetGroupProps, testAws, uniqueSuffix } from '../support/aws-fixtures.js';
import { getTestEnv } from '../support/env.js';

const env = getTestEnv();
const direct = testAws();
const suffix = uniqueSuffix();
const owner: Owner = { clusterId: 'itest-lost', kind: 'Service', namespace: 'team', name: `lost-${suffix}` };
const registry = {
  'logs.LogGroup': logGroupReconciler,
  'elbv2.TargetGroup': targetGroupReconciler,
} as unknown as ReconcilerRegistry;

let proxy: FaultProxy;
let aws: AwsClients;
let vpcId: string;

describe('a create whose answer is lost and which the SDK sends again', () => {
  before(async () => {
    // The first CreateLogGroup and CreateTargetGroup through the proxy are applied, then their connection dropped.
    proxy = new FaultProxy({
      upstream: env.awsEndpoint,
      seed: 1,
      rates: NO_FAULTS,
      forced: { 'logs:CreateLogGroup#0': 'drop', 'elasticloadbalancing:CreateTargetGroup#0': 'drop' },
    });
    const endpoint = await proxy.start();
    aws = new AwsClients({ region: env.awsRegion, endpoint, credentials: env.awsCredentials, rateLimits: false });
    vpcId = (await direct.ec2.send(new CreateVpcCommand({ CidrBlock: '10.77.0.0/16' }))).Vpc!.VpcId!;
  });

  after(async () => {
    aws.destroy();
    await proxy.stop();
    direct.destroy();
  });

  test('the pass finds what the first attempt made and goes on: one log group, one target group', async () => {
    const logGroup = `/slipway/lost-${suffix}`;
    const tgName = `lost-${suffix}`;
    const resources: PlannedResource[] = [
      {
        id: 'logs',
        kind: 'logs.LogGroup',
        props: { name: logGroup, retentionDays: 7 },
        tags: ownershipTags(owner, 'logs'),
      },
      {
        id: 'tg',
        kind: 'elbv2.TargetGroup',
        props: targetGroupProps(tgName, vpcId),
        tags: ownershipTags(owner, 'tg'),
      },
    ];
    const result = await applyPlan(newContext(aws), registry, { owner, resources }, { mode: 'apply', inventory: [] });
    assert.deepEqual(
      result.outcomes.map((o) => [o.id, o.action]),
      // Found rather than created, then diffed like anything found: the log group's retention, the create's second
      // step, never ran, so the same pass sets it; the target group was made whole by its one call.
      [
        ['logs', 'updated'],
        ['tg', 'in-sync'],
      ],
      JSON.stringify(result.outcomes),
    );
    assert.deepEqual(
      [proxy.counts['logs:CreateLogGroup'], proxy.counts['elasticloadbalancing:CreateTargetGroup']].map((c) => [
        c?.drop,
        c?.pass,
      ]),
      [
        [1, 1],
        [1, 1],
      ],
      'each create was answered the second time, by the resource the first one made',
    );
    const groups = await direct.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: logGroup }));
    assert.equal(groups.logGroups?.length, 1);
    assert.equal(groups.logGroups?.[0]?.retentionInDays, 7);
    const tgs = await direct.elbv2.send(new DescribeTargetGroupsCommand({ Names: [tgName] }));
    assert.equal(tgs.TargetGroups?.length, 1);
    const again = await applyPlan(
      newContext(aws),
      registry,
      { owner, resources },
      {
        mode: 'apply',
        inventory: result.inventory,
      },
    );
    assert.deepEqual(
      again.outcomes.map((o) => o.action),
      ['in-sync', 'in-sync'],
    );
  });
});
