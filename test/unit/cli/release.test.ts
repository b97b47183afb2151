// promote's and rollback's decisions from a Service's status, the manifest edit of --write, and status's tree (pure).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { servicesIn, setImage } from '../../../src/cli/manifest-edit.js';
import {
  digestOf,
  isRefusal,
  parseDuration,
  pickService,
  pinnedReference,
  promotionOf,
  repositoryOf,
  rollbackOf,
  type HistoryEntry,
  type ReleaseSubject,
} from '../../../src/cli/release.js';
import { renderStatusTree } from '../../../src/cli/status-tree.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;
const REPO = '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web';
const NOW = new Date('2026-11-29T08:00:00Z');

const entry = (
  revision: number,
  digest: string | undefined,
  result: HistoryEntry['result'],
  at: string,
): HistoryEntry => ({
  revision,
  taskDefinitionArn: `arn:aws:ecs:us-east-1:123456789012:task-definition/web:${revision}`,
  image: digest ? `${REPO}@${digest}` : `${REPO}:1.0.${revision}`,
  ...(digest ? { digest } : {}),
  deployedAt: at,
  result,
});

function source(over: Partial<NonNullable<ReleaseSubject['status']>> = {}): ReleaseSubject {
  return {
    metadata: { name: 'web-dev', namespace: 'shop' },
    spec: { image: `${REPO}:1.0.3`, environmentRef: { name: 'dev' } },
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: '', lastTransitionTime: '' }],
      rolloutState: 'COMPLETED',
      driftCount: 0,
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:3',
      image: { reference: `${REPO}:1.0.3`, digest: D3, pinned: true },
      history: [
        entry(3, D3, 'Succeeded', '2026-11-29T07:00:00Z'),
        entry(2, D2, 'Failed', '2026-11-29T06:00:00Z'),
        entry(1, D1, 'Succeeded', '2026-11-29T05:00:00Z'),
      ],
      ...over,
    },
  };
}

function refusal(x: unknown): string {
  assert.ok(isRefusal(x), `expected a refusal, got ${JSON.stringify(x)}`);
  return x.refused;
}

describe('image references', () => {
  test('the repository drops the tag and the digest, not a registry port', () => {
    assert.equal(repositoryOf('registry.shop.test:5000/web:1.2'), 'registry.shop.test:5000/web');
    assert.equal(repositoryOf('registry.shop.test:5000/web'), 'registry.shop.test:5000/web');
    assert.equal(repositoryOf(`${REPO}:1.0@${D1}`), REPO);
    assert.equal(repositoryOf('nginx'), 'nginx');
    assert.equal(pinnedReference(`${REPO}:1.0.3`, D3), `${REPO}@${D3}`);
    assert.equal(digestOf(`${REPO}@${D1}`), D1);
    assert.equal(digestOf(`${REPO}:1.0`), undefined);
  });

  test('durations', () => {
    assert.equal(parseDuration('30m'), 30 * 60_000);
    assert.equal(parseDuration('1h30m'), 90 * 60_000);
    assert.equal(parseDuration('45s'), 45_000);
    assert.equal(parseDuration(''), undefined);
    assert.equal(parseDuration('30'), undefined);
    assert.equal(parseDuration('2d'), undefined);
  });
});

