// ec2.NatGateway — a created network's (public) NAT gateway in a public subnet, with its Elastic IP. Identity: its
// ownership tags; CreateNatGateway is made idempotent with a ClientToken derived from the plan (clientToken).
// Managed: subnet and Elastic IP (both immutable: reported, never changed in place). Identifier: the NAT gateway id.
//
// A NAT gateway takes minutes to become available and to go away, and no worker waits for it:
// - `id` is an attribute only once it is available, so the private route tables that reference it wait as blocked
//   (a timed requeue) rather than route to a gateway that is not there yet; one still pending after
//   AVAILABLE_DEADLINE_MS is reported as an error.
// - delete asks once and throws RetryLater while EC2 reports it deleting; the subnet and Elastic IP it uses wait
//   (the applier deletes them after it). One still deleting DELETE_DEADLINE_MS after EC2's DeleteTime is reported.
// - one that failed (EC2 keeps failed gateways listed for a while) is reported with EC2's message for FAILED_HOLD_MS
//   before another is created, so a cause such as a quota does not become a create every pass.
// Deleted and failed gateways stay listed by EC2 for about an hour: they are not the resource, only history.
import { tokenPages } from '../aws/pages.js';
import {
  CreateNatGatewayCommand,
  DeleteNatGatewayCommand,
  DescribeNatGatewaysCommand,
  type NatGateway,
} from '@aws-sdk/client-ec2';
import { unlessNotFound } from '../aws/errors.js';
import { BACKOFF, outcome, OutcomeError, retryAfter } from '../outcome/outcome.js';
import { TAG_LOGICAL_ID, TAG_OWNER } from '../planner/naming.js';
import type { Desired, KindReconciler, Observed, ReconcileContext } from './contract.js';
import { diffProps } from './diff.js';
import {
  clientToken,
  invalidateListing,
  ownerFilters,
  ownerListing,
  setEc2Tags,
  tagSpecifications,
  tagsFromEc2,
} from './ec2-network-shared.js';
import { UserActionRequired } from './elbv2-shared.js';
import { RetryLater } from './retry-later.js';

const KIND = 'ec2.NatGateway';

/** AWS documents a few minutes for either; these are the points at which waiting is reported as a failure. */
export const AVAILABLE_DEADLINE_MS = 15 * 60_000;
export const DELETE_DEADLINE_MS = 15 * 60_000;
export const FAILED_HOLD_MS = 10 * 60_000;
/** How soon a NAT gateway being deleted is looked at again. */
export const POLL_SECONDS = 15;

const LIVE = ['available', 'pending', 'deleting'];

function toObserved(g: NatGateway): Observed<'ec2.NatGateway'> {
  const id = g.NatGatewayId ?? '';
  const state = g.State ?? 'unknown';
  return {
    identifier: id,
    props: { subnetId: g.SubnetId ?? '', allocationId: g.NatGatewayAddresses?.[0]?.AllocationId ?? '' },
    tags: tagsFromEc2(g.Tags),
    attrs: {
      // Only an available gateway can be routed to: what references `id` waits until then.
      ...(state === 'available' ? { id } : {}),
      state,
      ...(g.CreateTime ? { createTime: new Date(g.CreateTime).toISOString() } : {}),
      ...(g.DeleteTime ? { deleteTime: new Date(g.DeleteTime).toISOString() } : {}),
      ...(g.FailureMessage ? { failure: `${g.FailureCode ?? 'failed'}: ${g.FailureMessage}` } : {}),
    },
  };
}

const age = (iso: string | undefined, now: number): number => (iso ? now - Date.parse(iso) : 0);

/**
 * Which listed gateway is the resource: available first, then pending, then one being deleted (it is waited for,
 * then replaced). Others available or pending are duplicates. Pure, with the clock as an argument.
 */
export function chooseNatGateway(
  mine: readonly Observed<'ec2.NatGateway'>[],
  now: number,
): Observed<'ec2.NatGateway'> | undefined {
  const rank = (o: Observed<'ec2.NatGateway'>) => LIVE.indexOf(o.attrs.state ?? '');
  const live = mine.filter((o) => rank(o) >= 0).sort((a, b) => rank(a) - rank(b));
  const [first, ...rest] = live;
  if (!first) {
    const failed = mine
      .filter((o) => o.attrs.state === 'failed' && age(o.attrs.createTime, now) < FAILED_HOLD_MS)
      .sort((a, b) => (b.attrs.createTime ?? '').localeCompare(a.attrs.createTime ?? ''))[0];
    if (failed) {
      throw retryAfter(
        'NatGatewayFailed',
        `NAT gateway ${failed.identifier} failed (${failed.attrs.failure ?? 'no reason given'}); Slipway creates another ${FAILED_HOLD_MS / 60_000} minutes after it failed`,
        60_000,
      );
    }
    return undefined;
  }
  if (first.attrs.state === 'pending' && age(first.attrs.createTime, now) > AVAILABLE_DEADLINE_MS) {
    throw new OutcomeError(
      outcome(
        'NatGatewayPending',
        `NAT gateway ${first.identifier} is still pending ${AVAILABLE_DEADLINE_MS / 60_000} minutes after it was created; check it in EC2 (delete it and Slipway creates another)`,
        BACKOFF,
      ),
    );
  }
  const duplicates = rest.filter((o) => o.attrs.state !== 'deleting');
  return duplicates.length > 0 ? { ...first, duplicates } : first;
}

