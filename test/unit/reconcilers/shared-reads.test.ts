import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import type { AwsClients } from '../../../src/aws/clients.js';
import {
  beganLeading,
  listingRead,
  MAX_WAVE_MS,
  takenAsPlanned,
  NEW_OWNER_LISTING_MS,
  rotationSlotOf,
  WaveReads,
  withPassContext,
  type ReconcileContext,
} from '../../../src/reconcilers/contract.js';
import { discoverOwned } from '../../../src/reconcilers/discovery.js';
import { TAG_CLUSTER, TAG_ENVIRONMENT, TAG_LOGICAL_ID, TAG_OWNER } from '../../../src/planner/naming.js';
import { recordOwnerValue } from '../../../src/planner/record-owner.js';

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

// ---- A resync wave's snapshot (WaveReads): shared by its members' steady passes, never trusted across a write ----

const member = (owner: string, wave: WaveReads) => ({ owner, steady: true, wave });
const fresh = () => new AbortController().signal;

test("the steady passes of a wave share one listing per key, for the wave's whole life", async () => {
  const { view } = views();
  const wave = new WaveReads(Date.now());
  let listings = 0;
  const load = async () => (listings++, new Map([['tg-a', 1]]));
  // One pass after the other, with nothing running between them: the wave, not an overlap, keeps the listing.
  const a = await withPassContext(view(fresh()), (ctx) => ctx.bulk('k', load), member('Service/ns/a', wave));
  const b = await withPassContext(view(fresh()), (ctx) => ctx.bulk('k', load), member('Service/ns/b', wave));
  assert.equal(a?.get('tg-a'), 1);
  assert.equal(b, a);
  assert.equal(listings, 1);
  // The next wave lists again.
  await withPassContext(view(fresh()), (ctx) => ctx.bulk('k', load), member('Service/ns/a', new WaveReads(Date.now())));
  assert.equal(listings, 2);
});

test("a wave's listing runs under the wave's deadline: a member abandoned meanwhile neither cancels it nor makes the others list again", async () => {
  const root = {} as { root: unknown; signal: AbortSignal | undefined; withSignal: (s: AbortSignal) => AwsClients };
  root.root = root;
  const view = (signal: AbortSignal) => ({ root, signal }) as unknown as AwsClients;
  root.withSignal = view;
  const waveEnd = new AbortController();
  const wave = new WaveReads(Date.now(), undefined, waveEnd.signal);
  let listings = 0;
  let listedUnder: AbortSignal | undefined;
  let finish!: (v: Map<string, number>) => void;
  const load = (listing: ReconcileContext) => {
    listings++;
    listedUnder = listing.aws.signal;
    return new Promise<Map<string, number>>((resolve, reject) => {
      finish = resolve;
      listing.aws.signal?.addEventListener('abort', () => reject(abortError()));
    });
  };
  const first = new AbortController();
  const a = withPassContext(view(first.signal), (ctx) => ctx.bulk('k', load), member('Service/ns/a', wave));
  const b = withPassContext(view(fresh()), (ctx) => ctx.bulk('k', load), member('Service/ns/b', wave));
  first.abort(abortError());
  await assert.rejects(a, { name: 'AbortError' }, 'the abandoned member stops waiting');
  finish(new Map([['tg', 1]]));
  assert.equal((await b)?.get('tg'), 1, 'the other member gets the listing');
  assert.equal(listings, 1, 'listed once');
  assert.equal(listedUnder, waveEnd.signal, "under the wave's signal, not the first member's");
  // A listing the wave's deadline cuts short: its member reads its own resources instead.
  const ended = new AbortController();
  const late = withPassContext(
    view(fresh()),
    (ctx) => ctx.bulk('k', load),
    member('Service/ns/c', new WaveReads(Date.now(), undefined, ended.signal)),
  );
  ended.abort(abortError());
  assert.equal(await late, undefined);
});

