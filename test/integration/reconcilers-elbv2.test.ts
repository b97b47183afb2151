// The network and load-balancing kinds against moto: security group, ECS cluster, load balancer, listener,
// target group and listener rule. Each kind goes through create → observe → in sync → out-of-band drift → update →
// in sync → delete, and through applyPlan for ownership conflicts. Names carry a random suffix: the moto server is
// shared with other test files.
import { planHash, runPass } from '../../src/controllers/shared.js';
import { toStatusResources } from '../../src/drift/summary.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ACMClient, RequestCertificateCommand } from '@aws-sdk/client-acm';
import {
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  CreateUserPoolDomainCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { CreateClusterCommand, UpdateClusterCommand } from '@aws-sdk/client-ecs';
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  ModifyListenerCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyRuleCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  RemoveTagsCommand,
  SetSecurityGroupsCommand,
  type Action,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { AwsClients } from '../../src/aws/clients.js';
import type { Outcome } from '../../src/outcome/outcome.js';
import { CallCounter } from '../../src/aws/calls.js';
import { ownershipTags, TAG_CLUSTER } from '../../src/planner/naming.js';
import { ref, type Owner, type Plan, type PlannedResource, type ResourceKind } from '../../src/planner/plan.js';
import { applyPlan, type ResourceOutcome } from '../../src/reconcilers/applier.js';
import { ROTATION_SLOTS } from '../../src/controllers/waves.js';
import { discoverOwned } from '../../src/reconcilers/discovery.js';
import {
  newContext,
  rotationSlotOf,
  WaveReads,
  withPassContext,
  type Desired,
  type KindReconciler,
  type Observed,
  type ReconcileContext,
} from '../../src/reconcilers/contract.js';
import { ecsClusterReconciler } from '../../src/reconcilers/ecs-cluster.js';
import {
  listenerRuleReconciler,
  listenerRuleUsage,
  preferredPriority,
  routeOf,
  rulesOf,
} from '../../src/reconcilers/listener-rule.js';
import { listenerReconciler } from '../../src/reconcilers/listener.js';
import { loadBalancerReconciler } from '../../src/reconcilers/load-balancer.js';
import { securityGroupReconciler } from '../../src/reconcilers/security-group.js';
import { targetGroupCount, targetGroupReconciler } from '../../src/reconcilers/target-group.js';
import { FaultProxy, NO_FAULTS } from '../chaos/proxy.js';
import { targetGroupProps, testAws } from '../support/aws-fixtures.js';
import { getTestEnv } from '../support/env.js';
import { registry } from '../../src/reconcilers/index.js';

const suffix = (): string => randomBytes(4).toString('hex');
const run = suffix();

const owner: Owner = { clusterId: `it-${run}`, kind: 'Service', namespace: 'apps', name: `web-${run}` };
const tagsFor = (logicalId: string): Record<string, string> => ({
  ...ownershipTags(owner, logicalId),
  team: 'platform',
});
const otherTags = (name: string, logicalId = 'rule'): Record<string, string> =>
  ownershipTags({ clusterId: `it-${run}`, kind: 'Service', namespace: 'apps', name }, logicalId);
const toSdkTags = (t: Record<string, string>) => Object.entries(t).map(([Key, Value]) => ({ Key, Value }));
const toSdkConditions = (host: string) => [
  { Field: 'host-header', HostHeaderConfig: { Values: [host] } },
  { Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } },
];

function desired<K extends Desired['kind']>(kind: K, id: string, props: Desired<K>['props']): Desired<K> {
  return { id, kind, props, tags: tagsFor(id) } as Desired<K>;
}

function outcome(outcomes: readonly ResourceOutcome[], id: string): ResourceOutcome {
  const o = outcomes.find((x) => x.id === id);
  assert.ok(o, `no outcome for ${id}`);
  return o;
}

/** Write calls since `before`, by operation (the service prefix dropped). */
function writesBy(counter: CallCounter, before: ReadonlyMap<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counter.writesSince(before)).map(([k, n]) => [k.split(':')[1], n]));
}

/**
 * setTags within one pass (so a memoised read holding tags must be dropped by the write): an empty call sends
 * nothing; then a key is added and `team` overwritten; then `team` is restored and the key removed. The tags are
 * read back through the kind's own observe after each step. Returns the last observation and each step's writes.
 */
async function checkSetTags<K extends ResourceKind>(
  r: KindReconciler<K>,
  pass: ReconcileContext,
  counter: CallCounter,
  read: (c: ReconcileContext) => Promise<Observed<K> | undefined>,
): Promise<{ readonly observed: Observed<K>; readonly writes: readonly Record<string, number>[] }> {
  assert.equal(r.tagging, 'tags');
  const start = await read(pass);
  assert.ok(start, 'observed before tagging');
  const base = { ...start.tags };
  assert.ok(base.team, 'starts with a team tag to overwrite');
  let before = counter.snapshot();
  await r.setTags(pass, start, {}, []);
  assert.deepEqual(writesBy(counter, before), {}, 'nothing to set or remove: no call');

  before = counter.snapshot();
  await r.setTags(pass, start, { team: 'payments', 'cost-centre': 'cc-42' }, []);
  const added = await read(pass);
  assert.deepEqual(added?.tags, { ...base, team: 'payments', 'cost-centre': 'cc-42' }, 'added and overwritten');
  const addWrites = writesBy(counter, before);

  before = counter.snapshot();
  await r.setTags(pass, added, { team: base.team }, ['cost-centre']);
  const back = await read(pass);
  assert.ok(back);
  assert.deepEqual(back.tags, base, 'overwritten back and the key removed');
  return { observed: back, writes: [addWrites, writesBy(counter, before)] };
}

let aws: AwsClients;
const ctx = (): ReconcileContext => newContext(aws);
let vpcId: string;
let subnetA: string;
let subnetB: string;
let sg1: string;
let sg2: string;
let certificateArn: string;
let userPool: { arn: string; clientId: string; domain: string };

async function makeSecurityGroup(name: string): Promise<string> {
  const res = await aws.ec2.send(
    new CreateSecurityGroupCommand({ GroupName: name, Description: 'test', VpcId: vpcId }),
  );
  return res.GroupId!;
}

async function makeLoadBalancer(name: string): Promise<string> {
  const res = await aws.elbv2.send(
    new CreateLoadBalancerCommand({
      Name: name,
      Subnets: [subnetA, subnetB],
      SecurityGroups: [sg1],
      Scheme: 'internet-facing',
      Type: 'application',
    }),
  );
  return res.LoadBalancers![0]!.LoadBalancerArn!;
}

async function makeTargetGroup(name: string): Promise<string> {
  const res = await aws.elbv2.send(
    new CreateTargetGroupCommand({ Name: name, Protocol: 'HTTP', Port: 8080, VpcId: vpcId, TargetType: 'ip' }),
  );
  return res.TargetGroups![0]!.TargetGroupArn!;
}

const notFound: Action = {
  Type: 'fixed-response',
  FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'no route' },
};

async function makeHttpsListener(loadBalancerArn: string, port = 443): Promise<string> {
  const res = await aws.elbv2.send(
    new CreateListenerCommand({
      LoadBalancerArn: loadBalancerArn,
      Port: port,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: certificateArn }],
      DefaultActions: [notFound],
    }),
  );
  return res.Listeners![0]!.ListenerArn!;
}

before(async () => {
  const env = getTestEnv();
  // Kind-level tests of the reconcilers against the emulator: without the operator's client-side rate limits.
  const config = {
    region: env.awsRegion,
    endpoint: env.awsEndpoint,
    credentials: env.awsCredentials,
    rateLimits: false,
  };
  aws = new AwsClients(config);
  const vpc = await aws.ec2.send(new CreateVpcCommand({ CidrBlock: '10.42.0.0/16' }));
  vpcId = vpc.Vpc!.VpcId!;
  subnetA = (
    await aws.ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.42.1.0/24', AvailabilityZone: `${env.awsRegion}a` }),
    )
  ).Subnet!.SubnetId!;
  subnetB = (
    await aws.ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.42.2.0/24', AvailabilityZone: `${env.awsRegion}b` }),
    )
  ).Subnet!.SubnetId!;
  sg1 = await makeSecurityGroup(`it-alb-a-${run}`);
  sg2 = await makeSecurityGroup(`it-alb-b-${run}`);
  const acm = new ACMClient(config);
  certificateArn = (
    await acm.send(new RequestCertificateCommand({ DomainName: `*.${run}.example.com`, ValidationMethod: 'DNS' }))
  ).CertificateArn!;
  acm.destroy();
  const pool = await aws.cognito.send(new CreateUserPoolCommand({ PoolName: `it-pool-${run}` }));
  const poolId = pool.UserPool!.Id!;
  const client = await aws.cognito.send(
    new CreateUserPoolClientCommand({
      UserPoolId: poolId,
      ClientName: 'alb',
      GenerateSecret: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['openid'],
      AllowedOAuthFlowsUserPoolClient: true,
      CallbackURLs: [`https://app.${run}.example.com/oauth2/idpresponse`],
      SupportedIdentityProviders: ['COGNITO'],
    }),
  );
  await aws.cognito.send(new CreateUserPoolDomainCommand({ UserPoolId: poolId, Domain: `it-${run}` }));
  userPool = { arn: pool.UserPool!.Arn!, clientId: client.UserPoolClient!.ClientId!, domain: `it-${run}` };
});

