import assert from 'node:assert/strict';
import { test } from 'node:test';
import { advancingPages, ListingDidNotAdvance } from '../../../src/aws/pages.js';

async function* pagesOf(tokens: (string | undefined)[]) {
  for (const [i, NextToken] of tokens.entries()) yield { i, NextToken };
}

test('every page of a listing whose tokens advance', async () => {
  const seen: number[] = [];
  for await (const p of advancingPages(pagesOf(['a', 'b', undefined]), (p) => p.NextToken, 'List')) seen.push(p.i);
  assert.deepEqual(seen, [0, 1, 2]);
});

test('a token handed back twice fails the listing instead of looping on it', async () => {
  // What the emulator's DescribeScalableTargets does past 100 targets: the same token on every page after the first.
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const p of advancingPages(
      pagesOf(['49', '49', '49', '49']),
      (p) => p.NextToken,
      'DescribeScalableTargets',
    ))
      seen.push(p.i);
  }, ListingDidNotAdvance);
  assert.deepEqual(seen, [0], 'nothing after the first repeat is used');
});
