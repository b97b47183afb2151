// A resync without drift events reads what changed out of band from CloudTrail's event history instead of reading
// every target group's attributes (ELBv2 has no bulk read of them). The real operator in-process, a real
// kube-apiserver, and moto behind two relays: one plays ECS's scheduler (so that the Services settle, as only a
// settled owner's resources are taken as planned), and one plays CloudTrail's event history, which moto does not
// serve, recording every write that passes through it.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  DescribeTargetGroupAttributesCommand,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import pino from 'pino';
import type { Service } from '../../src/api/index.js';
import { AwsClients } from '../../src/aws/clients.js';
import { SERVICE_TYPE } from '../../src/controllers/resource-types.js';
import { RESYNC_ANNOTATION, ROTATION_SLOTS } from '../../src/controllers/waves.js';
import { runsSettled } from '../../src/controllers/workload.js';
import { rotationSlotOf } from '../../src/reconcilers/contract.js';
import type { Operator } from '../../src/operator.js';
import { createLandscape, testAws, uniqueSuffix, type Landscape } from '../support/aws-fixtures.js';
import { EcsRolloutRelay } from '../support/ecs-rollout-relay.js';
import { EventHistoryRelay } from '../support/event-history-relay.js';
import { getTestEnv } from '../support/env.js';
import { createNamespace, eventually, installCrds, kubeClient, kubectl, waitForCondition } from '../support/kube.js';
import { apply, environmentYaml, serviceYaml } from '../support/manifests.js';
import { waitQuiet } from '../support/nudge.js';
import { startOperator } from '../support/operator.js';

const suffix = uniqueSuffix();
const ns = `history-${suffix}`;
const kube = kubeClient();
const services = kube.resource<Service>(SERVICE_TYPE);
const NAMES = ['hist-a', 'hist-b', 'hist-c'];
/** The delay Slipway plans for every target group, and the one a person sets out of band. */
const PLANNED = '30';
const CHANGED = '300';

let aws: AwsClients;
/** Clients whose calls pass through the history relay, as a person's would reach AWS and CloudTrail. */
let person: AwsClients;
let land: Landscape;
let rollouts: EcsRolloutRelay;
let history: EventHistoryRelay;
let operator: Operator;

/** The number of each resync wave the operator opened, from its log. */
const wavesLogged: number[] = [];
const logSink = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line.includes('"msg":"resync wave"')) wavesLogged.push((JSON.parse(line) as { wave: number }).wave);
    done();
  },
});

/** Asks the Environment for a resync wave and waits until it opened and every pass it caused finished: its calls. */
async function resyncWave(): Promise<{ number: number; calls: Record<string, number> }> {
  const number = (wavesLogged.at(-1) ?? 0) + 1;
  await waitQuiet(operator);
  const before = operator.calls.snapshot();
  kubectl(['annotate', '--overwrite', 'environments.slipway.dev', 'dev', '-n', ns, `${RESYNC_ANNOTATION}=${number}`]);
  await eventually(`wave ${number} to open`, async () => (wavesLogged.includes(number) ? true : undefined));
  await waitQuiet(operator);
  const calls: Record<string, number> = {};
  const failed: Record<string, number> = {};
  for (const [key, n] of operator.calls.snapshot()) {
    const [service, operation, outcome] = key.split(':');
    const op = `${service}:${operation}`;
    const made = n - (before.get(key) ?? 0);
    if (made <= 0) continue;
    calls[op] = (calls[op] ?? 0) + made;
    if (outcome !== 'success') failed[`${op}:${outcome}`] = (failed[`${op}:${outcome}`] ?? 0) + made;
  }
  // Every wave here but the last test's reads the history: a lookup that failed would leave the next ones without it.
  if (!history.refuseLookups)
    assert.deepEqual(
      Object.keys(failed).filter((k) => k.startsWith('cloudtrail:')),
      [],
      `wave ${number}: ${JSON.stringify(failed)}`,
    );
  return { number, calls };
}

/** Opens waves until the next one is out of the turn of every ARN given. */
async function untilOutOfTurn(arns: readonly string[]): Promise<void> {
  const turns = new Set(arns.map((arn) => rotationSlotOf(arn, ROTATION_SLOTS)));
  while (turns.has(((wavesLogged.at(-1) ?? 0) + 1) % ROTATION_SLOTS)) await resyncWave();
}

async function targetGroupOf(name: string): Promise<string> {
  const svc = await services.get({ namespace: ns, name });
  const arn = svc.status?.resources?.find((r) => r.kind === 'elbv2.TargetGroup')?.arn;
  assert.ok(arn, `${name} lists its target group`);
  return arn;
}

async function delayOf(arn: string): Promise<string | undefined> {
  const out = await aws.elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }));
  return out.Attributes?.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value;
}

/** A person sets the delay out of band, through the relay that records it in the event history. */
async function changeDelay(arn: string): Promise<void> {
  await person.elbv2.send(
    new ModifyTargetGroupAttributesCommand({
      TargetGroupArn: arn,
      Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: CHANGED }],
    }),
  );
  assert.equal(await delayOf(arn), CHANGED);
}

/** What decides whether a wave's members read the history: their turns and what their status says of them. */
async function diagnosis(wave: { number: number; calls: Record<string, number> }): Promise<string> {
  const members = await Promise.all(
    NAMES.map(async (name) => {
      const st = (await services.get({ namespace: ns, name })).status;
      const arn = st?.resources?.find((r) => r.kind === 'elbv2.TargetGroup')?.arn ?? '';
      return {
        name,
        slot: rotationSlotOf(arn, ROTATION_SLOTS),
        driftCount: st?.driftCount,
        drift: st?.drift?.length,
        settled: runsSettled(st),
      };
    }),
  );
  return JSON.stringify({ wave: wave.number, slot: wave.number % ROTATION_SLOTS, members, calls: wave.calls });
}

