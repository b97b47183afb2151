// spec.network.create: the network an Environment plans for itself (pure), and the pure parts of its reconcilers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Environment } from '../../../src/api/index.js';
import { planEnvironment } from '../../../src/planner/environment.js';
import { PlanningError } from '../../../src/planner/errors.js';
import { NETWORK_LOGICAL, parseCidr, subnetCidrs } from '../../../src/planner/network.js';
import { dependenciesOf, isRef, topologicalOrder, type PlannedResource } from '../../../src/planner/plan.js';
import { AVAILABLE_DEADLINE_MS, chooseNatGateway, FAILED_HOLD_MS } from '../../../src/reconcilers/nat-gateway.js';
import { managedRoutes, routeTableReconciler } from '../../../src/reconcilers/route-table.js';
import { OutcomeError } from '../../../src/outcome/outcome.js';
import type { Observed } from '../../../src/reconcilers/contract.js';
import { TAG_LOGICAL_ID, TAG_OWNER } from '../../../src/planner/naming.js';
import { environment } from '../../support/objects.js';
import { identifiersOf } from '../../../src/events/cloudtrail.js';
import { EC2_EVENT_NAMES } from '../../../src/planner/drift-events.js';

const ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];

function created(create: Partial<NonNullable<Environment['spec']['network']['create']>> = {}): Environment {
  return environment({
    spec: {
      network: {
        create: { cidr: '10.40.0.0/16', availabilityZones: 2, natGateways: 'Single', ...create },
        assignPublicIp: false,
      },
    },
  });
}

const plan = (env: Environment, zones = ZONES) =>
  planEnvironment(env, { clusterId: 'prod-eu', gatedHosts: [], vpcCidr: '10.40.0.0/16', availabilityZones: zones });
const byId = (resources: readonly PlannedResource[], id: string) => resources.find((r) => r.id === id)!;

test('subnet ranges: private a quarter each, public a sixteenth each in the last quarter', () => {
  assert.deepEqual(subnetCidrs('10.40.0.0/16', 0), { private: '10.40.0.0/18', public: '10.40.192.0/20' });
  assert.deepEqual(subnetCidrs('10.40.0.0/16', 2), { private: '10.40.128.0/18', public: '10.40.224.0/20' });
  assert.deepEqual(subnetCidrs('172.16.4.0/22', 1), { private: '172.16.5.0/24', public: '172.16.7.64/26' });
  assert.throws(
    () => parseCidr('10.40.1.0/16'),
    (e: PlanningError) => /host bits.*10\.40\.0\.0\/16/.test(e.message),
  );
  assert.throws(() => subnetCidrs('10.0.0.0/24', 0), PlanningError);
});

