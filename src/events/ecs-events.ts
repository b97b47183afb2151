// ECS's own events, as EventBridge delivers them (not CloudTrail's API calls): a service's task stopped, a service
// action (steady state reached, tasks that cannot be placed), a deployment's state. Each names the ECS service it is
// about, which is what the owners' inventories record. Pure.
//
// - "ECS Task State Change": `detail.group` is `service:<name>` for a service's task, and `detail.clusterArn` its
//   cluster: the service's ARN is `...:service/<cluster>/<name>` in the cluster's account and region.
// - "ECS Service Action", "ECS Deployment State Change": `resources` holds the service's ARN.
import type { EventVerdict } from './cloudtrail.js';

export const ECS_NATIVE_DETAIL_TYPES: ReadonlySet<string> = new Set([
  'ECS Task State Change',
  'ECS Service Action',
  'ECS Deployment State Change',
]);

/** The envelope of an ECS event, as far as Slipway reads it. */
export interface EcsNativeEvent {
  readonly 'detail-type'?: string;
  readonly source?: string;
  readonly resources?: unknown;
  readonly detail?: {
    readonly clusterArn?: unknown;
    readonly group?: unknown;
    readonly lastStatus?: unknown;
    readonly eventName?: unknown;
  };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Whether the event is one of ECS's own that this module reads. */
export function isEcsNativeEvent(event: EcsNativeEvent): boolean {
  return event.source === 'aws.ecs' && ECS_NATIVE_DETAIL_TYPES.has(event['detail-type'] ?? '');
}

/** `arn:...:cluster/<cluster>` and a service name → `arn:...:service/<cluster>/<name>`. */
export function serviceArnInCluster(clusterArn: string, service: string): string | undefined {
  const m = /^(arn:[^:]+:ecs:[^:]+:[^:]+):cluster\/([^/]+)$/.exec(clusterArn);
  return m ? `${m[1]}:service/${m[2]}/${service}` : undefined;
}

/** What to do with one of ECS's own events: enqueue the owner of the ECS service it names. */
export function classifyEcsEvent(event: EcsNativeEvent): EventVerdict {
  const type = event['detail-type'] ?? '';
  const detail = typeof event.detail === 'object' && event.detail !== null ? event.detail : {};
  if (type === 'ECS Task State Change') {
    const status = str(detail.lastStatus) ?? '';
    const eventName = `${type} ${status}`.trim();
    const group = str(detail.group);
    const cluster = str(detail.clusterArn);
    const service = group?.startsWith('service:') ? group.slice('service:'.length) : undefined;
    const arn = cluster && service ? serviceArnInCluster(cluster, service) : undefined;
    if (!arn) return { action: 'ignore', reason: 'no-resource', detail: eventName };
    return { action: 'enqueue', identifiers: [arn], eventName };
  }
  const eventName = `${type} ${str(detail.eventName) ?? ''}`.trim();
  const resources = Array.isArray(event.resources) ? event.resources : [];
  const services = resources.filter((r): r is string => !!str(r) && /^arn:[^:]+:ecs:[^:]*:[^:]*:service\//.test(r));
  if (services.length === 0) return { action: 'ignore', reason: 'no-resource', detail: eventName };
  return { action: 'enqueue', identifiers: [...new Set(services)], eventName };
}
