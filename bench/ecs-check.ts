// Checks against AWS itself, with the benchmark's own clients: does each ECS service (of a Service or a preview) run
// the task definition its status names, in its own Environment's cluster? DescribeServices takes at most 10 names
// per call.
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import type { PreviewDeployment, Service } from '../src/api/index.js';
import type { BenchContext } from './context.js';

type Workload = Service | PreviewDeployment;

// A list's items may lack `kind`; only a preview has a pull request.
const isPreview = (w: Workload): w is PreviewDeployment => 'pullRequest' in w.spec;

function taskDefinitionOf(w: Workload): string | undefined {
  return isPreview(w) ? w.status?.service?.taskDefinitionArn : w.status?.taskDefinitionArn;
}

/** The ECS service's name: from the inventory (a preview's is <service>-pr-<number>), else the Service's own. */
function ecsNameOf(w: Workload): string {
  const owned = (w.status?.resources ?? []).find((r) => r.kind === 'ecs.Service');
  const fromArn = owned?.arn?.slice(owned.arn.lastIndexOf('/') + 1);
  return owned?.name ?? fromArn ?? w.metadata.name;
}

export async function checkEcsRevisions(
  ctx: BenchContext,
  workloads: readonly Workload[],
): Promise<{ readonly ecsMismatches: string[] }> {
  const mismatches: string[] = [];
  const byEnvironment = new Map<string, Workload[]>();
  for (const w of workloads) {
    const env = w.spec.environmentRef.name;
    byEnvironment.set(env, [...(byEnvironment.get(env) ?? []), w]);
  }
  for (const [name, list] of byEnvironment) {
    const env = await ctx.environments.get({ namespace: ctx.namespace, name });
    const cluster = env.status?.clusterArn;
    if (!cluster) {
      mismatches.push(`the Environment ${name} has no cluster in status`);
      continue;
    }
    for (let i = 0; i < list.length; i += 10) {
      const batch = list.slice(i, i + 10);
      const out = await ctx.aws.ecs.send(new DescribeServicesCommand({ cluster, services: batch.map(ecsNameOf) }));
      for (const w of batch) {
        const running = out.services?.find((e) => e.serviceName === ecsNameOf(w))?.taskDefinition;
        const named = taskDefinitionOf(w);
        if (!running || running !== named)
          mismatches.push(`${w.metadata.name}: ECS runs ${running ?? 'nothing'}, status says ${named}`);
      }
    }
  }
  return { ecsMismatches: mismatches };
}
