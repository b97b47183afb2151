import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AwsClients } from '../../../src/aws/clients.js';
import { withPassContext, type ReconcileContext } from '../../../src/reconcilers/contract.js';

/** Two passes' views of one account's clients: what withPassContext keys shared reads by. */
function views() {
  const root = {} as { root: unknown; signal: AbortSignal | undefined };
  root.root = root;
  const view = (signal: AbortSignal) => ({ root, signal }) as unknown as AwsClients;
  return { view };
}

const abortError = () => Object.assign(new Error('aborted'), { name: 'AbortError' });

test('a shared read started by a pass that is then abandoned is read again by the pass still running', async () => {
  const { view } = views();
  const first = new AbortController();
  let reads = 0;
  let releaseFirst!: (ctx: ReconcileContext) => void;
  const firstInside = new Promise<ReconcileContext>((r) => (releaseFirst = r));

  // Pass 1 starts the shared read through its own signal, which then fires: its read fails with AbortError.
  let failFirstRead!: () => void;
  const pass1 = withPassContext(view(first.signal), async (ctx) => {
    releaseFirst(ctx);
    return ctx.memo('elbv2:rules:L', () => {
      reads++;
      return new Promise<string>((_, reject) => (failFirstRead = () => reject(abortError())));
    });
  });
  await firstInside;
  // Pass 2, beside it, joins the same read; when pass 1 is abandoned, pass 2 reads for itself.
  const pass2 = withPassContext(view(new AbortController().signal), (ctx) =>
    ctx.memo('elbv2:rules:L', async () => {
      reads++;
      return 'rules';
    }),
  );
  first.abort();
  failFirstRead();
  await assert.rejects(pass1, { name: 'AbortError' });
  assert.equal(await pass2, 'rules');
  assert.equal(reads, 2);
});

test('passes beside each other share one read of a shareable key', async () => {
  const { view } = views();
  let reads = 0;
  let release!: (v: string) => void;
  const load = () => {
    reads++;
    return new Promise<string>((r) => (release = r));
  };
  const a = withPassContext(view(new AbortController().signal), (ctx) => ctx.memo('route53:records:Z', load));
  const b = withPassContext(view(new AbortController().signal), (ctx) => ctx.memo('route53:records:Z', load));
  release('records');
  assert.deepEqual(await Promise.all([a, b]), ['records', 'records']);
  assert.equal(reads, 1);
});