describe('promotion source', () => {
  test('a Ready, completed, drift-free, pinned source promotes the digest of history[0]', () => {
    const p = promotionOf(source(), NOW);
    assert.ok(!isRefusal(p));
    assert.equal(p.image, `${REPO}@${D3}`);
    assert.equal(p.entry.revision, 3);
  });

  test('each missing condition is refused in one line naming it and the fix', () => {
    const notReady = source({
      conditions: [
        { type: 'Ready', status: 'False', reason: 'EnvironmentNotReady', message: 'waiting', lastTransitionTime: '' },
      ],
    });
    assert.equal(
      refusal(promotionOf(notReady, NOW)),
      'Service shop/web-dev is not Ready: Ready is False (EnvironmentNotReady: waiting); promote it once it is Ready',
    );
    assert.match(refusal(promotionOf(source({ conditions: [] }), NOW)), /no Ready condition yet/);
    assert.match(
      refusal(promotionOf(source({ rolloutState: 'IN_PROGRESS' }), NOW)),
      /rollout has not completed \(status\.rolloutState IN_PROGRESS\); promote once ECS reports COMPLETED$/,
    );
    assert.match(refusal(promotionOf(source({ driftCount: 2 }), NOW)), /has 2 drifted field\(s\).*correct the drift/);
    assert.match(refusal(promotionOf(source({ history: [] }), NOW)), /no deployment in status\.history/);
    const unpinned = source({
      image: { reference: `${REPO}:1.0.3`, pinned: false, reason: 'registry unreachable' },
      history: [entry(3, undefined, 'Succeeded', '2026-11-29T07:00:00Z')],
    });
    assert.match(
      refusal(promotionOf(unpinned, NOW)),
      /runs .*:1\.0\.3, not pinned to a digest: registry unreachable; only a pinned image can be promoted unchanged/,
    );
    const failed = source({ history: [entry(3, D3, 'RolledBack', '2026-11-29T07:00:00Z')] });
    assert.match(refusal(promotionOf(failed, NOW)), /revision 3\) is RolledBack, not Succeeded/);
    const stale = source({ taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:4' });
    assert.match(refusal(promotionOf(stale, NOW)), /is not the task definition it runs/);
  });

  test('a soak counts from the deployment of history[0]', () => {
    assert.ok(!isRefusal(promotionOf(source(), NOW, parseDuration('1h'))));
    assert.equal(
      refusal(promotionOf(source(), NOW, parseDuration('1h30m'))),
      'Service shop/web-dev has run revision 3 for 1h of the 1h30m soak; promote after 2026-11-29T08:30:00.000Z',
    );
  });
});

describe('rollback entry', () => {
  test('by default the newest Succeeded deployment before the current one', () => {
    const r = rollbackOf(source());
    assert.ok(!isRefusal(r));
    assert.equal(r.entry.revision, 1, 'revision 2 failed');
    assert.equal(r.image, `${REPO}@${D1}`);
  });

  test('--to-revision picks that entry; an unknown or unpinned one is refused', () => {
    const r = rollbackOf(source(), 2);
    assert.ok(!isRefusal(r));
    assert.equal(r.image, `${REPO}@${D2}`);
    assert.equal(
      refusal(rollbackOf(source(), 9)),
      'Service shop/web-dev: revision 9 is not in status.history (it holds revisions 3, 2, 1); pick one of those',
    );
    const tagged = source({ history: [entry(3, D3, 'Succeeded', 'x'), entry(2, undefined, 'Succeeded', 'y')] });
    assert.match(refusal(rollbackOf(tagged)), /revision 2 ran .*:1\.0\.2, not pinned to a digest/);
    assert.match(
      refusal(rollbackOf(source({ history: [entry(3, D3, 'Succeeded', 'x')] }))),
      /no Succeeded deployment before/,
    );
  });
});

describe('which Service', () => {
  const svc = (name: string, env: string, app?: string) => ({
    metadata: { name, ...(app ? { labels: { 'app.kubernetes.io/name': app } } : {}) },
    spec: { environmentRef: { name: env } },
  });
  const items = [svc('web-dev', 'dev', 'web'), svc('web-staging', 'staging', 'web'), svc('store', 'staging', 'shop')];

  test('by name, by name-ENV, by app label, on that Environment only', () => {
    assert.equal((pickService(items, 'web-dev', 'dev') as { metadata: { name: string } }).metadata.name, 'web-dev');
    assert.equal((pickService(items, 'web', 'staging') as { metadata: { name: string } }).metadata.name, 'web-staging');
    assert.equal((pickService(items, 'shop', 'staging') as { metadata: { name: string } }).metadata.name, 'store');
    assert.match(refusal(pickService(items, 'web-dev', 'staging')), /^no Service web-dev on Environment staging/);
    const twice = [...items, svc('store-2', 'staging', 'shop')];
    assert.match(refusal(pickService(twice, 'shop', 'staging')), /several Services.*store, store-2/);
  });
});

describe('--write: spec.image set in place', () => {
  const file = `# The shop's staging Services.
apiVersion: v1
kind: ConfigMap
metadata: { name: web-settings }
data: { image: keep-me }
---
apiVersion: slipway.dev/v1alpha1
kind: Service
metadata:
  name: web-staging # the storefront
  labels: { app.kubernetes.io/name: web }
spec:
  environmentRef:
    name: staging
  # Promoted from dev; do not edit by hand.
  image: ${REPO}:1.0.2   # set by slipway promote
  cpu: 256
---
apiVersion: slipway.dev/v1alpha1
kind: Service
metadata: { name: cart-staging }
spec: { environmentRef: { name: staging }, image: "${REPO}:7", cpu: 256 }
`;

  test('only the value changes: every other byte, comments included, is kept', () => {
    const docs = servicesIn(file);
    assert.deepEqual(
      docs.map((d) => [d.index, d.metadata.name]),
      [
        [1, 'web-staging'],
        [2, 'cart-staging'],
      ],
    );
    const edit = setImage(file, 1, `${REPO}@${D3}`, 'staging.yaml');
    assert.ok(!isRefusal(edit));
    assert.equal(edit.old, `${REPO}:1.0.2`);
    assert.equal(edit.text, file.replace(`image: ${REPO}:1.0.2 `, `image: ${REPO}@${D3} `));
    const quoted = setImage(file, 2, `${REPO}@${D3}`, 'staging.yaml');
    assert.ok(!isRefusal(quoted));
    assert.equal(quoted.text, file.replace(`"${REPO}:7"`, `"${REPO}@${D3}"`), 'a quoted value stays quoted');
  });

  test('a document without spec.image is refused naming the file', () => {
    assert.equal(
      refusal(setImage('kind: Service\nspec: { cpu: 256 }\n', 0, 'x', 'a.yaml')),
      'a.yaml: document 1 has no spec.image string to replace; add spec.image',
    );
  });
});

describe('status tree', () => {
  const ready = [{ type: 'Ready', status: 'True' as const, reason: 'Ready', message: '', lastTransitionTime: '' }];
  test('the Environment, its Services, each preview beneath its Service; - where a field is absent', () => {
    const text = renderStatusTree(
      {
        metadata: { name: 'dev', namespace: 'shop' },
        spec: { region: 'us-east-1' },
        status: { conditions: ready, driftCount: 0, shards: [{}] },
      },
      [
        {
          metadata: { name: 'web' },
          status: {
            conditions: ready,
            url: 'https://web.shop.test',
            driftCount: 0,
            image: { reference: `${REPO}:1.0.3`, digest: D3, pinned: true },
            cost: { monthlyUsd: 18.5 },
          },
        },
        {
          metadata: { name: 'cart' },
          status: {
            conditions: [{ type: 'Ready', status: 'False', reason: 'Deleting', message: '', lastTransitionTime: '' }],
            driftCount: 2,
          },
        },
      ],
      [
        { metadata: { name: 'web-pr-7' }, spec: { serviceRef: { name: 'web' } }, status: { conditions: ready } },
        { metadata: { name: 'gone-pr-1' }, spec: { serviceRef: { name: 'gone' } } },
      ],
    );
    assert.equal(
      text,
      [
        'Environment shop/dev, Ready True, region us-east-1, 1 load-balancer shard, 2 Services, 2 previews, $/month -',
        '',
        'NAME                              READY             URL                    DIGEST               DRIFT  $/MONTH',
        'Environment dev                   True              -                      -                    0      -',
        '├─ Service cart                   False (Deleting)  -                      -                    2      -',
        '├─ Service web                    True              https://web.shop.test  sha256:333333333333  0      18.50',
        '│  └─ PreviewDeployment web-pr-7  True              -                      -                    -      -',
        '└─ PreviewDeployment gone-pr-1    -                 -                      -                    -      -',
        '',
      ].join('\n'),
    );
  });
});
