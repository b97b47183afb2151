// Checks against AWS itself, with the benchmark's own clients: does each ECS service run the task definition
// its Service's status names? DescribeServices takes at most 10 names per call.
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import type { Service } from '../src/api/index.js';
import type { BenchContext } from './context.js';
import { ENVIRONMENT_NAME } from './manifests.js';

export async function checkEcsRevisions(
  ctx: BenchContext,
  services: readonly Service[],
): Promise<{ readonly ecsMismatches: string[] }> {
  const env = await ctx.environments.get({ namespace: ctx.namespace, name: ENVIRONMENT_NAME });
  const cluster = env.status?.clusterArn;
  if (!cluster) return { ecsMismatches: ['the Environment has no cluster in status'] };
  const mismatches: string[] = [];
  for (let i = 0; i < services.length; i += 10) {
    const batch = services.slice(i, i + 10);
    const out = await ctx.aws.ecs.send(
      new DescribeServicesCommand({ cluster, services: batch.map((s) => s.metadata.name) }),
    );
    for (const svc of batch) {
      const running = out.services?.find((e) => e.serviceName === svc.metadata.name)?.taskDefinition;
      if (!running || running !== svc.status?.taskDefinitionArn)
        mismatches.push(
          `${svc.metadata.name}: ECS runs ${running ?? 'nothing'}, status says ${svc.status?.taskDefinitionArn}`,
        );
    }
  }
  return { ecsMismatches: mismatches };
}
