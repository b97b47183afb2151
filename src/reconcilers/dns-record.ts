// route53.Record: an alias A record `name` → props.alias, plus a companion TXT record at the same name holding
// `"<ownerValue>"`. Route53 records carry no tags: the TXT record is the ownership registry (external-dns's idea),
// and observe synthesises the ownership tags from it. An A or CNAME at the name without our TXT value comes back
// with empty tags, so the applier reports a conflict and leaves it alone.
//
// Identifier: `<zoneId>/<name>/A`. Attrs: `name` (the record's name, without the trailing dot).
//
// Reads: the records at the record's name, by one lookup from that name (`route53:records:<zoneId>:name:<name>`); in a
// resync wave, the zone's whole listing (`route53:records:<zoneId>`), shared by the wave's members. With drift events
// on, a wave reads the zone only in its turn (listingRead): in the others a member takes the record its inventory
// records as planned, and one with drift reported or that wrote looks up its name. Writes go through
// the zone's write queue (route53-zone-writer.ts), which merges concurrent changes.
// Names are normalised: lowercase, no trailing dot, `\052` read back as `*`. Changes are sent without the trailing
// dot (Route53 treats names as absolute either way). moto caveat: a CREATE over an existing record may duplicate
// it instead of failing, so create is only ever called after observe found nothing.
import {
  ListResourceRecordSetsCommand,
  type Change as R53Change,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { bareZoneId, zoneWriterFor } from '../aws/route53-zone-writer.js';
import { TAG_CLUSTER, TAG_OWNER } from '../planner/naming.js';
import type { Resolved, RecordProps } from '../planner/plan.js';
import { parseRecordOwnerValue, recordOwnerValue } from '../planner/record-owner.js';
import { pooledStrings } from '../lib/string-pool.js';
import {
  listingRead,
  newContext,
  takenAsPlanned,
  type Change,
  type Desired,
  type KindReconciler,
  type Observed,
  type ReconcileContext,
} from './contract.js';
import { diffFields } from './diff.js';

export { parseRecordOwnerValue, recordOwnerValue };

type Props = Resolved<RecordProps>;

/** TTL of the owner TXT record: it is read by us, not resolvers; long enough to be cheap. */
export const OWNER_TXT_TTL = 300;
/** A TXT character-string holds at most 255 characters; longer values are split into several strings. */
const TXT_STRING_MAX = 255;

export function normaliseRecordName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '').replace(/\\052/g, '*');
}

/** Alias targets compare case-insensitively and without the trailing dot Route53 appends. */
export function normaliseDnsName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

export function normaliseRecordProps(p: Props): Props {
  return {
    hostedZoneId: bareZoneId(p.hostedZoneId),
    name: normaliseRecordName(p.name),
    alias: { dnsName: normaliseDnsName(p.alias.dnsName), hostedZoneId: bareZoneId(p.alias.hostedZoneId) },
    ownerValue: p.ownerValue,
  };
}

/** The TXT record value for an owner value: quoted, split into 255-character strings, quotes escaped. */
export function ownerTxtValue(ownerValue: string): string {
  const escaped = ownerValue.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const parts: string[] = [];
  for (let i = 0; i < escaped.length || parts.length === 0; i += TXT_STRING_MAX)
    parts.push(`"${escaped.slice(i, i + TXT_STRING_MAX)}"`);
  return parts.join(' ');
}

