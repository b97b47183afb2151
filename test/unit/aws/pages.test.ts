import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { AwsClients } from '../../../src/aws/clients.js';
import { loadBalancersOfRegion } from '../../../src/aws/load-balancer-limits.js';
import { advancingPages, ListingDidNotAdvance } from '../../../src/aws/pages.js';
import { findTagged } from '../../../src/aws/tagged.js';
import { cognitoUser } from '../../../src/reconcilers/cognito-user.js';
import type { Desired } from '../../../src/reconcilers/contract.js';
import { distribution } from '../../../src/reconcilers/distribution.js';
import { logGroupReconciler } from '../../../src/reconcilers/log-group.js';
import { securityGroupReconciler } from '../../../src/reconcilers/security-group.js';
import { taskDefinitionReconciler } from '../../../src/reconcilers/task-definition.js';
import { targetGroupCount } from '../../../src/reconcilers/target-group.js';
import { userPool } from '../../../src/reconcilers/user-pool.js';
import { recordingContext } from '../../support/recording-context.js';

async function* pagesOf(tokens: (string | undefined)[]) {
  for (const [i, NextToken] of tokens.entries()) yield { i, NextToken };
}

test('every page of a listing whose tokens advance', async () => {
  const seen: number[] = [];
  for await (const p of advancingPages(pagesOf(['a', 'b', undefined]), (p) => p.NextToken, 'List')) seen.push(p.i);
  assert.deepEqual(seen, [0, 1, 2]);
});

test('a token handed back twice fails the listing instead of looping on it', async () => {
  // What the emulator's DescribeScalableTargets does past 100 targets: the same token on every page after the first.
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const p of advancingPages(
      pagesOf(['49', '49', '49', '49']),
      (p) => p.NextToken,
      'DescribeScalableTargets',
    ))
      seen.push(p.i);
  }, ListingDidNotAdvance);
  assert.deepEqual(seen, [0], 'nothing after the first repeat is used');
});

// Real clients (an SDK paginator checks its client's class), each answering every call with the same next page.
const answering = <C extends { middlewareStack: { add(m: unknown, o: { step: 'initialize' }): void } }>(
  client: C,
  output: object,
): C => {
  client.middlewareStack.add(() => async () => ({ output: { $metadata: {}, ...output }, response: {} }), {
    step: 'initialize',
  });
  return client;
};
const config = { region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 's' } };

test("the region's load balancers and an owner's security groups: a marker handed back twice fails the listing", async () => {
  const elbv2 = answering(new ElasticLoadBalancingV2Client(config), { LoadBalancers: [], NextMarker: 'm' });
  await assert.rejects(loadBalancersOfRegion({ elbv2 } as unknown as AwsClients), ListingDidNotAdvance);
  await assert.rejects(
    targetGroupCount({ ...recordingContext().ctx, aws: { elbv2 } as unknown as AwsClients }, 'arn:lb'),
    ListingDidNotAdvance,
  );
  const ec2 = answering(new EC2Client(config), { SecurityGroups: [], NextToken: 't' });
  const { ctx } = recordingContext();
  const desired: Desired<'ec2.SecurityGroup'> = {
    id: 'sg',
    kind: 'ec2.SecurityGroup',
    props: { name: 'sg', description: 'd', vpcId: 'vpc-1', ingress: [] },
    tags: {},
  };
  await assert.rejects(
    securityGroupReconciler.observe({ ...ctx, aws: { ec2 } as unknown as AwsClients }, desired),
    ListingDidNotAdvance,
  );
  elbv2.destroy();
  ec2.destroy();
});

test("a pool's users and the account's pools: a Cognito token handed back twice fails the listing", async () => {
  // ListUsers pages by PaginationToken, ListUserPools by NextToken; DescribeUserPool finds the pool.
  const cognito = answering(new CognitoIdentityProviderClient(config), {
    UserPool: { Id: 'us-east-1_p' },
    Users: [],
    PaginationToken: 'p',
    UserPools: [],
    NextToken: 'n',
  });
  const ctx = { ...recordingContext().ctx, aws: { cognito } as unknown as AwsClients };
  const user: Desired<'cognito.User'> = {
    id: 'user',
    kind: 'cognito.User',
    props: { userPoolId: 'us-east-1_p', email: 'a@example.com', enabled: true },
    tags: {},
  };
  await assert.rejects(cognitoUser.observe(ctx, user), ListingDidNotAdvance);
  const pool: Desired<'cognito.UserPool'> = { id: 'pool', kind: 'cognito.UserPool', props: { name: 'p' }, tags: {} };
  await assert.rejects(userPool.observe(ctx, pool), ListingDidNotAdvance);
  cognito.destroy();
});

test("the account's distributions: a CloudFront marker handed back twice fails the listing", async () => {
  // The marker is inside the list: DistributionList.NextMarker.
  const cloudfront = answering(new CloudFrontClient(config), { DistributionList: { Items: [], NextMarker: 'm' } });
  const desired: Desired<'cloudfront.Distribution'> = {
    id: 'cdn',
    kind: 'cloudfront.Distribution',
    props: {
      callerReference: 'r',
      comment: 'c',
      aliases: ['a.example.com'],
      certificateArn: 'arn:cert',
      originDomainName: 'lb.example.com',
      priceClass: 'PriceClass_100',
    },
    tags: {},
  };
  await assert.rejects(
    distribution.observe({ ...recordingContext().ctx, aws: { cloudfront } as unknown as AwsClients }, desired),
    ListingDidNotAdvance,
  );
  cloudfront.destroy();
});

test('what carries given tags: a tagging API token handed back twice fails the listing', async () => {
  const tagging = answering(new ResourceGroupsTaggingAPIClient(config), {
    ResourceTagMappingList: [],
    PaginationToken: 'p',
  });
  await assert.rejects(
    findTagged({ tagging, region: 'us-east-1' } as unknown as AwsClients, { 'slipway.dev/cluster': 'c' }),
    ListingDidNotAdvance,
  );
  tagging.destroy();
});

test("a log group and a family's revisions: a nextToken handed back twice fails the listing", async () => {
  const logs = answering(new CloudWatchLogsClient(config), { logGroups: [], nextToken: 't' });
  const group: Desired<'logs.LogGroup'> = {
    id: 'lg',
    kind: 'logs.LogGroup',
    props: { name: 'lg', retentionDays: 7 },
    tags: {},
  };
  await assert.rejects(
    logGroupReconciler.observe({ ...recordingContext().ctx, aws: { logs } as unknown as AwsClients }, group),
    ListingDidNotAdvance,
  );
  // Described INACTIVE (as moto answers by family), so the family's active revisions are listed.
  const ecs = answering(new ECSClient(config), {
    taskDefinition: { family: 'f', status: 'INACTIVE' },
    taskDefinitionArns: [],
    nextToken: 't',
  });
  await assert.rejects(
    taskDefinitionReconciler.observeByIdentifier!(
      { ...recordingContext().ctx, aws: { ecs } as unknown as AwsClients },
      'arn:aws:ecs:us-east-1:123456789012:task-definition/f:1',
    ),
    ListingDidNotAdvance,
  );
  logs.destroy();
  ecs.destroy();
});