test('two zones, one NAT gateway: every resource, wired by references, tagged as the Environment', () => {
  const p = plan(created());
  const ids = p.resources.map((r) => `${r.kind} ${r.id}`);
  for (const expected of [
    'ec2.Vpc vpc',
    'ec2.InternetGateway internet-gateway',
    'ec2.Subnet public-subnet-0',
    'ec2.Subnet public-subnet-1',
    'ec2.Subnet private-subnet-0',
    'ec2.Subnet private-subnet-1',
    'ec2.ElasticIp nat-eip-0',
    'ec2.NatGateway nat-gateway-0',
    'ec2.RouteTable public-route-table',
    'ec2.RouteTable private-route-table-0',
    'ec2.RouteTable private-route-table-1',
    'ec2.SecurityGroup task-security-group',
    'ec2.SecurityGroup endpoint-security-group',
    'ec2.VpcEndpoint endpoint-ecr-api',
    'ec2.VpcEndpoint endpoint-ecr-dkr',
    'ec2.VpcEndpoint endpoint-logs',
    'ec2.VpcEndpoint endpoint-secretsmanager',
    'ec2.VpcEndpoint endpoint-s3',
  ])
    assert.ok(ids.includes(expected), expected);
  assert.ok(!ids.includes('ec2.NatGateway nat-gateway-1'), 'Single: one NAT gateway');
  for (const r of p.resources) {
    assert.equal(r.tags[TAG_OWNER], 'Environment/commerce/dev', r.id);
    assert.equal(r.tags[TAG_LOGICAL_ID], r.id);
  }
  // Subnets in the first zones, by name.
  const sub = byId(p.resources, 'private-subnet-1') as PlannedResource<'ec2.Subnet'>;
  assert.equal(sub.props.availabilityZone, 'eu-west-1b');
  assert.equal(sub.props.cidr, '10.40.64.0/18');
  assert.equal(sub.props.mapPublicIpOnLaunch, false);
  // Public → internet gateway; both private tables → the one NAT gateway.
  const pub = byId(p.resources, 'public-route-table') as PlannedResource<'ec2.RouteTable'>;
  assert.deepEqual(pub.props.routes, [
    { destination: '0.0.0.0/0', gatewayId: { $ref: { id: 'internet-gateway', attr: 'id' } } },
  ]);
  assert.deepEqual(
    pub.props.subnetIds.map((s) => (isRef(s) ? s.$ref.id : s)),
    ['public-subnet-0', 'public-subnet-1'],
  );
  for (const i of [0, 1]) {
    const t = byId(p.resources, NETWORK_LOGICAL.privateRouteTable(i)) as PlannedResource<'ec2.RouteTable'>;
    assert.deepEqual(t.props.routes, [
      { destination: '0.0.0.0/0', natGatewayId: { $ref: { id: 'nat-gateway-0', attr: 'id' } } },
    ]);
  }
  // The load balancer in the public subnets, after the internet gateway; its group in the created VPC.
  const lb = byId(p.resources, 'load-balancer') as PlannedResource<'elbv2.LoadBalancer'>;
  assert.deepEqual(
    lb.props.subnetIds.map((s) => (isRef(s) ? s.$ref.id : s)),
    ['public-subnet-0', 'public-subnet-1'],
  );
  assert.deepEqual(dependenciesOf(lb), [
    'alb-security-group',
    'internet-gateway',
    'public-subnet-0',
    'public-subnet-1',
  ]);
  const sg = byId(p.resources, 'alb-security-group') as PlannedResource<'ec2.SecurityGroup'>;
  assert.deepEqual(sg.props.vpcId, { $ref: { id: 'vpc', attr: 'id' } });
  // Interface endpoints in the private subnets behind the endpoint group; S3 on the private route tables.
  const ecr = byId(p.resources, 'endpoint-ecr-api') as PlannedResource<'ec2.VpcEndpoint'>;
  assert.equal(ecr.props.serviceName, 'com.amazonaws.eu-west-1.ecr.api');
  assert.equal(ecr.props.type, 'Interface');
  assert.deepEqual(dependenciesOf(ecr), ['endpoint-security-group', 'private-subnet-0', 'private-subnet-1', 'vpc']);
  const s3 = byId(p.resources, 'endpoint-s3') as PlannedResource<'ec2.VpcEndpoint'>;
  assert.equal(s3.props.type, 'Gateway');
  assert.deepEqual(dependenciesOf(s3), ['private-route-table-0', 'private-route-table-1', 'vpc']);
  const endpointsGroup = byId(p.resources, 'endpoint-security-group') as PlannedResource<'ec2.SecurityGroup'>;
  assert.deepEqual(endpointsGroup.props.ingress, [
    { port: 443, cidr: '10.40.0.0/18' },
    { port: 443, cidr: '10.40.64.0/18' },
  ]);
  const tasks = byId(p.resources, 'task-security-group') as PlannedResource<'ec2.SecurityGroup'>;
  assert.deepEqual(tasks.props.ingressRanges, [
    { fromPort: 0, toPort: 65535, cidr: '10.40.192.0/20' },
    { fromPort: 0, toPort: 65535, cidr: '10.40.208.0/20' },
  ]);
});

