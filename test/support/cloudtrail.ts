// CloudTrail management events in the exact shape CloudTrail hands EventBridge ("AWS API Call via CloudTrail"),
// put on a default event bus with PutEvents. moto delivers EventBridge to SQS but never emits CloudTrail events, so
// the drift events tests, the sandbox and the benchmark play CloudTrail's part with these.
import { randomUUID } from 'node:crypto';
import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';

export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';
/** The account the emulator uses unless a role says otherwise. */
export const EMULATOR_ACCOUNT = '123456789012';

/** One API call as CloudTrail records it. */
export interface CloudTrailCall {
  /** The service's endpoint prefix: `elasticloadbalancing`, `ecs`, `route53`, `cognito-idp`, ... */
  readonly service: string;
  readonly eventName: string;
  readonly requestParameters: Record<string, unknown>;
  readonly responseElements?: unknown;
  /** The region the call was made in (`awsRegion`). */
  readonly region: string;
  /** The caller's role session name; default a person's, not the operator's. */
  readonly session?: string;
  readonly account?: string;
  /** The caller's user agent; default the AWS CLI's. */
  readonly userAgent?: string;
}

/** The CloudTrail record of one call: EventBridge's `detail`, and the event history's `CloudTrailEvent`. */
export function cloudTrailRecord(call: CloudTrailCall): Record<string, unknown> {
  const session = call.session ?? 'jane@shop.test';
  const account = call.account ?? EMULATOR_ACCOUNT;
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROAEXAMPLEID:${session}`,
      arn: `arn:aws:sts::${account}:assumed-role/admin/${session}`,
      accountId: account,
      sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${account}:role/admin`, userName: 'admin' } },
    },
    eventTime: new Date().toISOString(),
    eventSource: `${call.service}.amazonaws.com`,
    eventName: call.eventName,
    awsRegion: call.region,
    sourceIPAddress: '203.0.113.7',
    userAgent:
      call.userAgent ?? 'aws-cli/2.15.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.6',
    requestParameters: call.requestParameters,
    responseElements: call.responseElements ?? null,
    requestID: randomUUID(),
    eventID: randomUUID(),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
  };
}

/** The PutEvents entry CloudTrail's delivery to EventBridge amounts to. */
export function cloudTrailEntry(call: CloudTrailCall): PutEventsRequestEntry {
  const detail = cloudTrailRecord(call);
  return { Source: `aws.${call.service}`, DetailType: CLOUDTRAIL_DETAIL_TYPE, Detail: JSON.stringify(detail) };
}

/**
 * The event of an ELBv2 ModifyRule that sets a rule's host-header condition, as CloudTrail records it (request
 * fields in camelCase; the response names the rule).
 */
export function modifyRuleHostCall(
  ruleArn: string,
  hosts: readonly string[],
  region: string,
  opts: { readonly priority?: string | number; readonly session?: string } = {},
): CloudTrailCall {
  return {
    service: 'elasticloadbalancing',
    eventName: 'ModifyRule',
    region,
    requestParameters: { ruleArn, conditions: [{ field: 'host-header', hostHeaderConfig: { values: [...hosts] } }] },
    ...(opts.priority === undefined
      ? {}
      : { responseElements: { rules: [{ ruleArn, priority: String(opts.priority), isDefault: false }] } }),
    ...(opts.session ? { session: opts.session } : {}),
  };
}

/** Puts one entry on the default bus of the client's region; throws if EventBridge refused it. */
export async function putEntry(events: EventBridgeClient, entry: PutEventsRequestEntry): Promise<void> {
  const out = await events.send(new PutEventsCommand({ Entries: [entry] }));
  if ((out.FailedEntryCount ?? 0) > 0) {
    const failed = out.Entries?.find((e) => e.ErrorCode);
    throw new Error(`PutEvents refused the event: ${failed?.ErrorCode ?? '?'} ${failed?.ErrorMessage ?? ''}`);
  }
}

/** Plays CloudTrail's part: puts the event of `call` on the default bus of the client's region. */
export function putCloudTrailEvent(events: EventBridgeClient, call: CloudTrailCall): Promise<void> {
  return putEntry(events, cloudTrailEntry(call));
}
