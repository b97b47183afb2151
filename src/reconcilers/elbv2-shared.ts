// Helpers the ELBv2 kinds share: tags (DescribeTags takes at most 20 ARNs per call), conversion between Slipway's
// `ListenerAction` and the SDK's `Action`, and an error a user must act on (replace a resource, pick a priority).
import {
  AddTagsCommand,
  DescribeTagsCommand,
  RemoveTagsCommand,
  type Action,
  type RedirectActionConfig,
  type Tag,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ListenerAction, Resolved } from '../planner/plan.js';
import { pooledStrings } from '../lib/string-pool.js';
import type { ReconcileContext } from './contract.js';
import type { TagApi } from './tags.js';
import { outcome, OutcomeError, TERMINAL } from '../outcome/outcome.js';

export type ResolvedAction = Resolved<ListenerAction>;

/** DescribeTags accepts at most this many resource ARNs per call. */
export const DESCRIBE_TAGS_BATCH = 20;
/**
 * Tags sent per AddTags call. ELB once allowed 10 tags per resource (AWS now allows 50) and emulators such as moto
 * still refuse new keys past 10, so writes go out in batches of 10.
 */
export const ADD_TAGS_BATCH = 10;

/**
 * An error retrying cannot fix: the user must change the spec or replace a resource. An Outcome (terminal) with
 * `reason` naming the condition, so PriorityInUse or RuleQuotaExceeded surface as themselves.
 */
export class UserActionRequired extends OutcomeError {
  override readonly name = 'UserActionRequired';
  constructor(message: string, reason: string, options?: { readonly cause?: unknown }) {
    super(outcome(reason, message, TERMINAL), options);
  }
}

export function tagsToRecord(tags: readonly Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

export function recordToTags(tags: Readonly<Record<string, string>>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Tags of every ARN given, in batches of 20; ARNs without tags map to an empty record. */
export async function describeTags(
  ctx: ReconcileContext,
  arns: readonly string[],
): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>(arns.map((a) => [a, {}]));
  for (const batch of chunk([...new Set(arns)], DESCRIBE_TAGS_BATCH)) {
    const res = await ctx.aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: batch }));
    for (const d of res.TagDescriptions ?? []) if (d.ResourceArn) out.set(d.ResourceArn, tagsToRecord(d.Tags));
  }
  // A wave keeps the tags of every rule it read: their keys and most values repeat (the cluster, the shard).
  return pooledStrings(out);
}

export async function tagsOf(ctx: ReconcileContext, arn: string): Promise<Record<string, string>> {
  return (await describeTags(ctx, [arn])).get(arn) ?? {};
}

/** Adds or overwrites `tags` on one resource, 10 per AddTags call; nothing is sent when `tags` is empty. */
export async function addTags(
  ctx: ReconcileContext,
  arn: string,
  tags: Readonly<Record<string, string>>,
): Promise<void> {
  for (const batch of chunk(recordToTags(tags), ADD_TAGS_BATCH)) {
    await ctx.aws.elbv2.send(new AddTagsCommand({ ResourceArns: [arn], Tags: batch }));
  }
}

/** Removes the tag `keys` from one resource (absent keys are no error); nothing is sent when `keys` is empty. */
export async function removeTags(ctx: ReconcileContext, arn: string, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await ctx.aws.elbv2.send(new RemoveTagsCommand({ ResourceArns: [arn], TagKeys: [...keys] }));
}

/** AddTags (in batches) and RemoveTags on one ELBv2 resource, for writeTags. */
export function elbv2TagApi(ctx: ReconcileContext, arn: string): TagApi {
  return { add: (tags) => addTags(ctx, arn, tags), remove: (keys) => removeTags(ctx, arn, keys) };
}

// ---- Actions ----

/** Cognito settings Slipway always sends; AWS applies the same when they are omitted. */
const COGNITO_ON_UNAUTHENTICATED = 'authenticate';
const COGNITO_SCOPE = 'openid';
/** redirect-https: keep host, path and query, switch to HTTPS on 443, permanently. */
const HTTPS_REDIRECT = {
  Protocol: 'HTTPS',
  Port: '443',
  Host: '#{host}',
  Path: '/#{path}',
  Query: '#{query}',
  StatusCode: 'HTTP_301',
} as const;

