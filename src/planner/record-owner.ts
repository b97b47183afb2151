// Route53 records carry no tags: a companion TXT record at the same name holds this value and marks the name
// as Slipway's (the registry idea external-dns uses).
import { TAG_CLUSTER, TAG_OWNER } from './naming.js';

export function recordOwnerValue(clusterId: string, ownerKey: string): string {
  return `heritage=slipway,${TAG_CLUSTER}=${clusterId},${TAG_OWNER}=${ownerKey}`;
}

/** The ownership tags a TXT value stands for, or undefined when it is not one of ours. */
export function parseRecordOwnerValue(value: string): Record<string, string> | undefined {
  const unquoted = value.replace(/^"|"$/g, '');
  if (!unquoted.startsWith('heritage=slipway,')) return undefined;
  const fields = Object.fromEntries(
    unquoted
      .split(',')
      .map((kv) => kv.split('=') as [string, string?])
      .filter((kv): kv is [string, string] => kv[1] !== undefined),
  );
  const cluster = fields[TAG_CLUSTER];
  const owner = fields[TAG_OWNER];
  return cluster && owner ? { [TAG_CLUSTER]: cluster, [TAG_OWNER]: owner } : undefined;
}
