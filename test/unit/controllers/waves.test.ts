import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HISTORY_OVERLAP_MS } from '../../../src/aws/event-history.js';
import {
  DUE_FRACTION,
  historyOf,
  isDue,
  ROTATION_SLOTS,
  waveDeadlineMs,
  WaveRegistry,
} from '../../../src/controllers/waves.js';

const MIN = 60_000;
const INTERVAL = 5 * MIN;

const OWN = { sessionName: 'slipway-test', userAgentAppId: 'slipway-test' };

function registry(own?: typeof OWN) {
  const clock = { now: 1_000_000 };
  const queued: string[] = [];
  const waves = new WaveRegistry({ enqueue: (m) => queued.push(m), now: () => clock.now, ...(own ? { own } : {}) });
  return { clock, queued, waves };
}

const request = (candidates: string[], extra: { requested?: string; rotate?: boolean } = {}) => ({
  environment: 'ns/env',
  intervalMs: INTERVAL,
  candidates,
  rotate: extra.rotate ?? false,
  ...(extra.requested !== undefined ? { requested: extra.requested } : {}),
});

test('due: the first wave, then after 0.9 of the interval, and at once for each new value of the annotation', () => {
  assert.equal(isDue(undefined, 0, INTERVAL, undefined), 'first');
  const last = { openedAt: 0, number: 0, requested: undefined };
  assert.equal(isDue(last, 0.89 * INTERVAL, INTERVAL, undefined), undefined);
  assert.equal(isDue(last, 0.9 * INTERVAL, INTERVAL, undefined), 'interval');
  assert.equal(isDue(last, 1, INTERVAL, 'a'), 'requested');
  assert.equal(isDue({ ...last, requested: 'a' }, 1, INTERVAL, 'a'), undefined, 'a value already honoured');
  assert.equal(isDue({ ...last, requested: 'a' }, 1, INTERVAL, 'b'), 'requested');
});

test('the deadline is when the next wave is due, bounded', () => {
  assert.equal(waveDeadlineMs(INTERVAL), DUE_FRACTION * INTERVAL);
  assert.equal(waveDeadlineMs(24 * 60 * MIN), 15 * MIN);
});

test('a wave queues its members; each takes the snapshot once, and the last one ends the wave', () => {
  const { queued, waves } = registry();
  const opened = waves.open(request(['Service/ns/a', 'Service/ns/b', 'PreviewDeployment/ns/p']));
  assert.equal(opened?.reason, 'first');
  assert.deepEqual(queued, ['Service/ns/a', 'Service/ns/b', 'PreviewDeployment/ns/p']);
  const a = waves.take('Service/ns/a');
  assert.ok(a);
  assert.equal(waves.take('Service/ns/a'), undefined, 'it left the wave: its next pass reads fresh');
  assert.equal(waves.take('Service/ns/other'), undefined, 'not a member');
  assert.equal(waves.take('Service/ns/b'), a, 'one snapshot for the wave');
  assert.equal(waves.pending('ns/env'), 1);
  assert.equal(waves.take('PreviewDeployment/ns/p'), a);
  assert.equal(waves.pending('ns/env'), 0);
  assert.equal(waves.open(request(['Service/ns/a'])), undefined, 'not due again yet');
});

test('past its deadline a wave serves no one; a member that got a drift event leaves it', () => {
  const { clock, waves } = registry();
  waves.open(request(['Service/ns/a', 'Service/ns/b', 'Service/ns/c']));
  waves.leave('Service/ns/c');
  assert.equal(waves.take('Service/ns/c'), undefined);
  assert.ok(waves.take('Service/ns/a'));
  clock.now += waveDeadlineMs(INTERVAL) + 1;
  assert.equal(waves.take('Service/ns/b'), undefined);
});

test('a timed wave leaves out a workload just looked at; a requested one takes every one', () => {
  const { clock, queued, waves } = registry();
  waves.open(request([]));
  clock.now += INTERVAL;
  waves.take('Service/ns/recent');
  clock.now += 1_000;
  assert.deepEqual(waves.open(request(['Service/ns/recent', 'Service/ns/old']))?.members, ['Service/ns/old']);
  assert.deepEqual(queued, ['Service/ns/old']);
  const requested = waves.open(request(['Service/ns/recent', 'Service/ns/old'], { requested: 'now' }));
  assert.equal(requested?.reason, 'requested');
  assert.deepEqual(requested?.members, ['Service/ns/recent', 'Service/ns/old']);
});

test('waves run while the last began within 1.5 intervals: the workloads then resync as a backstop', () => {
  const { clock, waves } = registry();
  assert.equal(waves.running('ns/env', INTERVAL), false);
  waves.open(request([]));
  clock.now += 1.4 * INTERVAL;
  assert.equal(waves.running('ns/env', INTERVAL), true);
  clock.now += 0.2 * INTERVAL;
  assert.equal(waves.running('ns/env', INTERVAL), false);
});

test('with drift events on, the first wave reads every attribute and the next ones a rotating slot', () => {
  const { clock, waves } = registry();
  const slots: (number | undefined)[] = [];
  for (let i = 0; i < ROTATION_SLOTS + 2; i++) {
    waves.open(request(['Service/ns/a'], { rotate: true }));
    slots.push(waves.take('Service/ns/a')?.rotation?.slot);
    clock.now += INTERVAL;
  }
  const turns = Array.from({ length: ROTATION_SLOTS }, (_, i) => i);
  assert.deepEqual(slots, [undefined, ...turns.slice(1), 0, 1]);
  waves.open(request(['Service/ns/a'], { rotate: false }));
  assert.equal(waves.take('Service/ns/a')?.rotation, undefined, 'events off: every wave reads them all');
});

