// cloudfront.Distribution: a CDN in front of the Environment's ALB. Identity = the CallerReference.
//
// Finding it cheaply: ListDistributions (once per pass) does not return CallerReferences, and a distribution's
// CallerReference never changes, so the id → CallerReference mapping is learnt with GetDistributionConfig once
// per distribution and kept for the life of the process (per AwsClients). Distributions whose comment or aliases
// match the desired ones are looked at first; in the steady state a pass costs ListDistributions (shared) plus
// ListTagsForResource. Observed props come from the list's summary, which holds every managed field.
//
// Tags: given at creation (CreateDistributionWithTags), read with ListTagsForResource.
// Config: the ALB as a custom origin, HTTPS only with TLS 1.2; the default behaviour allows every method, uses the
// managed CachingDisabled cache policy and the AllViewer origin request policy (a dynamic origin: the Host header,
// cookies and query strings reach the ALB, whose rules route by host and whose Cognito gate needs cookies), and
// redirects viewers to HTTPS; the aliases with the ACM certificate (us-east-1) by SNI; the price class.
// UpdateDistribution is a FULL REPLACE: update reads the config (and its ETag), overlays only the managed fields
// (mergeDistributionUpdate) and sends the whole config back.
// Delete never blocks: it disables the distribution and throws RetryLater; once CloudFront reports the disabled
// distribution Deployed, the next attempt deletes it.
//
// Identifier: the distribution ARN (observeByIdentifier also takes the bare id).
// Attrs: `arn`, `id`, `domainName`, `hostedZoneId` (CloudFront's fixed alias zone, for Route53 alias records).
import {
  CreateDistributionWithTagsCommand,
  DeleteDistributionCommand,
  GetDistributionCommand,
  GetDistributionConfigCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateDistributionCommand,
  paginateListDistributions,
  type DefaultCacheBehavior,
  type Distribution,
  type DistributionConfig,
  type DistributionSummary,
  type Origin,
  type PriceClass,
} from '@aws-sdk/client-cloudfront';
import type { AwsClients } from '../aws/clients.js';
import { unlessNotFound } from '../aws/errors.js';
import { advancingPages } from '../aws/pages.js';
import type { DistributionProps, Resolved } from '../planner/plan.js';
import type { Change, KindReconciler, Observed, ReconcileContext } from './contract.js';
import { diffFields } from './diff.js';
import { RetryLater } from './retry-later.js';
import { writeTags } from './tags.js';

type Props = Resolved<DistributionProps>;

/** The hosted zone id of every CloudFront distribution, for Route53 alias records. */
export const CLOUDFRONT_HOSTED_ZONE_ID = 'Z2FDTNDATAQYW2';
export const ORIGIN_ID = 'slipway-alb';
/** AWS managed cache policy "Managed-CachingDisabled". */
export const CACHING_DISABLED_POLICY_ID = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
/** AWS managed origin request policy "Managed-AllViewer". */
export const ALL_VIEWER_ORIGIN_REQUEST_POLICY_ID = '216adef6-5c7f-47e4-b989-5492eafa07d3';
export const VIEWER_MIN_PROTOCOL = 'TLSv1.2_2021';
/** Seconds to wait before looking again at a distribution being disabled (CloudFront deploys in minutes). */
export const DISABLE_POLL_SECONDS = 60;

/** The settings every Slipway distribution has: managed on update and diffed as `managed.*`. */
export interface DistributionManaged {
  readonly enabled: boolean;
  readonly viewerProtocolPolicy: string;
  readonly originProtocolPolicy: string;
}

export const MANAGED_SETTINGS: DistributionManaged = {
  enabled: true,
  viewerProtocolPolicy: 'redirect-to-https',
  originProtocolPolicy: 'https-only',
};

export type ObservedDistributionProps = Props & { readonly managed: DistributionManaged };

export const DISTRIBUTION_DIFF_OPTIONS = { unordered: ['aliases'] } as const;

const ALL_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'POST', 'PATCH', 'DELETE'] as const;

function sortedAliases(aliases: readonly string[]): string[] {
  return [...new Set(aliases.map((a) => a.toLowerCase()))].sort();
}

function customOrigin(domainName: string): Origin {
  return {
    Id: ORIGIN_ID,
    DomainName: domainName,
    CustomOriginConfig: {
      HTTPPort: 80,
      HTTPSPort: 443,
      OriginProtocolPolicy: 'https-only',
      OriginSslProtocols: { Quantity: 1, Items: ['TLSv1.2'] },
      OriginReadTimeout: 30,
      OriginKeepaliveTimeout: 5,
    },
  };
}

