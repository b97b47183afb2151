// ec2.InternetGateway — a created network's internet gateway, with its attachment to the VPC as part of it (an
// attachment moved or removed out of band is drift: it is attached back). Identity: its ownership tags. attrs: `id`.
// Deleting detaches first (EC2 refuses to delete an attached gateway).
import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  DeleteInternetGatewayCommand,
  DescribeInternetGatewaysCommand,
  DetachInternetGatewayCommand,
  type InternetGateway,
} from '@aws-sdk/client-ec2';
import { unlessNotFound } from '../aws/errors.js';
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

const KIND = 'ec2.InternetGateway';

function toObserved(g: InternetGateway): Observed<'ec2.InternetGateway'> {
  const id = g.InternetGatewayId ?? '';
  const attached = (g.Attachments ?? []).find((a) => a.State !== 'detached' && a.State !== 'detaching');
  return { identifier: id, props: { vpcId: attached?.VpcId ?? '' }, tags: tagsFromEc2(g.Tags), attrs: { id } };
}

async function detach(ctx: ReconcileContext, InternetGatewayId: string, VpcId: string): Promise<void> {
  if (!VpcId) return;
  await unlessNotFound(() => ctx.aws.ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId, VpcId })));
}

export const internetGatewayReconciler: KindReconciler<'ec2.InternetGateway'> = {
  kind: KIND,

  async observe(ctx, desired) {
    const all = await ownerListing(ctx, KIND, desired.tags, async () => {
      const out = await ctx.aws.ec2.send(new DescribeInternetGatewaysCommand({ Filters: ownerFilters(desired.tags) }));
      return (out.InternetGateways ?? []).map(toObserved);
    });
    return pickOwned(all, desired.id);
  },

  async observeByIdentifier(ctx, id) {
    const g = (
      await unlessNotFound(() => ctx.aws.ec2.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [id] })))
    )?.InternetGateways?.[0];
    return g ? toObserved(g) : undefined;
  },

  diff: diffProps(),

  async create(ctx, desired) {
    const out = await ctx.aws.ec2.send(
      new CreateInternetGatewayCommand({ TagSpecifications: tagSpecifications('internet-gateway', desired.tags) }),
    );
    invalidateListing(ctx, KIND);
    const id = out.InternetGateway?.InternetGatewayId;
    if (!id) throw new Error('CreateInternetGateway returned no gateway id');
    await ctx.aws.ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: id, VpcId: desired.props.vpcId }));
    return { identifier: id, props: { ...desired.props }, tags: { ...desired.tags }, attrs: { id } };
  },

  async update(ctx, desired, observed) {
    await detach(ctx, observed.identifier, observed.props.vpcId);
    await ctx.aws.ec2.send(
      new AttachInternetGatewayCommand({ InternetGatewayId: observed.identifier, VpcId: desired.props.vpcId }),
    );
    invalidateListing(ctx, KIND);
    return { ...observed, props: { ...desired.props } };
  },

  async delete(ctx, observed) {
    try {
      await detach(ctx, observed.identifier, observed.props.vpcId);
      await unlessNotFound(() =>
        ctx.aws.ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: observed.identifier })),
      );
    } catch (err) {
      throw stillInUse(err, `internet gateway ${observed.identifier}`);
    } finally {
      invalidateListing(ctx, KIND);
    }
  },

  tagging: 'tags',

  setTags: (ctx, observed, set, remove) => setEc2Tags(ctx, KIND, observed.identifier, set, remove),
};
