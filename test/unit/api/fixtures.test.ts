// The invalid fixtures (test/fixtures/invalid) and immutable changes (test/fixtures/immutable-changes.yaml):
// well-formed, each with exactly one problem as far as the structural schema can tell, and together exercising
// every CEL rule of crds/. The API server's verdict on each is checked by test/integration/crds.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  CRD_DIR,
  EXAMPLES_DIR,
  applyDefaults,
  celStringLiterals,
  crdFor,
  loadCrds,
  loadExamples,
  loadImmutableChanges,
  loadInvalidFixtures,
  normalisePath,
  readYamlDocuments,
  rulesOf,
  validateStructure,
  walk,
  type LocatedRule,
} from './crd-schema.js';

const crds = loadCrds(CRD_DIR);
const fixtures = loadInvalidFixtures();
const immutable = loadImmutableChanges();
const rules = crds.flatMap(rulesOf);

/** Could the rule's message contain this text? (Static message, or one string literal of the messageExpression.) */
function mayProduce(rule: LocatedRule, text: string): boolean {
  if (rule.message !== undefined) return rule.message.replace(/\s+/g, ' ').includes(text);
  return celStringLiterals(rule.messageExpression ?? '').some((literal) => literal.includes(text));
}

test('at least 45 invalid fixtures, uniquely named, in the commerce namespace, with the expected field annotated', () => {
  assert.ok(fixtures.length >= 45, `only ${fixtures.length} invalid fixtures`);
  const keys = fixtures.map((f) => `${f.object.kind}/${f.object.metadata.name}`);
  assert.equal(new Set(keys).size, keys.length, 'duplicate fixture names');
  for (const f of fixtures) {
    assert.equal(f.object.apiVersion, 'slipway.dev/v1alpha1', f.object.metadata.name);
    assert.equal(f.object.metadata.namespace, 'commerce', f.object.metadata.name);
    assert.match(f.expectError, /^spec(\.|$)/, `${f.object.metadata.name}: expect-error is a field path under spec`);
  }
  for (const kind of ['Environment', 'Service', 'PreviewDeployment']) {
    assert.ok(fixtures.filter((f) => f.object.kind === kind).length >= 10, `few ${kind} fixtures`);
  }
});

test('every expected field path exists in the schema of the fixture kind', () => {
  for (const f of [
    ...fixtures.map((x) => ({ kind: x.object.kind, path: x.expectError })),
    ...immutable.map((x) => ({ kind: x.kind, path: x.expectError })),
  ]) {
    const paths = new Set(walk(crdFor(crds, f.kind).schema).map((n) => n.path));
    // Map values are reported as spec.tags.<key>: accept a known map path followed by a key.
    const normal = normalisePath(f.path);
    const ok =
      paths.has(normal) || [...paths].some((p) => p.endsWith('[*]') && normal.startsWith(`${p.slice(0, -3)}.`));
    assert.ok(ok, `${f.kind}: ${f.path} is not a field`);
  }
});

test('every CEL rule (except transition rules) is exercised by an invalid fixture that expects its field and message', () => {
  const uncovered = rules
    .filter((r) => !r.transition)
    .filter(
      (rule) =>
        !fixtures.some(
          (f) =>
            f.object.kind === rule.kind &&
            normalisePath(f.expectError) === rule.errorPath &&
            f.expectMessage !== undefined &&
            mayProduce(rule, f.expectMessage),
        ),
    )
    .map((r) => `${r.kind} ${r.errorPath}: ${r.rule}`);
  assert.deepEqual(uncovered, []);
});

test('every transition rule (immutable field) is exercised by test/fixtures/immutable-changes.yaml', () => {
  const transition = rules.filter((r) => r.transition);
  assert.ok(transition.length >= 7);
  for (const rule of transition) {
    assert.ok(
      immutable.some(
        (c) => c.kind === rule.kind && c.expectError === rule.errorPath && mayProduce(rule, c.expectMessage),
      ),
      `${rule.kind} ${rule.errorPath} has no immutable change`,
    );
  }
  const examples = loadExamples();
  for (const change of immutable) {
    const candidates = change.example ? readYamlDocuments(join(EXAMPLES_DIR, change.example)) : examples;
    assert.ok(
      candidates.some((e) => e.kind === change.kind && e.metadata.name === change.name),
      `${change.kind}/${change.name} is not in examples/${change.example ?? ''}`,
    );
  }
});

test('each fixture has exactly one problem as far as the structural schema can tell', () => {
  for (const f of fixtures) {
    const schema = crdFor(crds, f.object.kind).schema;
    const errors = validateStructure(schema, applyDefaults(schema, f.object));
    const name = f.object.metadata.name;
    const targetsRule = rules.some(
      (r) =>
        r.kind === f.object.kind &&
        r.errorPath === normalisePath(f.expectError) &&
        f.expectMessage !== undefined &&
        mayProduce(r, f.expectMessage),
    );
    if (targetsRule) {
      assert.deepEqual(errors, [], `${name} targets a CEL rule and must be structurally valid`);
    } else {
      assert.ok(
        errors.length > 0,
        `${name}: no structural error, and no CEL rule matches ${f.expectError} / ${f.expectMessage ?? ''}`,
      );
      const expected = normalisePath(f.expectError);
      for (const error of errors) {
        const path = normalisePath(error.slice(0, error.indexOf(':')));
        assert.ok(
          path === expected || path.startsWith(`${expected}.`) || path.startsWith(`${expected}[`),
          `${name}: unexpected ${error}`,
        );
      }
    }
  }
});
