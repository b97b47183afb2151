// The test command: builds or reuses the servers, starts the local environment once, runs every test file with
// node's test runner against it, and tears it all down — also when the run fails or is interrupted.
//   npm test            unit + integration tests
//   npm test -- --unit  unit tests only (no servers)
//   npm test -- FILE... only these files (integration files get the environment)
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureHelm } from './env/build.js';
import { startLocalEnvironment, type LocalEnvironment } from './env/index.js';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const explicit = args.filter((a) => !a.startsWith('--'));

function testFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

const files =
  explicit.length > 0
    ? explicit
    : unitOnly
      ? testFiles('test/unit')
      : [...testFiles('test/unit'), ...testFiles('test/integration'), ...testFiles('test/e2e')];
const needsEnv = files.some((f) => !f.startsWith('test/unit'));
const started = Date.now();

let env: LocalEnvironment | undefined;
let code = 1;
try {
  // Helm (for the chart tests) builds alongside the servers, so a cold machine pays for the builds once, in parallel.
  const helm = files.some((f) => /chart|helm/.test(f)) ? ensureHelm() : undefined;
  if (needsEnv) env = await startLocalEnvironment();
  await helm;
  process.stderr.write(
    `[test] environment ready in ${((Date.now() - started) / 1000).toFixed(1)}s; running ${files.length} test files\n`,
  );
  code = await new Promise<number>((resolve) => {
    // Files run one at a time: integration files share one API server and one emulator.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
      {
        cwd: root,
        stdio: 'inherit',
        // The SDK is pinned to the last versions that support Node 20; its reminder about that is noise in test output.
        env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env, ...env?.exports },
      },
    );
    child.on('close', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
} catch (err) {
  process.stderr.write(`[test] ${err instanceof Error ? err.message : String(err)}\n`);
  code = 1;
} finally {
  await env?.stop();
}
process.stderr.write(`[test] finished in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
process.exit(code);
