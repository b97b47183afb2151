// Deterministic AWS names and the ownership tag scheme. AWS name limits are short (a target group name is 32
// characters), so long names become a readable prefix plus a hash of the full name: stable across restarts.
import { createHash } from 'node:crypto';
import type { Owner } from './plan.js';

export const TAG_CLUSTER = 'slipway.dev/cluster';
export const TAG_OWNER = 'slipway.dev/owner';
export const TAG_LOGICAL_ID = 'slipway.dev/logical-id';
export const TAG_MANAGED_BY = 'slipway.dev/managed-by';
export const TAG_PREVIEW = 'slipway.dev/preview';
/** `namespace/name` of the Environment a resource belongs to: scopes a sweep by tag to one Environment. */
export const TAG_ENVIRONMENT = 'slipway.dev/environment';

/** Application Auto Scaling's id of an ECS service's desired count; also the service's turn in a wave's rotation. */
export function ecsResourceId(clusterName: string, serviceName: string): string {
  return `service/${clusterName}/${serviceName}`;
}

export function hash(input: string, length = 8): string {
  return createHash('sha256').update(input).digest('hex').slice(0, length);
}

/** `Kind/namespace/name`: the value of the owner tag. */
export function ownerKey(owner: Owner): string {
  return `${owner.kind}/${owner.namespace}/${owner.name}`;
}

export function ownershipTags(owner: Owner, logicalId: string, environment?: string): Record<string, string> {
  return {
    [TAG_MANAGED_BY]: 'slipway',
    [TAG_CLUSTER]: owner.clusterId,
    [TAG_OWNER]: ownerKey(owner),
    [TAG_LOGICAL_ID]: logicalId,
    ...(environment ? { [TAG_ENVIRONMENT]: environment } : {}),
  };
}

/**
 * The one ownership rule: a resource belongs to exactly the owner its tags name, on the cluster they name. Every
 * write and delete Slipway makes to an existing resource is behind this check.
 */
export function ownedBy(tags: Readonly<Record<string, string>>, owner: Owner): boolean {
  return tags[TAG_CLUSTER] === owner.clusterId && tags[TAG_OWNER] === ownerKey(owner);
}

/**
 * A name of at most `max` characters from `parts`, using only [a-zA-Z0-9-]: the readable parts, truncated, then
 * a hash of the untruncated name so two long names never collide.
 */
export function boundedName(parts: readonly string[], max: number, allowed: RegExp = /[^a-zA-Z0-9-]/g): string {
  const full = parts.join('-').replace(allowed, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  if (full.length <= max) return full;
  const suffix = hash(full, 8);
  const head = full.slice(0, max - suffix.length - 1).replace(/-+$/, '');
  return `${head}-${suffix}`;
}
