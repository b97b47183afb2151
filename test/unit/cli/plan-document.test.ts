// `slipway plan`'s document, text and exit codes, from plan-mode apply reports (pure; no cluster, no AWS).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exitCodeOf, EXIT, planDocument, diffValues, type CustomResourcePlan } from '../../../src/cli/document.js';
import { renderText, summaryLine } from '../../../src/cli/render.js';
import { resourcePlanOf, statusPlanOf } from '../../../src/drift/plan.js';
import type { ResourceOutcome } from '../../../src/reconcilers/applier.js';
import { planSchemaErrors } from '../../support/plan-schema.js';

const outcome = (o: Partial<ResourceOutcome> & Pick<ResourceOutcome, 'id' | 'action'>): ResourceOutcome => ({
  kind: 'elbv2.TargetGroup',
  changes: [],
  wasInventoried: true,
  ...o,
});

const report = (...outcomes: ResourceOutcome[]) => ({ outcomes, inventory: [], attrs: {} });

function service(
  name: string,
  outcomes: ResourceOutcome[],
  over: Partial<CustomResourcePlan> = {},
): CustomResourcePlan {
  const aws = resourcePlanOf(report(...outcomes));
  return {
    kind: 'Service',
    namespace: 'shop',
    name,
    source: `services/${name}.yaml`,
    action: 'no-op',
    changes: [],
    ...aws,
    ...over,
  };
}

const changedCatalog = service(
  'catalog',
  [
    outcome({ id: 'log-group', kind: 'logs.LogGroup', action: 'in-sync', identifier: '/ecs/catalog' }),
    outcome({
      id: 'task-definition',
      kind: 'ecs.TaskDefinition',
      action: 'to-update',
      identifier: 'arn:aws:ecs:us-east-1:1:task-definition/catalog:3',
      changes: [{ path: 'container.image', actual: 'shop/catalog:1.0.0', desired: 'shop/catalog:1.1.0' }],
    }),
    outcome({
      id: 'target-group',
      action: 'to-update',
      identifier: 'arn:tg',
      changes: [{ path: 'healthCheck.path', actual: '/healthz', desired: '/ready' }],
    }),
    outcome({
      id: 'cdn-distribution',
      kind: 'cloudfront.Distribution',
      action: 'to-delete',
      identifier: 'E123',
      message: 'no longer in the plan',
    }),
  ],
  {
    action: 'update',
    changes: [
      { path: 'spec.image', old: 'shop/catalog:1.0.0', new: 'shop/catalog:1.1.0' },
      { path: 'spec.healthCheck.path', old: '/healthz', new: '/ready' },
    ],
  },
);

const newCart = service(
  'cart',
  [
    outcome({ id: 'log-group', kind: 'logs.LogGroup', action: 'to-create', wasInventoried: false }),
    outcome({ id: 'target-group', action: 'to-create', wasInventoried: false }),
  ],
  { action: 'create' },
);

const unchanged = service('web', [outcome({ id: 'target-group', action: 'in-sync', identifier: 'arn:web' })]);

test('the text shows + create, ~ update with each path and old → new, - delete, and a summary line', () => {
  const text = renderText(planDocument([changedCatalog, newCart, unchanged]));
  assert.equal(
    text,
    [
      '~ Service shop/catalog (services/catalog.yaml)',
      '  ~ spec.image: shop/catalog:1.0.0 → shop/catalog:1.1.0',
      '  ~ spec.healthCheck.path: /healthz → /ready',
      '  ~ ecs.TaskDefinition task-definition (arn:aws:ecs:us-east-1:1:task-definition/catalog:3)',
      '      container.image: shop/catalog:1.0.0 → shop/catalog:1.1.0',
      '  ~ elbv2.TargetGroup target-group (arn:tg)',
      '      healthCheck.path: /healthz → /ready',
      '  - cloudfront.Distribution cdn-distribution (E123): no longer in the plan',
      '',
      '+ Service shop/cart (services/cart.yaml)',
      '  + logs.LogGroup log-group',
      '  + elbv2.TargetGroup target-group',
      '',
      'Plan: 2 to create, 2 to update, 1 to delete (AWS resources); custom resources: 1 new, 1 changed, 1 unchanged.',
      '',
    ].join('\n'),
  );
});

