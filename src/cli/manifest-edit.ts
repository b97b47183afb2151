// `--write FILE`: sets spec.image of one Service in a manifest file and leaves every other byte as it was, comments
// and formatting included, so the change a GitOps user opens a pull request with is exactly one value. The yaml
// package's Document API finds the value's node and its place in the text; only those characters are replaced.
// Pure: text in, text out.
import { isMap, isScalar, parseAllDocuments, Scalar } from 'yaml';
import { GROUP } from '../api/index.js';
import type { Named, Refusal } from './release.js';

export interface ManifestService extends Named {
  /** The document's index in the file, from 0. */
  readonly index: number;
  readonly metadata: Named['metadata'] & { readonly namespace?: string };
  readonly spec: Named['spec'] & { readonly image?: string };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The slipway.dev Services a manifest file holds, in order. */
export function servicesIn(text: string): ManifestService[] {
  const out: ManifestService[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    if (doc.errors.length > 0) return;
    const js: unknown = doc.toJS();
    if (!isRecord(js) || js.kind !== 'Service' || typeof js.apiVersion !== 'string') return;
    if (js.apiVersion.split('/')[0] !== GROUP || !isRecord(js.metadata) || !isRecord(js.spec)) return;
    out.push({ index, metadata: js.metadata, spec: js.spec } as unknown as ManifestService);
  });
  return out;
}

/** The value as a scalar of the same style as the one it replaces (plain where YAML allows, else quoted). */
function render(value: string, style: Scalar['type']): string {
  const plainSafe = /^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$/.test(value) && !value.includes(': ');
  if (style === Scalar.QUOTE_SINGLE) return `'${value.replace(/'/g, "''")}'`;
  if (style === Scalar.PLAIN && plainSafe) return value;
  return JSON.stringify(value);
}

export interface ImageEdit {
  readonly text: string;
  readonly old: string;
}

/**
 * `text` with spec.image of the document at `index` set to `image`; every other character unchanged. A refusal
 * when the file cannot be edited so (invalid YAML, no scalar spec.image).
 */
export function setImage(text: string, index: number, image: string, file: string): ImageEdit | Refusal {
  const docs = parseAllDocuments(text);
  const doc = docs[index];
  if (!doc || doc.errors.length > 0) {
    return { refused: `${file}: document ${index + 1} is not valid YAML: ${doc?.errors[0]?.message ?? 'missing'}` };
  }
  const spec = doc.get('spec', true);
  const node = isMap(spec) ? spec.get('image', true) : undefined;
  if (!isScalar(node) || typeof node.value !== 'string' || !node.range) {
    return { refused: `${file}: document ${index + 1} has no spec.image string to replace; add spec.image` };
  }
  const [start, end] = node.range;
  const next = text.slice(0, start) + render(image, node.type) + text.slice(end);
  // What was written must read back as the image, with nothing else in the document changed.
  const check = parseAllDocuments(next)[index];
  if (check?.errors.length || check?.getIn(['spec', 'image']) !== image) {
    return { refused: `${file}: could not set spec.image of document ${index + 1} without changing its meaning` };
  }
  return { text: next, old: node.value };
}
