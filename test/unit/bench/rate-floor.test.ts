import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rateFloor } from '../../../bench/rate-floor.js';

test("a family's calls share its bucket: those beyond the burst take one refill interval each", () => {
  // ELBv2 Describe*: a bucket of 40 refilled at 10/s; 90 + 50 describes are 100 beyond the burst.
  const floor = rateFloor({ 'elbv2:DescribeTags': 90, 'elbv2:DescribeTargetGroups': 50, 'ecs:DescribeServices': 5 });
  assert.deepEqual(floor, { seconds: 10, bucket: 'elbv2:describe' });
});

test('EC2 evaluates each action on its own: its reads do not add up across actions', () => {
  // EC2 non-mutating actions: 100 burst, 20/s, per action. 140 of one action is 2 s; 70 of two others is 0 s.
  const floor = rateFloor({ 'ec2:DescribeVpcs': 140, 'ec2:DescribeSubnets': 70, 'ec2:DescribeSecurityGroups': 70 });
  assert.deepEqual(floor, { seconds: 2, bucket: 'ec2:DescribeVpcs' });
});

test('calls within every burst cost no waiting, and operations outside the table are ignored', () => {
  assert.deepEqual(rateFloor({ 'elbv2:DescribeRules': 3, 'sts:AssumeRole': 500 }), { seconds: 0, bucket: '–' });
});
