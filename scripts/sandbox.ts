// `npm run sandbox`: the whole of Slipway on one machine. Starts the local control plane and the AWS emulator,
// installs the CRDs, creates the AWS prerequisites examples/ expects, starts the operator (as its own process,
// with leader election, exactly as it runs in a cluster), applies examples/, waits for everything to be Ready,
// prints a table, then changes a listener rule behind the operator's back and shows the drift corrected through a
// drift event (CloudTrail's part played with PutEvents: moto emits none), timed. It stays up until Ctrl-C (or exits at once with --once) and leaves nothing running.
//
//   npm run sandbox               the interactive sandbox
//   npm run sandbox -- --once     run the whole demo and exit (used by the e2e test)
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { startLocalEnvironment, type LocalEnvironment } from '../test/env/index.js';
import { onInterrupt } from '../test/env/interrupt.js';
import { freePort } from '../test/env/processes.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { runCli } from '../src/cli/run.js';
import { provisionLandscape, substitute } from './sandbox/landscape.js';
import { renderTable, type Row } from './sandbox/table.js';
import { demonstrateDrift, type DriftListed } from './sandbox/drift.js';
import { kubectlIn } from './sandbox/kubectl.js';

const root = join(import.meta.dirname, '..');
// The SDK versions are pinned on purpose (the last to support Node 20); its reminder about that is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const once = process.argv.includes('--once');
const namespaceArg = process.argv.find((a) => a.startsWith('--namespace='))?.slice('--namespace='.length);
const readyTimeoutMs = Number(process.env.SLIPWAY_SANDBOX_TIMEOUT_MS ?? 240_000);
const say = (line: string) => process.stdout.write(`${line}\n`);
const step = (line: string) => say(`\n▸ ${line}`);

interface Doc {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: Record<string, unknown> & { cdn?: { certificateArn?: string } };
}

interface Listed extends DriftListed {
  readonly status?: {
    readonly url?: string;
    readonly driftCount?: number;
    readonly ruleArn?: string;
    readonly priority?: number;
    readonly phase?: string;
    readonly cost?: { readonly monthlyUsd?: number; readonly totalMonthlyUsd?: number; readonly toDateUsd?: number };
    readonly conditions?: readonly {
      readonly type: string;
      readonly status: string;
      readonly reason?: string;
      readonly message?: string;
    }[];
    readonly drift?: readonly {
      readonly logicalId: string;
      readonly path: string;
      readonly desired: string;
      readonly actual: string;
      readonly action: string;
    }[];
    readonly service?: { readonly ruleArn?: string };
  };
}

function loadExamples(ns: string | undefined): Doc[] {
  const dir = join(root, 'examples');
  const docs = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Doc | null))
    .filter((d): d is Doc => d !== null);
  if (!ns) return docs;
  return docs.map((d) =>
    d.kind === 'Namespace'
      ? { ...d, metadata: { ...d.metadata, name: ns } }
      : { ...d, metadata: { ...d.metadata, namespace: ns } },
  );
}

/** status.cost in the table: an Environment's total, a workload's own figure, a preview's cost so far. */
function costOf(o: Listed): string {
  const cost = o.status?.cost;
  const monthly = cost?.totalMonthlyUsd ?? cost?.monthlyUsd;
  if (monthly === undefined) {
    const c = o.status?.conditions?.find((x) => x.type === 'CostEstimated');
    return c?.status === 'False' ? `? (${c.reason})` : '';
  }
  const soFar = cost?.toDateUsd !== undefined ? ` ($${cost.toDateUsd.toFixed(2)} so far)` : '';
  return `${monthly.toFixed(2)}${soFar}`;
}

