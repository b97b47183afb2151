// Time to correction of an out-of-band change, with drift events and without. After convergence, one ModifyRule
// (the rule of the first Service routes another host) is made with the benchmark's own clients, behind the
// operator's back:
//
//   events on   the Environment has `drift.events: true`; moto emits no CloudTrail events, so the benchmark plays
//               CloudTrail's part and puts the ModifyRule's event on the default bus (PutEvents), from where the
//               Environment's EventBridge rule delivers it to the queue the operator long-polls;
//   events off  `drift.events: false` and the Environment's resyncInterval set to --drift-resync seconds: only the
//               periodic resync (jittered ±10 %) can see the change.
//
// With several Environments, only the first (its first Service) is used: the phase times one change, not a wave.
//
// Each is timed from just before the ModifyRule until a DescribeRules (every 100 ms, not counted) shows the
// Service's host again, and costed like every phase: the operator's AWS calls and reconciles until it is quiet.
import { DescribeRulesCommand, ModifyRuleCommand, type Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Environment } from '../src/api/index.js';
import { modifyRuleHostCall, putCloudTrailEvent } from '../test/support/cloudtrail.js';
import type { BenchContext } from './context.js';
import { ENVIRONMENT_NAME } from './manifests.js';
import { metricsDelta, metricsSnapshot } from './metrics.js';
import { measure, type PhaseCost } from './phases.js';
import { until } from './wait.js';

export interface DriftResult {
  /** The Service whose listener rule was changed. */
  readonly service: string;
  /** The Environment's resyncInterval while events were off. */
  readonly resyncInterval: string;
  /** Turning drift events on: the Environment's rule and queue, and the pass over its Services the change wakes. */
  readonly eventsOn: PhaseCost;
  /** The ModifyRule corrected through its CloudTrail event. */
  readonly withEvents: PhaseCost;
  /** Turning drift events off and the resync down to `resyncInterval` (every Service reconciled once). */
  readonly eventsOff: PhaseCost;
  /** The same ModifyRule corrected by the periodic resync alone. */
  readonly withoutEvents: PhaseCost;
}

const hostsOf = (rule: Rule | undefined): string =>
  (rule?.Conditions ?? [])
    .filter((c) => c.Field === 'host-header')
    .flatMap((c) => c.HostHeaderConfig?.Values ?? c.Values ?? [])
    .join(',');

const inventory = (env: Environment | undefined, kind: string) =>
  (env?.status?.resources ?? []).find((r) => r.kind === kind)?.arn;

export async function driftPhase(ctx: BenchContext, resyncSeconds: number): Promise<DriftResult> {
  const envRef = { namespace: ctx.namespace, name: ENVIRONMENT_NAME };
  const name = ctx.names[0]!;
  // The Services that turning events off reschedules: the first Environment's (its previews are woken too).
  const ownServices = ctx.plan.services.filter((s) => s.environment === ENVIRONMENT_NAME).length;
  const svc = await ctx.services.get({ namespace: ctx.namespace, name });
  const ruleArn = svc.status?.ruleArn;
  if (!ruleArn) throw new Error(`drift: Service ${name} has no listener rule in its status`);
  const readHosts = async () =>
    hostsOf((await ctx.aws.elbv2.send(new DescribeRulesCommand({ RuleArns: [ruleArn] }))).Rules?.[0]);
  const host = await readHosts();
  const hijacked = `hijacked.${ctx.land.baseDomain}`;
  const region = await ctx.aws.elbv2.config.region();
  const timeoutMs = ctx.options.phaseTimeoutMs;
  const applied = (env: Environment | undefined) => env?.status?.observedGeneration === env?.metadata.generation;
  const modifyRule = () =>
    ctx.aws.elbv2.send(
      new ModifyRuleCommand({
        RuleArn: ruleArn,
        Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [hijacked] } }],
      }),
    );
  const corrected = (what: string, startedAt: number) =>
    until(what, async () => (await readHosts()) === host, timeoutMs - (Date.now() - startedAt), 100);

  const eventsOn = await measure(
    ctx,
    'drift events on',
    () => ctx.rawEnvironments.mergePatch(envRef, { spec: { drift: { events: true } } }).then(() => undefined),
    (startedAt) =>
      until(
        "drift events on: the Environment's queue polled",
        async () => {
          const env = await ctx.environments.find(envRef);
          const queue = inventory(env, 'sqs.Queue');
          return applied(env) && queue !== undefined && ctx.operator.driftEvents.polling.includes(queue);
        },
        timeoutMs - (Date.now() - startedAt),
        200,
      ),
  );

  const withEvents = await measure(
    ctx,
    'drift corrected through its event',
    async () => {
      await modifyRule();
      await putCloudTrailEvent(
        ctx.aws.events,
        modifyRuleHostCall(ruleArn, [hijacked], region, { priority: svc.status?.priority ?? 1 }),
      );
    },
    (startedAt) => corrected('drift corrected through its event', startedAt),
  );

  const before = await metricsSnapshot(ctx.operator.registry);
  const resyncInterval = `${resyncSeconds}s`;
  const eventsOff = await measure(
    ctx,
    'drift events off',
    () =>
      ctx.rawEnvironments
        .mergePatch(envRef, { spec: { drift: { events: false }, resyncInterval } })
        .then(() => undefined),
    (startedAt) =>
      until(
        'drift events off: the rule and queue gone, every Service rescheduled',
        async () => {
          const env = await ctx.environments.find(envRef);
          const reconciled = metricsDelta(await metricsSnapshot(ctx.operator.registry), before).reconciles;
          return (
            applied(env) &&
            inventory(env, 'events.Rule') === undefined &&
            ctx.operator.driftEvents.polling.length === 0 &&
            (reconciled.service ?? 0) >= ownServices
          );
        },
        timeoutMs - (Date.now() - startedAt),
        200,
      ),
  );

  const withoutEvents = await measure(
    ctx,
    'drift corrected by the resync',
    () => modifyRule().then(() => undefined),
    (startedAt) => corrected('drift corrected by the resync', startedAt),
  );
  return { service: name, resyncInterval, eventsOn, withEvents, eventsOff, withoutEvents };
}
