// The README's main command, end to end: `npm run sandbox -- --once` starts its own control plane, emulator and
// operator, applies examples/, and must end with every resource Ready and the drift demonstration completed: the
// out-of-band change corrected through a drift event, with no resync asked for.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');

test('the sandbox brings up examples/ and shows drift reported and corrected', { timeout: 600_000 }, async () => {
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/sandbox.ts'), '--once'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (c) => resolve({ code: c, output }));
  });
  assert.equal(code, 0, output.slice(-4000));
  assert.match(output, /KIND\s+NAME\s+URL\s+READY\s+DRIFT\s+\$\/MONTH/);
  assert.match(output, /Environment\s+dev\s+True\s+\d+\s+\d+\.\d{2}\b/, "the Environment's total cost is shown");
  assert.match(output, /Service\s+web-dev\s+https:\/\/web\.dev\.shop\.example\.com\s+True/);
  assert.match(output, /PreviewDeployment\s+web-dev-pr-482\s+https:\/\/\S+\s+True/);
  assert.match(output, /moto does not emit CloudTrail events/, "the sandbox says it plays CloudTrail's part");
  assert.doesNotMatch(output, /slipway\.dev\/sync/, 'no resync is asked for');
  assert.match(output, /the rule routes \S+ again, \d+\.\d s after the ModifyRule/);
  assert.match(output, /drift corrected: listener-rule host: was hijacked\./);
  assert.match(output, /corrected drift on listener-rule/, 'the DriftCorrected event is shown');
  assert.match(output, /\$ slipway plan -f \S+\n\s+No changes: AWS and the cluster match the manifests\./);
  assert.match(output, /Promoted web from dev to staging: revision \d+ \(sha256:[0-9a-f]{12}/);
  assert.match(
    output,
    /└─ Service web-staging\s+True\s+https:\/\/web\.staging\.shop\.example\.com\s+sha256:[0-9a-f]{12}/,
  );
  const ok =
    /SANDBOX OK: (\d+)\/(\d+) Ready, drift reported and corrected in \d+\.\d s by a drift event, plan exit 0, promotion deployed/.exec(
      output,
    );
  assert.ok(ok && ok[1] === ok[2], 'every resource is Ready');
});