test("a wave's listing that fails stays failed for the wave: its members read their own resources, none lists again", async () => {
  const { view } = views();
  const wave = new WaveReads(Date.now());
  let listings = 0;
  const load = async (): Promise<Map<string, number>> => {
    listings++;
    throw new Error('the listing did not advance');
  };
  const a = await withPassContext(view(fresh()), (ctx) => ctx.bulk('k', load), member('Service/ns/a', wave));
  const b = await withPassContext(view(fresh()), (ctx) => ctx.bulk('k', load), member('Service/ns/b', wave));
  assert.equal(a, undefined);
  assert.equal(b, undefined);
  assert.equal(listings, 1);
});

test('a pass that is not steady (changed plan, delete) or no member of a wave gets no listing', async () => {
  const { view } = views();
  const wave = new WaveReads(Date.now());
  let listings = 0;
  const load = async () => (listings++, new Map([['x', 1]]));
  await withPassContext(view(fresh()), (ctx) => ctx.bulk('k', load), member('Service/ns/a', wave));
  const changed = await withPassContext(view(fresh()), (ctx) => ctx.bulk('k', load), {
    owner: 'Service/ns/b',
    steady: false,
    wave,
  });
  const lone = await withPassContext(view(fresh()), (ctx) => ctx.bulk('k', load), {
    owner: 'Service/ns/c',
    steady: true,
  });
  assert.equal(changed, undefined);
  assert.equal(lone, undefined);
  assert.equal(listings, 1);
});

test('an owner that wrote after a listing began does not trust it; other owners still do', async () => {
  const { view } = views();
  const wave = new WaveReads(Date.now());
  let listings = 0;
  const load = async () => (listings++, new Map([['tg', 'before']]));
  // Owner a's pass sees the listing, then writes (a create the listing cannot show).
  await withPassContext(
    view(fresh()),
    async (ctx) => {
      assert.ok(await ctx.bulk('k', load));
      ctx.wrote();
    },
    member('Service/ns/a', wave),
  );
  const again = await withPassContext(view(fresh()), (ctx) => ctx.bulk('k', load), member('Service/ns/a', wave));
  const other = await withPassContext(view(fresh()), (ctx) => ctx.bulk('k', load), member('Service/ns/b', wave));
  assert.equal(again, undefined, 'owner a reads for itself after its write');
  assert.equal(other?.get('tg'), 'before');
  assert.equal(listings, 1);
});

test("a wave's listing may build on another of the same wave, which it reaches even when the member that started it wrote", async () => {
  const { view } = views();
  const wave = new WaveReads(Date.now());
  let names = 0;
  let targets = 0;
  const listNames = async () => (
    names++,
    new Map([
      ['a', 1],
      ['b', 2],
    ])
  );
  const listTargets = async (listing: ReconcileContext) => {
    targets++;
    const listed = await listing.bulk('names', listNames);
    if (!listed) throw new Error('no names to read the targets by');
    return [...listed.keys()];
  };
  // Owner a lists the names, then writes: it trusts neither listing now, but the one it starts still reads the names.
  await withPassContext(
    view(fresh()),
    async (ctx) => {
      assert.ok(await ctx.bulk('names', listNames));
      ctx.wrote();
      assert.equal(await ctx.bulk('targets', listTargets), undefined);
    },
    member('Service/ns/a', wave),
  );
  const b = await withPassContext(
    view(fresh()),
    (ctx) => ctx.bulk('targets', listTargets),
    member('Service/ns/b', wave),
  );
  assert.deepEqual(b, ['a', 'b']);
  assert.deepEqual([names, targets], [1, 1], 'each listed once for the wave');
});

test('a pass reads with the rotation only as a steady member of a wave that has one', async () => {
  const { view } = views();
  const rotatingIn = (scope: Parameters<typeof withPassContext>[2]) =>
    withPassContext(view(fresh()), async (ctx) => ctx.rotating(), scope);
  assert.equal(await rotatingIn(member('Service/ns/a', new WaveReads(Date.now(), { slot: 3, of: 12 }))), true);
  assert.equal(await rotatingIn(member('Service/ns/a', new WaveReads(Date.now()))), false, 'drift events off');
  assert.equal(await rotatingIn({ owner: 'Service/ns/a', steady: true }), false, 'no wave');
  const rotating = new WaveReads(Date.now(), { slot: 3, of: 12 });
  assert.equal(await rotatingIn({ owner: 'Service/ns/a', steady: false, wave: rotating }), false, 'a changed plan');
});

