// ec2.ElasticIp — the Elastic IP of a created network's NAT gateway (domain vpc). Identity: its ownership tags.
// Identifier: the allocation id. attrs: `allocationId`, `publicIp`. Nothing to diff but tags; released on delete
// (after its NAT gateway is gone: the NAT gateway references it, so the applier deletes that first).
import {
  AllocateAddressCommand,
  DescribeAddressesCommand,
  ReleaseAddressCommand,
  type Address,
} from '@aws-sdk/client-ec2';
import { unlessNotFound } from '../aws/errors.js';
import type { KindReconciler, Observed } from './contract.js';
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

const KIND = 'ec2.ElasticIp';

function toObserved(a: Address): Observed<'ec2.ElasticIp'> {
  const allocationId = a.AllocationId ?? '';
  return {
    identifier: allocationId,
    props: {},
    tags: tagsFromEc2(a.Tags),
    attrs: { allocationId, publicIp: a.PublicIp ?? '' },
  };
}

export const elasticIpReconciler: KindReconciler<'ec2.ElasticIp'> = {
  kind: KIND,

  async observe(ctx, desired) {
    const all = await ownerListing(ctx, KIND, desired.tags, async () => {
      const out = await ctx.aws.ec2.send(new DescribeAddressesCommand({ Filters: ownerFilters(desired.tags) }));
      return (out.Addresses ?? []).map(toObserved);
    });
    return pickOwned(all, desired.id);
  },

  async observeByIdentifier(ctx, id) {
    const a = (await unlessNotFound(() => ctx.aws.ec2.send(new DescribeAddressesCommand({ AllocationIds: [id] }))))
      ?.Addresses?.[0];
    return a ? toObserved(a) : undefined;
  },

  diff: () => [],

  async create(ctx, desired) {
    const out = await ctx.aws.ec2.send(
      new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: tagSpecifications('elastic-ip', desired.tags) }),
    );
    invalidateListing(ctx, KIND);
    if (!out.AllocationId) throw new Error('AllocateAddress returned no allocation id');
    return {
      identifier: out.AllocationId,
      props: {},
      tags: { ...desired.tags },
      attrs: { allocationId: out.AllocationId, publicIp: out.PublicIp ?? '' },
    };
  },

  async update(_ctx, _desired, observed) {
    return observed;
  },

  async delete(ctx, observed) {
    try {
      await unlessNotFound(() => ctx.aws.ec2.send(new ReleaseAddressCommand({ AllocationId: observed.identifier })));
    } catch (err) {
      throw stillInUse(err, `Elastic IP ${observed.identifier}`);
    } finally {
      invalidateListing(ctx, KIND);
    }
  },

  tagging: 'tags',

  setTags: (ctx, observed, set, remove) => setEc2Tags(ctx, KIND, observed.identifier, set, remove),
};
