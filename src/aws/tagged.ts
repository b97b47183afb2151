// Everything that carries a set of tags, in one paginated read per region: the Resource Groups Tagging API. The
// ownership tags make it the cheap way to find what an owner (or a whole Environment) has in AWS without listing
// each kind and reading its tags. It covers ECS, ELBv2 load balancers and target groups, CloudWatch Logs, EC2 and
// Cognito user pools; CloudFront is global, so its distributions are found through us-east-1. Route53 records,
// Cognito app clients and Application Auto Scaling carry no tags of their own and are found otherwise.
import { paginateGetResources, type TagFilter } from '@aws-sdk/client-resource-groups-tagging-api';
import type { AwsClients } from './clients.js';

export interface TaggedResource {
  readonly arn: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** Resources in the clients' region (and CloudFront's, when `global`) whose tags match every filter. */
export async function findTagged(
  aws: AwsClients,
  filters: Readonly<Record<string, string>>,
  opts: { readonly global?: boolean } = {},
): Promise<TaggedResource[]> {
  const TagFilters: TagFilter[] = Object.entries(filters).map(([Key, value]) => ({ Key, Values: [value] }));
  const out: TaggedResource[] = [];
  const read = async (client: AwsClients['tagging'], types?: string[]) => {
    const input = { TagFilters, ResourcesPerPage: 100, ...(types ? { ResourceTypeFilters: types } : {}) };
    for await (const page of paginateGetResources({ client }, input)) {
      for (const r of page.ResourceTagMappingList ?? []) {
        if (!r.ResourceARN) continue;
        out.push({
          arn: r.ResourceARN,
          tags: Object.fromEntries((r.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
        });
      }
    }
  };
  await read(aws.tagging);
  if (opts.global && aws.region !== 'us-east-1') await read(aws.taggingGlobal, ['cloudfront:distribution']);
  return out;
}
