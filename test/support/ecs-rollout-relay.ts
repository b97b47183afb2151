// An HTTP relay in front of the AWS emulator that plays ECS's scheduler for the services a test names. moto's
// deployments never progress (shared/AWS-FACTS.md): a service it creates stays IN_PROGRESS with no task running.
// Once a test calls `complete(name)`, every DescribeServices answer that passes through shows that service's
// deployment COMPLETED with its desired count running, as ECS would once the tasks are healthy; after
// `rollBack(name, arn)`, the service shows as ECS's deployment circuit breaker leaves it once it has rolled back: on
// that earlier task definition, its one deployment saying so. Every other request and answer is relayed byte for
// byte.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenOnLoopback, relayTo } from './loopback.js';

interface EcsDeployment {
  id?: string;
  status?: string;
  taskDefinition?: string;
  rolloutState?: string;
  rolloutStateReason?: string;
  runningCount?: number;
  pendingCount?: number;
  desiredCount?: number;
}

interface EcsService {
  serviceName?: string;
  taskDefinition?: string;
  desiredCount?: number;
  runningCount?: number;
  pendingCount?: number;
  deployments?: EcsDeployment[];
}

/**
 * A DescribeServices answer with the named services' deployments completed, and the services `rolledBack` names
 * back on the task definition given, by the circuit breaker.
 */
export function completeDeployments(
  body: string,
  completed: ReadonlySet<string>,
  rolledBack: ReadonlyMap<string, string> = new Map(),
): string {
  const parsed = JSON.parse(body) as { services?: EcsService[] };
  for (const s of parsed.services ?? []) {
    const to = s.serviceName ? rolledBack.get(s.serviceName) : undefined;
    if (to) {
      s.taskDefinition = to;
      s.runningCount = s.desiredCount ?? 0;
      s.pendingCount = 0;
      s.deployments = [
        {
          id: 'ecs-svc/rolled-back',
          status: 'PRIMARY',
          taskDefinition: to,
          rolloutState: 'COMPLETED',
          rolloutStateReason: 'ECS deployment circuit breaker: rolled back to deploymentId ecs-svc/rolled-back.',
          runningCount: s.desiredCount ?? 0,
          pendingCount: 0,
          desiredCount: s.desiredCount ?? 0,
        },
      ];
      continue;
    }
    if (!s.serviceName || !completed.has(s.serviceName)) continue;
    const desired = s.desiredCount ?? 0;
    s.runningCount = desired;
    s.pendingCount = 0;
    s.deployments = (s.deployments ?? [])
      .filter((d) => d.status === 'PRIMARY')
      .map((d) => ({
        ...d,
        rolloutState: 'COMPLETED',
        rolloutStateReason: 'ECS deployment completed.',
        runningCount: desired,
        pendingCount: 0,
      }));
  }
  return JSON.stringify(parsed);
}

export class EcsRolloutRelay {
  private readonly completed = new Set<string>();
  private readonly rolledBack = new Map<string, string>();
  /** The service names of every DescribeServices request relayed, one entry a call. */
  readonly describeCalls: string[][] = [];
  private readonly server: Server;

  /** `upstream`: the emulator's URL. */
  constructor(private readonly upstream: URL) {
    this.server = createServer((req, res) => this.relay(req, res));
  }

  /** From now on, the service's deployment shows as completed. */
  complete(serviceName: string): void {
    this.completed.add(serviceName);
  }

  /** From now on, the service shows as rolled back by the circuit breaker to `taskDefinition`. */
  rollBack(serviceName: string, taskDefinition: string): void {
    this.rolledBack.set(serviceName, taskDefinition);
  }

  /** Starts listening on a free loopback port; resolves to its URL. */
  listen(): Promise<string> {
    return listenOnLoopback(this.server);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(req: IncomingMessage, res: ServerResponse): void {
    const rewrite = String(req.headers['x-amz-target'] ?? '').endsWith('.DescribeServices');
    if (!rewrite) {
      this.forward(req, res, undefined, false);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const input = JSON.parse(body.toString('utf8') || '{}') as { services?: string[] };
      this.describeCalls.push([...(input.services ?? [])]);
      this.forward(req, res, body, true);
    });
  }

  private forward(req: IncomingMessage, res: ServerResponse, body: Buffer | undefined, rewrite: boolean): void {
    relayTo(this.upstream, req, res, body, (answer) => {
      if (!rewrite || answer.statusCode !== 200 || answer.headers['content-encoding']) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const out = Buffer.from(
          completeDeployments(Buffer.concat(chunks).toString('utf8'), this.completed, this.rolledBack),
        );
        const headers: Record<string, string | string[] | undefined> = {
          ...answer.headers,
          'content-length': String(out.length),
        };
        delete headers['transfer-encoding'];
        delete headers['x-amz-crc32'];
        res.writeHead(200, headers);
        res.end(out);
      });
      answer.on('error', () => res.destroy());
    });
  }
}