after(() => aws.destroy());

describe('ec2.SecurityGroup', () => {
  test('create, observe, drift in ingress, update, delete', async () => {
    const r = securityGroupReconciler;
    const d = desired('ec2.SecurityGroup', 'alb-sg', {
      name: `it-sg-${suffix()}`,
      description: 'Slipway test load balancer',
      vpcId,
      ingress: [
        { port: 443, cidr: '0.0.0.0/0' },
        { port: 80, cidr: '0.0.0.0/0' },
      ],
    });
    const created = await r.create(ctx(), d);
    assert.match(created.attrs.id!, /^sg-/);

    const seen = await r.observe(ctx(), d);
    assert.ok(seen);
    assert.equal(seen.identifier, created.attrs.id);
    assert.deepEqual(seen.attrs, { id: created.attrs.id });
    assert.deepEqual(seen.tags, d.tags);
    assert.deepEqual(seen.props.ingress, [
      { port: 80, cidr: '0.0.0.0/0' },
      { port: 443, cidr: '0.0.0.0/0' },
    ]);
    assert.deepEqual(r.diff(d, seen), []);

    // Out of band: port 80 closed, SSH opened, and a UDP rule Slipway does not manage.
    const GroupId = seen.identifier;
    await aws.ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    await aws.ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.0.0.0/8' }] },
          { IpProtocol: 'udp', FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: '10.0.0.0/8' }] },
        ],
      }),
    );
    const drifted = await r.observe(ctx(), d);
    assert.ok(drifted);
    const changes = r.diff(d, drifted);
    assert.deepEqual(
      changes.map((c) => c.path),
      ['ingress'],
    );

    const updated = await r.update(ctx(), d, drifted, changes);
    assert.deepEqual(r.diff(d, updated), []);
    const again = await r.observe(ctx(), d);
    assert.ok(again);
    assert.deepEqual(r.diff(d, again), []);
    const raw = (await aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [GroupId] }))).SecurityGroups![0]!;
    assert.ok(
      raw.IpPermissions!.some((p) => p.IpProtocol === 'udp' && p.FromPort === 53),
      'the UDP rule is not ours and stays',
    );
    assert.ok((raw.IpPermissionsEgress ?? []).length > 0, 'egress is left alone');

    const byId = await r.observeByIdentifier(ctx(), GroupId);
    assert.equal(byId?.props.name, d.props.name);

    await r.delete(ctx(), again);
    assert.equal(await r.observe(ctx(), d), undefined);
    assert.equal(await r.observeByIdentifier(ctx(), GroupId), undefined);
  });
});

describe('ecs.Cluster', () => {
  test('create, observe, drift in containerInsights, update, delete', async () => {
    const r = ecsClusterReconciler;
    const d = desired('ecs.Cluster', 'cluster', { name: `it-cluster-${suffix()}`, containerInsights: true });
    const created = await r.create(ctx(), d);
    assert.match(created.attrs.arn!, /^arn:aws:ecs:.*:cluster\//);
    assert.equal(created.attrs.name, d.props.name);

    const seen = await r.observe(ctx(), d);
    assert.ok(seen);
    assert.deepEqual(seen.props, d.props);
    assert.deepEqual(seen.tags, d.tags);
    assert.deepEqual(seen.attrs, created.attrs);
    assert.deepEqual(r.diff(d, seen), []);

    await aws.ecs.send(
      new UpdateClusterCommand({ cluster: d.props.name, settings: [{ name: 'containerInsights', value: 'disabled' }] }),
    );
    const drifted = await r.observe(ctx(), d);
    assert.ok(drifted);
    const changes = r.diff(d, drifted);
    assert.deepEqual(changes, [{ path: 'containerInsights', desired: 'true', actual: 'false' }]);
    await r.update(ctx(), d, drifted, changes);
    const again = await r.observe(ctx(), d);
    assert.ok(again);
    assert.deepEqual(r.diff(d, again), []);

    assert.equal((await r.observeByIdentifier(ctx(), seen.identifier))?.attrs.name, d.props.name);
    await r.delete(ctx(), again);
    assert.equal(await r.observe(ctx(), d), undefined, 'an INACTIVE cluster counts as gone');
    assert.equal(await r.observeByIdentifier(ctx(), seen.identifier), undefined);
  });
});

describe('elbv2.LoadBalancer', () => {
  test('create, observe, drift in security groups and idle timeout, update, scheme is immutable, delete', async () => {
    const r = loadBalancerReconciler;
    const d = desired('elbv2.LoadBalancer', 'alb', {
      name: `it-lb-${suffix()}`,
      scheme: 'internet-facing',
      subnetIds: [subnetB, subnetA],
      securityGroupIds: [sg1],
      idleTimeoutSeconds: 120,
    });
    const created = await r.create(ctx(), d);
    assert.match(created.attrs.arn!, /:loadbalancer\/app\//);
    assert.ok(created.attrs.dnsName);
    assert.ok(created.attrs.canonicalHostedZoneId);

    const seen = await r.observe(ctx(), d);
    assert.ok(seen);
    assert.equal(seen.identifier, created.attrs.arn);
    assert.deepEqual(seen.attrs, created.attrs);
    assert.deepEqual(seen.tags, d.tags);
    assert.equal(seen.props.idleTimeoutSeconds, 120);
    assert.deepEqual(r.diff(d, seen), []);

    await aws.elbv2.send(new SetSecurityGroupsCommand({ LoadBalancerArn: seen.identifier, SecurityGroups: [sg2] }));
    await aws.elbv2.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: seen.identifier,
        Attributes: [{ Key: 'idle_timeout.timeout_seconds', Value: '30' }],
      }),
    );
    const drifted = await r.observe(ctx(), d);
    assert.ok(drifted);
    const changes = r.diff(d, drifted);
    assert.deepEqual(changes.map((c) => c.path).sort(), ['idleTimeoutSeconds', 'securityGroupIds']);
    await r.update(ctx(), d, drifted, changes);
    const again = await r.observe(ctx(), d);
    assert.ok(again);
    assert.deepEqual(r.diff(d, again), []);

    const internal = { ...d, props: { ...d.props, scheme: 'internal' as const } };
    const schemeChanges = r.diff(internal, again);
    assert.deepEqual(
      schemeChanges.map((c) => c.path),
      ['scheme'],
    );
    await assert.rejects(r.update(ctx(), internal, again, schemeChanges), (err: Error) => {
      assert.match(err.message, /must be replaced/);
      assert.match(err.message, /delete-load-balancer/);
      return true;
    });

    assert.equal((await r.observeByIdentifier(ctx(), seen.identifier))?.props.name, d.props.name);
    await r.delete(ctx(), again);
    assert.equal(await r.observe(ctx(), d), undefined);
    assert.equal(await r.observeByIdentifier(ctx(), seen.identifier), undefined);
  });
});

describe('elbv2.TargetGroup', () => {
  test('create, observe, drift in health check and deregistration delay, update, delete', async () => {
    const r = targetGroupReconciler;
    const d = desired('elbv2.TargetGroup', 'tg', {
      name: `it-tg-${suffix()}`,
      vpcId,
      port: 8080,
      healthCheck: {
        path: '/healthz',
        intervalSeconds: 15,
        timeoutSeconds: 5,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
        matcher: '200-399',
      },
      deregistrationDelaySeconds: 30,
    });
    const created = await r.create(ctx(), d);
    assert.match(created.attrs.arn!, /:targetgroup\//);
    assert.equal(created.attrs.name, d.props.name);

    const seen = await r.observe(ctx(), d);
    assert.ok(seen);
    assert.deepEqual(seen.props, d.props);
    assert.deepEqual(seen.tags, d.tags);
    assert.deepEqual(seen.attrs, created.attrs);
    assert.deepEqual(r.diff(d, seen), []);

    await aws.elbv2.send(
      new ModifyTargetGroupCommand({
        TargetGroupArn: seen.identifier,
        HealthCheckPath: '/',
        Matcher: { HttpCode: '200' },
      }),
    );
    await aws.elbv2.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: seen.identifier,
        Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '300' }],
      }),
    );
    const drifted = await r.observe(ctx(), d);
    assert.ok(drifted);
    const changes = r.diff(d, drifted);
    assert.deepEqual(changes.map((c) => c.path).sort(), [
      'deregistrationDelaySeconds',
      'healthCheck.matcher',
      'healthCheck.path',
    ]);
    await r.update(ctx(), d, drifted, changes);
    const again = await r.observe(ctx(), d);
    assert.ok(again);
    assert.deepEqual(r.diff(d, again), []);

    const moved = { ...d, props: { ...d.props, port: 9090 } };
    await assert.rejects(r.update(ctx(), moved, again, r.diff(moved, again)), /must be replaced/);

    assert.equal((await r.observeByIdentifier(ctx(), seen.identifier))?.attrs.name, d.props.name);
    await r.delete(ctx(), again);
    assert.equal(await r.observe(ctx(), d), undefined);
    assert.equal(await r.observeByIdentifier(ctx(), seen.identifier), undefined);
  });
});

