// cognito.UserPoolClient: the app client an ALB authenticate-cognito action uses (a secret, the code flow, and the
// callback `https://<host>/oauth2/idpresponse` of every gated host). Identity = the client name within the pool
// (ListUserPoolClients once per pass per pool, then DescribeUserPoolClient).
//
// Ownership: app clients cannot be tagged. In a pool Slipway created, the client is ours iff the pool is (the
// pool's tags are returned). In an EXTERNAL pool (given by the Environment, without Slipway tags) a name rule is
// the registry: the client is ours iff its name is exactly the desired, deterministic name. A client of an
// external pool found only by identifier (no desired name to compare) is therefore never claimed, so it is kept
// rather than deleted when it leaves the plan.
//
// UpdateUserPoolClient is a FULL REPLACE on AWS: every field not sent is reset to its default. update therefore
// describes the client, carries over every field the update accepts, overlays only the managed fields
// (callback and logout URLs, and the OAuth settings below) and sends the whole client: mergeClientUpdate.
// Callback URLs compare as a set. A client takes at most 100 callback URLs (a fixed quota): beyond that create
// and update throw, naming the count.
//
// Identifier: `<userPoolId>/<clientId>`. Attrs: `id` (the ClientId), `name`.
import {
  CreateUserPoolClientCommand,
  DeleteUserPoolClientCommand,
  DescribeUserPoolClientCommand,
  UpdateUserPoolClientCommand,
  paginateListUserPoolClients,
  type OAuthFlowType,
  type UpdateUserPoolClientCommandInput,
  type UserPoolClientDescription,
  type UserPoolClientType,
} from '@aws-sdk/client-cognito-identity-provider';
import { isNotFound } from '../aws/errors.js';
import { advancingPages } from '../aws/pages.js';
import { TAG_CLUSTER, TAG_OWNER } from '../planner/naming.js';
import type { Resolved, UserPoolClientProps } from '../planner/plan.js';
import { takenAsPlanned, type Change, type KindReconciler, type Observed, type ReconcileContext } from './contract.js';
import { diffFields } from './diff.js';
import { describePool, isSlipwayPool, poolTags } from './user-pool.js';

type Props = Resolved<UserPoolClientProps>;

/** Cognito's fixed quota of callback URLs per app client. */
export const MAX_CALLBACK_URLS = 100;

/** The OAuth settings every Slipway app client has: managed on every update, and diffed as `oauth.*`. */
export interface ClientOAuth {
  readonly flows: readonly string[];
  readonly scopes: readonly string[];
  readonly userPoolClient: boolean;
  readonly identityProviders: readonly string[];
}

export const MANAGED_OAUTH: ClientOAuth = {
  flows: ['code'],
  scopes: ['openid', 'email'],
  userPoolClient: true,
  identityProviders: ['COGNITO'],
};

/** Observed props carry the OAuth settings too: managed, although constant and so not part of the desired props. */
export type ObservedClientProps = Props & { readonly oauth: ClientOAuth };

export const CLIENT_DIFF_OPTIONS = {
  unordered: ['callbackUrls', 'logoutUrls', 'oauth.flows', 'oauth.scopes', 'oauth.identityProviders'],
} as const;

/** Every field of a described client that UpdateUserPoolClient accepts (the rest is read-only). */
const UPDATABLE_FIELDS = [
  'ClientName',
  'RefreshTokenValidity',
  'AccessTokenValidity',
  'IdTokenValidity',
  'TokenValidityUnits',
  'ReadAttributes',
  'WriteAttributes',
  'ExplicitAuthFlows',
  'SupportedIdentityProviders',
  'CallbackURLs',
  'LogoutURLs',
  'DefaultRedirectURI',
  'AllowedOAuthFlows',
  'AllowedOAuthScopes',
  'AllowedOAuthFlowsUserPoolClient',
  'AnalyticsConfiguration',
  'PreventUserExistenceErrors',
  'EnableTokenRevocation',
  'EnablePropagateAdditionalUserContextData',
  'AuthSessionValidity',
  'RefreshTokenRotation',
] as const satisfies readonly (keyof UserPoolClientType & keyof UpdateUserPoolClientCommandInput)[];

export function checkCallbackCount(name: string, urls: readonly string[]): void {
  if (urls.length > MAX_CALLBACK_URLS) {
    throw new Error(
      `cognito.UserPoolClient ${name}: ${urls.length} callback URLs requested, but an app client takes at most ${MAX_CALLBACK_URLS}; ` +
        'gate fewer hosts through this client or give the Environment another app client',
    );
  }
}

/**
 * The full UpdateUserPoolClient request: the described client's updatable fields, overlaid by the managed ones.
 * Pure. A DefaultRedirectURI that is no longer a callback URL is dropped (Cognito rejects it otherwise).
 */
