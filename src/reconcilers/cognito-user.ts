// cognito.User: one invited user of a Slipway pool. Identity = the email, lowercased, used as the user name.
// The pool's users are listed once per pass (ListUsers, shared by every user of the pool: one call per 60 users
// instead of one AdminGetUser each); observeByIdentifier uses AdminGetUser. Users carry no tags: ownership is
// derived from the pool (its tags are returned).
//
// create = AdminCreateUser (email, email_verified, invitation by EMAIL). Managed field: `enabled`, through
// AdminEnableUser / AdminDisableUser.
// DELETE IN THIS CONTRACT DISABLES: a user removed from the invite list is disabled, never deleted, so their
// history stays and re-inviting them re-enables the same account.
//
// Identifier: `<userPoolId>/<username>`. Attrs: `username`.
import {
  AdminCreateUserCommand,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  AdminGetUserCommand,
  paginateListUsers,
  type AttributeType,
  type UserType,
} from '@aws-sdk/client-cognito-identity-provider';
import { isNotFound } from '../aws/errors.js';
import { advancingPages } from '../aws/pages.js';
import type { KindReconciler, Observed, ReconcileContext } from './contract.js';
import { diffFields } from './diff.js';
import { describePool, poolTags } from './user-pool.js';

/** The user name an email becomes: trimmed and lowercased, so one person is one user. */
export function usernameOf(email: string): string {
  return email.trim().toLowerCase();
}

interface UserView {
  readonly username: string;
  readonly attributes: readonly AttributeType[];
  readonly enabled: boolean;
}

function listUsers(ctx: ReconcileContext, poolId: string): Promise<readonly UserType[]> {
  return ctx.memo(`cognito:users:${poolId}`, async () => {
    const out: UserType[] = [];
    const pages = paginateListUsers({ client: ctx.aws.cognito }, { UserPoolId: poolId, Limit: 60 });
    for await (const page of advancingPages(pages, (p) => p.PaginationToken, 'ListUsers'))
      out.push(...(page.Users ?? []));
    return out;
  });
}

async function getUser(ctx: ReconcileContext, poolId: string, username: string): Promise<UserView | undefined> {
  try {
    const u = await ctx.aws.cognito.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
    return { username: u.Username ?? username, attributes: u.UserAttributes ?? [], enabled: u.Enabled ?? true };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function toObserved(poolId: string, u: UserView, tags: Readonly<Record<string, string>>): Observed<'cognito.User'> {
  const email = u.attributes.find((a) => a.Name === 'email')?.Value ?? u.username;
  return {
    identifier: `${poolId}/${u.username}`,
    props: { userPoolId: poolId, email: usernameOf(email), enabled: u.enabled },
    tags,
    attrs: { username: u.username },
  };
}

async function setEnabled(ctx: ReconcileContext, poolId: string, username: string, enabled: boolean): Promise<void> {
  const input = { UserPoolId: poolId, Username: username };
  await ctx.aws.cognito.send(enabled ? new AdminEnableUserCommand(input) : new AdminDisableUserCommand(input));
  ctx.invalidate(`cognito:users:${poolId}`);
}

export const cognitoUser: KindReconciler<'cognito.User'> = {
  kind: 'cognito.User',

  async observe(ctx, desired) {
    const poolId = desired.props.userPoolId;
    const pool = await describePool(ctx, poolId);
    if (!pool) return undefined;
    const username = usernameOf(desired.props.email);
    const u = (await listUsers(ctx, poolId)).find(
      (x) => x.Username !== undefined && usernameOf(x.Username) === username,
    );
    if (!u) return undefined;
    return toObserved(
      poolId,
      { username: u.Username!, attributes: u.Attributes ?? [], enabled: u.Enabled ?? true },
      poolTags(pool),
    );
  },

  async observeByIdentifier(ctx, identifier) {
    const i = identifier.indexOf('/');
    if (i <= 0) return undefined;
    const poolId = identifier.slice(0, i);
    const pool = await describePool(ctx, poolId);
    const u = pool ? await getUser(ctx, poolId, identifier.slice(i + 1)) : undefined;
    return u ? toObserved(poolId, u, poolTags(pool)) : undefined;
  },

  diff: (desired, observed) => diffFields({ ...desired.props, email: usernameOf(desired.props.email) }, observed.props),

  async create(ctx, desired) {
    const { userPoolId, enabled } = desired.props;
    const email = usernameOf(desired.props.email);
    const out = await ctx.aws.cognito.send(
      new AdminCreateUserCommand({
        UserPoolId: userPoolId,
        Username: email,
        UserAttributes: [
          { Name: 'email', Value: email },
          // The invitation goes to this address, so it is verified by the act of signing in.
          { Name: 'email_verified', Value: 'true' },
        ],
        DesiredDeliveryMediums: ['EMAIL'],
      }),
    );
    ctx.invalidate(`cognito:users:${userPoolId}`);
    const username = out.User?.Username ?? email;
    if (!enabled) await setEnabled(ctx, userPoolId, username, false);
    const tags = poolTags(await describePool(ctx, userPoolId));
    return toObserved(
      userPoolId,
      { username, attributes: out.User?.Attributes ?? [{ Name: 'email', Value: email }], enabled },
      tags,
    );
  },

  async update(ctx, desired, observed) {
    const username = observed.attrs.username ?? usernameOf(desired.props.email);
    if (observed.props.enabled !== desired.props.enabled)
      await setEnabled(ctx, observed.props.userPoolId, username, desired.props.enabled);
    return { ...observed, props: { ...observed.props, enabled: desired.props.enabled } };
  },

  /** Disables: users removed from the invite list are kept, disabled (see the top of this file). */
  async delete(ctx, observed) {
    if (!observed.props.enabled) return;
    try {
      await setEnabled(
        ctx,
        observed.props.userPoolId,
        observed.attrs.username ?? usernameOf(observed.props.email),
        false,
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  },

  tagging: 'derived',

  async setTags(_ctx, observed) {
    throw new Error(
      `cognito.User ${observed.props.email} carries no tags: it belongs to whoever owns its user pool ${observed.props.userPoolId}; adopt the pool instead`,
    );
  },
};