test('exit codes follow terraform plan -detailed-exitcode', () => {
  assert.equal(exitCodeOf(planDocument([unchanged])), EXIT.noChanges);
  assert.equal(EXIT.noChanges, 0);
  assert.equal(exitCodeOf(planDocument([unchanged, newCart])), EXIT.changes);
  assert.equal(EXIT.changes, 2);
  // A spec change alone (no AWS effect, e.g. a label) is a change too.
  const relabelled = service('web', [], {
    action: 'update',
    changes: [{ path: 'metadata.labels.team', old: '(none)', new: 'a' }],
  });
  assert.equal(exitCodeOf(planDocument([relabelled])), EXIT.changes);
  const conflict = service('api', [
    outcome({ id: 'target-group', action: 'conflict', message: 'already exists and is not created by Slipway' }),
  ]);
  assert.equal(exitCodeOf(planDocument([conflict, newCart])), EXIT.error, 'an error wins over changes');
  assert.equal(EXIT.error, 1);
  const text = renderText(planDocument([conflict]));
  assert.match(text, /^ {2}! elbv2\.TargetGroup target-group: already exists and is not created by Slipway$/m);
  assert.match(summaryLine(planDocument([conflict])), /1 error;/);
});

test('no changes says so', () => {
  const text = renderText(planDocument([unchanged]));
  assert.equal(
    text,
    'No changes: AWS and the cluster match the manifests. Plan: 0 to create, 0 to update, 0 to delete (AWS resources); custom resources: 0 new, 0 changed, 1 unchanged.\n',
  );
});

test('the JSON document conforms to docs/plan-schema.json, and a wrong one does not', () => {
  const doc = planDocument([changedCatalog, newCart, unchanged, service('pending', [], { message: 'not planned' })]);
  assert.deepEqual(planSchemaErrors(JSON.parse(JSON.stringify(doc))), []);
  assert.equal(doc.version, 1);
  assert.deepEqual(doc.summary, {
    customResources: { create: 1, update: 1, delete: 0, unchanged: 2 },
    aws: { create: 2, update: 2, delete: 1, unchanged: 2, errors: 0 },
  });
  const broken = {
    ...doc,
    resources: [{ ...doc.resources[0], aws: [{ action: 'replace', kind: 'x', logicalId: 'y' }] }],
  };
  assert.deepEqual(planSchemaErrors(broken).sort(), [
    'resources[0].aws[0].action: "replace" not in enum',
    'resources[0].aws[0].changes: required',
  ]);
});

test('status.plan keeps the version, the counts and what changes, and leaves unchanged resources out', () => {
  const plan = statusPlanOf(
    resourcePlanOf(report(...[outcome({ id: 'a', action: 'in-sync' }), outcome({ id: 'b', action: 'to-create' })])),
  );
  assert.deepEqual(plan, {
    version: 1,
    summary: { create: 1, update: 0, delete: 0, unchanged: 1, errors: 0 },
    aws: [{ action: 'create', kind: 'elbv2.TargetGroup', logicalId: 'b', changes: [] }],
  });
});

test('spec differences are listed by path: objects key by key, lists and scalars whole', () => {
  assert.deepEqual(
    diffValues(
      { image: 'a:1', healthCheck: { path: '/healthz', intervalSeconds: 30 }, env: [{ name: 'A', value: '1' }] },
      {
        image: 'a:2',
        healthCheck: { path: '/ready', intervalSeconds: 30 },
        env: [{ name: 'A', value: '2' }],
        cdn: { enabled: true },
      },
      'spec',
    ),
    [
      { path: 'spec.cdn.enabled', old: '(none)', new: 'true' },
      { path: 'spec.env', old: '[{"name":"A","value":"1"}]', new: '[{"name":"A","value":"2"}]' },
      { path: 'spec.healthCheck.path', old: '/healthz', new: '/ready' },
      { path: 'spec.image', old: 'a:1', new: 'a:2' },
    ],
  );
  assert.deepEqual(diffValues({ a: 1 }, { a: 1 }, 'spec'), []);
});

test('status.plan bounds its values and lists as the CRDs do', () => {
  const long = 'x'.repeat(3000);
  const many = Array.from({ length: 120 }, (_, i) =>
    outcome({
      id: `tg-${i}`,
      action: 'to-update',
      changes: Array.from({ length: 60 }, (_, j) => ({ path: `f${j}`, actual: long, desired: 'y' })),
    }),
  );
  const plan = statusPlanOf(resourcePlanOf(report(...many)));
  assert.equal(plan.summary.update, 120, 'the counts count everything');
  assert.equal(plan.aws.length, 100);
  assert.equal(plan.aws[0]!.changes.length, 50);
  assert.equal(plan.aws[0]!.changes[0]!.old.length, 1024);
  assert.ok(plan.aws[0]!.changes[0]!.old.endsWith('...'));
});