test("a wave shares a listener's rules across its passes until a write, by any pass, drops them", async () => {
  const { view } = views();
  const wave = new WaveReads(Date.now());
  let reads = 0;
  const load = async () => `rules-${++reads}`;
  const rules = (owner: string) =>
    withPassContext(view(fresh()), (ctx) => ctx.memo('elbv2:rules:L', load), member(owner, wave));
  assert.equal(await rules('Service/ns/a'), 'rules-1');
  assert.equal(await rules('Service/ns/b'), 'rules-1', 'no pass ran in between: the wave still shares it');
  // A pass outside the wave (a new Service) writes a rule on that listener.
  await withPassContext(view(fresh()), async (ctx) => ctx.invalidate('elbv2:rules:L'), { owner: 'x', steady: false });
  assert.equal(await rules('Service/ns/c'), 'rules-2');
  assert.equal(await rules('Service/ns/d'), 'rules-2');
});

test("a wave's shared rules and records are read under the wave's deadline: a member abandoned meanwhile neither cancels the read nor makes the others read again", async () => {
  const root = {} as { root: unknown; signal: AbortSignal | undefined; withSignal: (s: AbortSignal) => AwsClients };
  root.root = root;
  const view = (signal: AbortSignal) => ({ root, signal }) as unknown as AwsClients;
  root.withSignal = view;
  const reads: { readonly signal: AbortSignal | undefined; readonly finish: (v: string) => void }[] = [];
  let onRead: () => void = () => undefined;
  const load = (r: ReconcileContext) =>
    new Promise<string>((resolve, reject) => {
      reads.push({ signal: r.aws.signal, finish: resolve });
      r.aws.signal?.addEventListener('abort', () => reject(abortError()));
      onRead();
    });
  const waveEnd = new AbortController();
  const wave = new WaveReads(Date.now(), undefined, waveEnd.signal);
  const first = new AbortController();
  const a = withPassContext(view(first.signal), (ctx) => ctx.memo('elbv2:rules:L', load), member('Service/ns/a', wave));
  const b = withPassContext(view(fresh()), (ctx) => ctx.memo('elbv2:rules:L', load), member('Service/ns/b', wave));
  first.abort(abortError());
  await assert.rejects(a, { name: 'AbortError' }, 'the abandoned member stops waiting');
  assert.equal(reads.length, 1, 'read once');
  assert.equal(reads[0]!.signal, waveEnd.signal, "under the wave's signal, not the first member's");
  reads[0]!.finish('rules');
  assert.equal(await b, 'rules', 'the other member gets the read');

  // A read the wave's end cuts short: its member reads for itself, under its own deadline.
  const ended = new AbortController();
  const own = fresh();
  const ownRead = new Promise<void>((r) => (onRead = () => reads.length === 3 && r()));
  const late = withPassContext(
    view(own),
    (ctx) => ctx.memo('route53:records:Z', load),
    member('Service/ns/c', new WaveReads(Date.now(), undefined, ended.signal)),
  );
  ended.abort(abortError());
  await ownRead;
  assert.deepEqual(
    reads.slice(1).map((r) => r.signal),
    [ended.signal, own],
  );
  reads[2]!.finish('records');
  assert.equal(await late, 'records');
});

