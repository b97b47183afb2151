// CloudTrail's event history as the resync reads it: pages followed, a look that fails makes the next ones do without
// it for a while, and a look with more pages than it reads gives up without that. A stand-in client answers pages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LookupEventsCommand, LookupEventsCommandOutput } from '@aws-sdk/client-cloudtrail';
import type { AwsClients } from '../../../src/aws/clients.js';
import { EventHistoryUnavailable, HISTORY_MAX_PAGES, lookupEvents } from '../../../src/aws/event-history.js';

/** Clients of their own (the history's failures are kept per clients) whose LookupEvents answers `pages` in turn. */
function clients(pages: (Partial<LookupEventsCommandOutput> | Error)[]) {
  const inputs: LookupEventsCommand['input'][] = [];
  const root = {
    signal: undefined,
    cloudtrail: {
      send: async (command: LookupEventsCommand) => {
        inputs.push(command.input);
        const page = pages[Math.min(inputs.length - 1, pages.length - 1)]!;
        if (page instanceof Error) throw page;
        return page;
      },
    },
  } as unknown as AwsClients & { root: AwsClients };
  (root as { root: AwsClients }).root = root;
  return { aws: root, inputs };
}

const event = (n: number) => ({ CloudTrailEvent: JSON.stringify({ eventName: 'ModifyTargetGroupAttributes', n }) });

test('a look follows the pages from the time asked, by event name, and returns the records', async () => {
  const { aws, inputs } = clients([{ Events: [event(1), event(2)], NextToken: 't1' }, { Events: [event(3)] }]);
  const since = Date.UTC(2026, 10, 30, 6);
  const records = await lookupEvents(aws, 'ModifyTargetGroupAttributes', since);
  assert.deepEqual(
    records.map((r) => (r as { n: number }).n),
    [1, 2, 3],
  );
  assert.equal(inputs.length, 2);
  assert.deepEqual(inputs[0]!.LookupAttributes, [
    { AttributeKey: 'EventName', AttributeValue: 'ModifyTargetGroupAttributes' },
  ]);
  assert.equal(inputs[0]!.StartTime?.getTime(), since);
  assert.equal(inputs[0]!.MaxResults, 50);
  assert.equal(inputs[1]!.NextToken, 't1');
});

test('a failed look (refused, or a record that is not JSON) makes the next looks fail at once, without a call', async () => {
  const refused = clients([Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' })]);
  await assert.rejects(lookupEvents(refused.aws, 'ModifyTargetGroupAttributes', 0), { name: 'AccessDeniedException' });
  await assert.rejects(lookupEvents(refused.aws, 'ModifyTargetGroupAttributes', 0), EventHistoryUnavailable);
  assert.equal(refused.inputs.length, 1, 'not asked again');

  const garbled = clients([{ Events: [{ CloudTrailEvent: '<html>' }] }]);
  await assert.rejects(lookupEvents(garbled.aws, 'ModifyTargetGroupAttributes', 0), SyntaxError);
  await assert.rejects(lookupEvents(garbled.aws, 'ModifyTargetGroupAttributes', 0), EventHistoryUnavailable);
  assert.equal(garbled.inputs.length, 1);
});

test('a look with more pages than it reads gives up, and the next look asks again', async () => {
  let page = 0;
  const endless = clients(
    Array.from({ length: 3 * HISTORY_MAX_PAGES }, () => ({ Events: [event(page)], NextToken: `t${++page}` })),
  );
  await assert.rejects(lookupEvents(endless.aws, 'ModifyTargetGroupAttributes', 0), EventHistoryUnavailable);
  assert.equal(endless.inputs.length, HISTORY_MAX_PAGES);
  await assert.rejects(lookupEvents(endless.aws, 'ModifyTargetGroupAttributes', 0), EventHistoryUnavailable);
  assert.equal(
    endless.inputs.length,
    2 * HISTORY_MAX_PAGES,
    'asked again: too many calls is no failure of the history',
  );
});

test('a look whose token repeats fails, rather than read the same page for ever', async () => {
  const { aws } = clients([{ Events: [event(1)], NextToken: 'same' }]);
  await assert.rejects(lookupEvents(aws, 'ModifyTargetGroupAttributes', 0), { name: 'ListingDidNotAdvance' });
});
