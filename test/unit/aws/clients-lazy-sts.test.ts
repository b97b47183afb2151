// The STS client module is loaded on the first request for an assumed role's credentials, not when clients are
// made: most installations name no role, and the operator process then never holds it. Checked in a fresh Node
// process (this one's module cache already holds whatever other tests loaded), by looking at the CommonJS module
// cache through which the SDK's packages load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..', '..', '..');
const clientsUrl = pathToFileURL(join(root, 'src/aws/clients.ts')).href;

// Runs in the child: an endpoint that answers every request with an error, so the AssumeRole call fails fast once
// it is made; what matters is whether the module was loaded, and when.
const child = `
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
const require = createRequire(import.meta.url);
const stsLoaded = () => Object.keys(require.cache).some((k) => k.includes('/@aws-sdk/client-sts/'));
const server = createServer((req, res) => { req.resume(); res.writeHead(400, { 'content-type': 'text/xml' }); res.end(); });
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const endpoint = 'http://127.0.0.1:' + server.address().port;
const { AwsClients } = await import(${JSON.stringify(clientsUrl)});
const common = { region: 'us-east-1', endpoint, rateLimits: false, maxAttempts: 1,
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };
const out = { afterImport: stsLoaded() };
const plain = new AwsClients(common);
void plain.ecs; void plain.elbv2;
out.afterClientsWithoutRole = stsLoaded();
const assumed = new AwsClients({ ...common, roleArn: 'arn:aws:iam::123456789012:role/slipway' });
const ecs = assumed.ecs;
out.afterClientsWithRole = stsLoaded();
out.error = await ecs.config.credentials().then(() => 'none', (err) => String(err?.name ?? err));
out.afterCredentials = stsLoaded();
server.close();
process.stdout.write(JSON.stringify(out));
`;

function runChild(): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', child],
      { cwd: root, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout) as Record<string, unknown>);
      },
    );
  });
}

test(
  'the STS client module loads on the first request for assumed-role credentials, not before',
  { timeout: 60_000 },
  async () => {
    const out = await runChild();
    assert.equal(out.afterImport, false, 'importing clients.ts loads no STS module');
    assert.equal(out.afterClientsWithoutRole, false, 'clients without a role never load it');
    assert.equal(out.afterClientsWithRole, false, 'making the clients of an assumed role does not load it yet');
    assert.notEqual(out.error, 'none', 'the emulated STS endpoint refuses the AssumeRole call');
    assert.equal(out.afterCredentials, true, 'the first request for credentials loads it');
  },
);