test('with a rotation, a wave reads per-resource attributes only for the identifiers whose turn it is', async () => {
  const { view } = views();
  const ids = Array.from({ length: 48 }, (_, i) => `arn:aws:elasticloadbalancing:r:1:targetgroup/tg-${i}/x`);
  const readIn = (scope: Parameters<typeof withPassContext>[2]) =>
    withPassContext(view(fresh()), async (ctx) => ids.filter((id) => ctx.readEach(id)), scope);
  const slot = 5;
  const rotating = new WaveReads(Date.now(), { slot, of: 12 });
  const turn = await readIn(member('Service/ns/a', rotating));
  assert.deepEqual(
    turn,
    ids.filter((id) => rotationSlotOf(id, 12) === slot),
  );
  assert.ok(turn.length > 0 && turn.length < ids.length);
  // Every identifier has its turn within 12 waves.
  const slots = new Set(ids.map((id) => rotationSlotOf(id, 12)));
  assert.ok([...slots].every((s) => s >= 0 && s < 12));
  // Without a rotation (drift events off), outside a wave, or after the owner wrote: every one is read.
  assert.equal((await readIn(member('Service/ns/a', new WaveReads(Date.now())))).length, ids.length);
  assert.equal((await readIn({ owner: 'Service/ns/a', steady: true })).length, ids.length);
  const wrote = await withPassContext(
    view(fresh()),
    async (ctx) => (ctx.wrote(), ids.filter((id) => ctx.readEach(id))),
    member('Service/ns/b', rotating),
  );
  assert.equal(wrote.length, ids.length);
  // An owner with drift reported reads every one: one left unread would clear the reported drift until its turn.
  const drifted = await readIn({ ...member('Service/ns/c', rotating), drifted: true });
  assert.equal(drifted.length, ids.length);
  // So does an unsettled owner (not Ready at its generation, rolling, fewer tasks running than wanted).
  const unsettled = await readIn({ ...member('Service/ns/d', rotating), unsettled: true });
  assert.equal(unsettled.length, ids.length);
});

test('a wave without a rotation offers its event history for the resources out of their turn, to an owner it trusts', async () => {
  const { view } = views();
  const ids = Array.from({ length: 48 }, (_, i) => `arn:aws:elasticloadbalancing:r:1:targetgroup/tg-${i}/x`);
  const history = { since: 1, slot: 3, of: 24, own: { sessionName: 'slipway-test' } };
  const offered = (scope: Parameters<typeof withPassContext>[2]) =>
    withPassContext(view(fresh()), async (ctx) => ids.filter((id) => ctx.historyFor?.(id) === history), scope);
  const wave = new WaveReads(Date.now(), undefined, undefined, history);
  assert.deepEqual(
    await offered(member('Service/ns/a', wave)),
    ids.filter((id) => rotationSlotOf(id, 24) !== 3),
    'all but those in its turn, which are read',
  );
  // Not outside a wave, nor to an owner with drift reported, unsettled, or that wrote in the wave.
  assert.deepEqual(await offered({ owner: 'Service/ns/a', steady: true }), []);
  assert.deepEqual(await offered({ ...member('Service/ns/b', wave), drifted: true }), []);
  assert.deepEqual(await offered({ ...member('Service/ns/c', wave), unsettled: true }), []);
  const wrote = await withPassContext(
    view(fresh()),
    async (ctx) => (ctx.wrote(), ids.filter((id) => ctx.historyFor?.(id))),
    member('Service/ns/d', wave),
  );
  assert.deepEqual(wrote, []);
  // A wave with a rotation has none: drift events bring the changes.
  assert.equal(new WaveReads(Date.now(), { slot: 1, of: 24 }, undefined, history).history, undefined);
});

test('with a rotation, a whole listing is read in its turn only; off its turn a member takes it as planned unless it has drift reported or wrote', async () => {
  const { view } = views();
  const key = 'tagging:c1';
  const slot = rotationSlotOf(key, 12);
  const readIn = (scope: Parameters<typeof withPassContext>[2], write = false) =>
    withPassContext(view(fresh()), async (ctx) => (write && ctx.wrote(), listingRead(ctx, key)), scope);
  const itsTurn = new WaveReads(Date.now(), { slot, of: 12 });
  const notItsTurn = new WaveReads(Date.now(), { slot: (slot + 1) % 12, of: 12 });
  assert.equal(await readIn(member('Service/ns/a', itsTurn)), 'listing');
  assert.equal(await readIn(member('Service/ns/a', notItsTurn)), 'planned');
  // Drift reported or a write in the wave: its own resources, fresh, and not a whole listing for itself.
  assert.equal(await readIn({ ...member('Service/ns/a', notItsTurn), drifted: true }), 'own');
  assert.equal(await readIn(member('Service/ns/b', notItsTurn), true), 'own');
  assert.equal(await readIn({ ...member('Service/ns/a', itsTurn), drifted: true }), 'listing');
  // No rotation (drift events off), no wave, a changed plan: as before (the listing, or its own reads outside a wave).
  assert.equal(await readIn(member('Service/ns/a', new WaveReads(Date.now()))), 'listing');
  assert.equal(await readIn({ owner: 'Service/ns/a', steady: true }), 'listing');
  assert.equal(await readIn({ owner: 'Service/ns/a', steady: false, wave: notItsTurn }), 'listing');
  // Each listing has its turn once in 12 waves.
  const turns = Array.from({ length: 12 }, (_, s) => new WaveReads(0, { slot: s, of: 12 }).turn(key));
  assert.equal(turns.filter(Boolean).length, 1);
});

