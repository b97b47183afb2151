// A plain text table for the sandbox's summary.
export interface Row {
  readonly kind: string;
  readonly name: string;
  readonly url: string;
  readonly ready: string;
  readonly drift: string;
  /** Estimated USD a month (an Environment's with its Services and previews); status.cost. */
  readonly cost: string;
}

export function renderTable(rows: readonly Row[]): string {
  const header: Row = { kind: 'KIND', name: 'NAME', url: 'URL', ready: 'READY', drift: 'DRIFT', cost: '$/MONTH' };
  const all = [header, ...rows];
  const keys = ['kind', 'name', 'url', 'ready', 'drift', 'cost'] as const;
  const width = Object.fromEntries(keys.map((k) => [k, Math.max(...all.map((r) => r[k].length))])) as Record<
    (typeof keys)[number],
    number
  >;
  return all
    .map((r) =>
      keys
        .map((k) => r[k].padEnd(width[k]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
