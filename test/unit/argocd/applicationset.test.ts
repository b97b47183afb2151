// argocd/examples/previews-applicationset.yaml cannot run here (no Argo CD), so this renders it the way the
// ApplicationSet controller and Argo CD's kustomize step would for one pull request, and checks the result is a
// PreviewDeployment the API server accepts, carrying that pull request — plus the sync choices docs/argocd.md
// argues for.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../../scripts/gen-argocd-cm.js';
import { CRD_DIR, applyDefaults, crdFor, loadCrds, rulesOf, validateStructure } from '../api/crd-schema.js';

const EXAMPLES = join(REPO_ROOT, 'argocd', 'examples');
const APPSET_FILE = join(EXAMPLES, 'previews-applicationset.yaml');
/** Where the example keeps what the ApplicationSet's source path holds in the deploy repository. */
const BASE_DIR = join(EXAMPLES, 'preview');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** The parameters the pull-request generator gives each pull request (all strings; labels only with goTemplate). */
const PULL_REQUEST: Readonly<Record<string, string | string[]>> = {
  number: '482',
  title: 'Gift cards at checkout',
  branch: 'feature/gift-cards "v2"',
  branch_slug: 'feature-gift-cards-v2',
  target_branch: 'main',
  target_branch_slug: 'main',
  head_sha: '9f3c2ab71d04e5c8b6a1f0e2d3c4b5a697887766',
  head_short_sha: '9f3c2ab7',
  head_short_sha_7: '9f3c2ab',
  author: 'octocat',
  labels: ['preview'],
};

/** Go templates as the example uses them: `{{ .param }}` and `{{ .param | toJson }}`, missingkey=error. */
function renderTemplate(text: string, params: Readonly<Record<string, string | string[]>>): string {
  const out = text.replace(/\{\{\s*\.(\w+)\s*(\|\s*toJson\s*)?\}\}/g, (_, key: string, toJson: string | undefined) => {
    const value = params[key];
    if (value === undefined) throw new Error(`map has no entry for key "${key}"`);
    return toJson ? JSON.stringify(value) : String(value);
  });
  assert.doesNotMatch(out, /\{\{/, `template syntax this test does not render: ${out}`);
  return out;
}

/** The ApplicationSet controller renders every string of the template. */
function renderValue(value: Json, params: Readonly<Record<string, string | string[]>>): Json {
  if (typeof value === 'string') return renderTemplate(value, params);
  if (Array.isArray(value)) return value.map((v) => renderValue(v, params));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, params)]));
  return value;
}

/** RFC 7386 JSON merge patch: what a strategic-merge patch amounts to for a custom resource. */
function mergePatch(target: Json, patch: Json): Json {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base: JsonObject = target && typeof target === 'object' && !Array.isArray(target) ? target : {};
  const keys = [...new Set([...Object.keys(base), ...Object.keys(patch)])];
  return Object.fromEntries(
    keys.flatMap((key): [string, Json][] => {
      if (!(key in patch)) return [[key, base[key]!]];
      const value = patch[key]!;
      return value === null ? [] : [[key, mergePatch(base[key] ?? null, value)]];
    }),
  );
}

const get = (o: Json | undefined, path: string): Json | undefined =>
  path
    .split('.')
    .reduce<Json | undefined>((v, k) => (v && typeof v === 'object' && !Array.isArray(v) ? v[k] : undefined), o);

const docs = parseAllDocuments(readFileSync(APPSET_FILE, 'utf8')).map((d) => d.toJS() as JsonObject);
const project = docs.find((d) => d.kind === 'AppProject')!;
const appset = docs.find((d) => d.kind === 'ApplicationSet')!;
const application = renderValue(get(appset, 'spec.template')!, PULL_REQUEST) as JsonObject;

