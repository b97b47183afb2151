// cognito.UserPool: identity = the pool name (ListUserPools, then DescribeUserPool of the pools so named; Cognito
// allows two pools with one name, so the one carrying our tags wins). Tags are given as UserPoolTags at creation
// and read back from DescribeUserPool. Pools are created invite-only (AdminCreateUserConfig
// AllowAdminCreateUserOnly), with case-insensitive user names.
//
// Managed fields: the name only, and the name is the identity, so a pool never drifts and update changes
// nothing. UpdateUserPool is deliberately never called: it is a full replace (unsent settings reset to defaults).
// An EXTERNAL pool (given by the Environment) is only ever read, through observeByIdentifier(pool id or ARN).
//
// Identifier: the pool ARN. Attrs: `id`, `arn`.
//
// The domain, client and user reconcilers derive their ownership from the pool: describePool and poolTags below.
import {
  CreateUserPoolCommand,
  DeleteUserPoolCommand,
  DescribeUserPoolCommand,
  TagResourceCommand,
  UntagResourceCommand,
  paginateListUserPools,
  type UserPoolDescriptionType,
  type UserPoolType,
} from '@aws-sdk/client-cognito-identity-provider';
import { unlessNotFound } from '../aws/errors.js';
import { advancingPages } from '../aws/pages.js';
import { TAG_CLUSTER, TAG_OWNER } from '../planner/naming.js';
import type { KindReconciler, Observed, ReconcileContext } from './contract.js';
import { diffProps } from './diff.js';
import { writeTags } from './tags.js';

/** `us-east-1_AbC` from a pool id or a pool ARN (`arn:aws:cognito-idp:<region>:<account>:userpool/<id>`). */
export function poolIdOf(identifier: string): string {
  const i = identifier.lastIndexOf('userpool/');
  return i >= 0 ? identifier.slice(i + 'userpool/'.length) : identifier;
}

/** DescribeUserPool, once per pass per pool (the domain, client and user reconcilers read the pool's tags too). */
export function describePool(ctx: ReconcileContext, poolIdOrArn: string): Promise<UserPoolType | undefined> {
  const id = poolIdOf(poolIdOrArn);
  if (!id) return Promise.resolve(undefined);
  return ctx.memo(`cognito:pool:${id}`, async () => {
    return (await unlessNotFound(() => ctx.aws.cognito.send(new DescribeUserPoolCommand({ UserPoolId: id }))))
      ?.UserPool;
  });
}

export function poolTags(pool: UserPoolType | undefined): Record<string, string> {
  return { ...(pool?.UserPoolTags ?? {}) };
}

/** True when the pool carries Slipway's ownership tags (of any owner); false for a pool given by the Environment. */
export function isSlipwayPool(pool: UserPoolType | undefined): boolean {
  const tags = poolTags(pool);
  return TAG_CLUSTER in tags || TAG_OWNER in tags;
}

function listPools(ctx: ReconcileContext): Promise<readonly UserPoolDescriptionType[]> {
  return ctx.memo('cognito:pools', async () => {
    const out: UserPoolDescriptionType[] = [];
    const pages = paginateListUserPools({ client: ctx.aws.cognito }, { MaxResults: 60 });
    for await (const page of advancingPages(pages, (p) => p.NextToken, 'ListUserPools'))
      out.push(...(page.UserPools ?? []));
    return out;
  });
}

function toObserved(pool: UserPoolType, tags?: Readonly<Record<string, string>>): Observed<'cognito.UserPool'> {
  return {
    identifier: pool.Arn ?? pool.Id ?? '',
    props: { name: pool.Name ?? '' },
    tags: tags ?? poolTags(pool),
    attrs: { id: pool.Id ?? '', arn: pool.Arn ?? '' },
  };
}

export const userPool: KindReconciler<'cognito.UserPool'> = {
  kind: 'cognito.UserPool',

  async observe(ctx, desired) {
    const named = (await listPools(ctx)).filter((p) => p.Name === desired.props.name && p.Id);
    const pools = (await Promise.all(named.map((p) => describePool(ctx, p.Id!)))).filter(
      (p): p is UserPoolType => p !== undefined,
    );
    const mine = pools.find((p) => {
      const tags = poolTags(p);
      return tags[TAG_CLUSTER] === desired.tags[TAG_CLUSTER] && tags[TAG_OWNER] === desired.tags[TAG_OWNER];
    });
    const found = mine ?? pools[0];
    return found ? toObserved(found) : undefined;
  },

  async observeByIdentifier(ctx, identifier) {
    const pool = await describePool(ctx, identifier);
    return pool ? toObserved(pool) : undefined;
  },

  diff: diffProps(),

  async create(ctx, desired) {
    const out = await ctx.aws.cognito.send(
      new CreateUserPoolCommand({
        PoolName: desired.props.name,
        UserPoolTags: { ...desired.tags },
        // Invite-only: users are created by Slipway from the Environment's invite list, never by sign-up.
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
        UsernameConfiguration: { CaseSensitive: false },
        AutoVerifiedAttributes: ['email'],
      }),
    );
    ctx.invalidate('cognito:pools');
    if (!out.UserPool) throw new Error(`CreateUserPool ${desired.props.name} returned no pool`);
    return toObserved(out.UserPool, out.UserPool.UserPoolTags ?? desired.tags);
  },

  async update(_ctx, desired, observed, changes) {
    // The name is the identity: a pool found by it cannot differ in it. Nothing else is managed.
    if (changes.length > 0)
      throw new Error(
        `cognito.UserPool ${desired.props.name}: ${changes.map((c) => c.path).join(', ')} cannot be changed in place`,
      );
    return observed;
  },

  async delete(ctx, observed) {
    await unlessNotFound(() =>
      ctx.aws.cognito.send(
        new DeleteUserPoolCommand({ UserPoolId: observed.attrs.id ?? poolIdOf(observed.identifier) }),
      ),
    );
    ctx.invalidate('cognito:pool');
  },

  tagging: 'tags',

  async setTags(ctx, observed, set, remove) {
    const ResourceArn = observed.attrs.arn || observed.identifier;
    await writeTags(
      {
        add: (tags) => ctx.aws.cognito.send(new TagResourceCommand({ ResourceArn, Tags: { ...tags } })),
        remove: (keys) => ctx.aws.cognito.send(new UntagResourceCommand({ ResourceArn, TagKeys: [...keys] })),
      },
      set,
      remove,
      // The memoised DescribeUserPool carries the tags (and the domain, client and user reconcilers derive theirs).
      () => ctx.invalidate(`cognito:pool:${poolIdOf(observed.identifier)}`),
    );
  },
};
