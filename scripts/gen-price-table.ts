// Regenerates src/cost/prices.ts, the price table cost estimates read, from the AWS Price List API (pricing
// GetProducts, served from us-east-1). A dev-time script: the operator never calls the Price List API.
//
//   npx tsx scripts/gen-price-table.ts                       # the regions already in the table
//   npx tsx scripts/gen-price-table.ts us-east-1 eu-south-2  # these regions (added to the table)
//
// It needs AWS credentials allowed `pricing:GetProducts` (any account). Each price is the on-demand price of the
// product named below, read from the PriceList JSON strings GetProducts returns; a product the API does not return
// for a region fails the run, naming the region and the product, rather than writing a guess.
import { GetProductsCommand, PricingClient, type Filter } from '@aws-sdk/client-pricing';
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { PRICE_TABLE } from '../src/cost/prices.js';
import type { PriceTable, RegionPrices } from '../src/cost/table.js';

/** One product of a GetProducts answer with its on-demand price dimensions. */
export interface Product {
  readonly productFamily?: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly prices: readonly PriceDimension[];
}

export interface PriceDimension {
  readonly unit: string;
  readonly usd: number;
  readonly beginRange: string;
  readonly description: string;
}

interface RawProduct {
  readonly product?: { readonly productFamily?: string; readonly attributes?: Record<string, string> };
  readonly terms?: {
    readonly OnDemand?: Record<
      string,
      {
        readonly priceDimensions?: Record<
          string,
          {
            readonly unit?: string;
            readonly pricePerUnit?: Record<string, string>;
            readonly beginRange?: string;
            readonly description?: string;
          }
        >;
      }
    >;
  };
}

/**
 * The products of one GetProducts page. PriceList is an array of JSON strings, one product each (the SDK types it
 * loosely, and older SDKs handed back parsed objects: both are accepted).
 */
export function parsePriceList(priceList: unknown): Product[] {
  if (priceList === undefined) return [];
  const items: unknown[] = Array.isArray(priceList) ? priceList : JSON.parse(String(priceList));
  return items.map((item) => {
    const raw = (typeof item === 'string' ? JSON.parse(item) : item) as RawProduct;
    const prices: PriceDimension[] = [];
    for (const term of Object.values(raw.terms?.OnDemand ?? {})) {
      for (const d of Object.values(term.priceDimensions ?? {})) {
        const usd = Number(d.pricePerUnit?.USD);
        if (!Number.isFinite(usd)) continue;
        prices.push({ unit: d.unit ?? '', usd, beginRange: d.beginRange ?? '0', description: d.description ?? '' });
      }
    }
    return {
      ...(raw.product?.productFamily ? { productFamily: raw.product.productFamily } : {}),
      attributes: raw.product?.attributes ?? {},
      prices,
    };
  });
}

/** A query for one price: a service, its Price List filters, and the usage type that names the product. */
export interface PriceQuery {
  readonly label: string;
  readonly serviceCode: string;
  readonly filters: readonly Filter[];
  /** Usage types carry a region prefix (USE1-, EUC1-, ...) except in some us-east-1 products: match the end. */
  readonly usageType: RegExp;
  /** Multiplies the price per unit (CloudFront requests are priced per request; the table holds per 10,000). */
  readonly scale?: number;
}

const term = (Field: string, Value: string): Filter => ({ Type: 'TERM_MATCH', Field, Value });

/** What each figure of a region's prices is, in the Price List's terms. */
export function regionQueries(region: string): Record<string, PriceQuery> {
  const r = term('regionCode', region);
  const fargate = (label: string, usage: RegExp): PriceQuery => ({
    label,
    serviceCode: 'AmazonECS',
    filters: [r, term('productFamily', 'Compute')],
    usageType: usage,
  });
  return {
    'fargate.X86_64.vcpuHour': fargate('Fargate x86 vCPU-hour', /(^|-)Fargate-vCPU-Hours:perCPU$/),
    'fargate.X86_64.gbHour': fargate('Fargate x86 GB-hour', /(^|-)Fargate-GB-Hours$/),
    'fargate.ARM64.vcpuHour': fargate('Fargate ARM vCPU-hour', /(^|-)Fargate-ARM-vCPU-Hours:perCPU$/),
    'fargate.ARM64.gbHour': fargate('Fargate ARM GB-hour', /(^|-)Fargate-ARM-GB-Hours$/),
    'loadBalancer.hour': {
      label: 'Application Load Balancer hour',
      serviceCode: 'AWSELB',
      filters: [r, term('productFamily', 'Load Balancer-Application')],
      usageType: /(^|-)LoadBalancerUsage$/,
    },
    'loadBalancer.lcuHour': {
      label: 'Application Load Balancer LCU-hour',
      serviceCode: 'AWSELB',
      filters: [r, term('productFamily', 'Load Balancer-Application')],
      usageType: /(^|-)LCUUsage$/,
    },
    'natGateway.hour': {
      label: 'NAT gateway hour',
      serviceCode: 'AmazonEC2',
      filters: [r, term('productFamily', 'NAT Gateway')],
      usageType: /(^|-)NatGateway-Hours$/,
    },
    'interfaceEndpoint.azHour': {
      label: 'interface VPC endpoint hour per AZ',
      serviceCode: 'AmazonVPC',
      filters: [r, term('productFamily', 'VpcEndpoint')],
      usageType: /(^|-)VpcEndpoint-Hours$/,
    },
    'logs.ingestedGb': {
      label: 'CloudWatch Logs ingestion per GB (standard class)',
      serviceCode: 'AmazonCloudWatch',
      filters: [r, term('productFamily', 'Data Payload')],
      usageType: /(^|-)DataProcessing-Bytes$/,
    },
  };
}

