// CloudTrail management events, as EventBridge delivers them ("AWS API Call via CloudTrail"), mapped to the AWS
// identifiers Slipway's status inventories record: an ARN where the kind has one, else the id or name the kind's
// reconciler uses (a security group id, `<pool id>/<client id>`, `<zone id>/<record name>/A`). Pure.
//
// Only the resource a call acts on is taken, from the fields each API names it by (`ruleArn` of ModifyRule,
// `hostedZoneId` and the record names of ChangeResourceRecordSets, `cluster` and `service` of UpdateService); not
// every ARN in the event, since a response also names related resources that another custom resource owns (a
// rule's response names the gate's user pool, which is the Environment's). APIs not listed fall back to the
// top-level ARNs of their request. ECS's own events (not API calls) are read by ecs-events.ts. The event history's
// records (aws/event-history.ts) are the same records: isOwnCall tells the operator's own there too.
import { classifyEcsEvent, isEcsNativeEvent, type EcsNativeEvent } from './ecs-events.js';

/** The EventBridge envelope and the CloudTrail record in its `detail`, as far as Slipway reads them. */
export interface CloudTrailEvent {
  readonly 'detail-type'?: string;
  readonly source?: string;
  readonly account?: string;
  readonly region?: string;
  readonly detail?: CloudTrailDetail;
}

export interface CloudTrailDetail {
  readonly eventSource?: string;
  readonly eventName?: string;
  readonly awsRegion?: string;
  readonly recipientAccountId?: string;
  readonly errorCode?: string;
  readonly userAgent?: string;
  readonly userIdentity?: {
    readonly type?: string;
    readonly arn?: string;
    readonly principalId?: string;
    readonly invokedBy?: string;
  };
  readonly requestParameters?: Record<string, unknown> | null;
  readonly responseElements?: Record<string, unknown> | null;
}

export type EventVerdict =
  | { readonly action: 'enqueue'; readonly identifiers: readonly string[]; readonly eventName: string }
  | { readonly action: 'ignore'; readonly reason: IgnoreReason; readonly detail: string };

/**
 * - `malformed`: not a CloudTrail API call event (not JSON, another detail-type, no event name).
 * - `own-call`: made by this operator (its session name or its user agent's app id).
 * - `aws-service`: made by a service-linked role (but Application Auto Scaling's UpdateService, which changes the
 *   desired count the owner's status shows, reaches the owner: isScalingOfService).
 * - `failed-call`: the call failed (`errorCode`): it changed nothing.
 * - `no-resource`: no identifier Slipway could look up.
 */
export type IgnoreReason = 'malformed' | 'own-call' | 'aws-service' | 'failed-call' | 'no-resource';

export const CLOUDTRAIL_API_CALL = 'AWS API Call via CloudTrail';

/** What identifies the operator's own calls in CloudTrail. */
export interface OwnIdentity {
  /** The role session name (the end of `assumed-role/<role>/<session>` and of `principalId`). */
  readonly sessionName: string;
  /** The user agent's app id (`app/<id>`), when the operator sets one. */
  readonly userAgentAppId?: string;
}

