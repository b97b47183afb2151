// CloudTrail's event history: the last 90 days of an account and region's management events. It is on in every
// account, with no trail, no setup and no charge, so it tells a resync which resources someone changed without a
// read of each (a target group's attributes have no bulk read). LookupEvents filters by one attribute (here the
// event name), returns 50 events a page, newest first, and allows two requests a second per account and region.
// CloudTrail lists a call some minutes after it is made (about 5 on average; AWS promises no bound), so a reader
// looks back further than its last look (HISTORY_OVERLAP_MS).
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import type { AwsClients } from './clients.js';
import { advancingPages, tokenPages } from './pages.js';

/**
 * How far before the last check a look reaches back: a call CloudTrail lists up to this late is still found. One
 * listed later than that is left to the reader's backstop (a full read in its turn).
 */
export const HISTORY_OVERLAP_MS = 20 * 60_000;

/** After a failed lookup (no permission, an emulator without the API), readers do without it for this long. */
export const HISTORY_RETRY_MS = 30 * 60_000;

/**
 * The most pages one look reads (5,000 calls, 50 s at two pages a second): more, and it gives up, so that a look in a
 * busy account never holds a wave's members near their 2-minute deadline. Its reader then reads what it would have
 * looked up. The operator's own calls are listed too: just after a cold start of 1,000 Services and 1,000 previews a
 * look read 40 pages, where reading every target group instead would cost 2,000 calls of ELBv2's describe budget.
 */
export const HISTORY_MAX_PAGES = 100;

/** LookupEvents' largest page. */
const PAGE_SIZE = 50;

/** When each account and region's history may be asked again after a failure, by the shared clients. */
const unavailableUntil = new WeakMap<AwsClients, number>();

/** The history cannot answer this look: failed lately, or more calls than a look reads. */
export class EventHistoryUnavailable extends Error {
  override readonly name = 'EventHistoryUnavailable';
}

/**
 * The CloudTrail records (each the parsed JSON of one event, the record EventBridge delivers as `detail`) of the calls
 * named `eventName` made since `since` (ms), in the clients' account and region. A lookup that fails (an error, or a
 * record that is not JSON) fails the looks of the next HISTORY_RETRY_MS with EventHistoryUnavailable, so that a reader
 * without the permission pays one failed call, not one a resync; more than HISTORY_MAX_PAGES pages fail this look
 * only.
 */
export async function lookupEvents(aws: AwsClients, eventName: string, since: number): Promise<object[]> {
  const until = unavailableUntil.get(aws.root) ?? 0;
  if (Date.now() < until)
    throw new EventHistoryUnavailable(`CloudTrail's event history failed lately; asked again after ${until}`);
  const records: object[] = [];
  let pages = 0;
  let more = false;
  try {
    const sent = tokenPages((NextToken) =>
      aws.cloudtrail.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: eventName }],
          StartTime: new Date(since),
          MaxResults: PAGE_SIZE,
          ...(NextToken ? { NextToken } : {}),
        }),
      ),
    );
    for await (const page of advancingPages(sent, (p) => p.NextToken, 'LookupEvents')) {
      for (const event of page.Events ?? []) {
        if (!event.CloudTrailEvent) continue;
        const record: unknown = JSON.parse(event.CloudTrailEvent);
        if (typeof record !== 'object' || record === null) throw new SyntaxError(`a ${eventName} record is no object`);
        records.push(record);
      }
      more = !!page.NextToken;
      if (++pages >= HISTORY_MAX_PAGES && more) break;
    }
  } catch (err) {
    // A pass's own deadline is not the history's failure.
    if (!aws.signal?.aborted) unavailableUntil.set(aws.root, Date.now() + HISTORY_RETRY_MS);
    throw err;
  }
  if (more) throw new EventHistoryUnavailable(`more than ${HISTORY_MAX_PAGES} pages of ${eventName} since ${since}`);
  return records;
}
