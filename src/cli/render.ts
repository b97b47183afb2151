// The plan as text, in the manner of `terraform plan`: `+` create, `~` update with each field's path and
// old → new value, `-` delete, `!` what the plan could not settle, then one summary line, then the estimated
// monthly cost before → after of each custom resource that has one. Pure.
import type { AwsResourcePlan, CustomResourcePlan, PlanCost, PlanDocument } from './document.js';

const SIGN: Readonly<Record<AwsResourcePlan['action'], string>> = {
  create: '+',
  update: '~',
  delete: '-',
  'no-op': ' ',
  error: '!',
};

function awsLines(a: AwsResourcePlan): string[] {
  const name = `${a.kind} ${a.logicalId}${a.identifier ? ` (${a.identifier})` : ''}`;
  const head = `  ${SIGN[a.action]} ${name}${a.message ? `: ${a.message}` : ''}`;
  return [head, ...a.changes.map((c) => `      ${c.path}: ${c.old} → ${c.new}`)];
}

function resourceLines(r: CustomResourcePlan): string[] {
  const sign = r.action === 'create' ? '+' : r.action === 'update' ? '~' : r.action === 'delete' ? '-' : ' ';
  const lines = [`${sign} ${r.kind} ${r.namespace}/${r.name} (${r.source})`];
  if (r.message) lines.push(`    ${r.message}`);
  for (const c of r.changes) lines.push(`  ~ ${c.path}: ${c.old} → ${c.new}`);
  for (const a of r.aws) if (a.action !== 'no-op') lines.push(...awsLines(a));
  return lines;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function summaryLine(doc: PlanDocument): string {
  const { aws, customResources: cr } = doc.summary;
  const errors = aws.errors > 0 ? `, ${plural(aws.errors, 'error')}` : '';
  return (
    `Plan: ${aws.create} to create, ${aws.update} to update, ${aws.delete} to delete (AWS resources)${errors}; ` +
    `custom resources: ${cr.create} new, ${cr.update} changed, ${cr.unchanged} unchanged` +
    `${cr.delete > 0 ? `, ${cr.delete} removed` : ''}.`
  );
}

const money = (usd: number) => usd.toFixed(2);
const signed = (usd: number) => (usd > 0 ? `+${money(usd)}` : money(usd));

/**
 * One aligned line per custom resource whose cost exists or changes (0 → 0 is left out), one per resource without a
 * price, then the total. Empty when the plan priced nothing.
 */
export function costLines(cost: PlanCost): string[] {
  if (cost.resources.length === 0) return [];
  const rows: { label: string; cells?: [string, string, string]; note?: string }[] = [];
  for (const r of cost.resources) {
    const label = `${r.kind} ${r.namespace}/${r.name}`;
    if (r.unknown !== undefined) rows.push({ label, note: r.unknown });
    else if (r.before !== 0 || r.after !== 0) {
      rows.push({ label, cells: [money(r.before ?? 0), money(r.after ?? 0), signed(r.delta ?? 0)] });
    }
  }
  const left = cost.unknown > 0 ? `  (${plural(cost.unknown, 'resource')} without a price left out)` : '';
  rows.push({ label: 'Total', cells: [money(cost.before), money(cost.after), signed(cost.delta)] });
  const width = Math.max(...rows.map((r) => r.label.length));
  const col = (i: number) => Math.max(...rows.map((r) => r.cells?.[i]?.length ?? 0));
  const widths = [col(0), col(1), col(2)];
  const line = (r: (typeof rows)[number]) =>
    `  ${r.label.padEnd(width)}  ` +
    (r.cells
      ? `${r.cells[0].padStart(widths[0]!)} → ${r.cells[1].padStart(widths[1]!)}  ${r.cells[2].padStart(widths[2]!)}`
      : r.note);
  const lines = rows.map(line);
  lines[lines.length - 1] += left;
  return [`Monthly cost (estimated, ${cost.currency}, price table of ${cost.priceTable}):`, ...lines];
}

export function renderText(doc: PlanDocument): string {
  const shown = doc.resources.filter(
    (r) => r.action !== 'no-op' || r.message !== undefined || r.aws.some((a) => a.action !== 'no-op'),
  );
  const blocks = shown.map((r) => resourceLines(r).join('\n'));
  const tail =
    doc.changed || doc.summary.aws.errors > 0
      ? summaryLine(doc)
      : `No changes: AWS and the cluster match the manifests. ${summaryLine(doc)}`;
  const cost = costLines(doc.cost);
  return [...blocks, tail, ...(cost.length > 0 ? [cost.join('\n')] : [])].join('\n\n') + '\n';
}