/** The text of a TXT value as Route53 returns it: its quoted strings joined, escapes undone. */
export function parseTxtValue(value: string): string {
  const strings = [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
  return strings.length > 0 ? strings.join('') : value;
}

export function recordIdentifier(zoneId: string, name: string, type = 'A'): string {
  return `${bareZoneId(zoneId)}/${normaliseRecordName(name)}/${type}`;
}

export function parseRecordIdentifier(identifier: string): { zoneId: string; name: string } | undefined {
  const m = /^([^/]+)\/(.+)\/A$/.exec(identifier);
  return m ? { zoneId: m[1]!, name: normaliseRecordName(m[2]!) } : undefined;
}

/** The key of a zone's whole listing: shared by a wave's members (ctx.memo), and its turn in the rotation. */
const zoneKey = (id: string): string => `route53:records:${id}`;

async function zoneRecords(ctx: ReconcileContext, zoneId: string): Promise<readonly ResourceRecordSet[]> {
  const id = bareZoneId(zoneId);
  return ctx.memo(zoneKey(id), async (reads) => {
    const out: ResourceRecordSet[] = [];
    let start: {
      StartRecordName?: string;
      StartRecordType?: ResourceRecordSet['Type'];
      StartRecordIdentifier?: string;
    } = {};
    for (;;) {
      const page = await reads.aws.route53.send(
        new ListResourceRecordSetsCommand({ HostedZoneId: id, MaxItems: 300, ...start }),
      );
      out.push(...(page.ResourceRecordSets ?? []));
      // Shared by the wave's members: records repeat their types, alias targets and zone ids.
      if (!page.IsTruncated) return pooledStrings(out);
      start = {
        StartRecordName: page.NextRecordName,
        StartRecordType: page.NextRecordType,
        StartRecordIdentifier: page.NextRecordIdentifier,
      };
    }
  });
}

/**
 * The record sets at one name. In a resync wave, from the zone's listing the wave shares (a steady member of each
 * owner asks, so one listing of the zone serves them all). Otherwise by one lookup that starts at the name: Route53
 * lists a zone's records in order of name, so `StartRecordName` gives the records at the name first. A pass reads
 * one name, not the zone: at 4,000 records the zone is 14 pages, and a burst of new workloads, each writing its
 * record (which drops the shared copy), read it again and again. Kept like the zone's listing (the same prefix), so
 * a write to the zone drops it.
 */
async function recordsAtName(ctx: ReconcileContext, zoneId: string, name: string): Promise<AtName> {
  const id = bareZoneId(zoneId);
  if (ctx.waveMember?.() && listingRead(ctx, zoneKey(id)) === 'listing')
    return recordsAt(await zoneRecords(ctx, zoneId), name);
  const records = await ctx.memo(`route53:records:${id}:name:${name}`, async (reads) => {
    const out: ResourceRecordSet[] = [];
    let start: { StartRecordName: string; StartRecordType?: ResourceRecordSet['Type'] } = { StartRecordName: name };
    for (;;) {
      const page = await reads.aws.route53.send(
        new ListResourceRecordSetsCommand({ HostedZoneId: id, MaxItems: 10, ...start }),
      );
      const sets = page.ResourceRecordSets ?? [];
      out.push(...sets.filter((r) => normaliseRecordName(r.Name ?? '') === name));
      // Past the name (the next name's records follow), or the zone's end.
      const past = sets.some((r) => normaliseRecordName(r.Name ?? '') !== name);
      if (past || !page.IsTruncated || !page.NextRecordName || normaliseRecordName(page.NextRecordName) !== name)
        return out;
      start = { StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType };
    }
  });
  return recordsAt(records, name);
}

/**
 * The records at a name that a write rests on. A write sends the name's TXT set whole (UPSERT), or its A record's
 * exact values (DELETE): a wave's snapshot of the zone can be minutes old, and a TXT value someone added at the name
 * since (a site verification) would be dropped with it. A wave member reads the name afresh; any other pass's read
 * is its own, from moments ago.
 */
function atNameForWrite(ctx: ReconcileContext, zoneId: string, name: string): Promise<AtName> {
  return recordsAtName(ctx.waveMember?.() ? newContext(ctx.aws) : ctx, zoneId, name);
}

interface AtName {
  readonly a?: ResourceRecordSet;
  readonly cname?: ResourceRecordSet;
  readonly txt?: ResourceRecordSet;
}

function recordsAt(records: readonly ResourceRecordSet[], name: string): AtName {
  const here = records.filter((r) => normaliseRecordName(r.Name ?? '') === name);
  const a = here.find((r) => r.Type === 'A' && !r.SetIdentifier) ?? here.find((r) => r.Type === 'A');
  const cname = here.find((r) => r.Type === 'CNAME');
  const txt = here.find((r) => r.Type === 'TXT' && !r.SetIdentifier);
  return { ...(a ? { a } : {}), ...(cname ? { cname } : {}), ...(txt ? { txt } : {}) };
}

function txtTexts(txt: ResourceRecordSet | undefined): string[] {
  return (txt?.ResourceRecords ?? []).map((r) => parseTxtValue(r.Value ?? ''));
}

/** The Slipway owner value found in the TXT record: the desired one if present, else any other owner's. */
function ownerValueIn(txt: ResourceRecordSet | undefined, preferred?: string): string | undefined {
  const texts = txtTexts(txt).filter((t) => parseRecordOwnerValue(t) !== undefined);
  return texts.find((t) => t === preferred) ?? texts[0];
}

function tagsOf(ownerValue: string | undefined): Record<string, string> {
  const parsed = ownerValue ? parseRecordOwnerValue(ownerValue) : undefined;
  return parsed ? { [TAG_CLUSTER]: parsed[TAG_CLUSTER]!, [TAG_OWNER]: parsed[TAG_OWNER]! } : {};
}

function observedAt(
  zoneId: string,
  name: string,
  at: AtName,
  preferredOwner?: string,
): Observed<'route53.Record'> | undefined {
  const target = at.a ?? at.cname;
  if (!target) return undefined;
  const ownerValue = ownerValueIn(at.txt, preferredOwner);
  const dnsName = at.a
    ? (at.a.AliasTarget?.DNSName ?? at.a.ResourceRecords?.[0]?.Value ?? '')
    : (at.cname?.ResourceRecords?.[0]?.Value ?? '');
  return {
    identifier: recordIdentifier(zoneId, name, at.a ? 'A' : 'CNAME'),
    props: {
      hostedZoneId: bareZoneId(zoneId),
      name,
      alias: { dnsName: normaliseDnsName(dnsName), hostedZoneId: bareZoneId(at.a?.AliasTarget?.HostedZoneId ?? '') },
      ownerValue: ownerValue ?? '',
    },
    // A CNAME is never ours (we only write alias A records), whatever TXT sits beside it.
    tags: at.a ? tagsOf(ownerValue) : {},
    attrs: { name },
  };
}

function aliasRecord(p: Props): ResourceRecordSet {
  return {
    Name: p.name,
    Type: 'A',
    AliasTarget: { DNSName: p.alias.dnsName, HostedZoneId: p.alias.hostedZoneId, EvaluateTargetHealth: false },
  };
}

function txtRecord(name: string, texts: readonly string[], ttl = OWNER_TXT_TTL): ResourceRecordSet {
  return { Name: name, Type: 'TXT', TTL: ttl, ResourceRecords: texts.map((t) => ({ Value: ownerTxtValue(t) })) };
}

/** The change that puts `add` into the TXT record at `name` and takes `remove` out, keeping foreign values. */
function txtChange(
  name: string,
  existing: ResourceRecordSet | undefined,
  add: string | undefined,
  remove: string | undefined,
): R53Change | undefined {
  if (!existing) return add ? { Action: 'CREATE', ResourceRecordSet: txtRecord(name, [add]) } : undefined;
  const current = txtTexts(existing);
  const next = [...current.filter((t) => t !== remove && t !== add), ...(add ? [add] : [])];
  if (next.length === 0) return { Action: 'DELETE', ResourceRecordSet: existing };
  if (next.length === current.length && next.every((t) => current.includes(t))) return undefined;
  // Values we do not own are sent back exactly as read.
  const byText = new Map(current.map((t, i) => [t, existing.ResourceRecords![i]!]));
  return {
    Action: 'UPSERT',
    ResourceRecordSet: {
      Name: name,
      Type: 'TXT',
      TTL: existing.TTL ?? OWNER_TXT_TTL,
      ResourceRecords: next.map((t) => byText.get(t) ?? { Value: ownerTxtValue(t) }),
    },
  };
}

async function write(
  ctx: ReconcileContext,
  zoneId: string,
  changes: readonly (R53Change | undefined)[],
): Promise<void> {
  const real = changes.filter((c): c is R53Change => c !== undefined);
  try {
    await zoneWriterFor(ctx.aws).submit(zoneId, real);
  } finally {
    ctx.invalidate(`route53:records:${bareZoneId(zoneId)}`);
  }
}

function fromDesired(p: Props): Observed<'route53.Record'> {
  return {
    identifier: recordIdentifier(p.hostedZoneId, p.name),
    props: p,
    tags: tagsOf(p.ownerValue),
    attrs: { name: p.name },
  };
}

export const dnsRecord: KindReconciler<'route53.Record'> = {
  kind: 'route53.Record',

  async observe(ctx, desired, recorded) {
    const p = normaliseRecordProps(desired.props);
    // With drift events on, a wave reads the zone only in its turn: in the others the record the inventory records
    // is taken as planned (ChangeResourceRecordSets' drift event reports a change in between).
    if (takenAsPlanned(ctx, recorded, recordIdentifier(p.hostedZoneId, p.name), { listing: zoneKey(p.hostedZoneId) }))
      return { ...fromDesired(p), assumed: true };
    return observedAt(p.hostedZoneId, p.name, await recordsAtName(ctx, p.hostedZoneId, p.name), p.ownerValue);
  },

  async observeByIdentifier(ctx, identifier) {
    const id = parseRecordIdentifier(identifier);
    if (!id) return undefined;
    return observedAt(id.zoneId, id.name, await recordsAtName(ctx, id.zoneId, id.name));
  },

  diff(desired: Desired<'route53.Record'>, observed: Observed<'route53.Record'>): Change[] {
    return diffFields(normaliseRecordProps(desired.props), observed.props);
  },

  async create(ctx, desired) {
    const p = normaliseRecordProps(desired.props);
    if (!parseRecordOwnerValue(p.ownerValue))
      throw new Error(
        `route53.Record ${p.name}: ownerValue ${JSON.stringify(p.ownerValue)} is not a Slipway owner value`,
      );
    // A TXT record may already sit at the name (a site verification, or ours left behind): keep its other values.
    const at = await atNameForWrite(ctx, p.hostedZoneId, p.name);
    // UPSERT, not CREATE: observe has just found no A record here, and an UPSERT cannot fail on a record that a
    // stale read missed (or that the emulator's journal still remembers after an out-of-band delete).
    await write(ctx, p.hostedZoneId, [
      { Action: 'UPSERT', ResourceRecordSet: aliasRecord(p) },
      txtChange(p.name, at.txt, p.ownerValue, undefined),
    ]);
    return fromDesired(p);
  },

  async update(ctx, desired, observed) {
    const p = normaliseRecordProps(desired.props);
    const at = await atNameForWrite(ctx, p.hostedZoneId, p.name);
    const owner =
      p.ownerValue !== observed.props.ownerValue
        ? txtChange(p.name, at.txt, p.ownerValue, observed.props.ownerValue)
        : undefined;
    await write(ctx, p.hostedZoneId, [{ Action: 'UPSERT', ResourceRecordSet: aliasRecord(p) }, owner]);
    return fromDesired(p);
  },

  async delete(ctx, observed) {
    const { hostedZoneId, name, ownerValue } = observed.props;
    const at = await atNameForWrite(ctx, hostedZoneId, name);
    // Route53 deletes a record set only when given its exact current values: send them back as read.
    await write(ctx, hostedZoneId, [
      at.a ? { Action: 'DELETE', ResourceRecordSet: at.a } : undefined,
      txtChange(name, at.txt, undefined, ownerValue),
    ]);
  },

  tagging: 'derived',

  // Adoption writes the owner TXT record (the ownership registry); `remove` has no meaning for a record.
  async setTags(ctx, observed, tags) {
    const { hostedZoneId, name } = observed.props;
    if (!observed.identifier.endsWith('/A'))
      throw new Error(`route53.Record ${name} is a CNAME; Slipway only manages alias A records and cannot adopt it`);
    const cluster = tags[TAG_CLUSTER];
    const owner = tags[TAG_OWNER];
    if (!cluster || !owner)
      throw new Error(`route53.Record ${name}: adopting needs the ${TAG_CLUSTER} and ${TAG_OWNER} tags`);
    const at = await atNameForWrite(ctx, hostedZoneId, name);
    const previous = ownerValueIn(at.txt);
    await write(ctx, hostedZoneId, [txtChange(name, at.txt, recordOwnerValue(cluster, owner), previous)]);
  },
};

/** The zone's record sets, read once per pass and shared (discovery reads the ownership TXT records). */
export const zoneRecordSets = zoneRecords;