test("the Environment's own pass reads with the rotation of the wave it is about to open, unless a drift event named it", () => {
  const { clock, waves } = registry();
  const self = 'Environment/ns/env';
  const ask = (extra: { requested?: string; rotate?: boolean } = {}) => {
    const { candidates: _c, ...req } = request([], { rotate: true, ...extra });
    return waves.upcoming(req, self);
  };
  assert.equal(ask(), undefined, 'the first wave of a process reads everything');
  waves.open(request(['Service/ns/a'], { rotate: true }));
  assert.equal(ask(), undefined, 'no wave due: the pass is no wave');
  clock.now += INTERVAL;
  assert.deepEqual(ask(), { slot: 1, of: ROTATION_SLOTS }, "the next wave's slot");
  assert.equal(ask({ rotate: false }), undefined, 'drift events off');
  waves.leave(self);
  assert.equal(ask(), undefined, 'a drift event since the last ask: this pass reads everything');
  assert.deepEqual(ask(), { slot: 1, of: ROTATION_SLOTS }, 'once');
  waves.open(request(['Service/ns/a'], { rotate: true }));
  assert.equal(waves.take('Service/ns/a')?.rotation?.slot, 1, 'the wave it opened has the same slot');
  assert.deepEqual(ask({ requested: 'now' }), { slot: 2, of: ROTATION_SLOTS }, 'a requested wave rotates as well');
});

test('with drift events off, a wave after the first reads changes from the event history since the last one opened, less the overlap', () => {
  const { clock, waves } = registry(OWN);
  const opened: number[] = [];
  const histories = [];
  for (let i = 0; i < 3; i++) {
    opened.push(clock.now);
    waves.open(request(['Service/ns/a']));
    histories.push(waves.take('Service/ns/a')?.history);
    clock.now += INTERVAL;
  }
  assert.equal(histories[0], undefined, "the process's first wave reads everything");
  assert.deepEqual(histories[1], { since: opened[0]! - HISTORY_OVERLAP_MS, slot: 1, of: ROTATION_SLOTS, own: OWN });
  assert.deepEqual(histories[2], { since: opened[1]! - HISTORY_OVERLAP_MS, slot: 2, of: ROTATION_SLOTS, own: OWN });
  // With drift events on, the events bring the changes: a rotation and no history.
  waves.open(request(['Service/ns/a'], { rotate: true }));
  const rotating = waves.take('Service/ns/a');
  assert.ok(rotating?.rotation);
  assert.equal(rotating?.history, undefined);
  // Without the operator's identity (a registry built without one), no history.
  const bare = registry();
  for (let i = 0; i < 2; i++) {
    bare.waves.open(request(['Service/ns/a']));
    assert.equal(bare.waves.take('Service/ns/a')?.history, undefined);
    bare.clock.now += INTERVAL;
  }
});

test('the history never reaches back past what CloudTrail keeps', () => {
  const now = 200 * 24 * 3_600_000;
  const history = historyOf(5, 0, now, OWN);
  assert.ok(history && now - history.since < 90 * 24 * 3_600_000);
  assert.equal(historyOf(0, now, now, OWN), undefined, "a process's first wave reads everything");
  assert.equal(historyOf(5, undefined, now, OWN), undefined, "a member's last check unknown: read everything");
});

/** A registry with the history on, whose first wave (opened at `first`) members a and b both passed in. */
function bothChecked() {
  const { clock, waves } = registry(OWN);
  const [a, b] = ['Service/ns/a', 'Service/ns/b'];
  waves.open(request([a, b]));
  const first = clock.now;
  waves.take(a);
  waves.take(b);
  return { clock, waves, a, b, first };
}

test('the history looks back to the earliest last check of its members: one left out of a wave as just looked at', () => {
  const { clock, waves, a, b, first } = bothChecked();
  // b passes again late in the interval (a spec change, a nudge): the next timed wave leaves it out as just looked at.
  clock.now += INTERVAL - 10_000;
  waves.take(b);
  const bChecked = clock.now;
  clock.now += 10_000;
  const second = waves.open(request([a, b]));
  assert.deepEqual(second?.members, [a]);
  assert.equal(waves.take(a)?.history?.since, first - HISTORY_OVERLAP_MS);
  // In the wave after, b's last check is its pass before the second wave, earlier than that wave's opening.
  clock.now += INTERVAL;
  waves.open(request([a, b]));
  assert.equal(waves.take(a)?.history?.since, bChecked - HISTORY_OVERLAP_MS);
});

test('the history looks back to the earliest last check of its members: one moved from a wave that ended before its turn', () => {
  const { clock, waves, a, b, first } = bothChecked();
  clock.now += INTERVAL;
  waves.open(request([a, b]));
  waves.take(a);
  // A requested wave ends the open one before b's pass: b moves to it, last checked when the first wave opened.
  clock.now += 1_000;
  waves.open(request([a, b], { requested: 'now' }));
  assert.equal(waves.take(b)?.history?.since, first - HISTORY_OVERLAP_MS);
});