describe('elbv2.TargetGroup in a resync wave', () => {
  test("tags come from the wave's scan of the cluster's tags; one whose cluster tag was removed by hand is read", async () => {
    const counter = new CallCounter();
    const counted = testAws(counter.listener);
    const r = targetGroupReconciler;
    const d = desired('elbv2.TargetGroup', 'tg', targetGroupProps(`it-wv-${suffix()}`, vpcId));
    const created = await r.create(ctx(), d);
    /** One steady member pass of a new wave: the target group as it observes it, and its calls by operation. */
    const inWave = async () => {
      const before = counter.snapshot();
      const seen = await withPassContext(counted, (c) => r.observe(c, d), {
        owner: `${owner.kind}/${owner.namespace}/${owner.name}`,
        steady: true,
        wave: new WaveReads(Date.now()),
      });
      const calls: Record<string, number> = {};
      for (const [key, n] of counter.snapshot()) {
        const op = key.split(':')[1]!;
        if (n > (before.get(key) ?? 0)) calls[op] = (calls[op] ?? 0) + n - (before.get(key) ?? 0);
      }
      return { seen, calls };
    };
    try {
      const scanned = await inWave();
      assert.deepEqual(scanned.seen?.tags, d.tags);
      assert.deepEqual(r.diff(d, scanned.seen!), []);
      assert.equal(scanned.calls.DescribeTags, undefined, 'no tag read: the scan carries them');
      assert.ok((scanned.calls.GetResources ?? 0) >= 1);
      assert.equal(scanned.calls.DescribeTargetGroups, 1);

      // The cluster tag removed by hand: the scan no longer carries the target group, so its tags are read, and
      // the removal shows.
      await aws.elbv2.send(new RemoveTagsCommand({ ResourceArns: [created.identifier], TagKeys: [TAG_CLUSTER] }));
      const stripped = await inWave();
      const { [TAG_CLUSTER]: removed, ...rest } = d.tags;
      assert.ok(removed);
      assert.deepEqual(stripped.seen?.tags, rest);
      assert.equal(stripped.calls.DescribeTags, 1);
    } finally {
      await r.delete(ctx(), created);
      counted.destroy();
    }
  });
});

describe('elbv2.Listener', () => {
  test('HTTPS listener: create, observe, drift in default action and certificate, update, delete', async () => {
    const r = listenerReconciler;
    const loadBalancerArn = await makeLoadBalancer(`it-lsn-${suffix()}`);
    const tgArn = await makeTargetGroup(`it-lsn-tg-${suffix()}`);
    const d = desired('elbv2.Listener', 'https', {
      loadBalancerArn,
      port: 443,
      protocol: 'HTTPS',
      certificateArn,
      sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      defaultAction: { type: 'fixed-response', statusCode: '404', contentType: 'text/plain', messageBody: 'no route' },
    });
    const created = await r.create(ctx(), d);
    assert.match(created.attrs.arn!, /:listener\/app\//);

    const seen = await r.observe(ctx(), d);
    assert.ok(seen);
    assert.deepEqual(seen.props, d.props);
    assert.deepEqual(seen.tags, d.tags);
    assert.deepEqual(seen.attrs, { arn: created.attrs.arn });
    assert.deepEqual(r.diff(d, seen), []);

    await aws.elbv2.send(
      new ModifyListenerCommand({
        ListenerArn: seen.identifier,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }],
      }),
    );
    const drifted = await r.observe(ctx(), d);
    assert.ok(drifted);
    const changes = r.diff(d, drifted);
    assert.ok(
      changes.some((c) => c.path === 'defaultAction.type' && c.desired === 'fixed-response' && c.actual === 'forward'),
      JSON.stringify(changes),
    );
    await r.update(ctx(), d, drifted, changes);
    const again = await r.observe(ctx(), d);
    assert.ok(again);
    assert.deepEqual(r.diff(d, again), []);

    const byArn = await r.observeByIdentifier(ctx(), seen.identifier);
    assert.deepEqual(byArn?.props, d.props);
    await r.delete(ctx(), again);
    assert.equal(await r.observe(ctx(), d), undefined);
    assert.equal(await r.observeByIdentifier(ctx(), seen.identifier), undefined);
  });

  test('HTTP listener redirecting to HTTPS is in sync after create', async () => {
    const r = listenerReconciler;
    const loadBalancerArn = await makeLoadBalancer(`it-red-${suffix()}`);
    const d = desired('elbv2.Listener', 'http', {
      loadBalancerArn,
      port: 80,
      protocol: 'HTTP',
      defaultAction: { type: 'redirect-https' },
    });
    await r.create(ctx(), d);
    const seen = await r.observe(ctx(), d);
    assert.ok(seen);
    assert.deepEqual(seen.props.defaultAction, { type: 'redirect-https' });
    assert.deepEqual(r.diff(d, seen), []);

    // A redirect elsewhere is not redirect-https: the diff shows what is there.
    await aws.elbv2.send(
      new ModifyListenerCommand({
        ListenerArn: seen.identifier,
        DefaultActions: [
          {
            Type: 'redirect',
            RedirectConfig: { Protocol: 'HTTPS', Host: 'elsewhere.example.com', StatusCode: 'HTTP_302' },
          },
        ],
      }),
    );
    const drifted = await r.observe(ctx(), d);
    assert.ok(drifted);
    const changes = r.diff(d, drifted);
    assert.equal(changes.length, 1);
    assert.equal(changes[0]!.path, 'defaultAction.type');
    assert.match(changes[0]!.actual, /^redirect \(HTTPS:\/\/elsewhere\.example\.com/);
  });

  test('an untagged listener is observed by ARN with empty tags (external listeners)', async () => {
    const loadBalancerArn = await makeLoadBalancer(`it-ext-${suffix()}`);
    const arn = await makeHttpsListener(loadBalancerArn);
    const seen = await listenerReconciler.observeByIdentifier(ctx(), arn);
    assert.ok(seen);
    assert.deepEqual(seen.tags, {});
    assert.equal(seen.props.protocol, 'HTTPS');
    assert.equal(seen.props.certificateArn, certificateArn);
    assert.deepEqual(seen.attrs, { arn });
  });
});