export function mergeClientUpdate(described: UserPoolClientType, desired: Props): UpdateUserPoolClientCommandInput {
  const carried: Record<string, unknown> = {};
  for (const field of UPDATABLE_FIELDS) if (described[field] !== undefined) carried[field] = described[field];
  const callbackUrls = [...desired.callbackUrls].sort();
  const merged: UpdateUserPoolClientCommandInput = {
    ...(carried as Partial<UpdateUserPoolClientCommandInput>),
    UserPoolId: described.UserPoolId ?? desired.userPoolId,
    ClientId: described.ClientId,
    CallbackURLs: callbackUrls,
    LogoutURLs: [...desired.logoutUrls].sort(),
    AllowedOAuthFlows: MANAGED_OAUTH.flows as OAuthFlowType[],
    AllowedOAuthScopes: [...MANAGED_OAUTH.scopes],
    AllowedOAuthFlowsUserPoolClient: MANAGED_OAUTH.userPoolClient,
    SupportedIdentityProviders: [...MANAGED_OAUTH.identityProviders],
  };
  if (merged.DefaultRedirectURI && !callbackUrls.includes(merged.DefaultRedirectURI)) delete merged.DefaultRedirectURI;
  return merged;
}

/**
 * Derived ownership: the pool's tags for a Slipway pool; in an external pool, the desired owner's tags when the
 * name is exactly the desired one (the name rule); otherwise none.
 */
export function clientOwnerTags(
  pool: Readonly<Record<string, string>>,
  clientName: string,
  desired?: { readonly name: string; readonly tags: Readonly<Record<string, string>> },
): Record<string, string> {
  if (TAG_CLUSTER in pool || TAG_OWNER in pool) return { ...pool };
  if (desired && clientName === desired.name && desired.tags[TAG_CLUSTER] && desired.tags[TAG_OWNER]) {
    return { [TAG_CLUSTER]: desired.tags[TAG_CLUSTER], [TAG_OWNER]: desired.tags[TAG_OWNER] };
  }
  return {};
}

export function observedClientProps(c: UserPoolClientType): ObservedClientProps {
  return {
    userPoolId: c.UserPoolId ?? '',
    name: c.ClientName ?? '',
    callbackUrls: [...(c.CallbackURLs ?? [])].sort(),
    logoutUrls: [...(c.LogoutURLs ?? [])].sort(),
    oauth: {
      flows: [...(c.AllowedOAuthFlows ?? [])],
      scopes: [...(c.AllowedOAuthScopes ?? [])],
      userPoolClient: c.AllowedOAuthFlowsUserPoolClient ?? false,
      identityProviders: [...(c.SupportedIdentityProviders ?? [])],
    },
  };
}

function oauthOf(props: Props): ClientOAuth | undefined {
  return 'oauth' in props ? (props as ObservedClientProps).oauth : undefined;
}

export function diffClient(desired: Props, observed: Props): Change[] {
  return diffFields(
    { ...desired, oauth: MANAGED_OAUTH },
    { ...observed, oauth: oauthOf(observed) },
    CLIENT_DIFF_OPTIONS,
  );
}

function toObserved(c: UserPoolClientType, tags: Readonly<Record<string, string>>): Observed<'cognito.UserPoolClient'> {
  return {
    identifier: `${c.UserPoolId ?? ''}/${c.ClientId ?? ''}`,
    props: observedClientProps(c),
    tags,
    attrs: { id: c.ClientId ?? '', name: c.ClientName ?? '' },
  };
}

function listClients(ctx: ReconcileContext, poolId: string): Promise<readonly UserPoolClientDescription[]> {
  return ctx.memo(`cognito:clients:${poolId}`, async () => {
    const out: UserPoolClientDescription[] = [];
    const pages = paginateListUserPoolClients({ client: ctx.aws.cognito }, { UserPoolId: poolId, MaxResults: 60 });
    for await (const page of advancingPages(pages, (p) => p.NextToken, 'ListUserPoolClients')) {
      out.push(...(page.UserPoolClients ?? []));
    }
    return out;
  });
}