function viewerCertificate(certificateArn: string): DistributionConfig['ViewerCertificate'] {
  return {
    ACMCertificateArn: certificateArn,
    SSLSupportMethod: 'sni-only',
    MinimumProtocolVersion: VIEWER_MIN_PROTOCOL,
  };
}

/** The config a new distribution is created with. Pure. */
export function buildDistributionConfig(p: Props): DistributionConfig {
  const aliases = sortedAliases(p.aliases);
  return {
    CallerReference: p.callerReference,
    Comment: p.comment,
    Enabled: true,
    Aliases: { Quantity: aliases.length, Items: aliases },
    Origins: { Quantity: 1, Items: [customOrigin(p.originDomainName)] },
    DefaultCacheBehavior: {
      TargetOriginId: ORIGIN_ID,
      ViewerProtocolPolicy: 'redirect-to-https',
      AllowedMethods: {
        Quantity: ALL_METHODS.length,
        Items: [...ALL_METHODS],
        CachedMethods: { Quantity: 2, Items: ['GET', 'HEAD'] },
      },
      CachePolicyId: CACHING_DISABLED_POLICY_ID,
      OriginRequestPolicyId: ALL_VIEWER_ORIGIN_REQUEST_POLICY_ID,
      Compress: true,
    },
    ViewerCertificate: viewerCertificate(p.certificateArn),
    PriceClass: p.priceClass as PriceClass,
    HttpVersion: 'http2',
    IsIPV6Enabled: true,
  };
}

/**
 * The full UpdateDistribution config: the described config with only the managed fields overlaid (comment,
 * aliases, certificate, price class, enabled, the default origin's domain and protocol, the viewer protocol).
 * Pure. Everything else (other origins and behaviours, logging, WAF, geo restrictions) is carried over.
 */
export function mergeDistributionUpdate(described: DistributionConfig, p: Props): DistributionConfig {
  const target = described.DefaultCacheBehavior?.TargetOriginId ?? ORIGIN_ID;
  const origins = (described.Origins?.Items ?? []).map((o): Origin => {
    if (o.Id !== target) return o;
    const { S3OriginConfig: _s3, ...rest } = o;
    const base = customOrigin(p.originDomainName).CustomOriginConfig!;
    return {
      ...rest,
      DomainName: p.originDomainName,
      CustomOriginConfig: {
        ...base,
        ...o.CustomOriginConfig,
        OriginProtocolPolicy: 'https-only',
        OriginSslProtocols: base.OriginSslProtocols,
      },
    };
  });
  const behaviour = {
    ...described.DefaultCacheBehavior!,
    TargetOriginId: target,
    ViewerProtocolPolicy: 'redirect-to-https' as const,
  };
  const aliases = sortedAliases(p.aliases);
  return {
    ...described,
    Comment: p.comment,
    Enabled: true,
    Aliases: { Quantity: aliases.length, Items: aliases },
    Origins: { Quantity: origins.length, Items: origins },
    DefaultCacheBehavior: withoutLegacyCaching(behaviour),
    ViewerCertificate: viewerCertificate(p.certificateArn),
    PriceClass: p.priceClass as PriceClass,
  };
}

/**
 * A cache policy excludes the legacy TTL and forwarding settings; AWS never returns both, but an emulator may
 * echo the legacy ones back, and sending both is rejected.
 */
export function withoutLegacyCaching(b: DefaultCacheBehavior): DefaultCacheBehavior {
  if (!b.CachePolicyId) return b;
  const { ForwardedValues: _f, MinTTL: _min, DefaultTTL: _def, MaxTTL: _max, ...rest } = b;
  return rest;
}

type ConfigView = Partial<
  Pick<
    DistributionSummary,
    'Aliases' | 'Origins' | 'DefaultCacheBehavior' | 'Comment' | 'PriceClass' | 'Enabled' | 'ViewerCertificate'
  >
>;

/** Observed props from a list summary or a config (both hold the managed fields). Pure. */
export function observedDistributionProps(v: ConfigView, callerReference: string): ObservedDistributionProps {
  const target = v.DefaultCacheBehavior?.TargetOriginId;
  const origin = v.Origins?.Items?.find((o) => o.Id === target);
  return {
    callerReference,
    comment: v.Comment ?? '',
    aliases: sortedAliases(v.Aliases?.Items ?? []),
    certificateArn: v.ViewerCertificate?.ACMCertificateArn ?? '',
    originDomainName: origin?.DomainName ?? '',
    priceClass: v.PriceClass ?? '',
    managed: {
      enabled: v.Enabled ?? false,
      viewerProtocolPolicy: v.DefaultCacheBehavior?.ViewerProtocolPolicy ?? '',
      originProtocolPolicy: origin?.CustomOriginConfig?.OriginProtocolPolicy ?? '',
    },
  };
}

