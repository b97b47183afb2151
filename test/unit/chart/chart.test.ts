// charts/slipway: lint, a rendered snapshot with default values and with watchNamespace, the schema's refusals,
// and properties that must hold whatever the snapshot says (security context, probes, every setting the operator
// reads, least-privilege RBAC).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { matchSnapshot } from '../../support/snapshot.js';
import {
  CHART_DIR,
  HELM_BUILD_TIMEOUT_MS,
  REPO_ROOT,
  find,
  helm,
  helmBinary,
  render,
  setFlags,
  type KubeManifest,
} from './helm.js';

interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string } };
}
interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly ports?: readonly { readonly name: string; readonly containerPort: number }[];
  readonly livenessProbe?: { readonly httpGet?: { readonly path: string; readonly port: string } };
  readonly readinessProbe?: { readonly httpGet?: { readonly path: string; readonly port: string } };
  readonly resources?: { readonly requests?: object; readonly limits?: object };
  readonly securityContext?: {
    readonly allowPrivilegeEscalation?: boolean;
    readonly readOnlyRootFilesystem?: boolean;
    readonly capabilities?: { readonly drop?: readonly string[] };
  };
}
interface PodSpec {
  readonly serviceAccountName?: string;
  readonly securityContext?: {
    readonly runAsNonRoot?: boolean;
    readonly runAsUser?: number;
    readonly seccompProfile?: { readonly type: string };
  };
  readonly containers: readonly Container[];
}
interface Rule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

const podSpec = (deployment: KubeManifest | undefined) =>
  (deployment as unknown as { spec: { replicas: number; template: { spec: PodSpec } } }).spec;
const rulesOf = (role: KubeManifest | undefined): readonly Rule[] =>
  (role as unknown as { rules: Rule[] } | undefined)?.rules ?? [];
const envValue = (c: Container, name: string) => c.env?.find((e) => e.name === name);

/** Every verb a role grants on group/resource. */
function verbs(rules: readonly Rule[], group: string, resource: string): string[] {
  return [
    ...new Set(
      rules.filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource)).flatMap((r) => r.verbs),
    ),
  ].sort();
}