/** What Argo CD's kustomize step makes of the source for this pull request. */
function renderPreview(): JsonObject {
  const kustomize = get(application, 'spec.source.kustomize') as JsonObject;
  const kustomization = parse(readFileSync(join(BASE_DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  const resources = kustomization.resources.map((r) => parse(readFileSync(join(BASE_DIR, r), 'utf8')) as JsonObject);
  assert.equal(resources.length, 1, 'one PreviewDeployment per pull request');
  let preview = resources[0]!;
  for (const p of kustomize.patches as JsonObject[]) {
    const target = p.target as JsonObject;
    assert.equal(target.kind, preview.kind);
    assert.equal(target.name, get(preview, 'metadata.name'), 'patches target the name in the base');
    preview = mergePatch(preview, parse(p.patch as string) as Json) as JsonObject;
  }
  const metadata = preview.metadata as JsonObject;
  return { ...preview, metadata: { ...metadata, name: `${String(metadata.name)}${String(kustomize.nameSuffix)}` } };
}

test('the file holds an AppProject and an ApplicationSet with the pull-request generator', () => {
  assert.deepEqual(
    docs.map((d) => `${String(d.apiVersion)} ${String(d.kind)}`),
    ['argoproj.io/v1alpha1 AppProject', 'argoproj.io/v1alpha1 ApplicationSet'],
  );
  assert.equal(get(appset, 'spec.goTemplate'), true);
  assert.deepEqual(get(appset, 'spec.goTemplateOptions'), ['missingkey=error']);
  const generators = get(appset, 'spec.generators') as JsonObject[];
  assert.equal(generators.length, 1);
  const pr = generators[0]!.pullRequest as JsonObject;
  assert.ok(pr.github, 'a GitHub pull-request generator');
  assert.ok(
    typeof pr.requeueAfterSeconds === 'number' && pr.requeueAfterSeconds <= 600,
    'closed pull requests are noticed within minutes',
  );
});

test('a pull request renders to an Application whose name is a DNS label, in the previews project', () => {
  assert.equal(get(application, 'metadata.name'), 'web-dev-pr-482');
  assert.match(String(get(application, 'metadata.name')), /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  assert.equal(get(application, 'spec.project'), get(project, 'metadata.name'));
  const source = get(application, 'spec.source') as JsonObject;
  assert.ok((get(project, 'spec.sourceRepos') as string[]).includes(String(source.repoURL)));
  const dest = get(application, 'spec.destination') as JsonObject;
  assert.ok(
    (get(project, 'spec.destinations') as JsonObject[]).some(
      (d) => d.server === dest.server && d.namespace === dest.namespace,
    ),
  );
  assert.deepEqual(get(project, 'spec.namespaceResourceWhitelist'), [
    { group: 'slipway.dev', kind: 'PreviewDeployment' },
  ]);
  assert.deepEqual(get(project, 'spec.clusterResourceWhitelist'), []);
});

test('the preview it deploys is valid and carries the pull request: image tag from the head commit', () => {
  const preview = renderPreview();
  const crd = crdFor(loadCrds(CRD_DIR), 'PreviewDeployment');
  const stored = applyDefaults(crd.schema, preview) as JsonObject;
  assert.deepEqual(validateStructure(crd.schema, stored), []);
  assert.equal(get(preview, 'metadata.name'), 'web-dev-pr-482');
  assert.equal(get(preview, 'metadata.namespace'), get(application, 'spec.destination.namespace'));
  assert.equal(get(preview, 'spec.imageTag'), 'pr-482-9f3c2ab');
  assert.deepEqual(get(preview, 'spec.pullRequest'), {
    number: 482,
    url: 'https://github.com/acme-shop/web/pull/482',
    branch: 'feature/gift-cards "v2"',
    commitSha: PULL_REQUEST.head_sha,
  });
  // The pull request's state is left to its default, open: a closed pull request ends with its Application.
  assert.equal(get(stored, 'spec.pullRequest.state'), 'open');
  assert.equal(get(preview, 'spec.ttl'), '72h');
  // The CEL rules on the fields the template fills, evaluated as the regular expressions they are.
  for (const path of ['spec.imageTag', 'spec.pullRequest.url']) {
    const rule = rulesOf(crd).find((r) => r.declaredAt === path && /self\.matches\('/.test(r.rule));
    assert.ok(rule, `a CEL pattern on ${path}`);
    const pattern = /self\.matches\('(.*)'\)/.exec(rule.rule)![1]!;
    assert.match(String(get(preview, path)), new RegExp(pattern), path);
  }
});

test('sync choices: deletion follows the pull request, self-heal stays off, the source revision does not float', () => {
  assert.deepEqual(get(application, 'metadata.finalizers'), ['resources-finalizer.argocd.argoproj.io']);
  assert.equal(get(application, 'spec.syncPolicy.automated.prune'), true);
  assert.equal(get(application, 'spec.syncPolicy.automated.selfHeal'), false);
  assert.notEqual(get(appset, 'spec.syncPolicy.preserveResourcesOnDeletion'), true);
  assert.ok(
    !['create-only', 'create-update'].includes(String(get(appset, 'spec.syncPolicy.applicationsSync'))),
    'Applications of closed pull requests are deleted',
  );
  assert.ok(
    !['HEAD', 'main', 'master', ''].includes(String(get(application, 'spec.source.targetRevision'))),
    'a moving branch re-syncs, and so re-creates, expired previews',
  );
});

test('another pull request renders to another Application and preview; a missing parameter is an error', () => {
  const other = renderValue(get(appset, 'spec.template')!, {
    ...PULL_REQUEST,
    number: '7',
    head_short_sha_7: '0123abc',
  }) as JsonObject;
  assert.equal(get(other, 'metadata.name'), 'web-dev-pr-7');
  assert.equal(get(other, 'spec.source.kustomize.nameSuffix'), '-pr-7');
  const patch = parse((get(other, 'spec.source.kustomize.patches') as JsonObject[])[0]!.patch as string) as Json;
  assert.equal(get(patch, 'spec.imageTag'), 'pr-7-0123abc');
  assert.equal(get(patch, 'spec.pullRequest.number'), 7);
  const { number: _number, ...withoutNumber } = PULL_REQUEST;
  assert.throws(() => renderValue(get(appset, 'spec.template')!, withoutNumber), /no entry for key "number"/);
});
