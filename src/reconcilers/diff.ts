// A pure, generic field differ shared by the kinds: walks desired props, compares with observed props, and
// reports path-addressed changes. A field absent from the desired side is not managed and never a change.
import type { Change } from './contract.js';

export interface DiffOptions {
  /** Paths (exact, `[]` for any index) whose arrays are sets: order does not matter. */
  readonly unordered?: readonly string[];
  /** Paths to skip entirely (fields another system owns). */
  readonly ignore?: readonly string[];
}

export function render(value: unknown): string {
  if (value === undefined) return '(absent)';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/**
 * A kind's `diff` when its managed fields are its props, compared with `opts`: what nearly every kind needs, so a
 * kind states only its options (and a kind that manages less than its props writes its own).
 */
export function diffProps(
  opts?: DiffOptions,
): (desired: { readonly props: unknown }, observed: { readonly props: unknown }) => Change[] {
  return (desired, observed) => diffFields(desired.props, observed.props, opts);
}

export function diffFields(desired: unknown, actual: unknown, opts: DiffOptions = {}): Change[] {
  const changes: Change[] = [];
  const unordered = new Set(opts.unordered ?? []);
  const ignore = new Set(opts.ignore ?? []);
  const walk = (d: unknown, a: unknown, path: string, pattern: string): void => {
    if (d === undefined || ignore.has(pattern)) return;
    if (Array.isArray(d)) {
      const arr = Array.isArray(a) ? a : [];
      if (unordered.has(pattern)) {
        const ds = d.map(canonical).sort();
        const as = arr.map(canonical).sort();
        if (ds.join('\n') !== as.join('\n')) changes.push({ path, desired: render(d), actual: render(a) });
        return;
      }
      if (d.length !== arr.length || d.some((x) => typeof x !== 'object' || x === null)) {
        if (canonical(d) !== canonical(arr)) changes.push({ path, desired: render(d), actual: render(a) });
        return;
      }
      d.forEach((x, i) => walk(x, arr[i], `${path}[${i}]`, `${pattern}[]`));
      return;
    }
    if (d !== null && typeof d === 'object') {
      const obj = a !== null && typeof a === 'object' && !Array.isArray(a) ? (a as Record<string, unknown>) : {};
      for (const [k, v] of Object.entries(d as Record<string, unknown>)) {
        walk(v, obj[k], path ? `${path}.${k}` : k, pattern ? `${pattern}.${k}` : k);
      }
      return;
    }
    if (d !== a) changes.push({ path, desired: render(d), actual: render(a) });
  };
  walk(desired, actual, '', '');
  return changes;
}

/** Tag keys Slipway never removes: AWS reserves `aws:`, and the ownership tags are never given up. */
const KEPT_TAG_PREFIXES = ['aws:', 'slipway.dev/'];

export interface TagDiff {
  /** One change per differing key, at `tags.<key>`, for status and drift. */
  readonly changes: readonly Change[];
  /** Keys to add or overwrite, with their desired values. */
  readonly set: Readonly<Record<string, string>>;
  /** Keys to remove: present, not desired, and not kept. */
  readonly remove: readonly string[];
}

/**
 * Tags are part of the diff. Slipway owns the tag set of what it creates: the desired tags (the Environment's
 * spec.tags plus the ownership tags) are set, and any other key is removed, so a tag dropped from spec.tags goes
 * and one added by hand is drift. `aws:` keys (AWS's own) and `slipway.dev/` keys are never removed.
 */
export function diffTags(
  desired: Readonly<Record<string, string>>,
  observed: Readonly<Record<string, string>>,
): TagDiff {
  const changes: Change[] = [];
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const [key, value] of Object.entries(desired).sort(([a], [b]) => a.localeCompare(b))) {
    if (observed[key] === value) continue;
    set[key] = value;
    changes.push({ path: `tags.${key}`, desired: value, actual: render(observed[key]) });
  }
  for (const key of Object.keys(observed).sort()) {
    if (key in desired || KEPT_TAG_PREFIXES.some((p) => key.startsWith(p))) continue;
    remove.push(key);
    changes.push({ path: `tags.${key}`, desired: render(undefined), actual: observed[key] ?? '' });
  }
  return { changes, set, remove };
}
