// One lane of test/run.ts: runs its files one at a time with node's test runner, prints the spec report, and records
// how long each file took (`{"file":..,"ms":..}` lines in the file named first), for balancing the next run.
import { writeFileSync } from 'node:fs';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const [durationsFile, ...files] = process.argv.slice(2);
const byFile = new Map<string, number>();
let failed = false;

const stream = run({ files, concurrency: 1 });
stream.on('test:fail', () => (failed = true));
stream.on('test:complete', (data: { file?: string; nesting: number; details: { duration_ms: number } }) => {
  // At nesting 0 the runner reports each file as a whole (process start included) and each top-level test in it:
  // the longest is the file's.
  if (data.file && data.nesting === 0)
    byFile.set(data.file, Math.max(byFile.get(data.file) ?? 0, data.details.duration_ms));
});
stream.on('end', () => {
  if (durationsFile) {
    const lines = [...byFile].map(([file, ms]) => JSON.stringify({ file, ms: Math.round(ms) }));
    writeFileSync(durationsFile, lines.map((l) => `${l}\n`).join(''));
  }
  process.exitCode = failed ? 1 : 0;
});
stream.compose(new spec()).pipe(process.stdout);