async function describeClient(
  ctx: ReconcileContext,
  poolId: string,
  clientId: string,
): Promise<UserPoolClientType | undefined> {
  try {
    return (await ctx.aws.cognito.send(new DescribeUserPoolClientCommand({ UserPoolId: poolId, ClientId: clientId })))
      .UserPoolClient;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function splitIdentifier(identifier: string): { poolId: string; clientId: string } | undefined {
  const i = identifier.lastIndexOf('/');
  return i > 0 ? { poolId: identifier.slice(0, i), clientId: identifier.slice(i + 1) } : undefined;
}

export const userPoolClient: KindReconciler<'cognito.UserPoolClient'> = {
  kind: 'cognito.UserPoolClient',

  // Read in its turn (ctx.readEach by its identifier, with drift events on: UpdateUserPoolClient and
  // DeleteUserPoolClient reconcile the Environment within seconds); otherwise the client the inventory records in the
  // pool is taken as planned, its ownership still the pool's (read once per pass for the pool itself).
  async observe(ctx, desired, recorded) {
    const { userPoolId, name } = desired.props;
    const pool = await describePool(ctx, userPoolId);
    if (!pool) return undefined;
    const id = recorded ? splitIdentifier(recorded) : undefined;
    // The client id is AWS's: the record is checked by the pool it names.
    if (recorded && id && takenAsPlanned(ctx, recorded, () => id.poolId === userPoolId, { each: recorded })) {
      return {
        identifier: recorded,
        props: { ...desired.props, oauth: MANAGED_OAUTH } as ObservedClientProps,
        tags: clientOwnerTags(poolTags(pool), name, { name, tags: desired.tags }),
        attrs: { id: id.clientId, name },
        assumed: true,
      };
    }
    const summary = (await listClients(ctx, userPoolId)).find((c) => c.ClientName === name && c.ClientId);
    const client = summary ? await describeClient(ctx, userPoolId, summary.ClientId!) : undefined;
    return client
      ? toObserved(client, clientOwnerTags(poolTags(pool), client.ClientName ?? '', { name, tags: desired.tags }))
      : undefined;
  },

  async observeByIdentifier(ctx, identifier) {
    const id = splitIdentifier(identifier);
    const pool = id ? await describePool(ctx, id.poolId) : undefined;
    const client = pool && id ? await describeClient(ctx, id.poolId, id.clientId) : undefined;
    return client ? toObserved(client, clientOwnerTags(poolTags(pool), client.ClientName ?? '')) : undefined;
  },

  diff: (desired, observed) => diffClient(desired.props, observed.props),

  async create(ctx, desired) {
    const p = desired.props;
    checkCallbackCount(p.name, p.callbackUrls);
    const out = await ctx.aws.cognito.send(
      new CreateUserPoolClientCommand({
        UserPoolId: p.userPoolId,
        ClientName: p.name,
        // ALB's authenticate-cognito needs a client secret and the authorization code flow.
        GenerateSecret: true,
        AllowedOAuthFlows: MANAGED_OAUTH.flows as OAuthFlowType[],
        AllowedOAuthScopes: [...MANAGED_OAUTH.scopes],
        AllowedOAuthFlowsUserPoolClient: MANAGED_OAUTH.userPoolClient,
        SupportedIdentityProviders: [...MANAGED_OAUTH.identityProviders],
        CallbackURLs: [...p.callbackUrls].sort(),
        LogoutURLs: [...p.logoutUrls].sort(),
      }),
    );
    ctx.invalidate(`cognito:clients:${p.userPoolId}`);
    if (!out.UserPoolClient) throw new Error(`CreateUserPoolClient ${p.name} returned no client`);
    const pool = await describePool(ctx, p.userPoolId);
    return toObserved(
      out.UserPoolClient,
      clientOwnerTags(poolTags(pool), p.name, { name: p.name, tags: desired.tags }),
    );
  },

  async update(ctx, desired, observed) {
    const p = desired.props;
    checkCallbackCount(p.name, p.callbackUrls);
    const clientId = observed.attrs.id ?? '';
    // Read-modify-write on the freshest state: a memoised read could drop a change made since.
    const described = await describeClient(ctx, observed.props.userPoolId, clientId);
    if (!described) throw new Error(`cognito.UserPoolClient ${p.name} (${clientId}) vanished before its update`);
    const out = await ctx.aws.cognito.send(new UpdateUserPoolClientCommand(mergeClientUpdate(described, p)));
    const updated = out.UserPoolClient ?? (await describeClient(ctx, observed.props.userPoolId, clientId));
    if (!updated) throw new Error(`cognito.UserPoolClient ${p.name} (${clientId}) vanished during its update`);
    return toObserved(updated, observed.tags);
  },

  async delete(ctx, observed) {
    try {
      await ctx.aws.cognito.send(
        new DeleteUserPoolClientCommand({ UserPoolId: observed.props.userPoolId, ClientId: observed.attrs.id ?? '' }),
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    ctx.invalidate(`cognito:clients:${observed.props.userPoolId}`);
  },

  tagging: 'derived',

  async setTags(ctx, observed) {
    const pool = await describePool(ctx, observed.props.userPoolId);
    if (isSlipwayPool(pool)) {
      throw new Error(
        `cognito.UserPoolClient ${observed.props.name} carries no tags: it belongs to whoever owns its user pool ${observed.props.userPoolId}; adopt the pool instead`,
      );
    }
    // In an external pool the exact name is the ownership record: nothing to write.
  },
};
