// The chaos run's reading of the operator's /metrics: the longest-running worker per controller, parsed from the
// exposition the runtime's own registry produces.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { runtimeMetrics } from '../../../src/runtime/metrics.js';
import { longestRunning } from '../../chaos/workers.js';

test('the longest-running worker of each controller is read from the exposition', async () => {
  const registry = new Registry();
  const metrics = runtimeMetrics(registry);
  metrics.registerQueue(
    'service',
    () => 3,
    () => 61_500,
  );
  metrics.registerQueue(
    'environment',
    () => 0,
    () => 0,
  );
  metrics.registerQueue('preview', () => 0);
  const text = await registry.metrics();
  assert.deepEqual(longestRunning(text), { service: 61.5, environment: 0 });
});
