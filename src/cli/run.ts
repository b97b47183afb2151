// The `slipway` command line: plan, promote, rollback, status. Also a kubectl plugin: kubectl runs
// `kubectl-slipway plan ...` for `kubectl slipway plan ...`. Returns the exit code instead of exiting, for tests.
import { parseArgs } from 'node:util';
import type { Environment } from '../api/index.js';
import { AwsClients } from '../aws/clients.js';
import type { CallListener } from '../aws/calls.js';
import { KubeClient, loadKubeConfig } from '../runtime/index.js';
import { EXIT, exitCodeOf } from './document.js';
import { PlanInputError, readManifests } from './manifests.js';
import { planManifests } from './plan.js';
import { Refused, promote, rollback } from './release-commands.js';
import { parseDuration } from './release.js';
import { renderText } from './render.js';
import { environmentStatus } from './status.js';

export const USAGE = `Usage: slipway plan -f DIR|FILE [-f ...] [options]
       slipway promote SERVICE --from ENV --to ENV [--soak 30m] [--write FILE] [options]
       slipway rollback SERVICE [--to-revision N] [--environment ENV] [--write FILE] [options]
       slipway status ENV [options]
       (each also as kubectl slipway ...)

plan      Shows what applying the manifests would change: per custom resource, its spec in the cluster and each
          AWS resource it owns (+ create, ~ update with field paths and old → new values, - delete), and the
          custom resources of the Environments the manifests cover that they no longer hold (-). Writes nothing.
promote   Sets the image of SERVICE on --to ENV to the digest SERVICE runs on --from ENV, which must be Ready, its
          rollout completed, without drift, pinned to a digest and, with --soak, running that long.
rollback  Sets the image of SERVICE to an earlier deployment's digest from its status.history: revision N, else
          the newest Succeeded one before the current.
status    The Environment and its Services and previews as a tree: Ready, URL, digest, drift count, cost.

SERVICE is a Service's name, or an application on the Environment: the Service named SERVICE-ENV or labelled
app.kubernetes.io/name=SERVICE. Without --write, promote and rollback patch the Service in the cluster; with
--write FILE they set spec.image in that manifest (keeping comments and formatting) and leave the cluster alone.

Options:
  -f, --filename PATH    plan: a manifest file, or a directory searched recursively for .yaml/.yml (repeatable)
  -n, --namespace NS     namespace (default: the kubeconfig context's, else default)
      --kubeconfig FILE  kubeconfig to use (default: KUBECONFIG, else ~/.kube/config)
      --context NAME     kubeconfig context to use
      --cluster-id ID    plan: the operator's SLIPWAY_CLUSTER_ID (default: SLIPWAY_CLUSTER_ID, else default)
  -o, --output FORMAT    plan: text (default) or json (schema: docs/plan-schema.json)
      --aws-endpoint URL plan: one endpoint for every AWS service (an emulator; default: SLIPWAY_AWS_ENDPOINT)
      --load-balancer-quota N  plan: the operator's SLIPWAY_LOAD_BALANCER_QUOTA, Application Load Balancers per
                         region in place of the account's quota (default: SLIPWAY_LOAD_BALANCER_QUOTA; 0: the account's)
      --from ENV, --to ENV   promote: the source and target Environments
      --soak DURATION    promote: the source's deployment must have run this long (e.g. 30m, 1h30m)
      --to-revision N    rollback: the task-definition revision to return to
      --environment ENV  rollback: SERVICE is the application on this Environment
      --write FILE       promote, rollback: edit this manifest instead of the cluster
  -h, --help             this help

Exit codes: plan as terraform plan -detailed-exitcode: 0 no changes, 2 changes, 1 error. promote, rollback and
status: 0 done, 1 refused or an error (one line saying what is missing and the fix).
`;

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Told of every AWS call the plan makes (tests count them). */
  readonly onAwsCall?: CallListener;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      filename: { type: 'string', short: 'f', multiple: true },
      namespace: { type: 'string', short: 'n' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      'cluster-id': { type: 'string' },
      output: { type: 'string', short: 'o', default: 'text' },
      'aws-endpoint': { type: 'string' },
      'load-balancer-quota': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      soak: { type: 'string' },
      write: { type: 'string' },
      'to-revision': { type: 'string' },
      environment: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];

const COMMON = ['namespace', 'kubeconfig', 'context', 'help'];
/** The options each command takes (besides the common ones). */
const OPTIONS: Readonly<Record<string, readonly string[]>> = {
  plan: ['filename', 'cluster-id', 'output', 'aws-endpoint', 'load-balancer-quota'],
  promote: ['from', 'to', 'soak', 'write'],
  rollback: ['to-revision', 'environment', 'write'],
  status: [],
};
/** How many positional arguments each command takes after its name. */
const POSITIONALS: Readonly<Record<string, { n: number; name: string }>> = {
  plan: { n: 0, name: '' },
  promote: { n: 1, name: 'SERVICE' },
  rollback: { n: 1, name: 'SERVICE' },
  status: { n: 1, name: 'ENV' },
};

