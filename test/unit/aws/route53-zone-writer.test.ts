// The zone writer and a pass's abort signal: a request is rejected when its pass is aborted (dropped if still
// waiting, left to the batch if in flight), and every pass's view of one account shares one queue per zone.
// (Batching, limits and serialisation: test/unit/reconcilers/dns-cognito-cdn.test.ts.)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Change, ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { AwsClients } from '../../../src/aws/clients.js';
import { Route53ZoneWriter, zoneWriterFor } from '../../../src/aws/route53-zone-writer.js';

function txt(name: string): Change {
  return {
    Action: 'CREATE',
    ResourceRecordSet: { Name: name, Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: '"x"' }] },
  };
}

function names(changes: readonly Change[]): string[] {
  return changes.map((c) => c.ResourceRecordSet?.Name ?? '');
}

/** A promise with its resolve function, to hold a send in flight until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

const isAbort = (err: Error) => err.name === 'AbortError';

test('a request aborted while waiting for its batch is dropped; the others are sent', async () => {
  const sent: string[][] = [];
  const w = new Route53ZoneWriter(async (_zone, changes) => void sent.push(names(changes)), { windowMs: 5 });
  const pass = new AbortController();
  const aborted = w.submit('Z1', [txt('a.example.com')], pass.signal);
  const kept = w.submit('Z1', [txt('b.example.com')]);
  pass.abort();
  await assert.rejects(aborted, isAbort);
  await kept;
  assert.deepEqual(sent, [['b.example.com']]);
});

test('a request aborted while its batch is in flight is rejected at once; the batch completes for the others', async () => {
  const sent: string[][] = [];
  const started = gate();
  const release = gate();
  const w = new Route53ZoneWriter(async (_zone, changes) => {
    sent.push(names(changes));
    started.open();
    await release.promise;
  });
  const pass = new AbortController();
  const aborted = w.submit('Z1', [txt('a.example.com')], pass.signal);
  const other = w.submit('Z1', [txt('b.example.com')]);
  await started.promise;
  pass.abort();
  await assert.rejects(aborted, isAbort); // while the batch is still held
  release.open();
  await other;
  assert.deepEqual(sent, [['a.example.com', 'b.example.com']]);
});

test('a request whose pass is already aborted is rejected without being queued', async () => {
  const w = new Route53ZoneWriter(async () => assert.fail('must not send'));
  await assert.rejects(w.submit('Z1', [txt('a.example.com')], AbortSignal.abort()), isAbort);
});

const opened: AwsClients[] = [];
after(() => {
  for (const aws of opened) aws.destroy();
});

test('passes holding different views of one account share its zone queues and send through the shared client', async () => {
  const aws = new AwsClients({
    region: 'eu-west-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  opened.push(aws);
  const calls: { changes: string[]; options: unknown }[] = [];
  (aws.route53 as unknown as { send: (c: ChangeResourceRecordSetsCommand, o?: unknown) => Promise<object> }).send =
    async (command, options) => {
      calls.push({ changes: names(command.input.ChangeBatch?.Changes ?? []), options });
      return {};
    };
  const one = aws.withSignal(new AbortController().signal);
  const two = aws.withSignal(new AbortController().signal);
  await Promise.all([
    zoneWriterFor(one).submit('/hostedzone/Z1', [txt('a.example.com')]),
    zoneWriterFor(two).submit('Z1', [txt('b.example.com')]),
    zoneWriterFor(aws).submit('Z1', [txt('c.example.com')]),
  ]);
  // One call for all three (one queue), without any pass's signal: the batch is everyone's.
  assert.deepEqual(calls, [{ changes: ['a.example.com', 'b.example.com', 'c.example.com'], options: undefined }]);
});

test("a view's zone writer rejects the view's requests when its pass is aborted", async () => {
  const aws = new AwsClients({
    region: 'eu-west-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  opened.push(aws);
  const sent: string[][] = [];
  (aws.route53 as unknown as { send: (c: ChangeResourceRecordSetsCommand) => Promise<object> }).send = async (c) => {
    sent.push(names(c.input.ChangeBatch?.Changes ?? []));
    return {};
  };
  const pass = new AbortController();
  const view = aws.withSignal(pass.signal);
  const aborted = zoneWriterFor(view).submit('Z1', [txt('a.example.com')]);
  const kept = zoneWriterFor(aws).submit('Z1', [txt('b.example.com')]);
  pass.abort();
  await assert.rejects(aborted, isAbort);
  await kept;
  assert.deepEqual(sent, [['b.example.com']]);
});
