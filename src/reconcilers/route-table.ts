// ec2.RouteTable — a created network's route table with its IPv4 routes and subnet associations. Identity: its
// ownership tags. Managed: the VPC (immutable), the IPv4 CIDR routes as a set (a route removed, added or pointed
// elsewhere out of band is drift and is put back), and the associated subnets as a set. Not managed: the VPC's local
// route and prefix-list routes (a gateway endpoint's, which the endpoint owns). attrs: `id`, and
// `association:<subnet-id>` for each association (to disassociate by).
import {
  AssociateRouteTableCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  DeleteRouteCommand,
  DeleteRouteTableCommand,
  DescribeRouteTablesCommand,
  DisassociateRouteTableCommand,
  ReplaceRouteCommand,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { unlessNotFound } from '../aws/errors.js';
import type { Resolved, RouteProps } from '../planner/plan.js';
import type { KindReconciler, Observed, ReconcileContext } from './contract.js';
import { diffProps } from './diff.js';
import {
  invalidateListing,
  ownerFilters,
  ownerListing,
  pickOwned,
  setEc2Tags,
  stillInUse,
  tagSpecifications,
  tagsFromEc2,
} from './ec2-network-shared.js';
import { UserActionRequired } from './elbv2-shared.js';

const KIND = 'ec2.RouteTable';
type Route = Resolved<RouteProps>;

/** The IPv4 CIDR routes Slipway manages, each with its one target, sorted by destination. */
export function managedRoutes(table: RouteTable): Route[] {
  const out: Route[] = [];
  for (const r of table.Routes ?? []) {
    if (!r.DestinationCidrBlock || r.GatewayId === 'local') continue;
    if (r.NatGatewayId) out.push({ destination: r.DestinationCidrBlock, natGatewayId: r.NatGatewayId });
    else if (r.GatewayId) out.push({ destination: r.DestinationCidrBlock, gatewayId: r.GatewayId });
    // Any other target (an instance, a peering connection) is still a route Slipway did not plan: seen as drift.
    else out.push({ destination: r.DestinationCidrBlock });
  }
  return out.sort((a, b) => a.destination.localeCompare(b.destination));
}

function toObserved(t: RouteTable): Observed<'ec2.RouteTable'> {
  const id = t.RouteTableId ?? '';
  const associations = (t.Associations ?? []).filter((a) => a.SubnetId && !a.Main);
  return {
    identifier: id,
    props: {
      vpcId: t.VpcId ?? '',
      routes: managedRoutes(t),
      subnetIds: associations.map((a) => a.SubnetId!).sort(),
    },
    tags: tagsFromEc2(t.Tags),
    attrs: {
      id,
      ...Object.fromEntries(associations.map((a) => [`association:${a.SubnetId}`, a.RouteTableAssociationId ?? ''])),
    },
  };
}

const target = (r: Route) => ({
  ...(r.gatewayId ? { GatewayId: r.gatewayId } : {}),
  ...(r.natGatewayId ? { NatGatewayId: r.natGatewayId } : {}),
});
const sameTarget = (a: Route, b: Route) => a.gatewayId === b.gatewayId && a.natGatewayId === b.natGatewayId;

async function describe(ctx: ReconcileContext, id: string): Promise<Observed<'ec2.RouteTable'> | undefined> {
  const t = (await unlessNotFound(() => ctx.aws.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [id] }))))
    ?.RouteTables?.[0];
  return t ? toObserved(t) : undefined;
}