export function toSdkAction(action: ResolvedAction, order?: number): Action {
  const withOrder = order === undefined ? {} : { Order: order };
  switch (action.type) {
    case 'fixed-response':
      return {
        Type: 'fixed-response',
        ...withOrder,
        FixedResponseConfig: {
          StatusCode: action.statusCode,
          ContentType: action.contentType,
          MessageBody: action.messageBody,
        },
      };
    case 'redirect-https':
      return { Type: 'redirect', ...withOrder, RedirectConfig: { ...HTTPS_REDIRECT } };
    case 'forward':
      return { Type: 'forward', ...withOrder, TargetGroupArn: action.targetGroupArn };
    case 'authenticate-cognito':
      return {
        Type: 'authenticate-cognito',
        ...withOrder,
        AuthenticateCognitoConfig: {
          UserPoolArn: action.userPoolArn,
          UserPoolClientId: action.userPoolClientId,
          UserPoolDomain: action.userPoolDomain,
          SessionTimeout: action.sessionTimeoutSeconds,
          OnUnauthenticatedRequest: COGNITO_ON_UNAUTHENTICATED,
          Scope: COGNITO_SCOPE,
        },
      };
  }
}

/** Actions in the order the listener runs them, numbered from 1. */
export function toSdkActions(actions: readonly ResolvedAction[]): Action[] {
  return actions.map((a, i) => toSdkAction(a, i + 1));
}

/**
 * An action Slipway cannot express (authenticate-oidc, a weighted forward, another redirect) keeps a readable
 * description in `type`, so a diff against the desired action shows what is really there instead of hiding it.
 */
function unexpressible(description: string): ResolvedAction {
  return { type: description } as unknown as ResolvedAction;
}

export function fromSdkAction(a: Action): ResolvedAction {
  switch (a.Type) {
    case 'fixed-response': {
      const c = a.FixedResponseConfig;
      return {
        type: 'fixed-response',
        statusCode: c?.StatusCode ?? '',
        contentType: c?.ContentType ?? '',
        messageBody: c?.MessageBody ?? '',
      };
    }
    case 'redirect': {
      const c: RedirectActionConfig = a.RedirectConfig ?? { StatusCode: undefined };
      // AWS fills omitted host, path and query with the `#{...}` placeholders; treat absence the same way.
      const same =
        c.Protocol === HTTPS_REDIRECT.Protocol &&
        c.StatusCode === HTTPS_REDIRECT.StatusCode &&
        (c.Port ?? HTTPS_REDIRECT.Port) === HTTPS_REDIRECT.Port &&
        (c.Host ?? HTTPS_REDIRECT.Host) === HTTPS_REDIRECT.Host &&
        (c.Path ?? HTTPS_REDIRECT.Path) === HTTPS_REDIRECT.Path &&
        (c.Query ?? HTTPS_REDIRECT.Query) === HTTPS_REDIRECT.Query;
      return same
        ? { type: 'redirect-https' }
        : unexpressible(
            `redirect (${c.Protocol ?? '#{protocol}'}://${c.Host ?? '#{host}'}:${c.Port ?? '#{port}'}${c.Path ?? '/#{path}'}, ${c.StatusCode ?? '?'})`,
          );
    }
    case 'forward': {
      const groups = a.ForwardConfig?.TargetGroups ?? [];
      const arn = a.TargetGroupArn ?? (groups.length === 1 ? groups[0]?.TargetGroupArn : undefined);
      return arn
        ? { type: 'forward', targetGroupArn: arn }
        : unexpressible(`forward (weighted across ${groups.length} target groups)`);
    }
    case 'authenticate-cognito': {
      const c = a.AuthenticateCognitoConfig;
      const onUnauth = c?.OnUnauthenticatedRequest ?? COGNITO_ON_UNAUTHENTICATED;
      const scope = c?.Scope ?? COGNITO_SCOPE;
      if (onUnauth !== COGNITO_ON_UNAUTHENTICATED || scope !== COGNITO_SCOPE) {
        return unexpressible(`authenticate-cognito (onUnauthenticatedRequest=${onUnauth}, scope=${scope})`);
      }
      return {
        type: 'authenticate-cognito',
        userPoolArn: c?.UserPoolArn ?? '',
        userPoolClientId: c?.UserPoolClientId ?? '',
        userPoolDomain: c?.UserPoolDomain ?? '',
        // AWS's default session timeout is 7 days.
        sessionTimeoutSeconds: c?.SessionTimeout ?? 604800,
      };
    }
    default:
      return unexpressible(a.Type ?? 'unknown');
  }
}

/** SDK actions sorted by `Order` (absent last, as AWS evaluates them), converted. */
export function fromSdkActions(actions: readonly Action[] | undefined): ResolvedAction[] {
  return [...(actions ?? [])]
    .map((a, i) => ({ a, key: a.Order ?? 50001 + i }))
    .sort((x, y) => x.key - y.key)
    .map(({ a }) => fromSdkAction(a));
}

/** A listener's default action is a single action; a chain of several is shown by its types. */
export function fromSdkDefaultActions(actions: readonly Action[] | undefined): ResolvedAction {
  const converted = fromSdkActions(actions);
  if (converted.length === 1) return converted[0]!;
  return unexpressible(converted.length === 0 ? '(none)' : converted.map((a) => a.type).join(' + '));
}