function rowsOf(items: readonly Listed[]): Row[] {
  return items.map((o) => {
    const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
    return {
      kind: o.kind,
      name: o.metadata.name,
      url: o.status?.url ?? '',
      ready: ready
        ? `${ready.status}${ready.status !== 'True' && ready.reason ? ` (${ready.reason})` : ''}`
        : 'Unknown',
      drift: String(o.status?.driftCount ?? 0),
      cost: costOf(o),
    };
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  step('Starting the local control plane (etcd, kube-apiserver, kube-controller-manager) and the AWS emulator');
  say('  The first run builds the Kubernetes servers from source: several minutes; later runs take seconds.');
  let env: LocalEnvironment | undefined;
  let operator: ChildProcess | undefined;
  // The operator goes first, then the servers. Interrupted (Ctrl-C, or SIGTERM to npm, which reaches this process
  // alone), the one registry (test/env/interrupt.ts) runs the same steps: the operator's, then the environment's.
  const stopOperator = async () => {
    const child = operator;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const late = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(late);
  };
  const cleanup = async () => {
    await stopOperator();
    await env?.stop();
  };

  try {
    // ECS in the emulator reports a rollout COMPLETED once this many tasks run (else it stays IN_PROGRESS, and a
    // promotion refuses its source): one per service, as the dev Services ask.
    env = await startLocalEnvironment({ log: (l) => say(`  ${l}`), motoEnv: { MOTO_ECS_SERVICE_RUNNING: '1' } });
    const kubectl = kubectlIn(env.kubeconfigPath, root);
    const ns = namespaceArg ?? 'commerce';

    step('Installing the CRDs');
    kubectl(['apply', '--server-side', '-f', 'crds/']);
    kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', 'crds/']);

    step(
      'Creating the AWS prerequisites examples/ expects (VPCs, certificates, hosted zones, a shared load balancer, a staff pool)',
    );
    const docs = loadExamples(namespaceArg);
    const subs = await provisionLandscape(env.awsEndpoint, docs, (l) => say(`  ${l}`));

    step('Starting the operator (leader election on, metrics and health on a local port)');
    const metricsPort = await freePort();
    operator = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts')], {
      cwd: root,
      env: {
        ...process.env,
        ...env.exports,
        SLIPWAY_CLUSTER_ID: 'sandbox',
        SLIPWAY_METRICS_PORT: String(metricsPort),
        SLIPWAY_LEASE_NAMESPACE: 'default',
        POD_NAME: 'slipway-sandbox',
        SLIPWAY_LOG_LEVEL: process.env.SLIPWAY_LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    onInterrupt(stopOperator);
    say(`  operator pid ${operator.pid}; metrics at http://127.0.0.1:${metricsPort}/metrics`);

    step(`Applying examples/ (${docs.filter((d) => d.kind !== 'Namespace').length} resources in namespace ${ns})`);
    kubectl(['apply', '-f', '-'], docs.map((d) => JSON.stringify(substitute(d, subs))).join('\n'));

    step('Waiting for every resource to be Ready');
    const list = (): Listed[] => {
      const out = JSON.parse(
        kubectl([
          'get',
          'environments.slipway.dev,services.slipway.dev,previewdeployments.slipway.dev',
          '-n',
          ns,
          '-o',
          'json',
        ]),
      ) as { items: Listed[] };
      return out.items;
    };
    const deadline = Date.now() + readyTimeoutMs;
    let items = list();
    let lastLine = '';
    for (;;) {
      items = list();
      const ready = items.filter((o) =>
        o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ).length;
      const line = `  ${ready}/${items.length} Ready after ${Math.round((Date.now() - started) / 1000)}s`;
      if (line !== lastLine) say(line);
      lastLine = line;
      if (ready === items.length || Date.now() > deadline) break;
      await sleep(2000);
    }
    say('');
    say(renderTable(rowsOf(items)));
    const notReady = items.filter((o) => !o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    for (const o of notReady) {
      const c = o.status?.conditions?.find((x) => x.type === 'Ready');
      say(`  ${o.kind} ${o.metadata.name} is not Ready: ${c?.message ?? 'no status yet'}`);
    }

    step("Drift: changing a listener rule behind the operator's back, seen through a drift event");
    const drift = await demonstrateDrift(items, env.awsEndpoint, ns, kubectl, say);
    if (!drift.ok) say('  (the drift demonstration did not complete: see the operator log above)');

    // The slipway command, in-process (as `npx slipway ...` runs it), against the sandbox: its AWS clients take
    // the emulator's credentials from the environment, as the operator's do.
    Object.assign(process.env, env.exports);
    const slipway = async (...args: string[]) => {
      let out = '';
      const code = await runCli([...args, '--kubeconfig', env!.kubeconfigPath], {
        stdout: (t) => (out += t),
        stderr: (t) => (out += t),
        env: { SLIPWAY_CLUSTER_ID: 'sandbox', SLIPWAY_AWS_ENDPOINT: env!.awsEndpoint },
      });
      say(`  $ slipway ${args.join(' ')}`);
      for (const line of out.trimEnd().split('\n')) say(`  ${line}`);
      say(`  (exit ${code})`);
      return code;
    };

    step('Plan: examples/ against the converged sandbox (nothing to change: exit 0)');
    const planDir = mkdtempSync(join(tmpdir(), 'slipway-sandbox-plan-'));
    writeFileSync(
      join(planDir, 'examples.yaml'),
      docs
        .filter((d) => d.kind !== 'Namespace')
        .map((d) => JSON.stringify(substitute(d, subs)))
        .join('\n---\n'),
    );
    const planCode = await slipway('plan', '-f', planDir);
    rmSync(planDir, { recursive: true, force: true });

    step('Promotion: web from dev to staging, by the digest dev runs');
    // dev's deployment must have been seen to complete first (status.history[0] Succeeded).
    const historyOf = (name: string) =>
      JSON.parse(kubectl(['get', 'services.slipway.dev', name, '-n', ns, '-o', 'json'])) as {
        status?: { history?: { result?: string; digest?: string }[]; image?: { digest?: string } };
        spec: { image: string };
      };
    const until = Date.now() + 60_000;
    while (historyOf('web-dev').status?.history?.[0]?.result !== 'Succeeded' && Date.now() < until) await sleep(1000);
    let promoted = (await slipway('promote', 'web', '--from', 'dev', '--to', 'staging', '-n', ns)) === 0;
    if (promoted) {
      const digest = historyOf('web-dev').status?.history?.[0]?.digest;
      const deployed = Date.now() + 60_000;
      while (historyOf('web-staging').status?.image?.digest !== digest && Date.now() < deployed) await sleep(1000);
      promoted = historyOf('web-staging').status?.image?.digest === digest;
      say(`  web-staging ${promoted ? 'now runs' : 'did not deploy'} ${historyOf('web-staging').spec.image}`);
    }
    await slipway('status', 'staging', '-n', ns);

    say('');
    say('Slipway sandbox is up. Point your shell at it:');
    for (const [k, v] of Object.entries(env.exports)) say(`  export ${k}=${v}`);
    say('');
    say(`  kubectl get slipway -n ${ns}                       # every Slipway resource, Ready, URL, drift and $/month`);
    say(`  kubectl describe services.slipway.dev -n ${ns}      # status, drift items and events`);
    say(`  aws --endpoint-url ${env.awsEndpoint} --region eu-west-1 elbv2 describe-load-balancers`);
    say(`  curl -s http://127.0.0.1:${metricsPort}/metrics | grep slipway_aws_calls_total`);
    say('');
    const allReady = notReady.length === 0;
    const ok = allReady && drift.ok && planCode === 0 && promoted;
    say(
      `SANDBOX ${ok ? 'OK' : 'INCOMPLETE'}: ${items.length - notReady.length}/${items.length} Ready, drift ${drift.summary}, plan exit ${planCode}, promotion ${promoted ? 'deployed' : 'not done'}`,
    );
    if (once) {
      await cleanup();
      process.exit(ok ? 0 : 1);
    }
    say('Ctrl-C stops the operator and every server and removes their state.');
    await new Promise<never>(() => undefined);
  } catch (err) {
    say(`sandbox failed: ${err instanceof Error ? err.message : String(err)}`);
    await cleanup();
    process.exit(1);
  }
}

await main();