test('takenAsPlanned: only what the inventory records, for an owner whose record the pass trusts, out of its turn', async () => {
  const { view } = views();
  const arn = 'arn:aws:elasticloadbalancing:r:1:targetgroup/tg/x';
  const other = 'arn:aws:elasticloadbalancing:r:1:targetgroup/other/y';
  const slot = rotationSlotOf(arn, 24);
  const itsTurn = new WaveReads(Date.now(), { slot, of: 24 });
  const notItsTurn = new WaveReads(Date.now(), { slot: (slot + 1) % 24, of: 24 });
  const asked = (
    scope: Parameters<typeof withPassContext>[2],
    recorded: string | undefined,
    turn: Parameters<typeof takenAsPlanned>[3],
    write = false,
  ) =>
    withPassContext(
      view(fresh()),
      async (ctx) => (write && ctx.wrote(), takenAsPlanned(ctx, recorded, arn, turn)),
      scope,
    );
  for (const turn of [{ each: arn }, { listing: arn }]) {
    assert.equal(await asked(member('Service/ns/a', notItsTurn), arn, turn), true, JSON.stringify(turn));
    // Not recorded, recorded as something else, or its turn: read.
    assert.equal(await asked(member('Service/ns/a', notItsTurn), undefined, turn), false);
    assert.equal(await asked(member('Service/ns/a', notItsTurn), other, turn), false);
    assert.equal(await asked(member('Service/ns/a', itsTurn), arn, turn), false);
    // An owner the pass does not trust: drift reported, unsettled, or written in the wave.
    assert.equal(await asked({ ...member('Service/ns/a', notItsTurn), drifted: true }, arn, turn), false);
    assert.equal(await asked({ ...member('Service/ns/a', notItsTurn), unsettled: true }, arn, turn), false);
    assert.equal(await asked(member('Service/ns/b', notItsTurn), arn, turn, true), false);
    // No rotation, no wave, a changed plan.
    assert.equal(await asked(member('Service/ns/a', new WaveReads(Date.now())), arn, turn), false);
    assert.equal(await asked({ owner: 'Service/ns/a', steady: true }, arn, turn), false);
    assert.equal(await asked({ owner: 'Service/ns/a', steady: false, wave: notItsTurn }, arn, turn), false);
  }
  // An immutable resource has no turn: trusted also in a wave without a rotation, and in its turn.
  assert.equal(await asked(member('Service/ns/a', new WaveReads(Date.now())), arn, 'immutable'), true);
  assert.equal(await asked(member('Service/ns/a', itsTurn), arn, 'immutable'), true);
  assert.equal(await asked({ ...member('Service/ns/a', itsTurn), drifted: true }, arn, 'immutable'), false);
  assert.equal(await asked({ owner: 'Service/ns/a', steady: true }, arn, 'immutable'), false);
  // A kind's own check of what the record names (a policy's ARN holds an id AWS picks).
  const byCheck = await withPassContext(
    view(fresh()),
    async (ctx) => [
      takenAsPlanned(ctx, other, (r) => r.includes('/other/'), { each: arn }),
      takenAsPlanned(ctx, arn, (r) => r.includes('/other/'), { each: arn }),
    ],
    member('Service/ns/a', notItsTurn),
  );
  assert.deepEqual(byCheck, [true, false]);
});

/** A hand-built context for discovery: its reads (`aws`, `memo`, `bulk`) given, no rotation, no write. */
function discoveryContext(reads: {
  aws: object;
  memo: (key: string) => Promise<unknown>;
  bulk: (key: string) => Promise<unknown>;
}): ReconcileContext {
  return {
    ...reads,
    invalidate: () => undefined,
    readEach: () => true,
    rotating: () => false,
    wrote: () => undefined,
  } as unknown as ReconcileContext;
}

