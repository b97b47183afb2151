// The condition reasons the operator can write, read from its source: `reason: ...` expressions, PlanningError
// reasons (the third argument, or the class default), and the literal first argument of every Outcome builder. The health-script tests require every one
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

/** Every .ts file under `dir`, recursively, sorted. */
function sourcesUnder(repoRoot: string, dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name).slice(repoRoot.length + 1))
    .sort();
}

export function operatorReasons(repoRoot: string): ReasonSite[] {
  const sites: ReasonSite[] = [];
  // Outcomes are built everywhere a failure is understood, so all of src/ is scanned; the runtime and the
  // generated API types write no reasons of their own.
  for (const file of sourcesUnder(repoRoot, 'src').filter((f) => !/src\/(runtime|api)\//.test(f))) {
    const source = readFileSync(join(repoRoot, file), 'utf8');
    const found = [
      // `reason: 'X'`, `reason: cond ? 'X' : 'Y'`, and a parameter default `reason = 'X'`.
      ...[...source.matchAll(/\breason\s*[:=]\s*([^\n]*)/g)].flatMap((m) => camelLiterals(m[1]!)),
      // A reason kept in a constant: `const X_REASON = 'Y'`.
      ...[...source.matchAll(/\bconst [A-Z_]*REASON = '([A-Z][A-Za-z]+)'/g)].map((m) => m[1]!),
      ...callArguments(source, 'new PlanningError').flatMap(camelLiterals),
      // The reason of a reconciler's UserActionRequired(message, 'Reason').
      ...callArguments(source, 'new UserActionRequired').flatMap(camelLiterals),
      // The first argument of an Outcome builder: outcome('X', ...) (imported as makeOutcome where a local is
      // named outcome), userError('X', ...), retryAfter('X', ...), and the preview controller's blocked('X', ...).
      ...[...source.matchAll(/\b(?:outcome|makeOutcome|userError|retryAfter|blocked)\(\s*'([A-Z][A-Za-z]+)'/g)].map(
        (m) => m[1]!,
      ),
    ];
    for (const reason of new Set(found)) sites.push({ reason, file });
  }
  return sites;
}