test('deletion order: what uses a resource goes first (endpoints, route tables, NAT gateway, then subnets, VPC last)', () => {
  const order = topologicalOrder(plan(created()).resources).map((r) => r.id);
  const reverse = [...order].reverse();
  const before = (a: string, b: string) => assert.ok(reverse.indexOf(a) < reverse.indexOf(b), `${a} before ${b}`);
  before('endpoint-s3', 'private-route-table-0');
  before('private-route-table-0', 'nat-gateway-0');
  before('nat-gateway-0', 'nat-eip-0');
  before('nat-gateway-0', 'public-subnet-0');
  before('nat-gateway-0', 'internet-gateway');
  before('load-balancer', 'public-subnet-0');
  before('load-balancer', 'internet-gateway');
  before('endpoint-ecr-api', 'endpoint-security-group');
  for (const id of ['internet-gateway', 'public-subnet-1', 'endpoint-security-group', 'alb-security-group'])
    before(id, 'vpc');
  assert.equal(reverse.at(-1) === 'vpc' || reverse.indexOf('vpc') > reverse.indexOf('private-subnet-1'), true);
});

test('PerAZ: a NAT gateway and Elastic IP per zone, each private table routed to its own zone', () => {
  const p = plan(created({ availabilityZones: 3, natGateways: 'PerAZ' }));
  for (const i of [0, 1, 2]) {
    assert.ok(byId(p.resources, `nat-eip-${i}`));
    const nat = byId(p.resources, `nat-gateway-${i}`) as PlannedResource<'ec2.NatGateway'>;
    assert.deepEqual(nat.props.subnetId, { $ref: { id: `public-subnet-${i}`, attr: 'id' } });
    const t = byId(p.resources, `private-route-table-${i}`) as PlannedResource<'ec2.RouteTable'>;
    assert.deepEqual(t.props.routes[0]!.natGatewayId, { $ref: { id: `nat-gateway-${i}`, attr: 'id' } });
  }
  assert.equal(
    (byId(p.resources, 'private-subnet-2') as PlannedResource<'ec2.Subnet'>).props.availabilityZone,
    'eu-west-1c',
  );
});

test('too few zones in the Region, and an existing VPC, plan as before', () => {
  assert.throws(
    () => plan(created({ availabilityZones: 3 }), ['eu-west-1a', 'eu-west-1b']),
    (e: PlanningError) => e.field === 'spec.network.create.availabilityZones',
  );
  const existing = planEnvironment(environment(), { clusterId: 'prod-eu', gatedHosts: [], vpcCidr: '10.40.0.0/16' });
  assert.ok(!existing.resources.some((r) => r.kind.startsWith('ec2.') && r.kind !== 'ec2.SecurityGroup'));
  const lb = byId(existing.resources, 'load-balancer') as PlannedResource<'elbv2.LoadBalancer'>;
  assert.deepEqual(lb.props.subnetIds, ['subnet-0aaa', 'subnet-0bbb']);
  assert.equal(lb.after, undefined);
});

const nat = (id: string, state: string, createTime = '2026-11-29T00:00:00.000Z'): Observed<'ec2.NatGateway'> => ({
  identifier: id,
  props: { subnetId: 'subnet-1', allocationId: 'eipalloc-1' },
  tags: {},
  attrs: { ...(state === 'available' ? { id } : {}), state, createTime, failure: 'Gateway.NotAttached: no IGW' },
});