test("in a wave, the sweep's discovery filters the wave's scan of the cluster's tags instead of scanning again", async () => {
  const tags = (env: string, owner: string, id: string) => ({
    [TAG_CLUSTER]: 'c1',
    [TAG_ENVIRONMENT]: env,
    [TAG_OWNER]: owner,
    [TAG_LOGICAL_ID]: id,
  });
  const tg = 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/a/1';
  const svc = 'arn:aws:ecs:us-east-1:1:service/cluster/a';
  const scanned = new Map([
    [tg, tags('ns/dev', 'Service/ns/a', 'target-group')],
    [svc, tags('ns/dev', 'Service/ns/a', 'service')],
    ['arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/b/2', tags('ns/other', 'Service/ns/b', 'target-group')],
  ]);
  // The wave's read of the scalable targets of the cluster's listed services.
  const targets = {
    ids: new Set(['service/cluster/a']),
    targets: new Map([['service/cluster/a', { ScalableTargetARN: 'arn:aws:application-autoscaling:st/1' }]]),
  };
  const sent: string[] = [];
  const ctx = discoveryContext({
    aws: new Proxy({ region: 'us-east-1' } as Record<string, unknown>, {
      get: (target, name) =>
        name === 'region' ? target.region : { send: async (c: object) => void sent.push(c.constructor.name) },
    }),
    memo: async (key: string) => (key.startsWith('elbv2:rules:') ? { rules: [], tags: new Map() } : []),
    bulk: async (key: string) =>
      key === 'tagging:c1' ? scanned : key === 'autoscaling:targets:ecs:cluster' ? targets : undefined,
  });
  const found = await discoverOwned(ctx, {
    clusterId: 'c1',
    environment: 'ns/dev',
    listenerArns: ['arn:listener'],
    hostedZoneIds: ['Z1'],
  });
  assert.deepEqual(
    found.map((f) => [f.kind, f.identifier, f.owner]).sort(),
    [
      ['autoscaling.ScalableTarget', 'arn:aws:application-autoscaling:st/1', 'Service/ns/a'],
      ['ecs.Service', svc, 'Service/ns/a'],
      ['elbv2.TargetGroup', tg, 'Service/ns/a'],
    ].sort(),
  );
  assert.deepEqual(sent, [], 'no call of its own: the scan and the scalable targets come from the wave');
});

test('a sweep reads the zone only when the scan found something of an owner that may be gone', async () => {
  const tags = (owner: string, id: string) => ({
    [TAG_CLUSTER]: 'c1',
    [TAG_ENVIRONMENT]: 'ns/dev',
    [TAG_OWNER]: owner,
    [TAG_LOGICAL_ID]: id,
  });
  const scanned = new Map([
    ['arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/a/1', tags('Service/ns/a', 'target-group')],
    ['arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/env/1', tags('Environment/ns/dev', 'alb')],
  ]);
  const zone = [
    {
      Name: 'a.example.com.',
      Type: 'TXT',
      ResourceRecords: [{ Value: `"${recordOwnerValue('c1', 'Service/ns/a')}"` }],
    },
  ];
  const sweep = async (orphan: (owner: string) => boolean) => {
    const asked: string[] = [];
    const ctx = discoveryContext({
      aws: { region: 'us-east-1' },
      memo: async (key: string) => {
        asked.push(key);
        return key.startsWith('elbv2:rules:') ? { rules: [], tags: new Map() } : zone;
      },
      bulk: async (key: string) => (key === 'tagging:c1' ? scanned : { ids: new Set(), targets: new Map() }),
    });
    const found = await discoverOwned(ctx, {
      clusterId: 'c1',
      environment: 'ns/dev',
      listenerArns: [],
      hostedZoneIds: ['Z1'],
      live: (owner) => !orphan(owner),
    });
    return { zoneRead: asked.some((k) => k.startsWith('route53:records:')), kinds: found.map((f) => f.kind).sort() };
  };
  // Every owner found is left alone (a live workload, the Environment): the zone is not read.
  assert.deepEqual(await sweep(() => false), { zoneRead: false, kinds: ['elbv2.LoadBalancer', 'elbv2.TargetGroup'] });
  // Service/ns/a is gone: its record is found with its target group.
  assert.deepEqual(await sweep((owner) => owner === 'Service/ns/a'), {
    zoneRead: true,
    kinds: ['elbv2.LoadBalancer', 'elbv2.TargetGroup', 'route53.Record'].sort(),
  });
});

