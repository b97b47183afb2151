// The `slipway` command line: `slipway plan -f DIR|FILE ...`. Also a kubectl plugin: kubectl runs
// `kubectl-slipway plan ...` for `kubectl slipway plan ...`. Returns the exit code instead of exiting, for tests.
import { parseArgs } from 'node:util';
import type { Environment } from '../api/index.js';
import { AwsClients } from '../aws/clients.js';
import type { CallListener } from '../aws/calls.js';
import { KubeClient, loadKubeConfig } from '../runtime/index.js';
import { EXIT, exitCodeOf } from './document.js';
import { PlanInputError, readManifests } from './manifests.js';
import { planManifests } from './plan.js';
import { renderText } from './render.js';

export const USAGE = `Usage: slipway plan -f DIR|FILE [-f ...] [options]
       kubectl slipway plan -f DIR|FILE [options]

Shows what applying the manifests would change: per custom resource, its spec in the cluster and each AWS
resource it owns (+ create, ~ update with field paths and old → new values, - delete). Writes nothing to the
cluster or to AWS.

Options:
  -f, --filename PATH    a manifest file, or a directory searched recursively for .yaml/.yml (repeatable)
  -n, --namespace NS     namespace of manifests that name none (default: the kubeconfig context's, else default)
      --kubeconfig FILE  kubeconfig to use (default: KUBECONFIG, else ~/.kube/config)
      --context NAME     kubeconfig context to use
      --cluster-id ID    the operator's SLIPWAY_CLUSTER_ID (default: SLIPWAY_CLUSTER_ID, else default)
  -o, --output FORMAT    text (default) or json (schema: docs/plan-schema.json)
      --aws-endpoint URL one endpoint for every AWS service (an emulator; default: SLIPWAY_AWS_ENDPOINT)
  -h, --help             this help

Exit codes (as terraform plan -detailed-exitcode): 0 no changes, 2 changes, 1 error.
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
      help: { type: 'boolean', short: 'h' },
    },
  });
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
  if (command !== 'plan' || positionals.length > 1) {
    io.stderr(`Error: ${command ? `unknown command ${positionals.join(' ')}` : 'no command given'}\n\n${USAGE}`);
    return EXIT.error;
  }
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
  const clients = new Map<string, AwsClients>();
  try {
    const kubeConfig = loadKubeConfig({
      ...(values.kubeconfig ? { kubeconfigPath: values.kubeconfig } : {}),
      ...(values.context ? { context: values.context } : {}),
    });
    const contextNamespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
    const set = readManifests(values.filename, values.namespace ?? contextNamespace ?? 'default');
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
    const doc = await planManifests({ kube: new KubeClient(kubeConfig), clusterId, awsFor }, set);
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
