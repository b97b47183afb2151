// Writing tags, shared by every kind with real AWS tags. Each API spells its tag calls differently (ECS and Logs
// TagResource by ARN, EC2 CreateTags by id, ELBv2 AddTags in batches, Cognito and CloudFront by ARN with their own
// shapes), but the sequence is one: nothing is sent for an empty set or removal, additions and overwrites go before
// removals, and whatever memoised read holds the tags is dropped afterwards, even when a call failed half-way.
import type { Tag as EcsTag } from '@aws-sdk/client-ecs';
import { TagResourceCommand, UntagResourceCommand } from '@aws-sdk/client-ecs';
import type { ReconcileContext } from './contract.js';

/** One resource's tag calls in its API's own words. Neither is ever called with nothing to write. */
export interface TagApi {
  /** Adds `tags`, overwriting the values of keys already there. */
  add(tags: Readonly<Record<string, string>>): Promise<unknown>;
  /** Removes the tags with these keys. */
  remove(keys: readonly string[]): Promise<unknown>;
}

/**
 * A kind's setTags: adds or overwrites `set`, then removes `remove`, skipping a call with nothing in it; then runs
 * `dropMemo` (if given) whether or not the calls succeeded, since a failure may follow a write that went through.
 */
export async function writeTags(
  api: TagApi,
  set: Readonly<Record<string, string>>,
  remove: readonly string[],
  dropMemo?: () => void,
): Promise<void> {
  try {
    if (Object.keys(set).length > 0) await api.add(set);
    if (remove.length > 0) await api.remove(remove);
  } finally {
    dropMemo?.();
  }
}

// ---- ECS (clusters, services and task definitions share one tag API and its lower-case tag shape) ----

export function tagsFromEcs(tags: readonly EcsTag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.key ?? '', t.value ?? '']));
}

export function tagsToEcs(tags: Readonly<Record<string, string>>): EcsTag[] {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

/** TagResource and UntagResource on one ECS resource by ARN. */
export function ecsTagApi(ctx: ReconcileContext, resourceArn: string): TagApi {
  return {
    add: (tags) => ctx.aws.ecs.send(new TagResourceCommand({ resourceArn, tags: tagsToEcs(tags) })),
    remove: (keys) => ctx.aws.ecs.send(new UntagResourceCommand({ resourceArn, tagKeys: [...keys] })),
  };
}