describe('elbv2.ListenerRule', () => {
  let listenerArn: string;
  let tgArn: string;
  let tgArn2: string;

  before(async () => {
    const lb = await makeLoadBalancer(`it-rules-${run}`);
    listenerArn = await makeHttpsListener(lb);
    tgArn = await makeTargetGroup(`it-rules-tg-${run}`);
    tgArn2 = await makeTargetGroup(`it-rules-tg2-${run}`);
  });

  const ruleProps = (host: string, extra: { priority?: number; pathPatterns?: string[] } = {}) => ({
    listenerArn,
    host,
    pathPatterns: extra.pathPatterns ?? ['/*'],
    ...(extra.priority === undefined ? {} : { priority: extra.priority }),
    actions: [
      {
        type: 'authenticate-cognito' as const,
        userPoolArn: userPool.arn,
        userPoolClientId: userPool.clientId,
        userPoolDomain: userPool.domain,
        sessionTimeoutSeconds: 3600,
      },
      { type: 'forward' as const, targetGroupArn: tgArn },
    ],
  });

  test('create with an allocated priority, observe, drift in host, update, fixed priority change, delete', async () => {
    const r = listenerRuleReconciler;
    const host = `app-${suffix()}.example.com`;
    const d = desired('elbv2.ListenerRule', 'rule', ruleProps(host, { pathPatterns: ['/api/*', '/v2/*'] }));
    const created = await r.create(ctx(), d);
    assert.equal(
      created.attrs.priority,
      String(preferredPriority(host, ['/api/*', '/v2/*'])),
      'the preferred priority was free',
    );

    const seen = await r.observe(ctx(), d);
    assert.ok(seen);
    assert.equal(seen.identifier, created.attrs.arn);
    assert.deepEqual(seen.tags, d.tags);
    assert.deepEqual(seen.attrs, created.attrs);
    assert.deepEqual(seen.props.actions, d.props.actions);
    assert.deepEqual(r.diff(d, seen), [], 'no desired priority: the allocated one is not drift');
    const sdkRule = (await aws.elbv2.send(new DescribeRulesCommand({ RuleArns: [seen.identifier] }))).Rules![0]!;
    const auth = sdkRule.Actions!.find((a) => a.Type === 'authenticate-cognito')!;
    assert.equal(auth.Order, 1);
    assert.equal(auth.AuthenticateCognitoConfig?.OnUnauthenticatedRequest, 'authenticate');
    assert.equal(auth.AuthenticateCognitoConfig?.Scope, 'openid');

    await aws.elbv2.send(
      new ModifyRuleCommand({
        RuleArn: seen.identifier,
        Conditions: [
          { Field: 'host-header', HostHeaderConfig: { Values: ['hijacked.example.com'] } },
          { Field: 'path-pattern', PathPatternConfig: { Values: ['/v2/*', '/api/*'] } },
        ],
        Actions: [{ Type: 'forward', TargetGroupArn: tgArn2, Order: 1 }],
      }),
    );
    const drifted = await r.observe(ctx(), d);
    assert.ok(drifted, 'found by tags although its host changed');
    const changes = r.diff(d, drifted);
    const paths = changes.map((c) => c.path);
    assert.ok(paths.includes('host'), JSON.stringify(changes));
    assert.ok(!paths.includes('pathPatterns'), 'path order is not drift');
    assert.ok(paths.includes('actions'), JSON.stringify(changes));
    await r.update(ctx(), d, drifted, changes);
    const again = await r.observe(ctx(), d);
    assert.ok(again);
    assert.deepEqual(r.diff(d, again), []);
    assert.equal(again.attrs.priority, created.attrs.priority, 'update keeps the allocated priority');

    const fixed = { ...d, props: { ...d.props, priority: 7 } };
    const priorityChanges = r.diff(fixed, again);
    assert.deepEqual(
      priorityChanges.map((c) => c.path),
      ['priority'],
    );
    const moved = await r.update(ctx(), fixed, again, priorityChanges);
    assert.equal(moved.attrs.priority, '7');
    const afterMove = await r.observe(ctx(), fixed);
    assert.ok(afterMove);
    assert.deepEqual(r.diff(fixed, afterMove), []);

    assert.deepEqual((await r.observeByIdentifier(ctx(), seen.identifier))?.props, afterMove.props);
    await r.delete(ctx(), afterMove);
    assert.equal(await r.observe(ctx(), d), undefined);
    assert.equal(await r.observeByIdentifier(ctx(), seen.identifier), undefined);
  });

  test("a stale read meets moto's real PriorityInUseException: fixed priority names the holder, allocation moves on", async () => {
    const r = listenerRuleReconciler;
    const pass = ctx();
    await rulesOf(pass, listenerArn); // the pass has read the listener's rules ...
    // ... and then another writer takes priorities.
    await aws.elbv2.send(
      new CreateRuleCommand({
        ListenerArn: listenerArn,
        Priority: 11,
        Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [`racer-${suffix()}.example.com`] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: tgArn2 }],
        Tags: toSdkTags(otherTags('racer')),
      }),
    );
    const fixed = desired('elbv2.ListenerRule', 'rule', ruleProps(`fixed-${suffix()}.example.com`, { priority: 11 }));
    await assert.rejects(r.create(pass, fixed), (err: Error) => {
      assert.match(err.message, /priority 11/);
      assert.match(err.message, /Service\/apps\/racer/);
      assert.match(err.message, /spec\.routing\.priority/);
      return true;
    });

    const host = `alloc-${suffix()}.example.com`;
    const preferred = preferredPriority(host, ['/*']);
    const pass2 = ctx();
    await rulesOf(pass2, listenerArn);
    await aws.elbv2.send(
      new CreateRuleCommand({
        ListenerArn: listenerArn,
        Priority: preferred,
        Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [`squatter-${suffix()}.example.com`] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: tgArn2 }],
      }),
    );
    const created = await r.create(pass2, desired('elbv2.ListenerRule', 'alloc', ruleProps(host)));
    assert.equal(created.attrs.priority, String(preferred + 1));
  });

  test('through applyPlan: a rule on our route without our tags is a conflict and is left untouched', async () => {
    const host = `taken-${suffix()}.example.com`;
    const foreign = await aws.elbv2.send(
      new CreateRuleCommand({
        ListenerArn: listenerArn,
        Priority: 23,
        Conditions: [
          { Field: 'host-header', HostHeaderConfig: { Values: [host] } },
          { Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } },
        ],
        Actions: [{ Type: 'forward', TargetGroupArn: tgArn2 }],
      }),
    );
    const foreignArn = foreign.Rules![0]!.RuleArn!;
    const plan: Plan = {
      owner,
      resources: [{ id: 'rule', kind: 'elbv2.ListenerRule', props: ruleProps(host), tags: tagsFor('rule') }],
    };
    const report = await applyPlan(ctx(), registry, plan, { mode: 'apply', inventory: [] });
    const o = outcome(report.outcomes, 'rule');
    assert.equal(o.action, 'conflict');
    assert.equal(o.identifier, foreignArn);
    assert.match(o.message!, /not created by Slipway/);
    assert.deepEqual(report.inventory, []);
    const after = (await aws.elbv2.send(new DescribeRulesCommand({ RuleArns: [foreignArn] }))).Rules![0]!;
    assert.equal(after.Actions![0]!.TargetGroupArn, tgArn2, 'its actions are unchanged');
    const tags = await aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: [foreignArn] }));
    assert.deepEqual(tags.TagDescriptions![0]!.Tags ?? [], [], 'and it was not tagged');
  });

  test('through applyPlan: a fixed priority another Service holds fails with its owner named', async () => {
    await aws.elbv2.send(
      new CreateRuleCommand({
        ListenerArn: listenerArn,
        Priority: 31,
        Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [`other-${suffix()}.example.com`] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: tgArn2 }],
        Tags: toSdkTags(otherTags('billing')),
      }),
    );
    await aws.elbv2.send(
      new CreateRuleCommand({
        ListenerArn: listenerArn,
        Priority: 32,
        Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [`manual-${suffix()}.example.com`] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: tgArn2 }],
      }),
    );
    const plan: Plan = {
      owner,
      resources: [
        {
          id: 'rule-a',
          kind: 'elbv2.ListenerRule',
          props: ruleProps(`mine-${suffix()}.example.com`, { priority: 31 }),
          tags: tagsFor('rule-a'),
        },
        {
          id: 'rule-b',
          kind: 'elbv2.ListenerRule',
          props: ruleProps(`mine-${suffix()}.example.com`, { priority: 32 }),
          tags: tagsFor('rule-b'),
        },
      ],
    };
    const report = await applyPlan(ctx(), registry, plan, { mode: 'apply', inventory: [] });
    const a = outcome(report.outcomes, 'rule-a');
    assert.equal(a.action, 'failed');
    assert.match(a.message!, /Service\/apps\/billing/);
    assert.match(a.message!, /pick another spec\.routing\.priority or omit it/);
    const b = outcome(report.outcomes, 'rule-b');
    assert.equal(b.action, 'failed');
    assert.match(b.message!, /a rule not created by Slipway/);
  });

  test('the rule quota: create refuses the 101st rule on a listener with RuleQuotaExceeded; usage counts rules and target groups', async () => {
    const lb = await makeLoadBalancer(`it-quota-${run}`);
    const arn = await makeHttpsListener(lb);
    for (let i = 1; i <= 100; i++) {
      await aws.elbv2.send(
        new CreateRuleCommand({
          ListenerArn: arn,
          Priority: i,
          Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [`h${i}.${run}.example.com`] } }],
          Actions: [{ Type: 'forward', TargetGroupArn: i % 2 ? tgArn : tgArn2 }],
        }),
      );
    }
    const usage = await listenerRuleUsage(ctx(), arn);
    assert.deepEqual(usage, { rulesUsed: 100, ruleLimit: 100, rulesRemaining: 0, targetGroupsUsed: 2 });
    const d = desired('elbv2.ListenerRule', 'rule', { ...ruleProps(`late-${suffix()}.example.com`), listenerArn: arn });
    // Terminal, with its own reason (not ApplyFailed), naming the quota and what to do about it.
    await assert.rejects(listenerRuleReconciler.create(ctx(), d), (err: Error & { outcome?: Outcome }) => {
      assert.equal(err.outcome?.reason, 'RuleQuotaExceeded');
      assert.equal(err.outcome?.retry.kind, 'terminal');
      assert.match(err.message, /already has 100 rules.*Rules per Application Load Balancer.*Service Quotas/s);
      return true;
    });
    assert.equal(await targetGroupCount(ctx(), lb), 2);
  });

  /** A workload's target group and rule, as planned for a Service: the rule forwards to the group behind the gate. */
  const workloadPlan = (s: string, host: string): Plan => ({
    owner,
    resources: [
      { id: 'tg', kind: 'elbv2.TargetGroup', props: targetGroupProps(`it-own-${s}`, vpcId), tags: tagsFor('tg') },
      {
        id: 'rule',
        kind: 'elbv2.ListenerRule',
        props: {
          ...ruleProps(host),
          actions: [ruleProps(host).actions[0]!, { type: 'forward', targetGroupArn: ref('tg', 'arn') }],
        },
        tags: tagsFor('rule'),
      },
    ],
  });
  /** One pass, a brand-new owner's when `newOwner` says so (runPass: an empty inventory, and discovery found none). */
  const pass = async (
    clients: AwsClients,
    plan: Plan,
    inventory: Parameters<typeof applyPlan>[3]['inventory'],
    newOwner: boolean,
  ) =>
    withPassContext(clients, (c) => applyPlan(c, registry, plan, { mode: 'apply', inventory }), {
      owner: `it/${plan.owner.name}`,
      steady: false,
      newOwner,
    });
  /** Clients that record the ARNs each DescribeTags asks about (one list per call). */
  const recording = (endpoint = getTestEnv().awsEndpoint) => {
    const env = getTestEnv();
    const clients = new AwsClients({
      region: env.awsRegion,
      endpoint,
      credentials: env.awsCredentials,
      rateLimits: false,
    });
    const asked: string[][] = [];
    clients.elbv2.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DescribeTagsCommand') {
          asked.push([...((args.input as { ResourceArns?: string[] }).ResourceArns ?? [])]);
        }
        return next(args);
      },
      { step: 'initialize', name: 'itRecordTagReads' },
    );
    /** The rule ARNs asked since `from` (an index into `asked`), per call. */
    const rulesAsked = (from = 0) =>
      asked
        .slice(from)
        .map((arns) => arns.filter((a) => a.includes(':listener-rule/')).sort())
        .filter((a) => a.length > 0);
    return { clients, asked, rulesAsked };
  };

  test("a brand-new owner's pass reads no rule's tags when no rule forwards to its group or routes its host; its next pass reads its own rule's", async () => {
    // The listener already holds other owners' rules, tagged and not (the tests above).
    const listed = await aws.elbv2.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
    assert.ok(listed.Rules!.filter((r) => !r.IsDefault).length >= 3, 'other rules on the listener');
    const { clients, asked, rulesAsked } = recording();
    const plan = workloadPlan(suffix(), `new-${suffix()}.example.com`);
    const first = await pass(clients, plan, [], true);
    for (const o of first.outcomes) assert.equal(o.action, 'created', `${o.id}: ${o.message ?? ''}`);
    assert.deepEqual(asked, [], 'no elbv2:DescribeTags at all');

    const second = await pass(clients, plan, first.inventory, false);
    for (const o of second.outcomes) assert.equal(o.action, 'in-sync', `${o.id}: ${o.message ?? ''}`);
    assert.deepEqual(rulesAsked(), [[outcome(first.outcomes, 'rule').identifier]], "its own rule's tags, no other's");
    clients.destroy();
  });

  test("a brand-new owner's rule on a host another owner's rule routes is HostInUse, naming that owner", async () => {
    const host = `rival-${suffix()}.example.com`;
    const rival = await aws.elbv2.send(
      new CreateRuleCommand({
        ListenerArn: listenerArn,
        Priority: 41,
        Conditions: toSdkConditions(host),
        Actions: [{ Type: 'forward', TargetGroupArn: tgArn2 }],
        Tags: toSdkTags(otherTags('rival')),
      }),
    );
    const { clients } = recording();
    const report = await pass(clients, workloadPlan(suffix(), host), [], true);
    const o = outcome(report.outcomes, 'rule');
    assert.equal(o.action, 'conflict');
    assert.equal(o.outcome?.reason, 'HostInUse');
    assert.equal(o.identifier, rival.Rules![0]!.RuleArn);
    assert.match(o.message!, /Service\/apps\/rival/);
    clients.destroy();
  });

  test('a rule whose CreateRule answer was lost, and a copy sent again, are found by the next pass: one kept, one deleted', async () => {
    const proxy = new FaultProxy({
      upstream: getTestEnv().awsEndpoint,
      seed: 1,
      rates: NO_FAULTS,
      forced: { 'elasticloadbalancing:CreateRule#0': 'drop' },
    });
    const { clients, asked, rulesAsked } = recording(await proxy.start());
    try {
      const host = `lost-${suffix()}.example.com`;
      const plan = workloadPlan(suffix(), host);
      const first = await pass(clients, plan, [], true);
      assert.equal(outcome(first.outcomes, 'tg').action, 'created');
      assert.equal(outcome(first.outcomes, 'rule').action, 'failed', 'the outcome is unknown: not sent again');
      assert.equal(proxy.counts['elasticloadbalancing:CreateRule']?.drop, 1);
      // What an earlier version's blind retry would have left: a second rule with the identity, route and group.
      const mine = async () =>
        (await aws.elbv2.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules!.filter(
          (r) => routeOf(r).host === host,
        );
      assert.equal((await mine()).length, 1, 'the lost create made its rule');
      await aws.elbv2.send(
        new CreateRuleCommand({
          ListenerArn: listenerArn,
          Priority: 45_001,
          Conditions: toSdkConditions(host),
          Actions: (await mine())[0]!.Actions,
          Tags: toSdkTags(tagsFor('rule')),
        }),
      );
      const from = asked.length;
      const second = await pass(clients, plan, first.inventory, false);
      const rule = outcome(second.outcomes, 'rule');
      assert.equal(rule.action, 'updated', JSON.stringify(rule));
      assert.deepEqual(
        rule.changes.map((c) => c.path),
        ['duplicates'],
      );
      const copies = rulesAsked(from).flat();
      assert.deepEqual(
        (await mine()).map((r) => r.RuleArn),
        [rule.identifier],
      );
      assert.equal(copies.length, 2, 'the tags of the two rules on its route and group, no other');
      assert.ok(copies.includes(rule.identifier!));
    } finally {
      clients.destroy();
      await proxy.stop();
    }
  });
  test("in a wave with a rotation the owner's recorded rule is taken as tagged unless it is its turn, and read when it differs from the plan; a sweep reads no live owner's rule", async () => {
    const { clients, rulesAsked } = recording();
    const host = `rot-${suffix()}.example.com`;
    const plan = workloadPlan(suffix(), host);
    const first = await pass(clients, plan, [], true);
    for (const o of first.outcomes) assert.equal(o.action, 'created', `${o.id}: ${o.message ?? ''}`);
    const ruleArn = outcome(first.outcomes, 'rule').identifier!;
    const slot = rotationSlotOf(ruleArn, ROTATION_SLOTS);
    const notItsTurn = { slot: (slot + 1) % ROTATION_SLOTS, of: ROTATION_SLOTS };
    const itsTurn = { slot, of: ROTATION_SLOTS };
    /** One steady member pass of a new wave: the rule's outcome, and whether its tags were asked. */
    const inWave = async (rotation?: { slot: number; of: number }) => {
      const from = rulesAsked().length;
      const report = await withPassContext(
        clients,
        (c) => applyPlan(c, registry, plan, { mode: 'apply', inventory: first.inventory }),
        // Opened after the owner's last write, which may fall in this millisecond: a wave opened no later than an
        // owner's write reads all of that owner's resources.
        { owner: `it/${owner.name}`, steady: true, wave: new WaveReads(Date.now() + 1, rotation) },
      );
      const rule = outcome(report.outcomes, 'rule');
      return {
        rule: [rule.action, ...rule.changes.map((c) => `${c.path}: ${c.actual} → ${c.desired}`)],
        asked: rulesAsked().slice(from).flat().includes(ruleArn),
      };
    };
    let orphanTg: string | undefined;
    let orphanRule: string | undefined;
    try {
      assert.deepEqual(await inWave(notItsTurn), { rule: ['in-sync'], asked: false });
      assert.deepEqual(await inWave(itsTurn), { rule: ['in-sync'], asked: true });
      assert.deepEqual(await inWave(), { rule: ['in-sync'], asked: true }, 'without a rotation every rule is read');
      // A cost tag removed by hand: left to its event while it is not the rule's turn, seen and corrected in its turn.
      await aws.elbv2.send(new RemoveTagsCommand({ ResourceArns: [ruleArn], TagKeys: ['team'] }));
      assert.deepEqual(await inWave(notItsTurn), { rule: ['in-sync'], asked: false });
      // Under driftPolicy Report, once reported the drift stays reported between turns: an owner whose status lists
      // drift reads every resource whatever the rotation (runPass sets PassScope.drifted from the status).
      const reported = await runPass(
        clients,
        plan,
        { appliedPlanHash: planHash(plan), resources: toStatusResources(first.inventory), driftCount: 1 },
        {
          deleting: false,
          driftPolicy: 'Report',
          adopt: false,
          now: new Date(),
          wave: new WaveReads(Date.now() + 1, notItsTurn),
        },
      );
      assert.equal(reported.mode, 'report');
      assert.deepEqual(
        outcome(reported.report.outcomes, 'rule').changes.map((c) => `${c.path}: ${c.actual} → ${c.desired}`),
        ['tags.team: (absent) → platform'],
      );
      assert.deepEqual(await inWave(itsTurn), { rule: ['updated', 'tags.team: (absent) → platform'], asked: true });
      // Its host changed by hand: a rule about to be modified has its tags read, whatever the turn.
      await aws.elbv2.send(new ModifyRuleCommand({ RuleArn: ruleArn, Conditions: toSdkConditions(`x${host}`) }));
      assert.deepEqual(await inWave(notItsTurn), { rule: ['updated', `host: x${host} → ${host}`], asked: true });

      // The Environment's sweep in a wave: a live owner's rule is not read; an orphan's (its owner gone) is found.
      orphanTg = await makeTargetGroup(`it-orph-${suffix()}`);
      const orphanTags = (id: string) => ({ ...otherTags(`gone-${run}`, id), 'slipway.dev/environment': 'apps/env' });
      await aws.elbv2.send(new AddTagsCommand({ ResourceArns: [orphanTg], Tags: toSdkTags(orphanTags('tg')) }));
      const created = await aws.elbv2.send(
        new CreateRuleCommand({
          ListenerArn: listenerArn,
          Priority: 44_001,
          Conditions: toSdkConditions(`orphan-${host}`),
          Actions: [{ Type: 'forward', TargetGroupArn: orphanTg }],
          Tags: toSdkTags(orphanTags('rule')),
        }),
      );
      orphanRule = created.Rules![0]!.RuleArn!;
      await aws.elbv2.send(
        new AddTagsCommand({
          ResourceArns: [outcome(first.outcomes, 'tg').identifier!, ruleArn],
          Tags: [{ Key: 'slipway.dev/environment', Value: 'apps/env' }],
        }),
      );
      const from = rulesAsked().length;
      const found = await withPassContext(
        clients,
        (c) =>
          discoverOwned(c, {
            clusterId: owner.clusterId,
            environment: 'apps/env',
            listenerArns: [listenerArn],
            hostedZoneIds: [],
            live: (key) => key === `${owner.kind}/${owner.namespace}/${owner.name}`,
          }),
        { owner: 'it/sweep', steady: true, wave: new WaveReads(Date.now(), notItsTurn) },
      );
      const rules = found.filter((f) => f.kind === 'elbv2.ListenerRule').map((f) => f.identifier);
      assert.ok(rules.includes(orphanRule), "the orphan's rule is found");
      assert.ok(!rulesAsked().slice(from).flat().includes(ruleArn), "the live owner's rule is not read");
    } finally {
      if (orphanRule) await aws.elbv2.send(new DeleteRuleCommand({ RuleArn: orphanRule }));
      if (orphanTg) await aws.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: orphanTg }));
      await withPassContext(clients, (c) =>
        applyPlan(c, registry, plan, { mode: 'delete', inventory: first.inventory }),
      );
      clients.destroy();
    }
  });
});

