import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, parseDuration } from '../../../src/config.js';

test('every wait has a deadline by default: the pass, the AWS connection and each attempt of a call', () => {
  const config = loadConfig({});
  assert.equal(config.passDeadlineMs, 120_000);
  assert.equal(config.awsConnectTimeoutMs, 3_000);
  assert.equal(config.awsRequestTimeoutMs, 30_000);
});

test('the AWS timeouts are settings, in Go durations', () => {
  const config = loadConfig({ SLIPWAY_AWS_CONNECT_TIMEOUT: '500ms', SLIPWAY_AWS_REQUEST_TIMEOUT: '1m30s' });
  assert.equal(config.awsConnectTimeoutMs, 500);
  assert.equal(config.awsRequestTimeoutMs, 90_000);
  assert.throws(() => loadConfig({ SLIPWAY_AWS_REQUEST_TIMEOUT: '30' }), /"30" is not a duration/);
});

test('durations as the CRDs write them', () => {
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.throws(() => parseDuration('5 minutes'));
});

test("the Lease's timings default to 10s / 7s / 2s and must leave a leader time to step down first", () => {
  const config = loadConfig({});
  assert.deepEqual(
    [config.leaseDurationMs, config.leaseRenewDeadlineMs, config.leaseRetryPeriodMs],
    [10_000, 7_000, 2_000],
  );
  const long = loadConfig({ SLIPWAY_LEASE_DURATION: '15s', SLIPWAY_LEASE_RENEW_DEADLINE: '10s' });
  assert.deepEqual([long.leaseDurationMs, long.leaseRenewDeadlineMs], [15_000, 10_000]);
  assert.throws(() => loadConfig({ SLIPWAY_LEASE_DURATION: '7s' }), /RENEW_DEADLINE < SLIPWAY_LEASE_DURATION/);
  assert.throws(() => loadConfig({ SLIPWAY_LEASE_RETRY_PERIOD: '10s' }), /SLIPWAY_LEASE_RETRY_PERIOD </);
});

test("the old generation's growth past the live heap: 10% by default, 0 leaves V8's own, anything else refused", () => {
  assert.equal(loadConfig({}).heapGrowingPercent, 10);
  assert.equal(loadConfig({ SLIPWAY_HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent, 0);
  assert.equal(loadConfig({ SLIPWAY_HEAP_GROWING_PERCENT: '50' }).heapGrowingPercent, 50);
  assert.throws(() => loadConfig({ SLIPWAY_HEAP_GROWING_PERCENT: '-5' }), /SLIPWAY_HEAP_GROWING_PERCENT must be/);
  assert.throws(() => loadConfig({ SLIPWAY_HEAP_GROWING_PERCENT: '10%' }), /SLIPWAY_HEAP_GROWING_PERCENT must be/);
});
