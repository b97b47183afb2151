// The sandbox's drift demonstration. A listener rule of a Service on the Environment with `drift.events: true` is
// changed with the AWS API behind the operator's back. moto emits no CloudTrail events, so the sandbox plays
// CloudTrail's part: it puts the ModifyRule's CloudTrail event on the region's default bus, whose EventBridge rule
// (the Environment's) delivers it to the queue the operator long-polls. No resync is asked for. The rule is read
// until it routes the Service's host again, and the seconds from the ModifyRule are the demonstration's figure.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  type Rule,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { modifyRuleHostCall, putCloudTrailEvent } from '../../test/support/cloudtrail.js';

/** The bound on an out-of-band change's correction with drift events on. */
export const DRIFT_DEADLINE_S = 30;

export interface DriftListed {
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly spec?: {
    readonly region?: string;
    readonly resyncInterval?: string;
    readonly drift?: { readonly events?: boolean };
    readonly environmentRef?: { readonly name?: string };
  };
  readonly status?: { readonly url?: string; readonly ruleArn?: string; readonly priority?: number };
}

interface DriftItem {
  readonly logicalId: string;
  readonly path: string;
  readonly desired: string;
  readonly actual: string;
  readonly action: string;
}

export interface DriftDemo {
  readonly ok: boolean;
  /** Seconds from the ModifyRule to the rule routing the Service's host again (when it did within the deadline). */
  readonly seconds?: number;
  /** For the SANDBOX line. */
  readonly summary: string;
}

const hostsOf = (rule: Rule): string[] =>
  (rule.Conditions ?? [])
    .filter((c) => c.Field === 'host-header')
    .flatMap((c) => c.HostHeaderConfig?.Values ?? c.Values ?? []);

export async function demonstrateDrift(
  items: readonly DriftListed[],
  endpoint: string,
  ns: string,
  kubectl: (args: readonly string[]) => string,
  say: (line: string) => void,
): Promise<DriftDemo> {
  const env = items.find((o) => o.kind === 'Environment' && o.spec?.drift?.events === true);
  const target = items.find(
    (o) =>
      o.kind === 'Service' &&
      o.spec?.environmentRef?.name === env?.metadata.name &&
      o.status?.ruleArn !== undefined &&
      o.status.url !== undefined,
  );
  if (!env || !target?.status?.ruleArn || !target.status.url) {
    say('  no Ready Service on an Environment with drift.events: true');
    return { ok: false, summary: 'not shown' };
  }
  const ruleArn = target.status.ruleArn;
  const region = env.spec?.region ?? 'eu-west-1';
  const credentials = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };
  const elbv2 = new ElasticLoadBalancingV2Client({ region, endpoint, credentials });
  const events = new EventBridgeClient({ region, endpoint, credentials });
  const readRule = async () => (await elbv2.send(new DescribeRulesCommand({ RuleArns: [ruleArn] }))).Rules![0]!;
  try {
    const rule = await readRule();
    const original = hostsOf(rule).join(', ');
    const host = new URL(target.status.url).host;
    const hijacked = `hijacked.${host.split('.').slice(1).join('.')}`;

    const started = Date.now();
    await elbv2.send(
      new ModifyRuleCommand({
        RuleArn: ruleArn,
        Conditions: (rule.Conditions ?? []).map((c) =>
          c.Field === 'host-header'
            ? { Field: 'host-header', Values: [hijacked] }
            : { Field: c.Field, Values: c.PathPatternConfig?.Values ?? c.Values },
        ),
      }),
    );
    say(`  ModifyRule: Service ${target.metadata.name} now routes ${hijacked} instead of ${host}`);
    say("  moto does not emit CloudTrail events, so the sandbox plays CloudTrail's part: it puts the ModifyRule's");
    say(
      `  "AWS API Call via CloudTrail" event on ${region}'s default event bus with PutEvents. No resync is asked for.`,
    );
    await putCloudTrailEvent(
      events,
      modifyRuleHostCall(ruleArn, [hijacked], region, {
        ...(target.status.priority !== undefined ? { priority: target.status.priority } : {}),
      }),
    );

    // A measurement, read every 250 ms, bounded by the 30 s.
    let seconds: number | undefined;
    while (Date.now() - started < DRIFT_DEADLINE_S * 1000) {
      if (hostsOf(await readRule()).join(', ') === original) {
        seconds = (Date.now() - started) / 1000;
        break;
      }
      await sleep(250);
    }
    if (seconds === undefined) {
      say(`  the rule still routes ${hijacked} ${DRIFT_DEADLINE_S} s after the ModifyRule`);
      return { ok: false, summary: `not corrected within ${DRIFT_DEADLINE_S} s` };
    }
    say(
      `  the rule routes ${original} again, ${seconds.toFixed(1)} s after the ModifyRule (at most ${DRIFT_DEADLINE_S} s)`,
    );

    // The pass writes its status after putting the rule back.
    let reported = false;
    const until = Date.now() + 30_000;
    while (!reported && Date.now() < until) {
      const svc = JSON.parse(
        kubectl(['get', 'services.slipway.dev', target.metadata.name, '-n', ns, '-o', 'json']),
      ) as { status?: { drift?: readonly DriftItem[] } };
      const found = (svc.status?.drift ?? []).filter((d) => d.logicalId === 'listener-rule');
      for (const d of found)
        say(`  drift ${d.action.toLowerCase()}: ${d.logicalId} ${d.path}: was ${d.actual}, now ${d.desired}`);
      reported = found.length > 0;
      if (!reported) await sleep(500);
    }
    const corrected = kubectl([
      'get',
      'events',
      '-n',
      ns,
      '--field-selector',
      'reason=DriftCorrected',
      '-o',
      'jsonpath={range .items[*]}{.message}{"\\n"}{end}',
    ]).trim();
    say(`  events: ${corrected}`);
    say(
      `  with drift events off, only the periodic resync would see it: ${env.metadata.name}'s resyncInterval is ${env.spec?.resyncInterval ?? '5m'} (±10 % jitter), so the change would stand up to that long`,
    );
    return reported
      ? { ok: true, seconds, summary: `reported and corrected in ${seconds.toFixed(1)} s by a drift event` }
      : { ok: false, seconds, summary: `corrected in ${seconds.toFixed(1)} s but not reported in status` };
  } finally {
    elbv2.destroy();
    events.destroy();
  }
}