/** The target groups of `arns` whose turn the wave numbered `number` is. */
const inTurn = (arns: readonly string[], number: number) =>
  arns.filter((arn) => rotationSlotOf(arn, ROTATION_SLOTS) === number % ROTATION_SLOTS);

describe('event history', { timeout: 600_000 }, () => {
  let arns: string[] = [];

  before(async () => {
    installCrds();
    createNamespace(ns);
    aws = testAws();
    land = await createLandscape(aws, `history-${suffix}.shop.test`);
    rollouts = new EcsRolloutRelay(new URL(getTestEnv().awsEndpoint));
    history = new EventHistoryRelay(new URL(await rollouts.listen()));
    const endpoint = await history.listen();
    const env = getTestEnv();
    person = new AwsClients({ region: env.awsRegion, endpoint, credentials: env.awsCredentials, rateLimits: false });
    operator = await startOperator(
      { SLIPWAY_AWS_ENDPOINT: endpoint, SLIPWAY_WATCH_NAMESPACE: ns },
      { logger: pino({ level: 'info' }, logSink) },
    );
  });
  after(async () => {
    await operator?.stop();
    await history?.close();
    await rollouts?.close();
    person?.destroy();
    aws?.destroy();
  });

  test('settled Services on an Environment without drift events', async () => {
    // A resync far away: every wave below is one the test asks for.
    apply(environmentYaml(ns, land, 'dev', '  resyncInterval: 24h'));
    for (const name of NAMES) apply(serviceYaml(ns, name, { subdomain: name }));
    for (const name of NAMES) {
      await waitForCondition(services, { namespace: ns, name }, 'Ready', 'True', { timeoutMs: 180_000 });
      const svc = await services.get({ namespace: ns, name });
      const ecsArn = svc.status?.resources?.find((r) => r.kind === 'ecs.Service')?.arn ?? '';
      rollouts.complete(ecsArn.split('/').pop()!);
    }
    for (const name of NAMES)
      await eventually(`${name} settled`, async () =>
        runsSettled((await services.get({ namespace: ns, name })).status) ? true : undefined,
      );
    arns = await Promise.all(NAMES.map(targetGroupOf));
    for (const arn of arns) assert.equal(await delayOf(arn), PLANNED);
    // The operator's own writes are in the history too, and are no change out of band.
    assert.ok(history.recorded('ModifyTargetGroupAttributes').length >= NAMES.length);
  });

  test("a wave reads the attributes of the target groups in its turn only, and the event history once; the operator's own calls in it are not changes", async () => {
    const { number, calls } = await resyncWave();
    assert.ok(number > 0, 'not the first wave of the process, which reads everything');
    assert.equal(calls['cloudtrail:LookupEvents'], 1, JSON.stringify(calls));
    assert.equal(calls['elbv2:DescribeTargetGroupAttributes'] ?? 0, inTurn(arns, number).length, JSON.stringify(calls));
    assert.deepEqual(
      Object.keys(calls).filter((op) => !/:(Describe|List|Get|Lookup)/.test(op)),
      [],
      'no write',
    );
  });

  test('a delay changed out of band is found in the history: the next wave reads that target group and restores it', async () => {
    const [changed] = arns;
    await untilOutOfTurn([changed!]);
    await changeDelay(changed!);
    const { number, calls } = await resyncWave();
    assert.equal(await delayOf(changed!), PLANNED, 'restored');
    assert.equal(calls['elbv2:ModifyTargetGroupAttributes'], 1, JSON.stringify(calls));
    // The changed one (read in the wave, then again fresh before the write rests on it) and those in the turn.
    const others = inTurn(arns, number).length;
    assert.ok((calls['elbv2:DescribeTargetGroupAttributes'] ?? 0) >= 1 + others, JSON.stringify(calls));
    assert.ok((calls['elbv2:DescribeTargetGroupAttributes'] ?? 0) <= 2 + others, JSON.stringify(calls));
  });

  test('a call CloudTrail lists only after a wave looked is found by the next wave, which looks back over it', async () => {
    const [, changed] = arns;
    await untilOutOfTurn([changed!]);
    history.listDelayMs = 24 * 3_600_000;
    await changeDelay(changed!);
    const first = await resyncWave();
    assert.equal(await delayOf(changed!), CHANGED, 'not listed yet, and not its turn: left for a later wave');
    assert.equal(first.calls['elbv2:ModifyTargetGroupAttributes'], undefined);

    history.listDelayMs = 0;
    history.listAll();
    await untilOutOfTurn([changed!]);
    await resyncWave();
    assert.equal(await delayOf(changed!), PLANNED, 'restored by the wave after CloudTrail listed it');
  });

  test('without the permission to read the history, a wave reads every target group, and the next ones do without it', async () => {
    // hist-a and hist-b show their corrections in status for a while (drift reported: they read everything, whatever
    // the history); hist-c, out of its turn, is the member that looks the history up.
    await untilOutOfTurn([arns[2]!]);
    history.refuseLookups = true;
    const lookups = history.lookups;
    const refused = await resyncWave();
    assert.equal(history.lookups, lookups + 1, `one lookup, refused: ${await diagnosis(refused)}`);
    assert.equal(refused.calls['elbv2:DescribeTargetGroupAttributes'], arns.length, JSON.stringify(refused.calls));
    const next = await resyncWave();
    assert.equal(history.lookups, lookups + 1, 'not asked again for a while');
    assert.equal(next.calls['elbv2:DescribeTargetGroupAttributes'], arns.length, JSON.stringify(next.calls));
  });
});
