// Everything that carries a set of tags, in one paginated read per region: the Resource Groups Tagging API. The
// ownership tags make it the cheap way to find what an owner (or a whole Environment) has in AWS without listing
// each kind and reading its tags. It covers ECS, ELBv2 load balancers and target groups, CloudWatch Logs, EC2 and
// Cognito user pools; CloudFront is global, so its distributions are found through us-east-1. Route53 records,
// Cognito app clients and Application Auto Scaling carry no tags of their own and are found otherwise.
//
// A page holds at most 100 resources (ResourcesPerPage) and, sent beside it, 500 tags (TagsPerPage, the API's
// maximum): a page is bounded by resources, not by tags. An implementation that applies its default of 100 tags a
// page (the emulator does) would otherwise answer about 13 of our resources a page, at 7 or 8 tags each.
//
// A pagination token can be used once: when the answer to a later page is lost (the connection cut after AWS
// answered), the SDK's retry sends the same token again and AWS answers PaginationTokenExpiredException. The
// listing then starts again from the first page, which needs no token, a bounded number of times.
import { paginateGetResources, type TagFilter } from '@aws-sdk/client-resource-groups-tagging-api';
import type { AwsClients } from './clients.js';
import { errorName } from './errors.js';
import { advancingPages } from './pages.js';

export interface TaggedResource {
  readonly arn: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface FindTaggedOptions {
  /** Also list CloudFront's distributions, through us-east-1. */
  readonly global?: boolean;
  /** false: only CloudFront's, through us-east-1 (the caller has the region's already). Default true. */
  readonly regional?: boolean;
  /** Resources per page, 1–100. Default 100, the API's maximum. */
  readonly pageSize?: number;
}

/** Tags per page, sent with every listing: 500, the API's maximum (100–500). */
export const TAGS_PER_PAGE = 500;

/** How many times one listing starts again from the first page after its pagination token expired. */
export const TAGGED_LISTING_RESTARTS = 3;

/** Resources in the clients' region (and CloudFront's, when `global`) whose tags match every filter. */
export async function findTagged(
  aws: AwsClients,
  filters: Readonly<Record<string, string>>,
  opts: FindTaggedOptions = {},
): Promise<TaggedResource[]> {
  const TagFilters: TagFilter[] = Object.entries(filters).map(([Key, value]) => ({ Key, Values: [value] }));
  const listOnce = async (client: AwsClients['tagging'], types?: string[]): Promise<TaggedResource[]> => {
    const out: TaggedResource[] = [];
    const input = {
      TagFilters,
      ResourcesPerPage: opts.pageSize ?? 100,
      TagsPerPage: TAGS_PER_PAGE,
      ...(types ? { ResourceTypeFilters: types } : {}),
    };
    const listing = paginateGetResources({ client }, input);
    for await (const page of advancingPages(listing, (p) => p.PaginationToken, 'GetResources')) {
      for (const r of page.ResourceTagMappingList ?? []) {
        if (!r.ResourceARN) continue;
        out.push({
          arn: r.ResourceARN,
          tags: Object.fromEntries((r.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
        });
      }
    }
    return out;
  };
  const read = async (client: AwsClients['tagging'], types?: string[]): Promise<TaggedResource[]> => {
    for (let restarts = 0; ; restarts++) {
      try {
        return await listOnce(client, types);
      } catch (err) {
        // What was read before the token expired is thrown away: the listing is whole or not at all.
        if (errorName(err) !== 'PaginationTokenExpiredException' || restarts >= TAGGED_LISTING_RESTARTS) throw err;
      }
    }
  };
  const out = opts.regional === false ? [] : await read(aws.tagging);
  if (opts.global && aws.region !== 'us-east-1')
    out.push(...(await read(aws.taggingGlobal, ['cloudfront:distribution'])));
  return out;
}
