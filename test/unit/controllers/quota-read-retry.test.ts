import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quotaReadRetryMs } from '../../../src/controllers/environment.js';

test('an Environment whose quota usage is not read yet passes again in 15 s, doubling with each failure, never later than its resync', () => {
  const fiveMinutes = 300_000;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((failures) => quotaReadRetryMs(failures, fiveMinutes)),
    [15_000, 30_000, 60_000, 120_000, 240_000, 300_000],
  );
  assert.equal(quotaReadRetryMs(1_000, fiveMinutes), fiveMinutes);
  assert.equal(quotaReadRetryMs(1, 10_000), 10_000);
});