/** Whether the event records a call made by the operator itself. */
export function isOwnCall(detail: CloudTrailDetail, own: OwnIdentity): boolean {
  const id = detail.userIdentity ?? {};
  const session = own.sessionName;
  if (id.arn && /:assumed-role\/[^/]+\/(.+)$/.exec(id.arn)?.[1] === session) return true;
  if (id.principalId && id.principalId.endsWith(`:${session}`)) return true;
  const appId = own.userAgentAppId;
  if (appId && detail.userAgent) {
    // The SDK writes `app/<id>` as one space-separated token of the user agent.
    return detail.userAgent.split(/\s+/).includes(`app/${appId}`);
  }
  return false;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

interface Where {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

/** An ECS cluster or service named by name or ARN → its ARN. */
function ecsArn(where: Where, type: 'cluster' | 'service', name: string, cluster?: string): string {
  if (name.startsWith('arn:')) return name;
  const prefix = `arn:${where.partition}:ecs:${where.region}:${where.account}`;
  if (type === 'cluster') return `${prefix}:cluster/${name}`;
  const clusterName = (cluster ?? 'default').replace(/^arn:.*:cluster\//, '');
  return `${prefix}:service/${clusterName}/${name}`;
}

/** `service/<cluster>/<service>` (an Application Auto Scaling resource id for ECS) → the ECS service's ARN. */
function scaledServiceArn(where: Where, resourceId: string | undefined): string | undefined {
  const m = resourceId ? /^service\/([^/]+)\/([^/]+)$/.exec(resourceId) : null;
  return m ? ecsArn(where, 'service', m[2]!, m[1]!) : undefined;
}

function bareZoneId(id: string): string {
  return id.replace(/^\/?hostedzone\//, '');
}

function recordName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '').replace(/\\052/g, '*');
}

/** Top-level ARNs of the request (a string, or a list of strings). */
function requestArns(req: Record<string, unknown>): string[] {
  return Object.values(req).flatMap((v) =>
    typeof v === 'string'
      ? v.startsWith('arn:')
        ? [v]
        : []
      : arr(v).filter((x): x is string => !!str(x)?.startsWith('arn:')),
  );
}

/** The identifiers of the resources one API call acts on, by event source and name. */
export function identifiersOf(detail: CloudTrailDetail, where: Where): string[] {
  const req = obj(detail.requestParameters);
  const res = obj(detail.responseElements);
  const name = detail.eventName ?? '';
  const out: (string | undefined)[] = [];
  switch (detail.eventSource) {
    case 'elasticloadbalancing.amazonaws.com':
      // ModifyRule/DeleteRule ruleArn, ModifyListener listenerArn, Modify*TargetGroup* targetGroupArn,
      // ModifyLoadBalancerAttributes/SetSecurityGroups/SetSubnets loadBalancerArn, AddTags/RemoveTags resourceArns,
      // SetRulePriorities rulePriorities[].ruleArn.
      out.push(str(req.ruleArn), str(req.listenerArn), str(req.targetGroupArn), str(req.loadBalancerArn));
      out.push(...arr(req.resourceArns).map(str));
      out.push(...arr(req.rulePriorities).map((p) => str(obj(p).ruleArn)));
      break;
    case 'ecs.amazonaws.com': {
      const cluster = str(req.cluster);
      if (str(req.service)) out.push(ecsArn(where, 'service', str(req.service)!, cluster));
      else if (cluster) out.push(ecsArn(where, 'cluster', cluster));
      out.push(str(obj(res.service).serviceArn), str(req.resourceArn), str(req.taskDefinition));
      break;
    }
    case 'application-autoscaling.amazonaws.com':
      // Scalable targets and policies carry no tags of their own: they belong to the ECS service they scale.
      out.push(scaledServiceArn(where, str(req.resourceId)), str(res.scalableTargetARN), str(res.policyARN));
      out.push(str(req.resourceARN));
      break;
    case 'logs.amazonaws.com': {
      const group = str(req.logGroupName);
      if (group) out.push(`arn:${where.partition}:logs:${where.region}:${where.account}:log-group:${group}`);
      out.push(str(req.resourceArn)?.replace(/:\*$/, ''));
      break;
    }
    case 'cognito-idp.amazonaws.com': {
      const pool = str(req.userPoolId);
      const client = str(req.clientId);
      const user = str(req.username);
      if (pool && client) out.push(`${pool}/${client}`);
      else if (pool && user) out.push(`${pool}/${user}`);
      else if (pool && !str(req.domain))
        out.push(`arn:${where.partition}:cognito-idp:${where.region}:${where.account}:userpool/${pool}`);
      out.push(str(req.domain), str(req.resourceArn));
      break;
    }
    case 'ec2.amazonaws.com': {
      out.push(str(req.groupId));
      out.push(...arr(obj(req.resourcesSet).items).map((i) => str(obj(i).resourceId)));
      out.push(...arr(obj(req.groupIdSet).items).map((i) => str(obj(i).groupId)));
      // A created network's resources, by the id each call names them by. Newer EC2 APIs wrap their parameters in
      // `<Operation>Request` with capitalised names (DeleteNatGateway, ModifyVpcEndpoint, DeleteVpcEndpoints).
      for (const key of ['routeTableId', 'subnetId', 'vpcId', 'internetGatewayId', 'allocationId'])
        out.push(str(req[key]));
      for (const [key, value] of Object.entries(req)) {
        if (!key.endsWith('Request')) continue;
        const inner = obj(value);
        out.push(str(inner.NatGatewayId), str(inner.VpcEndpointId));
        out.push(...arr(inner.VpcEndpointId).map(str));
      }
      break;
    }
    case 'route53.amazonaws.com': {
      const zone = str(req.hostedZoneId);
      if (zone) {
        for (const change of arr(obj(req.changeBatch).changes)) {
          const set = str(obj(obj(change).resourceRecordSet).name);
          // The A record (or CNAME) is the inventory's; its companion TXT record has the same name.
          if (set) out.push(`${bareZoneId(zone)}/${recordName(set)}/A`, `${bareZoneId(zone)}/${recordName(set)}/CNAME`);
        }
      }
      break;
    }
    case 'cloudfront.amazonaws.com': {
      const id = str(req.id);
      if (id) out.push(`arn:${where.partition}:cloudfront::${where.account}:distribution/${id}`);
      out.push(str(req.resource));
      break;
    }
    default:
      break;
  }
  const found = out.filter((x): x is string => !!x);
  if (found.length === 0 && name) found.push(...requestArns(req));
  return [...new Set(found)];
}

/**
 * AWS's own calls are no drift, but Application Auto Scaling's UpdateService changes the desired count the owner's
 * status shows: with the drift-event rotation a settled owner's service is otherwise described only in its turn, up
 * to ROTATION_SLOTS resyncs later. Its owner passes once (nothing to correct: autoscaling owns the count).
 */
function isScalingOfService(detail: CloudTrailDetail): boolean {
  return (
    detail.eventName === 'UpdateService' &&
    /:assumed-role\/AWSServiceRoleForApplicationAutoScaling_ECSService\//.test(detail.userIdentity?.arn ?? '')
  );
}

/** What to do with one message body from a drift events queue: a CloudTrail API call, or one of ECS's own events. */
export function classifyEvent(body: string, own: OwnIdentity): EventVerdict {
  let event: CloudTrailEvent;
  try {
    event = JSON.parse(body) as CloudTrailEvent;
  } catch {
    return { action: 'ignore', reason: 'malformed', detail: 'not JSON' };
  }
  if (typeof event === 'object' && event !== null && isEcsNativeEvent(event as EcsNativeEvent)) {
    return classifyEcsEvent(event as EcsNativeEvent);
  }
  if (typeof event !== 'object' || event === null || event['detail-type'] !== CLOUDTRAIL_API_CALL) {
    return { action: 'ignore', reason: 'malformed', detail: `not "${CLOUDTRAIL_API_CALL}"` };
  }
  const detail = obj(event.detail) as CloudTrailDetail;
  const eventName = str(detail.eventName);
  if (!eventName || !str(detail.eventSource)) {
    return { action: 'ignore', reason: 'malformed', detail: 'no eventSource or eventName' };
  }
  if (isOwnCall(detail, own)) return { action: 'ignore', reason: 'own-call', detail: eventName };
  if (/:assumed-role\/AWSServiceRoleFor/.test(detail.userIdentity?.arn ?? '') && !isScalingOfService(detail)) {
    return { action: 'ignore', reason: 'aws-service', detail: eventName };
  }
  if (str(detail.errorCode))
    return { action: 'ignore', reason: 'failed-call', detail: `${eventName}: ${detail.errorCode}` };
  const region = str(detail.awsRegion) ?? str(event.region) ?? '';
  const where = {
    partition: partitionOf(region),
    region,
    account: str(detail.recipientAccountId) ?? str(event.account) ?? '',
  };
  const identifiers = identifiersOf(detail, where);
  if (identifiers.length === 0) return { action: 'ignore', reason: 'no-resource', detail: eventName };
  return { action: 'enqueue', identifiers, eventName };
}
