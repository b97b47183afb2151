// spec.network.create → the network an Environment builds and owns. Pure.
//
// Per Availability Zone i (the first 2 or 3 of the Region, resolved by the controller): a private subnet (tasks) of a
// quarter of the VPC's range and a public subnet (the load balancer) of a sixteenth, so a /22 still gives the load
// balancer /26 subnets (an ALB needs /27 or larger). One public route table sends 0.0.0.0/0 to the internet gateway;
// each zone's private route table sends it to a NAT gateway: zone i's own with PerAZ, zone 0's with Single (one
// table per zone either way, so switching between the two only changes routes).
//
// VPC endpoints keep image pulls, logs and secrets off the NAT gateway (cheaper, and they work while it is down):
// ECR API and ECR DKR (the image manifest and the registry), CloudWatch Logs (the awslogs driver) and Secrets
// Manager (container secrets) as interface endpoints in the private subnets, behind a security group that admits
// HTTPS from the private subnets; S3 as a gateway endpoint on the private route tables (ECR serves image layers
// from S3). No others: Services take secrets only from Secrets Manager (no SSM parameters, so no ssm endpoint), and
// whatever else a task calls goes through the NAT gateway.
import type { Environment } from '../api/index.js';
import { PlanningError } from './errors.js';
import { boundedName } from './naming.js';
import { ref, type PlannedResource, type PropsByKind, type Ref, type ResourceKind } from './plan.js';

export const NETWORK_LOGICAL = {
  vpc: 'vpc',
  internetGateway: 'internet-gateway',
  publicRouteTable: 'public-route-table',
  endpointSecurityGroup: 'endpoint-security-group',
  taskSecurityGroup: 'task-security-group',
  publicSubnet: (i: number) => `public-subnet-${i}`,
  privateSubnet: (i: number) => `private-subnet-${i}`,
  privateRouteTable: (i: number) => `private-route-table-${i}`,
  natAddress: (i: number) => `nat-eip-${i}`,
  natGateway: (i: number) => `nat-gateway-${i}`,
  endpoint: (service: string) => `endpoint-${service.replace(/\./g, '-')}`,
} as const;

/** Interface endpoints, by the service suffix after `com.amazonaws.<region>.`. */
export const INTERFACE_ENDPOINTS = ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager'] as const;
/** Gateway endpoints. */
export const GATEWAY_ENDPOINTS = ['s3'] as const;

/** What the rest of the Environment's plan (and its Services, through status) uses from the created network. */
export interface CreatedNetwork {
  readonly resources: readonly PlannedResource[];
  readonly vpcId: Ref;
  readonly cidr: string;
  readonly publicSubnetIds: readonly Ref[];
  readonly privateSubnetIds: readonly Ref[];
  readonly taskSecurityGroupId: Ref;
  /** What an internet-facing load balancer must wait for (the internet gateway attached to the VPC). */
  readonly internetGateway: string;
}

const FIELD = 'spec.network.create.cidr';

/** Parses an IPv4 CIDR into its base address (as an unsigned 32-bit number) and prefix length. */
export function parseCidr(cidr: string): { base: number; prefix: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : NaN;
  if (!m || octets.some((o) => o > 255) || !(prefix >= 0 && prefix <= 32))
    throw new PlanningError(FIELD, `${cidr} is not an IPv4 CIDR such as 10.40.0.0/16`);
  const base = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) {
    const start = base - (base % size);
    throw new PlanningError(FIELD, `${cidr} has host bits set: use ${formatCidr(start, prefix)}`);
  }
  return { base, prefix };
}

export function formatCidr(base: number, prefix: number): string {
  return `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join('.')}/${prefix}`;
}

/** The subnets of zone `i`: private a quarter of the range (quarters 0-2), public a sixteenth (within quarter 3). */
export function subnetCidrs(cidr: string, i: number): { readonly private: string; readonly public: string } {
  const { base, prefix } = parseCidr(cidr);
  if (prefix < 16 || prefix > 22) throw new PlanningError(FIELD, `${cidr}: the prefix must be /16 to /22`);
  const quarter = 2 ** (32 - (prefix + 2));
  const sixteenth = 2 ** (32 - (prefix + 4));
  return {
    private: formatCidr(base + i * quarter, prefix + 2),
    public: formatCidr(base + 3 * quarter + i * sixteenth, prefix + 4),
  };
}

