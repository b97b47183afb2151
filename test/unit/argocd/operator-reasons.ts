// The condition reasons the operator can write, read from its source: `reason: ...` expressions (conditions,
// TerminalErrors, Environment lookups), PlanningError reasons (the third argument, or the class default), and the
// literal first argument of the PreviewDeployment controller's block(). The health-script tests require every one
// of them to have a decided health, so a reason added to the operator cannot slip past Argo CD unclassified.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const CAMEL = /'([A-Z][A-Za-z]+)'/g;

/** CamelCase string literals in a piece of source text. */
function camelLiterals(text: string): string[] {
  return [...text.matchAll(CAMEL)].map((m) => m[1]!);
}

/** The text of each call `name(...)`, up to its balanced closing parenthesis. */
function callArguments(source: string, name: string): string[] {
  const out: string[] = [];
  let from = source.indexOf(`${name}(`);
  while (from !== -1) {
    let depth = 0;
    let end = from + name.length;
    for (; end < source.length; end++) {
      if (source[end] === '(') depth++;
      else if (source[end] === ')' && --depth === 0) break;
    }
    out.push(source.slice(from + name.length + 1, end));
    from = source.indexOf(`${name}(`, end);
  }
  return out;
}

export interface ReasonSite {
  readonly reason: string;
  readonly file: string;
}

export function operatorReasons(repoRoot: string): ReasonSite[] {
  const dirs = ['src/controllers', 'src/drift', 'src/planner'];
  const sites: ReasonSite[] = [];
  for (const dir of dirs) {
    for (const name of readdirSync(join(repoRoot, dir))
      .filter((f) => f.endsWith('.ts'))
      .sort()) {
      const file = `${dir}/${name}`;
      const source = readFileSync(join(repoRoot, file), 'utf8');
      const found = [
        // `reason: 'X'`, `reason: cond ? 'X' : 'Y'`, and a parameter default `reason = 'X'`.
        ...[...source.matchAll(/\breason\s*[:=]\s*([^\n]*)/g)].flatMap((m) => camelLiterals(m[1]!)),
        ...callArguments(source, 'new PlanningError').flatMap(camelLiterals),
        ...[...source.matchAll(/\bblock\(\s*'([A-Z][A-Za-z]+)'/g)].map((m) => m[1]!),
      ];
      for (const reason of new Set(found)) sites.push({ reason, file });
    }
  }
  return sites;
}