function managedOf(props: Props): DistributionManaged | undefined {
  return 'managed' in props ? (props as ObservedDistributionProps).managed : undefined;
}

export function diffDistribution(desired: Props, observed: Props): Change[] {
  const d = { ...desired, aliases: sortedAliases(desired.aliases), managed: MANAGED_SETTINGS };
  return diffFields(d, { ...observed, managed: managedOf(observed) }, DISTRIBUTION_DIFF_OPTIONS);
}

/** CallerReference by distribution id: immutable, so learnt once per process and account. */
const callerReferences = new WeakMap<AwsClients, Map<string, string>>();

function knownReferences(aws: AwsClients): Map<string, string> {
  let m = callerReferences.get(aws);
  if (!m) {
    m = new Map();
    callerReferences.set(aws, m);
  }
  return m;
}

function listDistributions(ctx: ReconcileContext): Promise<readonly DistributionSummary[]> {
  return ctx.memo('cloudfront:distributions', async () => {
    const out: DistributionSummary[] = [];
    const pages = paginateListDistributions({ client: ctx.aws.cloudfront }, { MaxItems: 100 });
    for await (const page of advancingPages(pages, (p) => p.DistributionList?.NextMarker, 'ListDistributions'))
      out.push(...(page.DistributionList?.Items ?? []));
    return out;
  });
}

async function callerReferenceOf(ctx: ReconcileContext, id: string): Promise<string | undefined> {
  const known = knownReferences(ctx.aws);
  const hit = known.get(id);
  if (hit !== undefined) return hit;
  const config = await unlessNotFound(() => ctx.aws.cloudfront.send(new GetDistributionConfigCommand({ Id: id })));
  const ref = config?.DistributionConfig?.CallerReference;
  if (ref !== undefined) known.set(id, ref);
  return ref;
}