export function planNetwork(
  env: Environment,
  zones: readonly string[],
  tags: (id: string) => Readonly<Record<string, string>>,
): CreatedNetwork {
  const create = env.spec.network.create;
  if (!create) throw new Error('planNetwork needs spec.network.create');
  const count = create.availabilityZones;
  if (zones.length < count) {
    throw new PlanningError(
      'spec.network.create.availabilityZones',
      `${count} zones asked for, but region ${env.spec.region} has only ${zones.length} available (${zones.join(', ') || 'none'}): lower availabilityZones`,
      'NotEnoughZones',
    );
  }
  const L = NETWORK_LOGICAL;
  const ns = env.metadata.namespace ?? 'default';
  const resources: PlannedResource[] = [];
  const add = <K extends ResourceKind>(kind: K, id: string, props: PropsByKind[K], after?: readonly string[]) =>
    resources.push({ id, kind, props, tags: tags(id), ...(after ? { after } : {}) } as PlannedResource);
  const vpcId = ref(L.vpc, 'id');
  const indexes = [...Array(count).keys()];

  add('ec2.Vpc', L.vpc, { cidr: create.cidr, enableDnsSupport: true, enableDnsHostnames: true });
  add('ec2.InternetGateway', L.internetGateway, { vpcId });
  const publicSubnetIds: Ref[] = [];
  const privateSubnetIds: Ref[] = [];
  const privateCidrs: string[] = [];
  const publicCidrs: string[] = [];
  for (const i of indexes) {
    const cidrs = subnetCidrs(create.cidr, i);
    const zone = zones[i]!;
    add('ec2.Subnet', L.publicSubnet(i), {
      vpcId,
      cidr: cidrs.public,
      availabilityZone: zone,
      mapPublicIpOnLaunch: false,
    });
    add('ec2.Subnet', L.privateSubnet(i), {
      vpcId,
      cidr: cidrs.private,
      availabilityZone: zone,
      mapPublicIpOnLaunch: false,
    });
    publicSubnetIds.push(ref(L.publicSubnet(i), 'id'));
    privateSubnetIds.push(ref(L.privateSubnet(i), 'id'));
    publicCidrs.push(cidrs.public);
    privateCidrs.push(cidrs.private);
  }
  const natZones = create.natGateways === 'PerAZ' ? indexes : [0];
  for (const i of natZones) {
    add('ec2.ElasticIp', L.natAddress(i), {});
    // A public NAT gateway needs the internet gateway attached to become available.
    add(
      'ec2.NatGateway',
      L.natGateway(i),
      { subnetId: ref(L.publicSubnet(i), 'id'), allocationId: ref(L.natAddress(i), 'allocationId') },
      [L.internetGateway],
    );
  }
  add('ec2.RouteTable', L.publicRouteTable, {
    vpcId,
    routes: [{ destination: '0.0.0.0/0', gatewayId: ref(L.internetGateway, 'id') }],
    subnetIds: publicSubnetIds,
  });
  for (const i of indexes) {
    const nat = create.natGateways === 'PerAZ' ? i : 0;
    add('ec2.RouteTable', L.privateRouteTable(i), {
      vpcId,
      routes: [{ destination: '0.0.0.0/0', natGatewayId: ref(L.natGateway(nat), 'id') }],
      subnetIds: [ref(L.privateSubnet(i), 'id')],
    });
  }
  const name = (suffix: string) => boundedName(['slipway', ns, env.metadata.name, suffix], 255);
  add('ec2.SecurityGroup', L.taskSecurityGroup, {
    name: name('tasks'),
    description: `Slipway tasks of Environment ${ns}/${env.metadata.name}: traffic from the load balancer subnets`,
    vpcId,
    ingress: [],
    ingressRanges: publicCidrs.map((cidr) => ({ fromPort: 0, toPort: 65535, cidr })),
  });
  add('ec2.SecurityGroup', L.endpointSecurityGroup, {
    name: name('endpoints'),
    description: `Slipway VPC endpoints of Environment ${ns}/${env.metadata.name}: HTTPS from the task subnets`,
    vpcId,
    ingress: privateCidrs.map((cidr) => ({ port: 443, cidr })),
  });
  const service = (s: string) => `com.amazonaws.${env.spec.region}.${s}`;
  for (const s of INTERFACE_ENDPOINTS) {
    add('ec2.VpcEndpoint', L.endpoint(s), {
      vpcId,
      serviceName: service(s),
      type: 'Interface',
      subnetIds: privateSubnetIds,
      securityGroupIds: [ref(L.endpointSecurityGroup, 'id')],
      privateDnsEnabled: true,
    });
  }
  for (const s of GATEWAY_ENDPOINTS) {
    add('ec2.VpcEndpoint', L.endpoint(s), {
      vpcId,
      serviceName: service(s),
      type: 'Gateway',
      routeTableIds: indexes.map((i) => ref(L.privateRouteTable(i), 'id')),
    });
  }
  return {
    resources,
    vpcId,
    cidr: create.cidr,
    publicSubnetIds,
    privateSubnetIds,
    taskSecurityGroupId: ref(L.taskSecurityGroup, 'id'),
    internetGateway: L.internetGateway,
  };
}
