// previews.maxActive's rule is stated once (holdsPreviewSlot) and reached two ways: a preview's own pass counts its
// rank (previewRank), the Environment's placing sorts the previews once (runnablePreviews). Both must run the same
// previews, or the Environment would place a preview its own pass then Blocks (or the other way round).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PreviewDeployment } from '../../../src/api/index.js';
import { holdsPreviewSlot, previewRank, runnablePreviews } from '../../../src/controllers/preview-hosts.js';
import { environment, preview } from '../../support/objects.js';

function named(
  name: string,
  created: string,
  opts: { state?: 'open' | 'closed'; resources?: boolean; phase?: string } = {},
): PreviewDeployment {
  const p = preview({ pullRequest: { number: 1, state: opts.state ?? 'open' } } as Partial<PreviewDeployment['spec']>);
  return {
    ...p,
    metadata: { ...p.metadata, name, creationTimestamp: created },
    spec: { ...p.spec, pullRequest: { ...p.spec.pullRequest, state: opts.state ?? 'open' } },
    ...(opts.resources || opts.phase
      ? {
          status: {
            ...(opts.phase ? { phase: opts.phase } : {}),
            ...(opts.resources
              ? { resources: [{ kind: 'ecs.Service', logicalId: 'svc', identifier: `arn:${name}` }] }
              : {}),
          },
        }
      : {}),
  } as PreviewDeployment;
}

test('the oldest live previews hold the slots; one with resources keeps running; the two views agree', () => {
  const previews = [
    named('d', '2026-11-20T10:00:04Z'),
    named('a', '2026-11-20T10:00:01Z'),
    named('closed', '2026-11-20T10:00:00Z', { state: 'closed' }),
    named('c', '2026-11-20T10:00:03Z', { resources: true }),
    named('b', '2026-11-20T10:00:02Z'),
    named('blocked', '2026-11-20T10:00:00Z', { phase: 'Blocked' }),
  ];
  const env = environment({ spec: { previews: { enabled: true, maxActive: 2 } } as never });
  const maxActive = 2;
  const byRank = previews
    .filter((p) => holdsPreviewSlot(p, previewRank(p, previews), maxActive))
    .map((p) => p.metadata.name);
  // a and b are the two oldest live ones; c is over the cap but already owns resources; d waits. Not being live,
  // the closed and Blocked ones rank behind every live preview.
  assert.deepEqual([...byRank].sort(), ['a', 'b', 'c']);
  assert.equal(previewRank(named('d', '2026-11-20T10:00:04Z'), previews), 3);
  assert.equal(previewRank(previews[2]!, previews), 4);
  const placed = runnablePreviews(env, previews, new Set(['catalog-api'])).map((p) => p.metadata.name);
  assert.deepEqual([...placed].sort(), ['a', 'b', 'c']);
  // A preview whose Service is not the Environment's is never placed, whatever its slot.
  assert.deepEqual(runnablePreviews(env, previews, new Set(['other'])), []);
});