function readTags(ctx: ReconcileContext, arn: string): Promise<Record<string, string>> {
  return ctx.memo(`cloudfront:tags:${arn}`, async () => {
    const out = await ctx.aws.cloudfront.send(new ListTagsForResourceCommand({ Resource: arn }));
    return Object.fromEntries((out.Tags?.Items ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  });
}

function attrsOf(d: {
  readonly ARN?: string | undefined;
  readonly Id?: string | undefined;
  readonly DomainName?: string | undefined;
}): Record<string, string> {
  return { arn: d.ARN ?? '', id: d.Id ?? '', domainName: d.DomainName ?? '', hostedZoneId: CLOUDFRONT_HOSTED_ZONE_ID };
}

function fromDistribution(
  d: Distribution,
  tags: Readonly<Record<string, string>>,
): Observed<'cloudfront.Distribution'> {
  const config = d.DistributionConfig;
  if (!config) throw new Error(`CloudFront distribution ${d.Id ?? ''} came back without its config`);
  return {
    identifier: d.ARN ?? '',
    props: observedDistributionProps(config, config.CallerReference ?? ''),
    tags,
    attrs: attrsOf(d),
  };
}

function idOf(identifier: string): string {
  return identifier.slice(identifier.lastIndexOf('/') + 1);
}

async function getDistribution(
  ctx: ReconcileContext,
  id: string,
): Promise<{ distribution: Distribution; etag: string } | undefined> {
  const out = await unlessNotFound(() => ctx.aws.cloudfront.send(new GetDistributionCommand({ Id: id })));
  return out?.Distribution ? { distribution: out.Distribution, etag: out.ETag ?? '' } : undefined;
}

export const distribution: KindReconciler<'cloudfront.Distribution'> = {
  kind: 'cloudfront.Distribution',

  async observe(ctx, desired) {
    const p = desired.props;
    const wanted = new Set(sortedAliases(p.aliases));
    const likely = (s: DistributionSummary): boolean =>
      s.Comment === p.comment || (s.Aliases?.Items ?? []).some((a) => wanted.has(a.toLowerCase()));
    const all = await listDistributions(ctx);
    const ordered = [...all.filter(likely), ...all.filter((s) => !likely(s))];
    // Unknown CallerReferences are learnt a few at a time: only the first pass of a process scans them all.
    for (let i = 0; i < ordered.length; i += 5) {
      const chunk = ordered.slice(i, i + 5);
      const refs = await Promise.all(chunk.map((s) => (s.Id ? callerReferenceOf(ctx, s.Id) : undefined)));
      const found = chunk.find((_s, j) => refs[j] === p.callerReference);
      if (found?.ARN)
        return {
          identifier: found.ARN,
          props: observedDistributionProps(found, p.callerReference),
          tags: await readTags(ctx, found.ARN),
          attrs: attrsOf(found),
        };
    }
    return undefined;
  },

  async observeByIdentifier(ctx, identifier) {
    const got = await getDistribution(ctx, idOf(identifier));
    return got ? fromDistribution(got.distribution, await readTags(ctx, got.distribution.ARN ?? '')) : undefined;
  },

  diff: (desired, observed) => diffDistribution(desired.props, observed.props),

  async create(ctx, desired) {
    const out = await ctx.aws.cloudfront.send(
      new CreateDistributionWithTagsCommand({
        DistributionConfigWithTags: {
          DistributionConfig: buildDistributionConfig(desired.props),
          Tags: { Items: Object.entries(desired.tags).map(([Key, Value]) => ({ Key, Value })) },
        },
      }),
    );
    ctx.invalidate('cloudfront:distributions');
    if (!out.Distribution?.Id)
      throw new Error(`CreateDistributionWithTags ${desired.props.callerReference} returned no distribution`);
    knownReferences(ctx.aws).set(out.Distribution.Id, desired.props.callerReference);
    // The tags went in with the create call itself.
    return fromDistribution(out.Distribution, desired.tags);
  },

  async update(ctx, desired, observed) {
    const id = observed.attrs.id ?? idOf(observed.identifier);
    const current = await ctx.aws.cloudfront.send(new GetDistributionConfigCommand({ Id: id }));
    if (!current.DistributionConfig) throw new Error(`CloudFront distribution ${id} came back without its config`);
    const out = await ctx.aws.cloudfront.send(
      new UpdateDistributionCommand({
        Id: id,
        IfMatch: current.ETag,
        DistributionConfig: mergeDistributionUpdate(current.DistributionConfig, desired.props),
      }),
    );
    ctx.invalidate('cloudfront:distributions');
    if (!out.Distribution) throw new Error(`UpdateDistribution ${id} returned no distribution`);
    return fromDistribution(out.Distribution, observed.tags);
  },

  async delete(ctx, observed) {
    const id = observed.attrs.id ?? idOf(observed.identifier);
    const got = await getDistribution(ctx, id);
    if (!got) return;
    const { distribution: d, etag } = got;
    if (d.DistributionConfig?.Enabled) {
      const config = { ...d.DistributionConfig, Enabled: false };
      if (config.DefaultCacheBehavior) config.DefaultCacheBehavior = withoutLegacyCaching(config.DefaultCacheBehavior);
      await ctx.aws.cloudfront.send(
        new UpdateDistributionCommand({ Id: id, IfMatch: etag, DistributionConfig: config }),
      );
      ctx.invalidate('cloudfront:distributions');
      throw new RetryLater(
        `CloudFront distribution ${id} is being disabled; it can be deleted once CloudFront has deployed that`,
        DISABLE_POLL_SECONDS,
      );
    }
    if (d.Status !== 'Deployed') {
      throw new RetryLater(
        `CloudFront distribution ${id} is disabled but still deploying (${d.Status ?? 'unknown'}); deleting it when Deployed`,
        DISABLE_POLL_SECONDS,
      );
    }
    await unlessNotFound(() => ctx.aws.cloudfront.send(new DeleteDistributionCommand({ Id: id, IfMatch: etag })));
    knownReferences(ctx.aws).delete(id);
    ctx.invalidate('cloudfront:distributions');
  },

  tagging: 'tags',

  async setTags(ctx, observed, set, remove) {
    const Resource = observed.attrs.arn || observed.identifier;
    await writeTags(
      {
        add: (tags) =>
          ctx.aws.cloudfront.send(
            new TagResourceCommand({
              Resource,
              Tags: { Items: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
            }),
          ),
        remove: (keys) =>
          ctx.aws.cloudfront.send(new UntagResourceCommand({ Resource, TagKeys: { Items: [...keys] } })),
      },
      set,
      remove,
      () => ctx.invalidate(`cloudfront:tags:${Resource}`),
    );
  },
};