test('NAT gateway: available over pending over deleting; pending past its deadline and a fresh failure are errors', () => {
  const t0 = Date.parse('2026-11-29T00:00:00.000Z');
  assert.equal(chooseNatGateway([], t0), undefined);
  const chosen = chooseNatGateway([nat('nat-d', 'deleting'), nat('nat-p', 'pending'), nat('nat-a', 'available')], t0)!;
  assert.equal(chosen.identifier, 'nat-a');
  assert.deepEqual(
    chosen.duplicates?.map((d) => d.identifier),
    ['nat-p'],
    'a deleting one is not a duplicate',
  );
  // Pending: no `id` yet, so the route tables that reference it wait.
  assert.equal(chooseNatGateway([nat('nat-p', 'pending')], t0)!.attrs.id, undefined);
  assert.throws(
    () => chooseNatGateway([nat('nat-p', 'pending')], t0 + AVAILABLE_DEADLINE_MS + 1),
    (e: OutcomeError) => e.outcome.reason === 'NatGatewayPending' && e.outcome.retry.kind === 'backoff',
  );
  assert.throws(
    () => chooseNatGateway([nat('nat-f', 'failed'), nat('nat-x', 'deleted')], t0 + 60_000),
    (e: OutcomeError) => e.outcome.reason === 'NatGatewayFailed' && /Gateway.NotAttached/.test(e.message),
  );
  assert.equal(chooseNatGateway([nat('nat-f', 'failed')], t0 + FAILED_HOLD_MS + 1), undefined, 'then created again');
  assert.equal(chooseNatGateway([nat('nat-x', 'deleted')], t0), undefined);
});

test('route table: the local and prefix-list routes are not managed; a route pointed elsewhere is a change', () => {
  const routes = managedRoutes({
    Routes: [
      { DestinationCidrBlock: '10.40.0.0/16', GatewayId: 'local' },
      { DestinationPrefixListId: 'pl-1', GatewayId: 'vpce-1' },
      { DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-1' },
    ],
  });
  assert.deepEqual(routes, [{ destination: '0.0.0.0/0', natGatewayId: 'nat-1' }]);
  const desired = {
    id: 'private-route-table-0',
    kind: 'ec2.RouteTable' as const,
    props: {
      vpcId: 'vpc-1',
      routes: [{ destination: '0.0.0.0/0', natGatewayId: 'nat-1' }],
      subnetIds: ['subnet-2', 'subnet-1'],
    },
    tags: {},
  };
  const observed = {
    identifier: 'rtb-1',
    props: { ...desired.props, subnetIds: ['subnet-1', 'subnet-2'] },
    tags: {},
    attrs: {},
  };
  assert.deepEqual(routeTableReconciler.diff(desired, observed), []);
  const elsewhere = {
    ...observed,
    props: { ...observed.props, routes: [{ destination: '0.0.0.0/0', gatewayId: 'igw-1' }] },
  };
  assert.deepEqual(
    routeTableReconciler.diff(desired, elsewhere).map((c) => c.path),
    ['routes'],
  );
  const removed = { ...observed, props: { ...observed.props, routes: [] } };
  assert.deepEqual(
    routeTableReconciler.diff(desired, removed).map((c) => c.path),
    ['routes'],
  );
});

test('drift events: calls that change a created network name the inventory identifiers of its resources', () => {
  const where = { partition: 'aws', region: 'eu-west-1', account: '123456789012' };
  const ec2 = (eventName: string, requestParameters: Record<string, unknown>) =>
    identifiersOf({ eventSource: 'ec2.amazonaws.com', eventName, requestParameters }, where);
  assert.deepEqual(
    ec2('ReplaceRoute', { routeTableId: 'rtb-1', destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-1' }),
    ['rtb-1'],
  );
  assert.deepEqual(ec2('ModifyVpcEndpoint', { ModifyVpcEndpointRequest: { VpcEndpointId: 'vpce-1' } }), ['vpce-1']);
  assert.deepEqual(ec2('DeleteVpcEndpoints', { DeleteVpcEndpointsRequest: { VpcEndpointId: ['vpce-1', 'vpce-2'] } }), [
    'vpce-1',
    'vpce-2',
  ]);
  assert.deepEqual(ec2('DeleteNatGateway', { DeleteNatGatewayRequest: { NatGatewayId: 'nat-1' } }), ['nat-1']);
  assert.deepEqual(ec2('DetachInternetGateway', { internetGatewayId: 'igw-1', vpcId: 'vpc-1' }), ['vpc-1', 'igw-1']);
  for (const name of ['ReplaceRoute', 'ModifyVpcEndpoint', 'DeleteNatGateway', 'DetachInternetGateway'])
    assert.ok((EC2_EVENT_NAMES as readonly string[]).includes(name), `the rule matches ${name}`);
});