describe('charts/slipway', { timeout: HELM_BUILD_TIMEOUT_MS }, () => {
  before(async () => {
    await helmBinary();
  });

  test('helm lint --strict passes with default values and with watchNamespace set', () => {
    assert.match(helm(['lint', '--strict', CHART_DIR]), /1 chart\(s\) linted, 0 chart\(s\) failed/);
    assert.match(
      helm(['lint', '--strict', CHART_DIR, ...setFlags({ watchNamespace: 'team-a' })]),
      /0 chart\(s\) failed/,
    );
  });

  test('the rendered templates match their snapshots', () => {
    matchSnapshot('chart-default', render());
    matchSnapshot('chart-watch-namespace', render({ watchNamespace: 'team-a' }));
  });

  test('a Deployment of 2 replicas runs node dist/main.js as a locked-down non-root process', () => {
    const spec = podSpec(find(render(), 'Deployment'));
    assert.equal(spec.replicas, 2);
    const pod = spec.template.spec;
    assert.equal(pod.serviceAccountName, 'slipway');
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.ok((pod.securityContext?.runAsUser ?? 0) > 0, 'a non-root uid');
    assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    const [c] = pod.containers;
    assert.ok(c);
    assert.deepEqual(c.command, ['node', 'dist/main.js']);
    assert.equal(c.image, 'slipway/operator:0.1.0', 'the tag defaults to the appVersion');
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
    assert.ok(c.resources?.requests && c.resources.limits, 'requests and limits are set');
    assert.deepEqual(
      c.ports?.map((p) => [p.name, p.containerPort]),
      [['metrics', 8080]],
    );
    assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 'metrics' });
    assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 'metrics' });
  });

  test('the Deployment sets every variable src/config.ts reads, except the ones that must not be set in a cluster', () => {
    const read = new Set(
      [...readFileSync(join(REPO_ROOT, 'src', 'config.ts'), 'utf8').matchAll(/env\.([A-Z][A-Z0-9_]+)/g)].map(
        (m) => m[1]!,
      ),
    );
    assert.ok(read.has('SLIPWAY_CLUSTER_ID') && read.size >= 10, `config.ts reads ${[...read].join(', ')}`);
    const notInCluster: Record<string, string> = {
      SLIPWAY_AWS_ENDPOINT: 'the local emulator only',
      AWS_ENDPOINT_URL: 'the local emulator only',
      SLIPWAY_AWS_RATE_LIMITS: 'off only against the local emulator; on in a cluster',
      AWS_DEFAULT_REGION: 'AWS_REGION is set',
      HOSTNAME: 'POD_NAME is set',
    };
    const c = podSpec(find(render({ watchNamespace: 'team-a' }), 'Deployment')).template.spec.containers[0]!;
    const set = new Set(c.env?.map((e) => e.name));
    const missing = [...read].filter((name) => !set.has(name) && !(name in notInCluster));
    assert.deepEqual(missing, [], 'every setting the operator reads is wired in the Deployment');
    assert.equal(envValue(c, 'SLIPWAY_WATCH_NAMESPACE')?.value, 'team-a');
    assert.equal(envValue(c, 'SLIPWAY_LEADER_ELECTION')?.value, 'true');
    assert.equal(envValue(c, 'SLIPWAY_LEASE_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath, 'metadata.namespace');
    assert.equal(envValue(c, 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath, 'metadata.name');
    assert.equal(envValue(c, 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath, 'metadata.namespace');
    assert.equal(envValue(c, 'SLIPWAY_METRICS_PORT')?.value, '8080');
  });

  test('cluster-wide RBAC grants the three kinds, their status and finalizers, preview deletion and events, nothing else', () => {
    const docs = render();
    const role = find(docs, 'ClusterRole');
    const rules = rulesOf(role);
    for (const kind of ['environments', 'services', 'previewdeployments']) {
      assert.deepEqual(
        verbs(rules, 'slipway.dev', kind),
        kind === 'previewdeployments'
          ? ['delete', 'get', 'list', 'patch', 'update', 'watch']
          : ['get', 'list', 'patch', 'update', 'watch'],
      );
      assert.deepEqual(verbs(rules, 'slipway.dev', `${kind}/status`), ['get', 'patch', 'update']);
      assert.deepEqual(verbs(rules, 'slipway.dev', `${kind}/finalizers`), ['update']);
    }
    assert.deepEqual(verbs(rules, 'events.k8s.io', 'events'), ['create', 'patch']);
    const groups = new Set(rules.flatMap((r) => r.apiGroups));
    assert.deepEqual([...groups].sort(), ['events.k8s.io', 'slipway.dev'], 'no core group: no Secrets, no ConfigMaps');
    assert.ok(!rules.some((r) => r.verbs.includes('*') || r.resources.includes('*')), 'no wildcards');
    const binding = find(docs, 'ClusterRoleBinding') as unknown as { subjects: { name: string; namespace: string }[] };
    assert.deepEqual(
      binding.subjects.map((s) => `${s.namespace}/${s.name}`),
      ['slipway-system/slipway'],
    );

    const lease = rulesOf(find(docs, 'Role', 'slipway-leader-election'));
    assert.deepEqual(verbs(lease, 'coordination.k8s.io', 'leases'), ['create', 'get', 'patch', 'update']);
    assert.deepEqual(
      lease.filter((r) => r.verbs.includes('update')).map((r) => r.resourceNames),
      [['slipway']],
      'renewal only of its own Lease',
    );
    assert.equal(find(docs, 'Role', 'slipway-leader-election')?.metadata.namespace, 'slipway-system');
  });

  test('with watchNamespace the same rules become a Role in that namespace, and nothing is cluster-wide', () => {
    const docs = render({ watchNamespace: 'team-a' });
    assert.equal(find(docs, 'ClusterRole'), undefined);
    assert.equal(find(docs, 'ClusterRoleBinding'), undefined);
    const role = find(docs, 'Role', 'slipway');
    assert.equal(role?.metadata.namespace, 'team-a');
    assert.deepEqual(rulesOf(role), rulesOf(find(render(), 'ClusterRole')));
    assert.equal(find(docs, 'RoleBinding', 'slipway')?.metadata.namespace, 'team-a');
    assert.equal(
      find(docs, 'Role', 'slipway-leader-election')?.metadata.namespace,
      'slipway-system',
      'the Lease stays in the release namespace',
    );
  });

  test('IRSA annotates the ServiceAccount; the ServiceMonitor renders only when asked', () => {
    assert.equal(find(render(), 'ServiceAccount')?.metadata.annotations, undefined);
    const arn = 'arn:aws:iam::123456789012:role/slipway-operator';
    const sa = find(render({ 'aws.roleArn': arn }), 'ServiceAccount');
    assert.equal(sa?.metadata.annotations?.['eks.amazonaws.com/role-arn'], arn);
    assert.equal(find(render(), 'ServiceMonitor'), undefined);
    const monitor = find(render({ 'serviceMonitor.enabled': 'true' }), 'ServiceMonitor');
    assert.equal(monitor?.apiVersion, 'monitoring.coreos.com/v1');
    assert.ok(find(render(), 'Service', 'slipway-metrics'));
  });

  test('values.schema.json refuses bad values with a message naming the key', () => {
    const refusals: [Record<string, string>, RegExp][] = [
      [{ replicaCount: 'two' }, /replicaCount/],
      [{ clusterId: 'Not_A_Label' }, /clusterId/],
      [{ watchNamespace: 'Team A' }, /watchNamespace/],
      [{ 'operator.logLevel': 'loud' }, /logLevel/],
      [{ 'operator.defaultResync': 'soon' }, /defaultResync/],
      [{ 'aws.roleArn': 'role/slipway' }, /roleArn/],
      [{ 'argocd.healthChecks': 'true' }, /additional properties 'argocd' not allowed/],
      [{ 'leaderElection.enabled': 'false' }, /replicaCount.*maximum/],
    ];
    for (const [values, message] of refusals) {
      assert.throws(() => render(values), message, JSON.stringify(values));
    }
  });

  test('the chart installs the CRDs from its own crds/ folder (a copy of crds/, checked in chart-crds.test.ts)', () => {
    const crds = render({}, ['--include-crds']).filter((d) => d.object.kind === 'CustomResourceDefinition');
    assert.deepEqual(crds.map((d) => d.object.metadata.name).sort(), [
      'environments.slipway.dev',
      'previewdeployments.slipway.dev',
      'services.slipway.dev',
    ]);
  });
});