describe('applyPlan over the whole chain', () => {
  test('creates in dependency order, a second pass makes no writes, delete mode removes everything', async () => {
    const counter = new CallCounter();
    const counted = testAws(counter.listener);
    const s = suffix();
    const host = `chain-${s}.example.com`;
    const resources: PlannedResource[] = [
      {
        id: 'sg',
        kind: 'ec2.SecurityGroup',
        props: { name: `it-chain-${s}`, description: 'chain', vpcId, ingress: [{ port: 443, cidr: '0.0.0.0/0' }] },
        tags: tagsFor('sg'),
      },
      {
        id: 'cluster',
        kind: 'ecs.Cluster',
        props: { name: `it-chain-${s}`, containerInsights: false },
        tags: tagsFor('cluster'),
      },
      {
        id: 'alb',
        kind: 'elbv2.LoadBalancer',
        props: {
          name: `it-chain-${s}`,
          scheme: 'internet-facing',
          subnetIds: [subnetA, subnetB],
          securityGroupIds: [ref('sg', 'id')],
          idleTimeoutSeconds: 60,
        },
        tags: tagsFor('alb'),
      },
      {
        id: 'https',
        kind: 'elbv2.Listener',
        props: {
          loadBalancerArn: ref('alb', 'arn'),
          port: 443,
          protocol: 'HTTPS',
          certificateArn,
          defaultAction: { type: 'fixed-response', statusCode: '404', contentType: 'text/plain', messageBody: 'none' },
        },
        tags: tagsFor('https'),
      },
      {
        id: 'http',
        kind: 'elbv2.Listener',
        props: {
          loadBalancerArn: ref('alb', 'arn'),
          port: 80,
          protocol: 'HTTP',
          defaultAction: { type: 'redirect-https' },
        },
        tags: tagsFor('http'),
      },
      {
        id: 'tg',
        kind: 'elbv2.TargetGroup',
        props: targetGroupProps(`it-chain-${s}`, vpcId),
        tags: tagsFor('tg'),
      },
      {
        id: 'rule',
        kind: 'elbv2.ListenerRule',
        props: {
          listenerArn: ref('https', 'arn'),
          host,
          pathPatterns: ['/*'],
          actions: [
            {
              type: 'authenticate-cognito',
              userPoolArn: userPool.arn,
              userPoolClientId: userPool.clientId,
              userPoolDomain: userPool.domain,
              sessionTimeoutSeconds: 604800,
            },
            { type: 'forward', targetGroupArn: ref('tg', 'arn') },
          ],
        },
        tags: tagsFor('rule'),
      },
    ];
    const plan: Plan = { owner, resources };
    const first = await applyPlan(newContext(counted), registry, plan, { mode: 'apply', inventory: [] });
    for (const o of first.outcomes) assert.equal(o.action, 'created', `${o.id}: ${o.message ?? ''}`);
    assert.equal(first.inventory.length, resources.length);

    const before = counter.snapshot();
    const second = await applyPlan(newContext(counted), registry, plan, { mode: 'apply', inventory: first.inventory });
    for (const o of second.outcomes)
      assert.equal(o.action, 'in-sync', `${o.id}: ${JSON.stringify(o.changes)} ${o.message ?? ''}`);
    assert.deepEqual(counter.writesSince(before), {});
    assert.equal(
      counter.snapshot().get('elbv2:DescribeRules:success')! - (before.get('elbv2:DescribeRules:success') ?? 0),
      1,
      'rules read once per listener',
    );

    // A CreateRule sent twice (its first response lost) leaves a second rule with the rule's identity: reported
    // under report mode, removed under apply mode, keeping the rule the inventory names.
    const listenerArn = second.attrs.https!.arn!;
    const keptArn = second.attrs.rule!.arn!;
    const duplicateRule = async (priority: number) =>
      (
        await aws.elbv2.send(
          new CreateRuleCommand({
            ListenerArn: listenerArn,
            Priority: priority,
            Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [host] } }],
            Actions: [{ Type: 'forward', TargetGroupArn: second.attrs.tg!.arn! }],
            Tags: toSdkTags(tagsFor('rule')),
          }),
        )
      ).Rules![0]!.RuleArn!;
    const ruleArns = async () =>
      (await aws.elbv2.send(new DescribeRulesCommand({ ListenerArn: listenerArn })))
        .Rules!.filter((r) => !r.IsDefault)
        .map((r) => r.RuleArn!);
    const extra = await duplicateRule(49_001);
    const reported = await applyPlan(newContext(counted), registry, plan, {
      mode: 'report',
      inventory: second.inventory,
    });
    assert.equal(outcome(reported.outcomes, 'rule').action, 'drifted');
    assert.deepEqual(
      outcome(reported.outcomes, 'rule').changes.map((c) => c.path),
      ['duplicates'],
    );
    assert.deepEqual((await ruleArns()).sort(), [keptArn, extra].sort(), 'report mode deletes nothing');
    const corrected = await applyPlan(newContext(counted), registry, plan, {
      mode: 'apply',
      inventory: second.inventory,
    });
    assert.equal(outcome(corrected.outcomes, 'rule').action, 'updated');
    assert.equal(outcome(corrected.outcomes, 'rule').identifier, keptArn, 'the inventoried rule is kept');
    assert.deepEqual(await ruleArns(), [keptArn]);

    // A duplicate present when the owner is deleted goes with it.
    await duplicateRule(49_002);
    const gone = await applyPlan(newContext(counted), registry, plan, { mode: 'delete', inventory: second.inventory });
    for (const o of gone.outcomes) assert.equal(o.action, 'deleted', `${o.id}: ${o.message ?? ''}`);
    assert.deepEqual(gone.inventory, []);
    const check = ctx();
    for (const r of resources) {
      const d = { id: r.id, kind: r.kind, props: r.props, tags: r.tags } as Desired;
      if (r.kind === 'elbv2.Listener' || r.kind === 'elbv2.ListenerRule') continue; // their parents are gone
      assert.equal(await registry[r.kind].observe(check, d as never), undefined, `${r.id} is gone`);
    }
    counted.destroy();
  });

  test("one pass observes several shards' security groups and load balancers from one listing of each kind, and a shard's listeners' tags in one call", async () => {
    const counter = new CallCounter();
    const counted = testAws(counter.listener);
    const s = suffix();
    const shard = (k: number): PlannedResource[] => [
      {
        id: `sg${k}`,
        kind: 'ec2.SecurityGroup',
        props: { name: `it-sh${k}-${s}`, description: 'shard', vpcId, ingress: [{ port: 443, cidr: '0.0.0.0/0' }] },
        tags: tagsFor(`sg${k}`),
      },
      {
        id: `alb${k}`,
        kind: 'elbv2.LoadBalancer',
        props: {
          name: `it-sh${k}-${s}`,
          scheme: 'internet-facing',
          subnetIds: [subnetA, subnetB],
          securityGroupIds: [ref(`sg${k}`, 'id')],
          idleTimeoutSeconds: 60,
        },
        tags: tagsFor(`alb${k}`),
      },
      {
        id: `https${k}`,
        kind: 'elbv2.Listener',
        props: {
          loadBalancerArn: ref(`alb${k}`, 'arn'),
          port: 443,
          protocol: 'HTTPS',
          certificateArn,
          defaultAction: { type: 'fixed-response', statusCode: '404', contentType: 'text/plain', messageBody: 'none' },
        },
        tags: tagsFor(`https${k}`),
      },
      {
        id: `http${k}`,
        kind: 'elbv2.Listener',
        props: {
          loadBalancerArn: ref(`alb${k}`, 'arn'),
          port: 80,
          protocol: 'HTTP',
          defaultAction: { type: 'redirect-https' },
        },
        tags: tagsFor(`http${k}`),
      },
    ];
    const plan: Plan = { owner, resources: [...shard(0), ...shard(1), ...shard(2)] };
    const first = await applyPlan(newContext(counted), registry, plan, { mode: 'apply', inventory: [] });
    for (const o of first.outcomes) assert.equal(o.action, 'created', `${o.id}: ${o.message ?? ''}`);
    try {
      const before = counter.snapshot();
      const second = await applyPlan(newContext(counted), registry, plan, {
        mode: 'apply',
        inventory: first.inventory,
      });
      for (const o of second.outcomes) assert.equal(o.action, 'in-sync', `${o.id}: ${JSON.stringify(o.changes)}`);
      const calls = (op: string) => (counter.snapshot().get(op) ?? 0) - (before.get(op) ?? 0);
      assert.equal(calls('elbv2:DescribeLoadBalancers:success'), 1);
      assert.equal(calls('ec2:DescribeSecurityGroups:success'), 1);
      // Per shard: its listeners in one call, and their tags in one call, beside its load balancer's.
      assert.equal(calls('elbv2:DescribeListeners:success'), 3);
      assert.equal(calls('elbv2:DescribeTags:success'), 6);
    } finally {
      await applyPlan(newContext(counted), registry, plan, { mode: 'delete', inventory: first.inventory });
      counted.destroy();
    }
  });

  test('delete mode after the load balancer vanished out of band: children resolve to nothing, nothing fails', async () => {
    const s = suffix();
    const resources: PlannedResource[] = [
      {
        id: 'alb',
        kind: 'elbv2.LoadBalancer',
        props: {
          name: `it-gone-${s}`,
          scheme: 'internet-facing',
          subnetIds: [subnetA, subnetB],
          securityGroupIds: [sg1],
          idleTimeoutSeconds: 60,
        },
        tags: tagsFor('alb'),
      },
      {
        id: 'https',
        kind: 'elbv2.Listener',
        props: {
          loadBalancerArn: ref('alb', 'arn'),
          port: 443,
          protocol: 'HTTPS',
          certificateArn,
          defaultAction: { type: 'fixed-response', statusCode: '404', contentType: 'text/plain', messageBody: 'none' },
        },
        tags: tagsFor('https'),
      },
      {
        id: 'rule',
        kind: 'elbv2.ListenerRule',
        props: {
          listenerArn: ref('https', 'arn'),
          host: `gone-${s}.example.com`,
          pathPatterns: [],
          actions: [{ type: 'fixed-response', statusCode: '200', contentType: 'text/plain', messageBody: 'ok' }],
        },
        tags: tagsFor('rule'),
      },
    ];
    const plan: Plan = { owner, resources };
    const first = await applyPlan(ctx(), registry, plan, { mode: 'apply', inventory: [] });
    for (const o of first.outcomes) assert.equal(o.action, 'created', `${o.id}: ${o.message ?? ''}`);
    await loadBalancerReconciler.delete(
      ctx(),
      (await loadBalancerReconciler.observeByIdentifier(ctx(), first.attrs.alb!.arn!))!,
    );
    const gone = await applyPlan(ctx(), registry, plan, { mode: 'delete', inventory: first.inventory });
    for (const o of gone.outcomes) assert.notEqual(o.action, 'failed', `${o.id}: ${o.message ?? ''}`);
    assert.deepEqual(gone.inventory, []);
  });

  test('same-named resources without our tags are conflicts, left untouched; an external listener is only observed', async () => {
    const s = suffix();
    const name = `it-foreign-${s}`;
    const sgId = await aws.ec2
      .send(new CreateSecurityGroupCommand({ GroupName: name, Description: 'theirs', VpcId: vpcId }))
      .then((r) => r.GroupId!);
    await aws.ecs.send(new CreateClusterCommand({ clusterName: name }));
    const lbArn = await makeLoadBalancer(name);
    const tgArn = await makeTargetGroup(name);
    const listenerArn = await makeHttpsListener(lbArn);
    const externalArn = await makeHttpsListener(lbArn, 8443);

    const plan: Plan = {
      owner,
      resources: [
        {
          id: 'sg',
          kind: 'ec2.SecurityGroup',
          props: { name, description: 'ours', vpcId, ingress: [{ port: 443, cidr: '0.0.0.0/0' }] },
          tags: tagsFor('sg'),
        },
        { id: 'cluster', kind: 'ecs.Cluster', props: { name, containerInsights: true }, tags: tagsFor('cluster') },
        {
          id: 'alb',
          kind: 'elbv2.LoadBalancer',
          props: {
            name,
            scheme: 'internal',
            subnetIds: [subnetA, subnetB],
            securityGroupIds: [sg2],
            idleTimeoutSeconds: 300,
          },
          tags: tagsFor('alb'),
        },
        {
          id: 'tg',
          kind: 'elbv2.TargetGroup',
          props: {
            name,
            vpcId,
            port: 8080,
            healthCheck: {
              path: '/mine',
              intervalSeconds: 10,
              timeoutSeconds: 5,
              healthyThreshold: 2,
              unhealthyThreshold: 2,
              matcher: '200',
            },
            deregistrationDelaySeconds: 5,
          },
          tags: tagsFor('tg'),
        },
        {
          id: 'https',
          kind: 'elbv2.Listener',
          props: {
            loadBalancerArn: lbArn,
            port: 443,
            protocol: 'HTTPS',
            certificateArn,
            defaultAction: {
              type: 'fixed-response',
              statusCode: '503',
              contentType: 'text/plain',
              messageBody: 'mine',
            },
          },
          tags: tagsFor('https'),
        },
        {
          id: 'given',
          kind: 'elbv2.Listener',
          props: { loadBalancerArn: lbArn, port: 8443, protocol: 'HTTPS', defaultAction: { type: 'redirect-https' } },
          tags: tagsFor('given'),
          external: { identifier: externalArn },
        },
      ],
    };
    const report = await applyPlan(ctx(), registry, plan, { mode: 'apply', inventory: [] });
    for (const id of ['sg', 'cluster', 'alb', 'tg', 'https']) {
      const o = outcome(report.outcomes, id);
      assert.equal(o.action, 'conflict', `${id}: ${o.action} ${o.message ?? ''}`);
      assert.match(o.message!, /not created by Slipway/);
    }
    assert.equal(outcome(report.outcomes, 'given').action, 'external');
    assert.deepEqual(report.attrs.given, { arn: externalArn });
    assert.deepEqual(report.inventory, []);

    // Untouched: every one still looks as it was created outside Slipway.
    const look = ctx();
    const sg = await securityGroupReconciler.observeByIdentifier(look, sgId);
    assert.deepEqual(sg?.props.ingress, []);
    assert.deepEqual(sg?.tags, {});
    const cluster = await ecsClusterReconciler.observeByIdentifier(look, name);
    assert.equal(cluster?.props.containerInsights, false);
    const lb = await loadBalancerReconciler.observeByIdentifier(look, lbArn);
    assert.equal(lb?.props.scheme, 'internet-facing');
    assert.deepEqual(lb?.props.securityGroupIds, [sg1]);
    const tg = await targetGroupReconciler.observeByIdentifier(look, tgArn);
    assert.notEqual(tg?.props.healthCheck.path, '/mine');
    const listener = await listenerReconciler.observeByIdentifier(look, listenerArn);
    assert.equal(listener?.props.defaultAction.type, 'fixed-response');
    assert.deepEqual(listener?.tags, {});
    const external = await listenerReconciler.observeByIdentifier(look, externalArn);
    assert.equal(external?.props.defaultAction.type, 'fixed-response', 'the external listener was not modified');
  });
});