test("a brand-new owner's listing is shared, but not by an owner that wrote that kind after it began, nor across a new leadership, and a failed one is kept", async () => {
  const root = {} as { root: unknown; signal: AbortSignal | undefined; withSignal: () => unknown };
  root.root = root;
  root.withSignal = () => root;
  const aws = root as unknown as AwsClients;
  let loads = 0;
  let fail = false;
  const load = async () => {
    loads++;
    if (fail) throw new Error('listing failed');
    return `listing ${loads}`;
  };
  const pass = (owner: string, newOwner: boolean, before?: (ctx: ReconcileContext) => void) =>
    withPassContext(
      aws,
      (ctx) => {
        before?.(ctx);
        return ctx.existing('ecs:service-names:c', 'ecs.Service', load);
      },
      { owner, steady: false, newOwner },
    );
  assert.equal(await pass('a', true), 'listing 1');
  assert.equal(await pass('b', true), 'listing 1', 'shared');
  assert.equal(await pass('c', false), undefined, 'not for an owner with resources');
  assert.equal(await pass('a', true, (ctx) => ctx.wrote('logs.LogGroup')), 'listing 1', 'another kind written');
  assert.equal(await pass('a', true, (ctx) => ctx.wrote('ecs.Service')), 'listing 2', 'this kind written: anew');
  beganLeading();
  fail = true;
  assert.equal(await pass('b', true), undefined, 'a new leadership lists anew; that listing failed');
  assert.equal(await pass('d', true), undefined, 'the failed listing is kept, not started again');
  assert.equal(loads, 3);
});

test("a brand-new owner's listing answers for NEW_OWNER_LISTING_MS, or as long as its caller asks, at most MAX_WAVE_MS", async () => {
  mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  try {
    const root = {} as { root: unknown; signal: AbortSignal | undefined; withSignal: () => unknown };
    root.root = root;
    root.withSignal = () => root;
    const aws = root as unknown as AwsClients;
    let loads = 0;
    const load = () => Promise.resolve(++loads);
    const ask = (key: string, maxAgeMs?: number) =>
      withPassContext(aws, (ctx) => ctx.existing(key, 'ecs.TaskDefinition', load, maxAgeMs), {
        owner: 'o',
        steady: false,
        newOwner: true,
      });
    assert.equal(await ask('short'), 1);
    assert.equal(await ask('long', 60 * 60_000), 2);
    mock.timers.tick(NEW_OWNER_LISTING_MS + 1);
    assert.equal(await ask('short'), 3, 'past NEW_OWNER_LISTING_MS: listed anew');
    assert.equal(await ask('long', 60 * 60_000), 2, 'asked to last longer: still the first');
    mock.timers.tick(MAX_WAVE_MS);
    assert.equal(await ask('long', 60 * 60_000), 4, 'never past MAX_WAVE_MS');
    // A listing that failed is kept only NEW_OWNER_LISTING_MS, however long its caller would keep an answer.
    let fail = true;
    const failing = () => (fail ? Promise.reject(new Error('throttled')) : Promise.resolve(++loads));
    const askFailing = () =>
      withPassContext(aws, (ctx) => ctx.existing('failing', 'ecs.TaskDefinition', failing, 60 * 60_000), {
        owner: 'o',
        steady: false,
        newOwner: true,
      });
    assert.equal(await askFailing(), undefined, 'a failed listing: the pass reads for itself');
    fail = false;
    assert.equal(await askFailing(), undefined, 'kept a while: not started again at once');
    mock.timers.tick(NEW_OWNER_LISTING_MS + 1);
    assert.equal(await askFailing(), 5, 'past NEW_OWNER_LISTING_MS: listed anew');
  } finally {
    mock.timers.reset();
  }
});
