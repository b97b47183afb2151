#!/usr/bin/env node
// The `slipway` and `kubectl-slipway` executables (package.json bin): see run.ts.
import { runCli } from './run.js';

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
process.exitCode = code;