describe('setTags: each kind adds, overwrites and removes tags with its own API', () => {
  const counter = new CallCounter();
  let counted: AwsClients;
  const pass = (): ReconcileContext => newContext(counted);

  before(() => {
    counted = testAws(counter.listener);
  });

  after(() => counted.destroy());

  test('ec2.SecurityGroup: CreateTags and DeleteTags', async () => {
    const r = securityGroupReconciler;
    const d = desired('ec2.SecurityGroup', 'sg', {
      name: `it-tags-${suffix()}`,
      description: 'tags',
      vpcId,
      ingress: [],
    });
    await r.create(pass(), d);
    const { observed, writes } = await checkSetTags(r, pass(), counter, (c) => r.observe(c, d));
    assert.deepEqual(writes, [{ CreateTags: 1 }, { CreateTags: 1, DeleteTags: 1 }]);
    assert.deepEqual(r.diff(d, observed), []);
    await r.delete(pass(), observed);
  });

  test('ecs.Cluster: TagResource and UntagResource', async () => {
    const r = ecsClusterReconciler;
    const d = desired('ecs.Cluster', 'cluster', { name: `it-tags-${suffix()}`, containerInsights: false });
    await r.create(pass(), d);
    const { observed, writes } = await checkSetTags(r, pass(), counter, (c) => r.observe(c, d));
    assert.deepEqual(writes, [{ TagResource: 1 }, { TagResource: 1, UntagResource: 1 }]);
    await r.delete(pass(), observed);
  });

  test('elbv2.LoadBalancer: AddTags and RemoveTags', async () => {
    const r = loadBalancerReconciler;
    const d = desired('elbv2.LoadBalancer', 'alb', {
      name: `it-tags-${suffix()}`,
      scheme: 'internet-facing',
      subnetIds: [subnetA, subnetB],
      securityGroupIds: [sg1],
      idleTimeoutSeconds: 60,
    });
    const created = await r.create(pass(), d);
    const { observed, writes } = await checkSetTags(r, pass(), counter, (c) =>
      r.observeByIdentifier(c, created.identifier),
    );
    assert.deepEqual(writes, [{ AddTags: 1 }, { AddTags: 1, RemoveTags: 1 }]);
    await r.delete(pass(), observed);
  });

  test('elbv2.TargetGroup: AddTags and RemoveTags', async () => {
    const r = targetGroupReconciler;
    const d = desired('elbv2.TargetGroup', 'tg', targetGroupProps(`it-tags-${suffix()}`, vpcId));
    await r.create(pass(), d);
    const { observed, writes } = await checkSetTags(r, pass(), counter, (c) => r.observe(c, d));
    assert.deepEqual(writes, [{ AddTags: 1 }, { AddTags: 1, RemoveTags: 1 }]);
    await r.delete(pass(), observed);
  });

  test('elbv2.Listener: AddTags and RemoveTags', async () => {
    const r = listenerReconciler;
    const loadBalancerArn = await makeLoadBalancer(`it-tagl-${suffix()}`);
    const d = desired('elbv2.Listener', 'http', {
      loadBalancerArn,
      port: 80,
      protocol: 'HTTP',
      defaultAction: { type: 'redirect-https' },
    });
    await r.create(pass(), d);
    const { writes } = await checkSetTags(r, pass(), counter, (c) => r.observe(c, d));
    assert.deepEqual(writes, [{ AddTags: 1 }, { AddTags: 1, RemoveTags: 1 }]);
  });

  test("elbv2.ListenerRule: AddTags and RemoveTags, and the listener's memoised rules are read again", async () => {
    const r = listenerRuleReconciler;
    const listenerArn = await makeHttpsListener(await makeLoadBalancer(`it-tagr-${suffix()}`));
    const d = desired('elbv2.ListenerRule', 'rule', {
      listenerArn,
      host: `tags-${suffix()}.example.com`,
      pathPatterns: ['/*'],
      actions: [{ type: 'fixed-response', statusCode: '200', contentType: 'text/plain', messageBody: 'ok' }],
    });
    await r.create(pass(), d);
    // One pass throughout: observe reads the tags from the memoised rules of the listener.
    const { observed, writes } = await checkSetTags(r, pass(), counter, (c) => r.observe(c, d));
    assert.deepEqual(writes, [{ AddTags: 1 }, { AddTags: 1, RemoveTags: 1 }]);
    assert.deepEqual((await r.observeByIdentifier(pass(), observed.identifier))?.tags, d.tags);
  });

  test('ELBv2 tags go out 10 per AddTags call and removals in one RemoveTags call', async () => {
    const sent: { readonly op: 'add' | 'remove'; readonly count: number }[] = [];
    const recording = {
      aws: {
        elbv2: {
          send: async (command: unknown) => {
            if (command instanceof AddTagsCommand) sent.push({ op: 'add', count: command.input.Tags?.length ?? 0 });
            else if (command instanceof RemoveTagsCommand)
              sent.push({ op: 'remove', count: command.input.TagKeys?.length ?? 0 });
            else throw new Error('unexpected call');
            return {};
          },
        },
      },
      memo: <T>(_key: string, load: () => Promise<T>) => load(),
      invalidate: () => undefined,
    } as unknown as ReconcileContext;
    const observed = {
      identifier: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t/1',
      props: {},
      tags: {},
      attrs: {},
    } as unknown as Observed<'elbv2.TargetGroup'>;
    const many = Object.fromEntries(Array.from({ length: 23 }, (_, i) => [`k${i}`, `v${i}`]));
    await targetGroupReconciler.setTags(recording, observed, many, ['a', 'b', 'c']);
    assert.deepEqual(sent, [
      { op: 'add', count: 10 },
      { op: 'add', count: 10 },
      { op: 'add', count: 3 },
      { op: 'remove', count: 3 },
    ]);
  });
});