/** The prices that are not per region. */
export const GLOBAL_QUERIES: Record<string, PriceQuery> = {
  'cloudFront.transferOutGb': {
    label: 'CloudFront data transfer out to the internet, United States, first tier',
    serviceCode: 'AmazonCloudFront',
    filters: [term('fromLocation', 'United States'), term('productFamily', 'Data Transfer')],
    usageType: /^US-DataTransfer-Out-Bytes$/,
  },
  'cloudFront.httpsPer10k': {
    label: 'CloudFront HTTPS requests, United States, per 10,000',
    serviceCode: 'AmazonCloudFront',
    filters: [term('location', 'United States'), term('productFamily', 'Request')],
    usageType: /^US-Requests-Tier2-HTTPS$/,
    scale: 10_000,
  },
  'route53.hostedZoneMonth': {
    label: 'Route53 hosted zone per month, first 25',
    serviceCode: 'AmazonRoute53',
    filters: [term('productFamily', 'DNS Zone')],
    usageType: /(^|-)HostedZone$/,
  },
};

/**
 * The price a query names among the products returned: the product whose usage type matches, its first tier
 * (beginRange 0). Undefined when no product matches: the caller says which, and writes nothing.
 */
export function pickPrice(products: readonly Product[], query: PriceQuery): number | undefined {
  const matches = products.filter((p) => query.usageType.test(p.attributes.usagetype ?? ''));
  const dims = matches.flatMap((p) => p.prices).filter((d) => Number(d.beginRange) === 0);
  const first = dims.find((d) => d.usd > 0) ?? dims[0];
  if (!first) return undefined;
  // The Price List writes prices to ten decimals; the table keeps what AWS publishes (at most 8 significant).
  return Number(((first.usd * (query.scale ?? 1)) as number).toPrecision(8));
}

/** Sets `path` (dot-separated) in a nested record. */
function setPath(target: Record<string, unknown>, path: string, value: number): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys[keys.length - 1]!] = value;
}

/** The figures of a set of queries from a source of products; throws naming every figure it could not find. */
export async function resolvePrices(
  queries: Record<string, PriceQuery>,
  products: (query: PriceQuery) => Promise<readonly Product[]>,
  where: string,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const [path, query] of Object.entries(queries)) {
    const price = pickPrice(await products(query), query);
    if (price === undefined) missing.push(`${query.label} (${query.serviceCode}, usagetype ${query.usageType})`);
    else setPath(out, path, price);
  }
  if (missing.length > 0) throw new Error(`${where}: the Price List API returned no price for ${missing.join('; ')}`);
  return out;
}

/** The table as the TypeScript module src/cost/prices.ts. */
export async function renderTable(table: PriceTable): Promise<string> {
  const sorted = {
    ...table,
    regions: Object.fromEntries(Object.entries(table.regions).sort(([a], [b]) => a.localeCompare(b))),
  };
  const text = [
    '// The price table cost estimates read (src/cost/estimate.ts): on-demand USD list prices, with their date and',
    '// source. Regenerate it from the AWS Price List API with `npx tsx scripts/gen-price-table.ts [REGION...]`;',
    '// a region missing here gives its objects a CostEstimated=False condition (PriceUnknown), never a guess.',
    "import type { PriceTable } from './table.js';",
    '',
    `export const PRICE_TABLE: PriceTable = ${JSON.stringify(sorted, null, 2)};`,
    '',
  ].join('\n');
  const config = await resolveConfig(TABLE_PATH);
  return format(text, { ...config, filepath: TABLE_PATH });
}

const TABLE_PATH = fileURLToPath(new URL('../src/cost/prices.ts', import.meta.url));

/** Every product of a query, page by page, from the Price List API (one listing per service and filters). */
export function apiProducts(client: Pick<PricingClient, 'send'>) {
  const cache = new Map<string, Promise<Product[]>>();
  return (query: PriceQuery): Promise<Product[]> => {
    const key = JSON.stringify([query.serviceCode, query.filters]);
    let found = cache.get(key);
    if (!found) {
      found = (async () => {
        const out: Product[] = [];
        let NextToken: string | undefined;
        do {
          const page = await client.send(
            new GetProductsCommand({
              ServiceCode: query.serviceCode,
              Filters: [...query.filters],
              FormatVersion: 'aws_v1',
              MaxResults: 100,
              ...(NextToken ? { NextToken } : {}),
            }),
          );
          out.push(...parsePriceList(page.PriceList));
          NextToken = page.NextToken;
        } while (NextToken);
        return out;
      })();
      cache.set(key, found);
    }
    return found;
  };
}

async function main(args: readonly string[]): Promise<void> {
  const regions =
    args.length > 0 ? [...new Set([...Object.keys(PRICE_TABLE.regions), ...args])] : Object.keys(PRICE_TABLE.regions);
  // The Price List API answers in us-east-1 (and a few others); every region's prices are read from there.
  const client = new PricingClient({ region: 'us-east-1' });
  const products = apiProducts(client);
  const table: Record<string, unknown> = {
    date: new Date().toISOString().slice(0, 10),
    source:
      'AWS Price List API (pricing GetProducts, on-demand terms), read by scripts/gen-price-table.ts; CloudFront at ' +
      'its United States edge prices',
    currency: 'USD',
    regions: {},
    ...(await resolvePrices(GLOBAL_QUERIES, products, 'global prices')),
  };
  for (const region of regions) {
    (table.regions as Record<string, RegionPrices>)[region] = (await resolvePrices(
      regionQueries(region),
      products,
      region,
    )) as unknown as RegionPrices;
  }
  client.destroy();
  writeFileSync(TABLE_PATH, await renderTable(table as unknown as PriceTable));
  console.log(`wrote ${TABLE_PATH}: ${regions.length} regions, prices of ${String(table.date)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