function kubeOf(values: Values) {
  const kubeConfig = loadKubeConfig({
    ...(values.kubeconfig ? { kubeconfigPath: values.kubeconfig } : {}),
    ...(values.context ? { context: values.context } : {}),
  });
  const contextNamespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  return { kubeConfig, namespace: values.namespace ?? contextNamespace ?? 'default' };
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (err) {
    io.stderr(`Error: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT.error;
  }
  const { values, positionals } = args;
  const command = positionals[0];
  if (values.help || command === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  const allowed = command ? OPTIONS[command] : undefined;
  if (!command || !allowed) {
    io.stderr(`Error: ${command ? `unknown command ${command}` : 'no command given'}\n\n${USAGE}`);
    return EXIT.error;
  }
  const extra = Object.keys(values).filter(
    (k) => values[k as keyof Values] !== undefined && !COMMON.includes(k) && !allowed.includes(k),
  );
  // --output has a default: only a value other than it counts as given.
  const given = extra.filter((k) => k !== 'output' || values.output !== 'text');
  if (given.length > 0) {
    io.stderr(`Error: ${command} does not take ${given.map((k) => `--${k}`).join(', ')}\n\n${USAGE}`);
    return EXIT.error;
  }
  const want = POSITIONALS[command]!;
  if (positionals.length - 1 !== want.n) {
    const detail = want.n === 0 ? `takes no arguments, got ${positionals.slice(1).join(' ')}` : `needs ${want.name}`;
    io.stderr(`Error: ${command} ${detail}\n\n${USAGE}`);
    return EXIT.error;
  }
  if (command === 'plan') return runPlan(values, io);
  try {
    const { kubeConfig, namespace } = kubeOf(values);
    const kube = new KubeClient(kubeConfig);
    const out = (line: string) => io.stdout(`${line}\n`);
    const ctx = { kube, namespace, now: new Date(), out };
    const name = positionals[1]!;
    if (command === 'status') {
      io.stdout(await environmentStatus(kube, namespace, name));
    } else if (command === 'promote') {
      if (!values.from || !values.to) throw new Refused('promote needs --from ENV and --to ENV');
      const soakMs = values.soak !== undefined ? parseDuration(values.soak) : undefined;
      if (values.soak !== undefined && soakMs === undefined) {
        throw new Refused(`--soak ${values.soak} is not a duration; write e.g. 30m, 2h or 1h30m`);
      }
      await promote(ctx, {
        service: name,
        from: values.from,
        to: values.to,
        ...(soakMs !== undefined ? { soakMs } : {}),
        ...(values.write ? { write: values.write } : {}),
      });
    } else {
      const revision = values['to-revision'] !== undefined ? Number(values['to-revision']) : undefined;
      if (revision !== undefined && !(Number.isInteger(revision) && revision > 0)) {
        throw new Refused(`--to-revision ${values['to-revision']} is not a revision number; write a positive integer`);
      }
      await rollback(ctx, {
        service: name,
        ...(values.environment ? { environment: values.environment } : {}),
        ...(revision !== undefined ? { revision } : {}),
        ...(values.write ? { write: values.write } : {}),
      });
    }
    return 0;
  } catch (err) {
    io.stderr(`Error: ${err instanceof Refused ? err.message : ((err as Error).message ?? String(err))}\n`);
    return EXIT.error;
  }
}

async function runPlan(values: Values, io: CliIo): Promise<number> {
  if (values.output !== 'text' && values.output !== 'json') {
    io.stderr(`Error: --output must be text or json, got ${values.output}\n`);
    return EXIT.error;
  }
  if (!values.filename?.length) {
    io.stderr(`Error: -f DIR|FILE is required\n\n${USAGE}`);
    return EXIT.error;
  }
  const clusterId = values['cluster-id'] ?? io.env.SLIPWAY_CLUSTER_ID ?? 'default';
  const endpoint = values['aws-endpoint'] ?? io.env.SLIPWAY_AWS_ENDPOINT;
  const quotaText = values['load-balancer-quota'] ?? io.env.SLIPWAY_LOAD_BALANCER_QUOTA ?? '0';
  const loadBalancerQuota = Number(quotaText);
  if (!Number.isInteger(loadBalancerQuota) || loadBalancerQuota < 0) {
    io.stderr(
      `Error: --load-balancer-quota must be a whole number of load balancers (0: the account's), got ${quotaText}\n`,
    );
    return EXIT.error;
  }
  const clients = new Map<string, AwsClients>();
  try {
    const { kubeConfig, namespace } = kubeOf(values);
    const set = readManifests(values.filename, namespace);
    for (const source of set.skipped) io.stderr(`Skipped ${source}: not a slipway.dev resource\n`);
    const awsFor = (env: Environment): AwsClients => {
      const key = `${env.spec.region}|${env.spec.accountRoleArn ?? ''}`;
      let c = clients.get(key);
      if (!c) {
        c = new AwsClients({
          region: env.spec.region,
          ...(endpoint ? { endpoint } : {}),
          ...(env.spec.accountRoleArn
            ? { roleArn: env.spec.accountRoleArn, roleSessionName: `slipway-plan-${clusterId}` }
            : {}),
          userAgentAppId: `slipway-plan-${clusterId}`,
          ...(io.onAwsCall ? { onCall: io.onAwsCall } : {}),
        });
        clients.set(key, c);
      }
      return c;
    };
    const doc = await planManifests(
      {
        kube: new KubeClient(kubeConfig),
        clusterId,
        awsFor,
        ...(loadBalancerQuota > 0 ? { loadBalancerQuota } : {}),
      },
      set,
    );
    io.stdout(values.output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : renderText(doc));
    return exitCodeOf(doc);
  } catch (err) {
    const message = err instanceof PlanInputError ? err.message : `${(err as Error).message ?? String(err)}`;
    io.stderr(`Error: ${message}\n`);
    return EXIT.error;
  } finally {
    for (const c of clients.values()) c.destroy();
  }
}
