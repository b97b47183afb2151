// CloudTrail's event history: the last 90 days of an account and region's management events. It is on in every
// account, with no trail, no setup and no charge, so it tells a resync which resources someone changed without a
// read of each (a target group's attributes have no bulk read). LookupEvents filters by one attribute (here the
// event name), returns 50 events a page, newest first, and allows two requests a second per account and region.
// CloudTrail lists a call some minutes after it is made (about 5 on average; AWS promises no bound), so a reader
// looks back further than its last look (HISTORY_OVERLAP_MS).
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import type { AwsClients } from './clients.js';
import { tokenPages } from './pages.js';

/**
 * How far before the previous look a look reaches back: a call CloudTrail lists up to this late is still found. One
 * listed later than that is left to the reader's backstop (a full read in its turn).
 */
export const HISTORY_OVERLAP_MS = 20 * 60_000;

/** After a failed lookup (no permission, an emulator without the API), readers do without it for this long. */
export const HISTORY_RETRY_MS = 30 * 60_000;

/** LookupEvents' largest page. */
const PAGE_SIZE = 50;

/** When each account and region's history may be asked again after a failure, by the shared clients. */
const unavailableUntil = new WeakMap<AwsClients, number>();

export class EventHistoryUnavailable extends Error {
  override readonly name = 'EventHistoryUnavailable';
}

/**
 * The CloudTrail records (each the JSON of one event, as EventBridge delivers it in `detail`) of the calls named
 * `eventName` made since `since` (ms), in the clients' account and region. Fails with EventHistoryUnavailable for
 * HISTORY_RETRY_MS after a lookup failed, so that a reader without the permission pays one failed call, not one a
 * resync.
 */
export async function lookupEvents(aws: AwsClients, eventName: string, since: number): Promise<string[]> {
  const until = unavailableUntil.get(aws.root) ?? 0;
  if (Date.now() < until)
    throw new EventHistoryUnavailable(`CloudTrail's event history failed lately; asked again after ${until}`);
  const records: string[] = [];
  try {
    const pages = tokenPages((NextToken) =>
      aws.cloudtrail.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: eventName }],
          StartTime: new Date(since),
          MaxResults: PAGE_SIZE,
          ...(NextToken ? { NextToken } : {}),
        }),
      ),
    );
    for await (const page of pages)
      for (const event of page.Events ?? []) if (event.CloudTrailEvent) records.push(event.CloudTrailEvent);
  } catch (err) {
    // A pass's own deadline is not the history's failure.
    if (!aws.signal?.aborted) unavailableUntil.set(aws.root, Date.now() + HISTORY_RETRY_MS);
    throw err;
  }
  return records;
}
