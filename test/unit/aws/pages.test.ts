import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsClients } from '../../../src/aws/clients.js';
import { loadBalancersOfRegion } from '../../../src/aws/load-balancer-limits.js';
import { advancingPages, ListingDidNotAdvance } from '../../../src/aws/pages.js';
import type { Desired } from '../../../src/reconcilers/contract.js';
import { securityGroupReconciler } from '../../../src/reconcilers/security-group.js';
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

test("the region's load balancers and an owner's security groups: a marker handed back twice fails the listing", async () => {
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
  const elbv2 = answering(new ElasticLoadBalancingV2Client(config), { LoadBalancers: [], NextMarker: 'm' });
  await assert.rejects(loadBalancersOfRegion({ elbv2 } as unknown as AwsClients), ListingDidNotAdvance);
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
