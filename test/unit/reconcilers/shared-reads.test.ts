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

// ---- Bulk listings (ReconcileContext.bulk): shared by a wave's steady passes, never trusted across a write ----

const wave = (owner: string) => ({ owner, steady: true, wave: true });

/** Runs `fn` inside a pass that stays open until the returned release is called, keeping the wave's listings. */
function openPass(view: AwsClients, owner: string) {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let ctx!: ReconcileContext;
  const ready = new Promise<void>((r) => {
    void withPassContext(
      view,
      async (c) => {
        ctx = c;
        r();
        await held;
      },
      wave(owner),
    );
  });
  return { ready: ready.then(() => ctx), release };
}

test('the steady passes of a wave share one listing per key', async () => {
  const { view } = views();
  let listings = 0;
  const load = async () => (listings++, new Map([['tg-a', 1]]));
  const keep = openPass(view(new AbortController().signal), 'Service/ns/keep');
  await keep.ready;
  const a = await withPassContext(
    view(new AbortController().signal),
    (ctx) => ctx.bulk('k', load),
    wave('Service/ns/a'),
  );
  const b = await withPassContext(
    view(new AbortController().signal),
    (ctx) => ctx.bulk('k', load),
    wave('Service/ns/b'),
  );
  keep.release();
  assert.equal(a?.get('tg-a'), 1);
  assert.equal(b, a);
  assert.equal(listings, 1);
});

test('a pass that is not steady (changed plan, delete, or alone) gets no listing and reads for itself', async () => {
  const { view } = views();
  let listings = 0;
  const got = await withPassContext(
    view(new AbortController().signal),
    (ctx) => ctx.bulk('k', async () => (listings++, new Map())),
    { owner: 'Service/ns/a', steady: false },
  );
  assert.equal(got, undefined);
  assert.equal(listings, 0);
});

test('an owner that wrote after a listing began does not trust it; other owners still do', async () => {
  const { view } = views();
  const keep = openPass(view(new AbortController().signal), 'Service/ns/keep');
  await keep.ready;
  let listings = 0;
  const load = async () => (listings++, new Map([['tg', 'before']]));
  // Owner a's pass sees the listing, then writes (a create the listing cannot show).
  await withPassContext(
    view(new AbortController().signal),
    async (ctx) => {
      assert.ok(await ctx.bulk('k', load));
      ctx.wrote();
    },
    wave('Service/ns/a'),
  );
  const again = await withPassContext(
    view(new AbortController().signal),
    (ctx) => ctx.bulk('k', load),
    wave('Service/ns/a'),
  );
  const other = await withPassContext(
    view(new AbortController().signal),
    (ctx) => ctx.bulk('k', load),
    wave('Service/ns/b'),
  );
  keep.release();
  assert.equal(again, undefined, 'owner a reads for itself after its write');
  assert.equal(other?.get('tg'), 'before');
  assert.equal(listings, 1);
});

test('listings outlive a short gap between passes and end with the wave', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { view } = views();
  let listings = 0;
  const load = async () => (listings++, new Map());
  await withPassContext(view(new AbortController().signal), (ctx) => ctx.bulk('k', load), wave('Service/ns/a'));
  // Every worker between two passes (writing status): the wave goes on with the same listing.
  t.mock.timers.tick(1_000);
  await withPassContext(view(new AbortController().signal), (ctx) => ctx.bulk('k', load), wave('Service/ns/b'));
  assert.equal(listings, 1);
  // No pass for longer than the gap: the wave is over, and the next one lists again.
  t.mock.timers.tick(5_000);
  await withPassContext(view(new AbortController().signal), (ctx) => ctx.bulk('k', load), wave('Service/ns/c'));
  assert.equal(listings, 2);
});

test('a lone steady pass reads for itself, even while its wave has a listing', async () => {
  const { view } = views();
  let listings = 0;
  const load = async () => (listings++, new Map([['x', 1]]));
  const lone = { owner: 'Service/ns/lone', steady: true };
  const keep = openPass(view(new AbortController().signal), 'Service/ns/keep');
  await withPassContext(view(new AbortController().signal), (ctx) => ctx.bulk('k', load), wave('Service/ns/a'));
  const alone = await withPassContext(view(new AbortController().signal), (ctx) => ctx.bulk('k', load), lone);
  keep.release();
  assert.equal(alone, undefined);
  assert.equal(listings, 1);
});
