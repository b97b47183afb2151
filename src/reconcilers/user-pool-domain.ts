// cognito.UserPoolDomain: a Cognito-hosted prefix domain (`<prefix>.auth.<region>.amazoncognito.com`).
// Identity = the prefix (DescribeUserPoolDomain). A domain carries no tags: it is ours iff its user pool is ours,
// so observe returns the pool's tags (derived ownership). A prefix cannot move between pools in place: when the
// desired pool differs (the pool was recreated), update deletes the domain and creates it on the desired pool.
// A pool takes one prefix domain: creating a renamed prefix first removes the pool's old one, if the pool is ours.
// For an external pool with its own domain, observeByIdentifier(prefix) reads it.
//
// Identifier: the prefix. Attrs: `domain` (the prefix, what an ALB authenticate-cognito action takes) and `fqdn`.
import {
  CreateUserPoolDomainCommand,
  DeleteUserPoolDomainCommand,
  DescribeUserPoolDomainCommand,
  type DomainDescriptionType,
} from '@aws-sdk/client-cognito-identity-provider';
import { isNotFound } from '../aws/errors.js';
import { TAG_CLUSTER, TAG_OWNER } from '../planner/naming.js';
import type { KindReconciler, Observed, ReconcileContext } from './contract.js';
import { diffProps } from './diff.js';
import { describePool, poolTags } from './user-pool.js';

export function userPoolDomainFqdn(prefix: string, region: string): string {
  return `${prefix}.auth.${region}.amazoncognito.com`;
}

async function describeDomain(ctx: ReconcileContext, prefix: string): Promise<DomainDescriptionType | undefined> {
  if (!prefix) return undefined;
  // A missing domain is an empty description, not an error.
  const out = await ctx.aws.cognito.send(new DescribeUserPoolDomainCommand({ Domain: prefix }));
  return out.DomainDescription?.UserPoolId ? out.DomainDescription : undefined;
}

function toObserved(
  ctx: ReconcileContext,
  prefix: string,
  userPoolId: string,
  tags: Readonly<Record<string, string>>,
): Observed<'cognito.UserPoolDomain'> {
  return {
    identifier: prefix,
    props: { userPoolId, domain: prefix },
    tags,
    attrs: { domain: prefix, fqdn: userPoolDomainFqdn(prefix, ctx.aws.region) },
  };
}

async function observePrefix(
  ctx: ReconcileContext,
  prefix: string,
): Promise<Observed<'cognito.UserPoolDomain'> | undefined> {
  const d = await describeDomain(ctx, prefix);
  if (!d?.UserPoolId) return undefined;
  return toObserved(ctx, prefix, d.UserPoolId, poolTags(await describePool(ctx, d.UserPoolId)));
}

async function deleteDomain(ctx: ReconcileContext, prefix: string, userPoolId: string): Promise<void> {
  try {
    await ctx.aws.cognito.send(new DeleteUserPoolDomainCommand({ Domain: prefix, UserPoolId: userPoolId }));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  ctx.invalidate(`cognito:pool:${userPoolId}`);
}

/**
 * A pool has at most one prefix domain. When the desired pool still holds an older prefix of ours (the prefix was
 * renamed), that one is removed first; a pool not ours keeps its domain and the create fails with a clear error.
 */
async function createDomain(
  ctx: ReconcileContext,
  prefix: string,
  userPoolId: string,
  desiredTags: Readonly<Record<string, string>>,
): Promise<Observed<'cognito.UserPoolDomain'>> {
  const pool = await describePool(ctx, userPoolId);
  const tags = poolTags(pool);
  const previous = pool?.Domain;
  if (previous && previous !== prefix) {
    const ours = tags[TAG_CLUSTER] === desiredTags[TAG_CLUSTER] && tags[TAG_OWNER] === desiredTags[TAG_OWNER];
    if (!ours)
      throw new Error(
        `user pool ${userPoolId} already has the domain ${previous}, and a pool takes one prefix domain; it is not Slipway's to replace`,
      );
    await deleteDomain(ctx, previous, userPoolId);
  }
  await ctx.aws.cognito.send(new CreateUserPoolDomainCommand({ UserPoolId: userPoolId, Domain: prefix }));
  ctx.invalidate(`cognito:pool:${userPoolId}`);
  return toObserved(ctx, prefix, userPoolId, tags);
}

export const userPoolDomain: KindReconciler<'cognito.UserPoolDomain'> = {
  kind: 'cognito.UserPoolDomain',

  observe: (ctx, desired) => observePrefix(ctx, desired.props.domain),

  observeByIdentifier: (ctx, identifier) => observePrefix(ctx, identifier),

  diff: diffProps(),

  create: (ctx, desired) => createDomain(ctx, desired.props.domain, desired.props.userPoolId, desired.tags),

  async update(ctx, desired, observed) {
    // Only the pool can differ (the prefix is the identity): move the prefix to the desired pool.
    await deleteDomain(ctx, observed.props.domain, observed.props.userPoolId);
    return createDomain(ctx, desired.props.domain, desired.props.userPoolId, desired.tags);
  },

  async delete(ctx, observed) {
    await deleteDomain(ctx, observed.props.domain, observed.props.userPoolId);
  },

  tagging: 'derived',

  async setTags(_ctx, observed) {
    throw new Error(
      `cognito.UserPoolDomain ${observed.identifier} carries no tags: it belongs to whoever owns its user pool ${observed.props.userPoolId}; adopt the pool instead`,
    );
  },
};