/** Makes the routes and associations of table `id` those of `want`, from what `have` holds. */
async function converge(
  ctx: ReconcileContext,
  RouteTableId: string,
  want: { readonly routes: readonly Route[]; readonly subnetIds: readonly string[] },
  have: {
    readonly routes: readonly Route[];
    readonly subnetIds: readonly string[];
    readonly attrs: Readonly<Record<string, string>>;
  },
): Promise<void> {
  for (const r of want.routes) {
    const current = have.routes.find((h) => h.destination === r.destination);
    if (!current) {
      await ctx.aws.ec2.send(
        new CreateRouteCommand({ RouteTableId, DestinationCidrBlock: r.destination, ...target(r) }),
      );
    } else if (!sameTarget(current, r)) {
      await ctx.aws.ec2.send(
        new ReplaceRouteCommand({ RouteTableId, DestinationCidrBlock: r.destination, ...target(r) }),
      );
    }
  }
  for (const h of have.routes) {
    if (!want.routes.some((r) => r.destination === h.destination))
      await ctx.aws.ec2.send(new DeleteRouteCommand({ RouteTableId, DestinationCidrBlock: h.destination }));
  }
  for (const subnet of want.subnetIds) {
    if (!have.subnetIds.includes(subnet))
      await ctx.aws.ec2.send(new AssociateRouteTableCommand({ RouteTableId, SubnetId: subnet }));
  }
  for (const subnet of have.subnetIds) {
    const AssociationId = have.attrs[`association:${subnet}`];
    if (!want.subnetIds.includes(subnet) && AssociationId)
      await unlessNotFound(() => ctx.aws.ec2.send(new DisassociateRouteTableCommand({ AssociationId })));
  }
}

export const routeTableReconciler: KindReconciler<'ec2.RouteTable'> = {
  kind: KIND,

  async observe(ctx, desired) {
    const all = await ownerListing(ctx, KIND, desired.tags, async () => {
      const out = await ctx.aws.ec2.send(new DescribeRouteTablesCommand({ Filters: ownerFilters(desired.tags) }));
      return (out.RouteTables ?? []).map(toObserved);
    });
    return pickOwned(all, desired.id);
  },

  observeByIdentifier: describe,

  diff: diffProps({ unordered: ['routes', 'subnetIds'] }),

  async create(ctx, desired) {
    const out = await ctx.aws.ec2.send(
      new CreateRouteTableCommand({
        VpcId: desired.props.vpcId,
        TagSpecifications: tagSpecifications('route-table', desired.tags),
      }),
    );
    invalidateListing(ctx, KIND);
    const id = out.RouteTable?.RouteTableId;
    if (!id) throw new Error(`CreateRouteTable in ${desired.props.vpcId} returned no route table id`);
    await converge(ctx, id, desired.props, { routes: [], subnetIds: [], attrs: {} });
    return (await describe(ctx, id)) ?? { identifier: id, props: desired.props, tags: desired.tags, attrs: { id } };
  },

  async update(ctx, desired, observed, changes) {
    if (changes.some((c) => c.path === 'vpcId')) {
      throw new UserActionRequired(
        `route table ${observed.identifier} is in VPC ${observed.props.vpcId}, the plan asks for ${desired.props.vpcId}: delete it so Slipway recreates it`,
        'NetworkImmutableField',
      );
    }
    try {
      await converge(ctx, observed.identifier, desired.props, { ...observed.props, attrs: observed.attrs });
    } finally {
      invalidateListing(ctx, KIND);
    }
    return (await describe(ctx, observed.identifier)) ?? observed;
  },

  async delete(ctx, observed) {
    try {
      for (const [key, AssociationId] of Object.entries(observed.attrs)) {
        if (key.startsWith('association:') && AssociationId)
          await unlessNotFound(() => ctx.aws.ec2.send(new DisassociateRouteTableCommand({ AssociationId })));
      }
      await unlessNotFound(() => ctx.aws.ec2.send(new DeleteRouteTableCommand({ RouteTableId: observed.identifier })));
    } catch (err) {
      throw stillInUse(err, `route table ${observed.identifier}`);
    } finally {
      invalidateListing(ctx, KIND);
    }
  },

  tagging: 'tags',

  setTags: (ctx, observed, set, remove) => setEc2Tags(ctx, KIND, observed.identifier, set, remove),
};
