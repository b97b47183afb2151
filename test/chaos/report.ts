// The chaos run's report as markdown: what was injected, what was done to the processes, and what was found.
import { FAULT_KINDS } from './proxy.js';
import type { ChaosResults } from './harness.js';

const s = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

export function renderMarkdown(r: ChaosResults): string {
  const o = r.options;
  const lines: string[] = [];
  const failed = r.checks.filter((c) => !c.ok);
  lines.push(`# Chaos run: ${o.services} Services, ${o.minutes} min, seed ${o.seed}`, '');
  lines.push(
    `Started ${r.startedAt}. Reproduce: \`npm run chaos -- --services ${o.services} --minutes ${o.minutes} --seed ${o.seed}\``,
    '',
  );
  lines.push(
    `Fault mix: throttle ${o.rates.throttle * 100} %, 5xx ${o.rates.error5xx * 100} %, lost response after apply ${o.rates.drop * 100} %, silent ${o.rates.silent * 100} %; operator request timeout ${o.requestTimeout}, pass deadline ${o.passDeadline}.`,
    '',
  );
  lines.push('## Checks', '', '| check | result | detail |', '|---|---|---|');
  for (const c of r.checks)
    lines.push(`| ${c.name} | ${c.ok ? 'ok' : '**FAILED**'} | ${c.detail.replace(/\|/g, '\\|')} |`);
  lines.push('');
  lines.push('## Times', '');
  lines.push(`- Environment Ready: ${s(r.timesMs.environmentReady)} after the apply`);
  lines.push(
    `- everything Ready: ${s(r.timesMs.allReady)} after the apply; then ${r.timesMs.churnRounds} rounds of image changes`,
  );
  lines.push(`- counts matched the plan: ${s(r.timesMs.countsMatched)} after the faults stopped`);
  lines.push(
    `- deletion: faults stopped ${s(r.timesMs.deleteFaultsStopped)} after the delete; everything gone ${s(r.timesMs.allGone)} after the delete`,
  );
  const w = r.workers;
  lines.push(
    w
      ? `- longest a worker held a key: ${Object.entries(w.longestBusySeconds)
          .map(([c, sec]) => `${c} ${sec.toFixed(1)} s`)
          .join(', ')} (pass deadline ${o.passDeadline}; ${w.scrapes} scrapes of /metrics)`
      : '- longest a worker held a key: not measured',
    '',
  );
  lines.push('## Disruptions', '', '| phase | what | at write call | at | done |', '|---|---|---|---|---|');
  for (const d of r.disruptions)
    lines.push(`| ${d.phase} | ${d.what} | ${d.atWrites} | ${s(d.atMs)} | ${d.done ? 'yes' : 'not reached'} |`);
  lines.push('');
  const t = r.injected.totals;
  lines.push('## Injected', '', `Totals: ${FAULT_KINDS.map((k) => `${k} ${t[k]}`).join(', ')}.`, '');
  lines.push(
    `Forced at seeded calls: ${Object.entries(r.forced)
      .map(([call, kind]) => `${call} ${kind}`)
      .join(', ')}.`,
    '',
  );
  lines.push(`| operation | ${FAULT_KINDS.join(' | ')} |`, `|---|${FAULT_KINDS.map(() => '---:').join('|')}|`);
  const ops = Object.entries(r.injected.byOperation).filter(([, k]) =>
    FAULT_KINDS.some((f) => f !== 'pass' && k[f] > 0),
  );
  for (const [op, k] of ops.sort(([a], [b]) => a.localeCompare(b)))
    lines.push(`| ${op} | ${FAULT_KINDS.map((f) => k[f]).join(' | ')} |`);
  lines.push('', '(operations that met no fault are left out of the table; they are in the JSON)', '');
  lines.push('## Found', '', '| kind | planned | found |', '|---|---:|---:|');
  for (const k of Object.keys({ ...r.counts.planned, ...r.counts.found }).sort())
    lines.push(`| ${k} | ${r.counts.planned[k] ?? 0} | ${r.counts.found[k] ?? 0} |`);
  lines.push('');
  const dupes = (title: string, list: ChaosResults['duplicates']) => {
    lines.push(`${title}: ${list.length === 0 ? 'none' : ''}`);
    for (const d of list) lines.push(`- ${d.kind} \`${d.identity}\`: ${d.ids.join(', ')}`);
    lines.push('');
  };
  dupes('Duplicates when everything was first Ready', r.duplicatesAtReady);
  dupes('Duplicates at the check', r.duplicates);
  lines.push(`Leftovers after delete-all: ${r.leftovers.length === 0 ? 'none' : ''}`);
  for (const f of r.leftovers) lines.push(`- ${f.kind} ${f.id}`);
  lines.push('', `Stuck deletions: ${r.stuck.length === 0 ? 'none' : ''}`);
  for (const x of r.stuck) lines.push(`- ${x.kind} ${x.name} (finalizers ${x.finalizers.join(', ')}): ${x.conditions}`);
  lines.push('');
  if (r.error) lines.push('## Error', '', '```', r.error, '```', '');
  lines.push(failed.length === 0 ? 'CHAOS OK' : `CHAOS FAILED: ${failed.map((c) => c.name).join('; ')}`);
  lines.push(`(operator log: ${r.operatorLog})`);
  return lines.join('\n');
}