describe('a target group that rules still forward to', () => {
  test('deleting it removes the rules its owner left behind and names, but keeps, a rule someone else owns', async () => {
    const lb = await makeLoadBalancer(`it-block-${run}`);
    const listenerArn = await makeHttpsListener(lb);
    const tgName = `it-block-${run}`;
    const tgArn = await makeTargetGroup(tgName);
    await aws.elbv2.send(new AddTagsCommand({ ResourceArns: [tgArn], Tags: toSdkTags(tagsFor('target-group')) }));
    const forward: Action[] = [{ Type: 'forward', TargetGroupArn: tgArn }];
    const rule = async (host: string, priority: number, tags: Record<string, string>) =>
      (
        await aws.elbv2.send(
          new CreateRuleCommand({
            ListenerArn: listenerArn,
            Priority: priority,
            Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [host] } }],
            Actions: forward,
            Tags: toSdkTags(tags),
          }),
        )
      ).Rules![0]!.RuleArn!;
    // One rule of the same owner (a duplicate left by a lost CreateRule response), one of another Service.
    const duplicate = await rule(`dup-${run}.shop.test`, 7001, tagsFor('listener-rule'));
    const foreign = await rule(`other-${run}.shop.test`, 7002, otherTags(`other-${run}`));

    const observed = await targetGroupReconciler.observe(
      ctx(),
      desired('elbv2.TargetGroup', 'target-group', targetGroupProps(tgName, vpcId)),
    );
    assert.ok(observed, 'the target group is observed');
    await assert.rejects(
      targetGroupReconciler.delete(ctx(), observed),
      (err: Error & { outcome?: { reason: string } }) => {
        assert.equal(err.outcome?.reason, 'DeletionBlocked');
        assert.match(err.message, new RegExp(`rule ${foreign.replace(/[/.]/g, '\\$&')}`));
        assert.match(err.message, new RegExp(`Service/apps/other-${run}`));
        return true;
      },
    );
    const left = (await aws.elbv2.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules!.map(
      (r) => r.RuleArn,
    );
    assert.ok(!left.includes(duplicate), 'the rule its owner left behind is deleted');
    assert.ok(left.includes(foreign), "the other owner's rule is left alone");

    // Once the other rule goes, the deletion goes through.
    await aws.elbv2.send(new DeleteRuleCommand({ RuleArn: foreign }));
    await targetGroupReconciler.delete(ctx(), observed);
    assert.equal(await targetGroupReconciler.observeByIdentifier(ctx(), tgArn), undefined);
  });
});