function listing(ctx: ReconcileContext, tags: Readonly<Record<string, string>>) {
  return ownerListing(ctx, KIND, tags, async () => {
    const out: Observed<'ec2.NatGateway'>[] = [];
    const pages = tokenPages((NextToken) =>
      ctx.aws.ec2.send(new DescribeNatGatewaysCommand({ Filter: ownerFilters(tags), NextToken })),
    );
    for await (const page of pages) out.push(...(page.NatGateways ?? []).map(toObserved));
    return out;
  });
}

async function describe(ctx: ReconcileContext, id: string): Promise<Observed<'ec2.NatGateway'> | undefined> {
  const g = (await unlessNotFound(() => ctx.aws.ec2.send(new DescribeNatGatewaysCommand({ NatGatewayIds: [id] }))))
    ?.NatGateways?.[0];
  return g ? toObserved(g) : undefined;
}

const mineOf = (all: readonly Observed<'ec2.NatGateway'>[], d: Desired<'ec2.NatGateway'>) =>
  all.filter((o) => o.tags[TAG_LOGICAL_ID] === d.id);

export const natGatewayReconciler: KindReconciler<'ec2.NatGateway'> = {
  kind: KIND,

  async observe(ctx, desired) {
    return chooseNatGateway(mineOf(await listing(ctx, desired.tags), desired), Date.now());
  },

  async observeByIdentifier(ctx, id) {
    const found = await describe(ctx, id);
    return found && LIVE.includes(found.attrs.state ?? '') ? found : undefined;
  },

  diff: diffProps(),

  async create(ctx, desired) {
    const p = desired.props;
    const gone = mineOf(await listing(ctx, desired.tags), desired)
      .filter((o) => !['available', 'pending'].includes(o.attrs.state ?? ''))
      .map((o) => o.identifier);
    const out = await ctx.aws.ec2.send(
      new CreateNatGatewayCommand({
        SubnetId: p.subnetId,
        AllocationId: p.allocationId,
        ConnectivityType: 'public',
        ClientToken: clientToken([desired.tags[TAG_OWNER] ?? '', desired.id, p.subnetId, p.allocationId], gone),
        TagSpecifications: tagSpecifications('natgateway', desired.tags),
      }),
    );
    invalidateListing(ctx, KIND);
    if (!out.NatGateway?.NatGatewayId) throw new Error(`CreateNatGateway in ${p.subnetId} returned no gateway`);
    return { ...toObserved(out.NatGateway), props: { ...p }, tags: { ...desired.tags } };
  },

  async update(_ctx, desired, observed) {
    throw new UserActionRequired(
      `NAT gateway ${observed.identifier}: subnet ${observed.props.subnetId} and Elastic IP ${observed.props.allocationId}, the plan asks for ${desired.props.subnetId} and ${desired.props.allocationId}; a NAT gateway cannot change these: delete it so Slipway recreates it`,
      'NetworkImmutableField',
    );
  },

  async delete(ctx, observed) {
    const id = observed.identifier;
    if (observed.attrs.state === 'deleting') {
      if (age(observed.attrs.deleteTime, Date.now()) > DELETE_DEADLINE_MS) {
        throw new OutcomeError(
          outcome(
            'NatGatewayDeleting',
            `NAT gateway ${id} is still deleting ${DELETE_DEADLINE_MS / 60_000} minutes after it was asked to; what it uses (its subnet, its Elastic IP) waits for it`,
            BACKOFF,
          ),
        );
      }
      throw new RetryLater(`NAT gateway ${id} is being deleted; its subnet and Elastic IP follow`, POLL_SECONDS);
    }
    try {
      await unlessNotFound(() => ctx.aws.ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: id })));
    } finally {
      invalidateListing(ctx, KIND);
    }
    const after = await describe(ctx, id);
    if (after && LIVE.includes(after.attrs.state ?? ''))
      throw new RetryLater(`NAT gateway ${id} is being deleted; its subnet and Elastic IP follow`, POLL_SECONDS);
  },

  tagging: 'tags',

  setTags: (ctx, observed, set, remove) => setEc2Tags(ctx, KIND, observed.identifier, set, remove),
};
