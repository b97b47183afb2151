// The plan as text, in the manner of `terraform plan`: `+` create, `~` update with each field's path and
// old → new value, `-` delete, `!` what the plan could not settle, then one summary line. Pure.
import type { AwsResourcePlan, CustomResourcePlan, PlanDocument } from './document.js';

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

export function renderText(doc: PlanDocument): string {
  const shown = doc.resources.filter(
    (r) => r.action !== 'no-op' || r.message !== undefined || r.aws.some((a) => a.action !== 'no-op'),
  );
  const blocks = shown.map((r) => resourceLines(r).join('\n'));
  const tail =
    doc.changed || doc.summary.aws.errors > 0
      ? summaryLine(doc)
      : `No changes: AWS and the cluster match the manifests. ${summaryLine(doc)}`;
  return [...blocks, tail].join('\n\n') + '\n';
}
