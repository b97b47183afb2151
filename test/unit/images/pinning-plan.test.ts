// The plan a deployment runs: the digest of status.image while nothing that starts a deployment changed, and after a
// rollback by ECS's circuit breaker the service held on the revision ECS went back to (not put back on the failing
// one every pass); a preview likewise, from its status.service.deployment. Pure: planWithCurrentImage and the ECS
// service diff.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeploymentRecord, ImageStatus } from '../../../src/api/index.js';
import { serviceWorkload } from '../../../src/controllers/service.js';
import { previewWorkload } from '../../../src/controllers/preview.js';
import { planHash } from '../../../src/controllers/shared.js';
import { lastDeployment, planWithCurrentImage } from '../../../src/controllers/workload.js';
import type { EcsServiceProps, Plan, Resolved, TaskDefinitionProps } from '../../../src/planner/plan.js';
import type { EnvironmentView } from '../../../src/planner/service.js';
import { diffService } from '../../../src/reconcilers/ecs-service.js';
import { environment, preview, service } from '../../support/objects.js';

const view: EnvironmentView = {
  environment: environment(),
  listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/sw-commerce-dev/50dc6c495c0c9188/f2',
  loadBalancerDnsName: 'sw-commerce-dev-1234567890.eu-west-1.elb.amazonaws.com',
  loadBalancerZoneId: 'Z32O12XQLNTSW2',
  clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/slipway-commerce-dev',
  clusterName: 'slipway-commerce-dev',
  securityGroupIds: ['sg-0123456789abcdef0'],
  network: { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-a', 'subnet-b'], assignPublicIp: false },
  cognito: { userPoolArn: 'arn:aws:cognito-idp:eu-west-1:123456789012:userpool/x', clientId: 'c', domain: 'd' },
};
const svc = service();
const workload = serviceWorkload(svc, 'prod-eu');
const D = `sha256:${'c'.repeat(64)}`;
const props = <T>(plan: Plan, kind: string) => plan.resources.find((r) => r.kind === kind)!.props as T;

test('unchanged inputs plan the pinned image; a new slipway.dev/sync plans the reference, to be resolved', () => {
  const first = planWithCurrentImage(workload, view, 'prod-eu', undefined, undefined);
  assert.equal(first.image, undefined, 'nothing to reuse: the deployment starting resolves the tag');
  const image: ImageStatus = { reference: svc.spec.image, digest: D, pinned: true, inputs: first.inputs };
  const again = planWithCurrentImage(workload, view, 'prod-eu', image, undefined);
  assert.equal(again.image, image);
  const repo = svc.spec.image.replace(/:[^:/]+$/, '');
  assert.equal(props<TaskDefinitionProps>(again.plan, 'ecs.TaskDefinition').container.image, `${repo}@${D}`);
  const synced = planWithCurrentImage(workload, view, 'prod-eu', image, '2026-11-29T08:00:00Z');
  assert.equal(synced.image, undefined);
  assert.notEqual(synced.inputs, first.inputs);
  const resized = planWithCurrentImage(
    { ...workload, spec: { ...workload.spec, memory: workload.spec.memory * 2 } },
    view,
    'prod-eu',
    image,
    undefined,
  );
  assert.equal(resized.image, undefined, 'a new task definition revision starts a deployment');
});

test('after a circuit-breaker rollback the service is held on the revision ECS runs until a deployment starts', () => {
  const inputs = planWithCurrentImage(workload, view, 'prod-eu', undefined, undefined).inputs;
  const image: ImageStatus = { reference: svc.spec.image, digest: D, pinned: true, inputs };
  const held = props<EcsServiceProps>(
    planWithCurrentImage(workload, view, 'prod-eu', image, undefined, true).plan,
    'ecs.Service',
  );
  assert.equal(held.holdTaskDefinition, true);
  const next = planWithCurrentImage(workload, view, 'prod-eu', image, 'retry', true);
  assert.equal(props<EcsServiceProps>(next.plan, 'ecs.Service').holdTaskDefinition, undefined, 'a new sync deploys');

  const desired = { ...held, taskDefinitionArn: 'arn:td/web:8', clusterArn: 'c' } as Resolved<EcsServiceProps>;
  const observed = { ...desired, taskDefinitionArn: 'arn:td/web:7', holdTaskDefinition: undefined };
  assert.deepEqual(diffService({ props: desired }, { props: observed }), [], 'revision 7, where ECS went back, stays');
  const { holdTaskDefinition: _hold, ...free } = desired;
  assert.deepEqual(
    diffService({ props: free }, { props: observed }).map((c) => c.path),
    ['taskDefinitionArn'],
  );
});

test('while a revision rolls out, a service seen rolled back from it is not put back on it; a newer revision is', () => {
  const inputs = planWithCurrentImage(workload, view, 'prod-eu', undefined, undefined).inputs;
  const image: ImageStatus = { reference: svc.spec.image, digest: D, pinned: true, inputs };
  const planned = props<EcsServiceProps>(
    planWithCurrentImage(workload, view, 'prod-eu', image, undefined, false, 'arn:td/web:8').plan,
    'ecs.Service',
  );
  assert.equal(planned.rollingOut, 'arn:td/web:8');
  const desired = { ...planned, taskDefinitionArn: 'arn:td/web:8', clusterArn: 'c' } as Resolved<EcsServiceProps>;
  const observed = { ...desired, taskDefinitionArn: 'arn:td/web:7', rollingOut: undefined };
  const rolledBack = {
    taskDefinition: 'arn:td/web:7',
    deployments: JSON.stringify([
      {
        status: 'PRIMARY',
        taskDefinition: 'arn:td/web:7',
        rolloutState: 'COMPLETED',
        rolloutStateReason: 'ECS deployment circuit breaker: rolled back to deploymentId ecs-svc/7.',
      },
    ]),
  };
  assert.deepEqual(diffService({ props: desired }, { props: observed, attrs: rolledBack }), [], 'left on 7');
  // Not rolled back (ECS has not yet moved it): revision 8 is applied as usual.
  const plain = { taskDefinition: 'arn:td/web:7', deployments: '[]' };
  assert.deepEqual(
    diffService({ props: desired }, { props: observed, attrs: plain }).map((c) => c.path),
    ['taskDefinitionArn'],
  );
  // A newer revision (a deployment started since): it is deployed, rollback or not.
  const newer = { ...desired, taskDefinitionArn: 'arn:td/web:9' };
  assert.deepEqual(
    diffService({ props: newer }, { props: observed, attrs: rolledBack }).map((c) => c.path),
    ['taskDefinitionArn'],
  );
});

test("a preview's status.service.deployment holds it as a Service's history does; a new image tag deploys", () => {
  const p = preview();
  const pw = previewWorkload(p, svc, 'prod-eu');
  const inputs = planWithCurrentImage(pw, view, 'prod-eu', undefined, undefined).inputs;
  const image: ImageStatus = { reference: pw.spec.image, digest: D, pinned: true, inputs };
  const record = (result: DeploymentRecord['result']): DeploymentRecord => ({
    revision: 8,
    taskDefinitionArn: 'arn:td/web-pr-1:8',
    image: pw.spec.image,
    deployedAt: '2026-11-29T08:00:00Z',
    result,
  });
  const planned = (last: DeploymentRecord | undefined, w = pw) => {
    const { rolledBack, rollingOut } = lastDeployment(last);
    return props<EcsServiceProps>(
      planWithCurrentImage(w, view, 'prod-eu', image, undefined, rolledBack, rollingOut).plan,
      'ecs.Service',
    );
  };
  assert.equal(planned(record('InProgress')).rollingOut, 'arn:td/web-pr-1:8');
  assert.equal(planned(record('RolledBack')).holdTaskDefinition, true);
  // Hints to the diff, not desired state: recording the deployment does not make the next pass a changed plan.
  const hinted = planWithCurrentImage(pw, view, 'prod-eu', image, undefined, false, 'arn:td/web-pr-1:8').plan;
  assert.equal(planHash(hinted), planHash(planWithCurrentImage(pw, view, 'prod-eu', image, undefined).plan));
  assert.deepEqual(lastDeployment(record('Succeeded')), {});
  // A new image tag starts a deployment: neither held nor guarded.
  const retagged = previewWorkload(preview({ imageTag: 'pr-1-fix' }), svc, 'prod-eu');
  assert.notEqual(retagged.spec.image, pw.spec.image);
  const next = planned(record('RolledBack'), retagged);
  assert.equal(next.holdTaskDefinition, undefined);
  assert.equal(next.rollingOut, undefined);
});
