// What the kinds of a created network (ec2.Vpc, Subnet, InternetGateway, ElasticIp, NatGateway, RouteTable,
// VpcEndpoint) share. None has a unique name, so each is found by its ownership tags: one Describe per kind per pass
// lists everything the owner has of that kind (filtered by the cluster and owner tags), and each planned resource
// picks its own by logical id. More than one with a logical id is a create sent twice after a lost response: the
// applier keeps one and deletes the others (Observed.duplicates). Tags go in with the create call
// (TagSpecifications), so a create whose response was lost is found by the next observe.
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  type ResourceType,
  type Tag,
  type TagSpecification,
} from '@aws-sdk/client-ec2';
import { errorName } from '../aws/errors.js';
import { BACKOFF, outcome, OutcomeError } from '../outcome/outcome.js';
import { hash, TAG_CLUSTER, TAG_LOGICAL_ID, TAG_OWNER } from '../planner/naming.js';
import type { ResourceKind } from '../planner/plan.js';
import type { Observed, ReconcileContext } from './contract.js';
import { writeTags } from './tags.js';

export function tagsFromEc2(tags: readonly Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

export function tagSpecifications(type: ResourceType, tags: Readonly<Record<string, string>>): TagSpecification[] {
  return [{ ResourceType: type, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }];
}

/** Filters that list only what one owner (on one cluster) has. */
export function ownerFilters(tags: Readonly<Record<string, string>>) {
  return [
    { Name: `tag:${TAG_CLUSTER}`, Values: [tags[TAG_CLUSTER] ?? ''] },
    { Name: `tag:${TAG_OWNER}`, Values: [tags[TAG_OWNER] ?? ''] },
  ];
}

/**
 * The owner's resources of one kind, listed once per pass (ctx.memo) and dropped after any write to the kind
 * (invalidateListing): every network resource of an Environment is in that Environment's one pass, so this is the
 * bulk observe per Environment.
 */
export function ownerListing<T extends { readonly tags: Readonly<Record<string, string>> }>(
  ctx: ReconcileContext,
  kind: ResourceKind,
  tags: Readonly<Record<string, string>>,
  load: () => Promise<T[]>,
): Promise<T[]> {
  // The tag filters are checked again here: an API that ignores a filter must not hand over another owner's.
  const owned = (t: T) => t.tags[TAG_CLUSTER] === tags[TAG_CLUSTER] && t.tags[TAG_OWNER] === tags[TAG_OWNER];
  return ctx.memo(`${listingPrefix(kind)}${tags[TAG_CLUSTER] ?? ''}|${tags[TAG_OWNER] ?? ''}`, async () =>
    (await load()).filter(owned),
  );
}

const listingPrefix = (kind: ResourceKind) => `ec2:owned:${kind}:`;

export function invalidateListing(ctx: ReconcileContext, kind: ResourceKind): void {
  ctx.invalidate(listingPrefix(kind));
}

/** The observed resources carrying `logicalId`, as one Observed with the others as duplicates. */
export function pickOwned<K extends ResourceKind>(
  all: readonly Observed<K>[],
  logicalId: string,
): Observed<K> | undefined {
  const mine = all.filter((o) => o.tags[TAG_LOGICAL_ID] === logicalId);
  const [first, ...rest] = mine;
  if (!first) return undefined;
  return rest.length > 0 ? { ...first, duplicates: rest } : first;
}

/** CreateTags / DeleteTags on one EC2 resource by id, then drops the kind's listing. */
export async function setEc2Tags(
  ctx: ReconcileContext,
  kind: ResourceKind,
  id: string,
  set: Readonly<Record<string, string>>,
  remove: readonly string[],
): Promise<void> {
  const Resources = [id];
  await writeTags(
    {
      add: (tags) =>
        ctx.aws.ec2.send(
          new CreateTagsCommand({ Resources, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }),
        ),
      // Keys only: a tag given without a value is deleted whatever its value is.
      remove: (keys) => ctx.aws.ec2.send(new DeleteTagsCommand({ Resources, Tags: keys.map((Key) => ({ Key })) })),
    },
    set,
    remove,
    () => invalidateListing(ctx, kind),
  );
}

/**
 * An idempotency token (EC2's ClientToken, at most 64 ASCII characters) from what identifies the create in the plan
 * and the ids of this logical id's earlier resources that are gone (deleted or failed, still listed by EC2): the same
 * create sent again after a lost response gets the same token, and a re-create after a deletion a new one (a token
 * already used would answer with the deleted resource).
 */
export function clientToken(parts: readonly string[], gone: readonly string[]): string {
  return `slipway-${hash([...parts, ...[...gone].sort()].join('|'), 40)}`;
}

/**
 * A delete refused because something still uses the resource (a subnet with a load balancer's network interfaces
 * going away, a VPC with subnets left): it clears as they go, so it is retried with backoff, not left to the user.
 */
export function stillInUse(err: unknown, what: string): unknown {
  const name = errorName(err);
  if (name === 'DependencyViolation' || /InUse/.test(name)) {
    return new OutcomeError(
      outcome('InUse', `${what} is still in use (${name}); retrying once what uses it is gone`, BACKOFF),
      { cause: err },
    );
  }
  return err;
}
