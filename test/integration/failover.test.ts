// Two replicas with leader election, as the chart runs them: the leader is killed outright (SIGKILL) in the middle
// of a create wave, the standby takes the Lease over and finishes the wave, and the AWS account ends up with exactly
// one of everything: never two writers, nothing created twice. The scenario is the chaos suite's
// (test/chaos/failover.ts), run once; this test asserts what must hold whatever the machine's load, from the AWS
// call log. How long the takeover takes is measured by `npm run chaos -- --failover` (RELIABILITY.md, Failover).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { failoverChecks, runFailover } from '../chaos/failover.js';

describe('two replicas', { timeout: 420_000 }, () => {
  test('the standby takes over when the leader is killed mid-wave: no overlapping writes, nothing created twice', async () => {
    const run = await runFailover();
    const t = run.timesMs;
    process.stderr.write(
      `[failover] ${run.killed} killed after ${run.writes.killed} AWS writes; ${run.newLeader} took the Lease ` +
        `${t.leaseAcquired} ms after the kill, wrote first ${t.firstWrite} ms after it (${run.firstWriteCall}), ` +
        `${run.writes.newLeader} writes to finish the wave (logs: ${Object.values(run.logs).join(', ')})\n`,
    );
    for (const check of failoverChecks(run)) assert.ok(check.ok, `${check.name}: ${check.detail}`);
  });
});
