// User errors become conditions that name the field; deletionPolicy Retain keeps AWS resources; a resource that
// exists under our name without our tags is left alone until it is adopted explicitly.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTargetGroupCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Environment, Service } from '../../src/api/index.js';
import type { AwsClients } from '../../src/aws/clients.js';
import { ENVIRONMENT_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import type { Operator } from '../../src/operator.js';
import { boundedName } from '../../src/planner/naming.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
import {
  condition,
  createNamespace,
  eventually,
  installCrds,
  kubeClient,
  kubectl,
  waitForCondition,
} from '../support/kube.js';
import { apply, environmentYaml, serviceYaml } from '../support/manifests.js';
import { startOperator } from '../support/operator.js';

const suffix = uniqueSuffix();
const ns = `own-${suffix}`;
const kube = kubeClient();
const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
const services = kube.resource<Service>(SERVICE_TYPE);

let aws: AwsClients;
let land: Landscape;
let operator: Operator;

describe('ownership, retention and user errors', { timeout: 600_000 }, () => {
  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    land = await createLandscape(aws, `own-${suffix}.shop.test`);
    operator = await startOperator();
  });
  after(async () => {
    await operator?.stop();
    aws?.destroy();
  });

  test('a VPC or subnet that does not exist is a condition naming the field', async () => {
    apply(environmentYaml(ns, { ...land, vpcId: 'vpc-0000000000000dead' }, 'novpc'));
    const novpc = await waitForCondition(environments, { namespace: ns, name: 'novpc' }, 'Ready', 'False', {
      reason: 'VpcNotFound',
    });
    assert.match(
      condition(novpc, 'Ready')!.message!,
      /^spec\.network\.vpcId: VPC vpc-0000000000000dead does not exist in us-east-1/,
    );
    assert.deepEqual(novpc.status?.resources ?? [], [], 'nothing was created');

    apply(environmentYaml(ns, { ...land, subnetIds: [land.subnetIds[0]!, 'subnet-0000000000000dead'] }, 'nosubnet'));
    const nosubnet = await waitForCondition(environments, { namespace: ns, name: 'nosubnet' }, 'Ready', 'False', {
      reason: 'SubnetNotFound',
    });
    assert.match(
      condition(nosubnet, 'Ready')!.message!,
      /^spec\.network\.subnetIds: subnet\(s\) subnet-0000000000000dead do not exist/,
    );
    kubectl(['delete', 'environments.slipway.dev', 'novpc', 'nosubnet', '-n', ns, '--wait=false']);
  });

  test('a same-named resource without our tags is left alone, and adopted only when asked', async () => {
    apply(environmentYaml(ns, land, 'dev'));
    await waitForCondition(environments, { namespace: ns, name: 'dev' }, 'Ready', 'True', { timeoutMs: 120_000 });
    // Someone made a target group with exactly the name Slipway would give this Service's.
    const name = boundedName(['sw', ns, 'dev', 'search'], 32);
    const planted = await aws.elbv2.send(
      new CreateTargetGroupCommand({ Name: name, Protocol: 'HTTP', Port: 8080, VpcId: land.vpcId, TargetType: 'ip' }),
    );
    const arn = planted.TargetGroups![0]!.TargetGroupArn!;
    apply(serviceYaml(ns, 'search'));
    const blocked = await waitForCondition(services, { namespace: ns, name: 'search' }, 'Synced', 'False', {
      reason: 'OwnershipConflict',
    });
    assert.match(condition(blocked, 'Synced')!.message!, /not created by Slipway.*slipway\.dev\/adopt/);
    const untouched = await aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: [arn] }));
    assert.deepEqual(
      untouched.TagDescriptions?.[0]?.Tags ?? [],
      [],
      'the planted target group was not tagged or changed',
    );

    kubectl(['annotate', 'services.slipway.dev', 'search', '-n', ns, 'slipway.dev/adopt=true']);
    const adopted = await waitForCondition(services, { namespace: ns, name: 'search' }, 'Ready', 'True', {
      timeoutMs: 90_000,
    });
    assert.equal(adopted.status?.targetGroupArn, arn, "the existing target group is now the Service's");
    const tags = await aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: [arn] }));
    assert.ok(
      tags.TagDescriptions?.[0]?.Tags?.some((t) => t.Key === 'slipway.dev/owner' && t.Value === `Service/${ns}/search`),
    );
    kubectl(['delete', 'services.slipway.dev', 'search', '-n', ns, '--wait=false']);
    await eventually(
      'search to be deleted',
      async () => ((await services.find({ namespace: ns, name: 'search' })) ? undefined : true),
      120_000,
    );
  });

  test('deletionPolicy Retain removes the Environment and keeps its AWS resources', async () => {
    apply(environmentYaml(ns, land, 'dev', '  deletionPolicy: Retain\n'));
    const env = await eventually('the Retain policy to be observed', async () => {
      const e = await environments.get({ namespace: ns, name: 'dev' });
      return e.status?.observedGeneration === e.metadata.generation && e.spec.deletionPolicy === 'Retain'
        ? e
        : undefined;
    });
    kubectl(['delete', 'environments.slipway.dev', 'dev', '-n', ns, '--wait=false']);
    await eventually(
      'the Environment to be gone',
      async () => ((await environments.find({ namespace: ns, name: 'dev' })) ? undefined : true),
      60_000,
    );
    const lb = await aws.elbv2.send(
      new DescribeLoadBalancersCommand({ LoadBalancerArns: [env.status!.loadBalancer!.arn!] }),
    );
    assert.equal(lb.LoadBalancers?.length, 1, 'the load balancer is retained');
  });
});
