// spec.network.create end to end: a real kube-apiserver, the operator in-process and moto. One Environment (the
// example examples/network/private-network.yaml, with the emulator's region, certificate and hosted zone) builds
// its network; every network resource is read back from the emulator, a Service's tasks land in the private
// subnets without public IPs, drift on a route table and on an endpoint is corrected, `slipway plan` prices the
// network as status.cost does, and deleting the Environment removes every network resource. Admission refuses
// vpcId together with network.create, naming the field.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  DescribeAddressesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  ModifyVpcEndpointCommand,
  ReplaceRouteCommand,
  type Filter,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { DescribeLoadBalancersCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { parse } from 'yaml';
import type { Environment, Service } from '../../src/api/index.js';
import type { AwsClients } from '../../src/aws/clients.js';
import type { PlanDocument } from '../../src/cli/document.js';
import { runCli } from '../../src/cli/run.js';
import { ENVIRONMENT_TYPE, SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import type { Operator } from '../../src/operator.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
import { getTestEnv } from '../support/env.js';
import { createNamespace, eventually, installCrds, kubeClient, kubectl, waitForCondition } from '../support/kube.js';
import { apply, serviceYaml } from '../support/manifests.js';
import { nudge, waitQuiet } from '../support/nudge.js';
import { startOperator } from '../support/operator.js';

const suffix = uniqueSuffix();
const ns = `network-${suffix}`;
const baseDomain = `net-${suffix}.shop.test`;
const kube = kubeClient();
const environments = kube.resource<Environment>(ENVIRONMENT_TYPE);
const services = kube.resource<Service>(SERVICE_TYPE);
const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'network', 'private-network.yaml');

let aws: AwsClients;
let land: Landscape;
let operator: Operator;

/** What carries the Environment's ownership tags in the emulator. */
const owned: Filter[] = [{ Name: 'tag:slipway.dev/owner', Values: [`Environment/${ns}/private`] }];
const logical = (tags: readonly { Key?: string; Value?: string }[] | undefined) =>
  tags?.find((t) => t.Key === 'slipway.dev/logical-id')?.Value ?? '';
/** moto ignores tag filters on NAT gateways: filtered here by the owner tag. */
const ownedNatGateways = async () =>
  ((await aws.ec2.send(new DescribeNatGatewaysCommand({}))).NatGateways ?? []).filter((g) =>
    g.Tags?.some((t) => t.Key === 'slipway.dev/owner' && t.Value === `Environment/${ns}/private`),
  );
const liveEndpoints = async () =>
  ((await aws.ec2.send(new DescribeVpcEndpointsCommand({ Filters: owned }))).VpcEndpoints ?? []).filter(
    (e) => !['deleted', 'deleting'].includes((e.State ?? '').toLowerCase()),
  );
const routeTables = async () =>
  (await aws.ec2.send(new DescribeRouteTablesCommand({ Filters: owned }))).RouteTables ?? [];
const defaultRoute = (t: RouteTable | undefined) => t?.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0');

/** The example, pointed at the emulator's region and at this run's namespace, certificate and zone. */
function exampleEnvironment(): string {
  const env = parse(readFileSync(EXAMPLE, 'utf8')) as Environment;
  const spec = {
    ...env.spec,
    region: 'us-east-1',
    domain: { baseDomain, hostedZoneId: land.hostedZoneId },
    loadBalancer: { certificateArn: land.certificateArn },
  };
  return JSON.stringify({ ...env, metadata: { ...env.metadata, namespace: ns }, spec });
}

describe('network.create', { timeout: 300_000 }, () => {
  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    land = await createLandscape(aws, baseDomain);
    operator = await startOperator();
  });
  after(async () => {
    await operator?.stop();
    aws?.destroy();
  });

  test('admission refuses vpcId together with network.create, naming the field', () => {
    const env = JSON.parse(exampleEnvironment()) as Environment;
    const both = { ...env, spec: { ...env.spec, network: { ...env.spec.network, vpcId: land.vpcId } } };
    assert.throws(
      () => kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(both)),
      (err: Error & { stderr?: string }) =>
        /spec\.network\.vpcId/.test(err.stderr ?? '') && /mutually exclusive/.test(err.stderr ?? ''),
    );
  });

  test('the Environment builds its network: every resource present in AWS, tagged, and in the inventory', async () => {
    apply(exampleEnvironment());
    const env = await waitForCondition(environments, { namespace: ns, name: 'private' }, 'Ready', 'True', {
      timeoutMs: 120_000,
    });

    const vpcs = (await aws.ec2.send(new DescribeVpcsCommand({ Filters: owned }))).Vpcs ?? [];
    assert.equal(vpcs.length, 1);
    const vpcId = vpcs[0]!.VpcId!;
    assert.equal(vpcs[0]!.CidrBlock, '10.60.0.0/16');
    const hostnames = await aws.ec2.send(
      new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: 'enableDnsHostnames' }),
    );
    assert.equal(hostnames.EnableDnsHostnames?.Value, true, 'DNS hostnames on (interface endpoints need them)');

    const subnets = (await aws.ec2.send(new DescribeSubnetsCommand({ Filters: owned }))).Subnets ?? [];
    const subnet = (id: string) => subnets.find((s) => logical(s.Tags) === id)!;
    assert.deepEqual(subnets.map((s) => `${logical(s.Tags)} ${s.CidrBlock}`).sort(), [
      'private-subnet-0 10.60.0.0/18',
      'private-subnet-1 10.60.64.0/18',
      'public-subnet-0 10.60.192.0/20',
      'public-subnet-1 10.60.208.0/20',
    ]);
    assert.notEqual(subnet('private-subnet-0').AvailabilityZone, subnet('private-subnet-1').AvailabilityZone);
    const publicIds = [subnet('public-subnet-0').SubnetId!, subnet('public-subnet-1').SubnetId!].sort();
    const privateIds = [subnet('private-subnet-0').SubnetId!, subnet('private-subnet-1').SubnetId!].sort();
    // Listed by zone, as the plan numbers them.
    assert.deepEqual(env.status?.network, {
      vpcId,
      publicSubnetIds: [subnet('public-subnet-0').SubnetId, subnet('public-subnet-1').SubnetId],
      privateSubnetIds: [subnet('private-subnet-0').SubnetId, subnet('private-subnet-1').SubnetId],
    });

    const igws = (await aws.ec2.send(new DescribeInternetGatewaysCommand({ Filters: owned }))).InternetGateways ?? [];
    assert.equal(igws.length, 1);
    assert.equal(igws[0]!.Attachments?.[0]?.VpcId, vpcId, 'the internet gateway is attached');
    const eips = (await aws.ec2.send(new DescribeAddressesCommand({ Filters: owned }))).Addresses ?? [];
    assert.equal(eips.length, 1);
    const nats = await ownedNatGateways();
    assert.equal(nats.length, 1, 'natGateways: Single');
    assert.equal(nats[0]!.State, 'available');
    assert.equal(nats[0]!.SubnetId, subnet('public-subnet-0').SubnetId);
    assert.equal(nats[0]!.NatGatewayAddresses?.[0]?.AllocationId, eips[0]!.AllocationId);

    const tables = await routeTables();
    const table = (id: string) => tables.find((t) => logical(t.Tags) === id);
    const associated = (t: RouteTable | undefined) => (t?.Associations ?? []).map((a) => a.SubnetId).sort();
    assert.equal(defaultRoute(table('public-route-table'))?.GatewayId, igws[0]!.InternetGatewayId);
    assert.deepEqual(associated(table('public-route-table')), publicIds);
    for (const i of [0, 1]) {
      const t = table(`private-route-table-${i}`);
      assert.equal(
        defaultRoute(t)?.NatGatewayId,
        nats[0]!.NatGatewayId,
        `private table ${i} routes to the NAT gateway`,
      );
      assert.deepEqual(associated(t), [subnet(`private-subnet-${i}`).SubnetId]);
    }

    const endpoints = await liveEndpoints();
    const groups = (await aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: owned }))).SecurityGroups ?? [];
    const endpointGroup = groups.find((g) => logical(g.Tags) === 'endpoint-security-group')!;
    assert.deepEqual(
      (endpointGroup.IpPermissions ?? [])
        .flatMap((p) => (p.IpRanges ?? []).map((r) => `${p.FromPort} ${r.CidrIp}`))
        .sort(),
      ['443 10.60.0.0/18', '443 10.60.64.0/18'],
      'the endpoints admit HTTPS from the task subnets',
    );
    assert.deepEqual(endpoints.map((e) => `${e.ServiceName} ${e.VpcEndpointType}`).sort(), [
      'com.amazonaws.us-east-1.ecr.api Interface',
      'com.amazonaws.us-east-1.ecr.dkr Interface',
      'com.amazonaws.us-east-1.logs Interface',
      'com.amazonaws.us-east-1.s3 Gateway',
      'com.amazonaws.us-east-1.secretsmanager Interface',
    ]);
    for (const e of endpoints) {
      if (e.VpcEndpointType === 'Gateway') {
        const privateTables = [table('private-route-table-0'), table('private-route-table-1')].map(
          (t) => t!.RouteTableId,
        );
        assert.deepEqual([...(e.RouteTableIds ?? [])].sort(), privateTables.sort());
      } else {
        assert.deepEqual([...(e.SubnetIds ?? [])].sort(), privateIds, `${e.ServiceName} in the private subnets`);
        assert.deepEqual(
          e.Groups?.map((g) => g.GroupId),
          [endpointGroup.GroupId],
        );
      }
    }

    // The load balancer in the public subnets.
    const lb = await aws.elbv2.send(
      new DescribeLoadBalancersCommand({ LoadBalancerArns: [env.status!.loadBalancer!.arn!] }),
    );
    assert.deepEqual((lb.LoadBalancers?.[0]?.AvailabilityZones ?? []).map((z) => z.SubnetId).sort(), publicIds);

    // The inventory lists every network resource by kind (what cost counts NAT gateways and endpoints by).
    const kinds = (env.status?.resources ?? []).map((r) => r.kind);
    const count = (k: string) => kinds.filter((x) => x === k).length;
    assert.deepEqual(
      [
        'ec2.Vpc',
        'ec2.Subnet',
        'ec2.InternetGateway',
        'ec2.ElasticIp',
        'ec2.NatGateway',
        'ec2.RouteTable',
        'ec2.VpcEndpoint',
      ].map(count),
      [1, 4, 1, 1, 1, 3, 5],
    );
    assert.equal(env.status?.resources?.find((r) => r.kind === 'ec2.NatGateway')?.id, nats[0]!.NatGatewayId);
  });

  test("a Service's tasks run in the private subnets, with no public IP, behind the task security group", async () => {
    apply(serviceYaml(ns, 'catalog', { env: 'private' }));
    const svc = await waitForCondition(services, { namespace: ns, name: 'catalog' }, 'Ready', 'True', {
      timeoutMs: 120_000,
    });
    const env = await environments.get({ namespace: ns, name: 'private' });
    const serviceArn = svc.status!.resources!.find((r) => r.kind === 'ecs.Service')!.arn!;
    const ecs = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: env.status!.clusterArn!, services: [serviceArn] }),
    );
    const net = ecs.services?.[0]?.networkConfiguration?.awsvpcConfiguration;
    assert.deepEqual([...(net?.subnets ?? [])].sort(), [...env.status!.network!.privateSubnetIds!].sort());
    assert.equal(net?.assignPublicIp, 'DISABLED');
    assert.deepEqual(net?.securityGroups, [env.status!.taskSecurityGroupId]);
  });

  test('drift: a default route pointed elsewhere and an endpoint taken out of a subnet are put back', async () => {
    // The Service's placement changes the Environment's plan (its gate's callback URLs): once that is applied, a
    // difference is drift, not a change being rolled out.
    await waitQuiet(operator);
    const tables = await routeTables();
    const privateTable = tables.find((t) => logical(t.Tags) === 'private-route-table-0')!;
    const natId = defaultRoute(privateTable)!.NatGatewayId!;
    const igwId = defaultRoute(tables.find((t) => logical(t.Tags) === 'public-route-table'))!.GatewayId!;
    // Out of band: the private subnets' traffic sent straight to the internet gateway, and ECR API taken out of one
    // private subnet.
    await aws.ec2.send(
      new ReplaceRouteCommand({
        RouteTableId: privateTable.RouteTableId,
        DestinationCidrBlock: '0.0.0.0/0',
        GatewayId: igwId,
      }),
    );
    const ecr = (await liveEndpoints()).find((e) => e.ServiceName?.endsWith('.ecr.api'))!;
    await aws.ec2.send(
      new ModifyVpcEndpointCommand({ VpcEndpointId: ecr.VpcEndpointId, RemoveSubnetIds: [ecr.SubnetIds![0]!] }),
    );

    await nudge(operator, 'environment', ns, 'private');

    const corrected = (await routeTables()).find((t) => t.RouteTableId === privateTable.RouteTableId);
    assert.equal(defaultRoute(corrected)?.NatGatewayId, natId, 'the route goes to the NAT gateway again');
    assert.equal(defaultRoute(corrected)?.GatewayId, undefined);
    const endpoint = (await liveEndpoints()).find((e) => e.VpcEndpointId === ecr.VpcEndpointId)!;
    assert.equal(endpoint.SubnetIds?.length, 2, 'the endpoint is in both private subnets again');
    const env = await environments.get({ namespace: ns, name: 'private' });
    const drift = (env.status?.drift ?? [])
      .filter((d) => d.action === 'Corrected')
      .map((d) => `${d.logicalId} ${d.path}`);
    assert.ok(drift.includes('private-route-table-0 routes'), JSON.stringify(env.status?.drift));
    assert.ok(drift.includes('endpoint-ecr-api subnetIds'), JSON.stringify(env.status?.drift));
  });

  test("slipway plan's monthly cost of the Environment is its own network, as status.cost has it", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-plan-'));
    writeFileSync(join(dir, 'env.yaml'), exampleEnvironment());
    writeFileSync(join(dir, 'catalog.yaml'), serviceYaml(ns, 'catalog', { env: 'private' }));
    let stdout = '';
    const env = getTestEnv();
    const args = ['plan', '-f', dir, '--kubeconfig', env.kubeconfigPath, '--cluster-id', 'test'];
    const code = await runCli([...args, '--aws-endpoint', env.awsEndpoint, '--output', 'json'], {
      stdout: (t) => (stdout += t),
      stderr: () => undefined,
      env: {},
    });
    rmSync(dir, { recursive: true, force: true });
    // The example as applied and converged plans to no changes: exit 0.
    assert.equal(code, 0, stdout);
    const doc = JSON.parse(stdout) as PlanDocument;
    assert.equal(doc.changed, false);
    const cost = doc.cost;
    const live = await environments.get({ namespace: ns, name: 'private' });
    // us-east-1: 1 NAT gateway x $0.045 x 730 h = 32.85; 4 interface endpoints (S3's is a free gateway endpoint)
    // x 2 AZs x $0.01 x 730 h = 58.40; shard 0 is carried by catalog; the zone is not its own: 91.25.
    assert.deepEqual(
      cost.resources.find((r) => r.kind === 'Environment'),
      {
        kind: 'Environment',
        namespace: ns,
        name: 'private',
        before: 91.25,
        after: 91.25,
        delta: 0,
      },
    );
    assert.equal(live.status?.cost?.monthlyUsd, 91.25, 'the plan and status.cost agree');
  });

  test('deleting the Environment removes every network resource, in reverse order', async () => {
    kubectl(['delete', 'services.slipway.dev', 'catalog', '-n', ns, '--wait=false']);
    kubectl(['delete', 'environments.slipway.dev', 'private', '-n', ns, '--wait=false']);
    await eventually(
      'the Environment to be gone',
      async () => {
        const list = await environments.list({ namespace: ns });
        return list.items.length === 0 ? true : undefined;
      },
      120_000,
      250,
    );
    const left = {
      vpcs: (await aws.ec2.send(new DescribeVpcsCommand({ Filters: owned }))).Vpcs?.length ?? 0,
      subnets: (await aws.ec2.send(new DescribeSubnetsCommand({ Filters: owned }))).Subnets?.length ?? 0,
      internetGateways:
        (await aws.ec2.send(new DescribeInternetGatewaysCommand({ Filters: owned }))).InternetGateways?.length ?? 0,
      elasticIps: (await aws.ec2.send(new DescribeAddressesCommand({ Filters: owned }))).Addresses?.length ?? 0,
      natGateways: (await ownedNatGateways()).filter((g) => g.State !== 'deleted').length,
      routeTables: (await routeTables()).length,
      endpoints: (await liveEndpoints()).length,
      securityGroups:
        (await aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: owned }))).SecurityGroups?.length ?? 0,
    };
    assert.deepEqual(left, {
      vpcs: 0,
      subnets: 0,
      internetGateways: 0,
      elasticIps: 0,
      natGateways: 0,
      routeTables: 0,
      endpoints: 0,
      securityGroups: 0,
    });
  });
});
