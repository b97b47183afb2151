// Builds (once) and prints the path of the pinned helm binary the chart tests use, so the same helm is at hand
// for `helm lint`, `helm template` or `helm install` by hand: `"$(npx tsx scripts/install-helm.ts)" version`.
import { ensureHelm } from '../test/env/build.js';

process.stdout.write(`${await ensureHelm()}\n`);
