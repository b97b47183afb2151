// Route53 records, Cognito (pool, domain, app client, users) and CloudFront reconcilers against moto.
// Every pass uses a fresh context (its memo is per pass); out-of-band changes are made directly with the SDK.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ACMClient, RequestCertificateCommand } from '@aws-sdk/client-acm';
import {
  AdminCreateUserCommand,
  AdminDisableUserCommand,
  AdminGetUserCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  CreateUserPoolDomainCommand,
  DeleteUserPoolDomainCommand,
  DescribeUserPoolClientCommand,
  DescribeUserPoolCommand,
  DescribeUserPoolDomainCommand,
  UpdateUserPoolClientCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import {
  CreateDistributionCommand,
  GetDistributionConfigCommand,
  UpdateDistributionCommand,
} from '@aws-sdk/client-cloudfront';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type Change,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { AwsClients } from '../../src/aws/clients.js';
import { eventually } from '../support/kube.js';
import { CallCounter } from '../../src/aws/calls.js';
import { ROTATION_SLOTS } from '../../src/controllers/waves.js';
import { bareZoneId } from '../../src/aws/route53-zone-writer.js';
import {
  newContext,
  rotationSlotOf,
  WaveReads,
  withPassContext,
  type Desired,
  type ReconcileContext,
} from '../../src/reconcilers/contract.js';
import { applyPlan } from '../../src/reconcilers/applier.js';
import { ownerKey, ownershipTags, TAG_CLUSTER, TAG_OWNER } from '../../src/planner/naming.js';
import type { Owner, Plan, PlannedResource, ResourceKind } from '../../src/planner/plan.js';
import { dnsRecord, recordIdentifier, recordOwnerValue } from '../../src/reconcilers/dns-record.js';
import { userPool } from '../../src/reconcilers/user-pool.js';
import { userPoolDomain } from '../../src/reconcilers/user-pool-domain.js';
import { userPoolClient } from '../../src/reconcilers/user-pool-client.js';
import { cognitoUser } from '../../src/reconcilers/cognito-user.js';
import {
  buildDistributionConfig,
  CLOUDFRONT_HOSTED_ZONE_ID,
  distribution,
} from '../../src/reconcilers/distribution.js';
import { RetryLater } from '../../src/reconcilers/retry-later.js';
import { testAws } from '../support/aws-fixtures.js';
import { getTestEnv } from '../support/env.js';
import { registry } from '../../src/reconcilers/index.js';

const suffix = (): string => Math.random().toString(36).slice(2, 8);
const run = suffix();
const CLUSTER = `it-${run}`;
const owner: Owner = { clusterId: CLUSTER, kind: 'Environment', namespace: 'dcc', name: `env-${run}` };
const otherOwner: Owner = { ...owner, name: `other-${run}` };

function desiredOf<K extends ResourceKind>(
  kind: K,
  id: string,
  props: Desired<K>['props'],
  who: Owner = owner,
): Desired<K> {
  return { id, kind, props, tags: { ...ownershipTags(who, id), team: 'dcc' } };
}

function planOf(...resources: Desired[]): Plan {
  return {
    owner,
    resources: resources.map((r) => ({ id: r.id, kind: r.kind, props: r.props, tags: r.tags }) as PlannedResource),
  };
}

let aws: AwsClients;
const counter = new CallCounter();
const pass = () => newContext(aws);

before(() => {
  aws = testAws(counter.listener);
});

after(() => aws.destroy());

describe('route53.Record', () => {
  let zoneId = '';
  let zone = '';
  const alb = { dnsName: 'slipway-alb-1.us-east-1.elb.amazonaws.com', hostedZoneId: 'Z35SXDOTRQ7X7K' };
  const ownerValue = () => recordOwnerValue(CLUSTER, ownerKey(owner));
  const record = (host: string) =>
    desiredOf('route53.Record', `dns-${host}`, {
      hostedZoneId: zoneId,
      name: `${host}.${zone}`,
      alias: alb,
      ownerValue: ownerValue(),
    });
  /** A change to the zone made by hand, as someone other than Slipway would. */
  const changeZone = (...changes: Change[]) =>
    aws.route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: changes } }));
  const recordsAt = async (name: string): Promise<ResourceRecordSet[]> => {
    const out = await aws.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
    return (out.ResourceRecordSets ?? []).filter((r) => r.Name?.replace(/\.$/, '') === name);
  };

  before(async () => {
    zone = `dcc-${run}.example.com`;
    const z = await aws.route53.send(new CreateHostedZoneCommand({ Name: zone, CallerReference: `dcc-${run}` }));
    zoneId = z.HostedZone!.Id!.replace('/hostedzone/', '');
  });

  test('create → observe → in sync → out-of-band change → update → delete', async () => {
    const desired = record('app');
    const created = await dnsRecord.create(pass(), desired);
    assert.equal(created.identifier, `${zoneId}/app.${zone}/A`);

    const seen = await dnsRecord.observe(pass(), desired);
    assert.ok(seen);
    assert.deepEqual(seen.props, { hostedZoneId: zoneId, name: `app.${zone}`, alias: alb, ownerValue: ownerValue() });
    assert.deepEqual(seen.tags, { [TAG_CLUSTER]: CLUSTER, [TAG_OWNER]: ownerKey(owner) });
    assert.deepEqual(seen.attrs, { name: `app.${zone}` });
    assert.deepEqual(dnsRecord.diff(desired, seen), []);
    const txt = (await recordsAt(`app.${zone}`)).find((r) => r.Type === 'TXT');
    assert.deepEqual(txt?.ResourceRecords, [{ Value: `"${ownerValue()}"` }]);

    await changeZone({
      Action: 'UPSERT',
      ResourceRecordSet: {
        Name: `app.${zone}`,
        Type: 'A',
        AliasTarget: { DNSName: 'elsewhere.example.net', HostedZoneId: 'Z1', EvaluateTargetHealth: false },
      },
    });
    const drifted = await dnsRecord.observe(pass(), desired);
    assert.deepEqual(
      dnsRecord.diff(desired, drifted!).map((c) => c.path),
      ['alias.dnsName', 'alias.hostedZoneId'],
    );
    await dnsRecord.update(pass(), desired, drifted!, dnsRecord.diff(desired, drifted!));
    const fixed = await dnsRecord.observe(pass(), desired);
    assert.deepEqual(dnsRecord.diff(desired, fixed!), []);

    const byId = await dnsRecord.observeByIdentifier(pass(), seen.identifier);
    assert.deepEqual(byId?.tags, seen.tags);
    assert.deepEqual(byId?.props.alias, alb);

    await dnsRecord.delete(pass(), fixed!);
    assert.equal(await dnsRecord.observe(pass(), desired), undefined);
    assert.deepEqual(await recordsAt(`app.${zone}`), [], 'the owner TXT record goes with it');
  });

  test('30 concurrent creates for one zone go out in at most 2 ChangeResourceRecordSets calls', async () => {
    const desired = Array.from({ length: 30 }, (_, i) => record(`svc${i}`));
    const ctx = pass();
    const before = counter.snapshot();
    // Each create first reads its name (one lookup each), and the emulator answers them at its own pace: the zone's
    // first write is held until every create has read, so that all 30 meet the one write in flight (the writer
    // merges what waits behind it), whatever the machine's load.
    const lookups = () => counter.snapshot().get('route53:ListResourceRecordSets:success') ?? 0;
    const lookedUp = lookups();
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const hold = 'hold-record-writes';
    aws.route53.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ChangeResourceRecordSetsCommand') await gate;
        return next(args);
      },
      { step: 'initialize', name: hold },
    );
    try {
      const creating = Promise.all(desired.map((d) => dnsRecord.create(ctx, d)));
      await eventually(
        'every create to have read its name',
        async () => (lookups() - lookedUp >= desired.length ? true : undefined),
        60_000,
        20,
      );
      release();
      await creating;
    } finally {
      release();
      aws.route53.middlewareStack.remove(hold);
    }
    const writes = counter.writesSince(before);
    const calls = writes['route53:ChangeResourceRecordSets'] ?? 0;
    assert.ok(calls >= 1 && calls <= 2, JSON.stringify(writes));
    assert.deepEqual(Object.keys(writes), ['route53:ChangeResourceRecordSets']);

    const check = pass();
    const seen = await Promise.all(desired.map((d) => dnsRecord.observe(check, d)));
    assert.ok(seen.every((s) => s?.tags[TAG_OWNER] === ownerKey(owner)));
    const cleanup = counter.snapshot();
    await Promise.all(seen.map((s) => dnsRecord.delete(check, s!)));
    assert.ok((counter.writesSince(cleanup)['route53:ChangeResourceRecordSets'] ?? 0) <= 2);
    assert.ok((await Promise.all(desired.map((d) => dnsRecord.observe(pass(), d)))).every((s) => s === undefined));
  });

  test('outside a wave a record is read by one lookup from its name, not by listing the zone', async () => {
    // Neighbours on both sides of the name in Route53's order (labels reversed), and more records than a page of 10.
    const names = ['near', 'near1', 'near-a', 'nea', 'nearer', ...Array.from({ length: 12 }, (_, i) => `z${i}`)];
    const desired = names.map((n) => record(n));
    const ctx = pass();
    await Promise.all(desired.map((d) => dnsRecord.create(ctx, d)));
    const lookups = () => counter.snapshot().get('route53:ListResourceRecordSets:success') ?? 0;
    const before = lookups();
    const seen = await dnsRecord.observe(pass(), desired[0]!);
    assert.equal(lookups() - before, 1, 'one ListResourceRecordSets call');
    assert.equal(seen?.props.name, `near.${zone}`);
    assert.deepEqual(seen?.tags, { [TAG_CLUSTER]: CLUSTER, [TAG_OWNER]: ownerKey(owner) });
    assert.deepEqual(dnsRecord.diff(desired[0]!, seen!), []);
    // A name with nothing at it, between two that have records.
    const absent = await dnsRecord.observe(pass(), record('near0'));
    assert.equal(absent, undefined);
    const all = pass();
    await Promise.all(desired.map(async (d) => dnsRecord.delete(all, (await dnsRecord.observe(all, d))!)));
    assert.deepEqual(await recordsAt(`near.${zone}`), []);
  });

  test('with a rotation a wave reads the zone only in its turn: off it the recorded record is taken as planned; a drifted owner looks up its name', async () => {
    const desired = record('turns');
    await dnsRecord.create(pass(), desired);
    const recorded = recordIdentifier(zoneId, `turns.${zone}`);
    const slot = rotationSlotOf(`route53:records:${bareZoneId(zoneId)}`, ROTATION_SLOTS);
    const notItsTurn = { slot: (slot + 1) % ROTATION_SLOTS, of: ROTATION_SLOTS };
    const lookups = () => counter.snapshot().get('route53:ListResourceRecordSets:success') ?? 0;
    /** A steady member's observe in a wave: what it saw against the plan, and its ListResourceRecordSets calls. */
    const inWave = async (rotation: typeof notItsTurn, known: string | undefined, drifted = false) => {
      const before = lookups();
      const seen = await withPassContext(aws, (ctx) => dnsRecord.observe(ctx, desired, known), {
        owner: `it/${owner.name}`,
        steady: true,
        wave: new WaveReads(Date.now(), rotation),
        ...(drifted ? { drifted } : {}),
      });
      return { changes: dnsRecord.diff(desired, seen!).map((c) => c.path), lookups: lookups() - before };
    };
    try {
      assert.deepEqual(await inWave(notItsTurn, recorded), { changes: [], lookups: 0 });
      assert.deepEqual(await inWave(notItsTurn, undefined), { changes: [], lookups: 1 }, 'not recorded: its name');
      assert.deepEqual(await inWave(notItsTurn, recorded, true), { changes: [], lookups: 1 }, 'drifted: its name');
      assert.deepEqual((await inWave({ slot, of: ROTATION_SLOTS }, recorded)).changes, []);
      // The alias moved by hand: left to its drift event off the zone's turn, seen in it and by a drifted owner.
      await changeZone({
        Action: 'UPSERT',
        ResourceRecordSet: {
          Name: `turns.${zone}`,
          Type: 'A',
          AliasTarget: {
            DNSName: `x${alb.dnsName}`,
            HostedZoneId: alb.hostedZoneId,
            EvaluateTargetHealth: false,
          },
        },
      });
      assert.deepEqual(await inWave(notItsTurn, recorded), { changes: [], lookups: 0 });
      assert.deepEqual((await inWave(notItsTurn, recorded, true)).changes, ['alias.dnsName']);
      assert.deepEqual((await inWave({ slot, of: ROTATION_SLOTS }, recorded)).changes, ['alias.dnsName']);
    } finally {
      const all = pass();
      await dnsRecord.delete(all, (await dnsRecord.observe(all, desired))!);
    }
  });

  test('an A record deleted out of band is not observed; creating it again keeps one owner TXT', async () => {
    const desired = record('gone');
    await dnsRecord.create(pass(), desired);
    await changeZone({
      Action: 'DELETE',
      ResourceRecordSet: {
        Name: `gone.${zone}`,
        Type: 'A',
        AliasTarget: { DNSName: alb.dnsName, HostedZoneId: alb.hostedZoneId, EvaluateTargetHealth: false },
      },
    });
    assert.equal(await dnsRecord.observe(pass(), desired), undefined);

    // moto refuses a CREATE identical to one in its change journal while other records sit at or after that name
    // (real Route53 accepts it once the record is gone), so the re-created record points at a new target.
    const moved = { ...desired, props: { ...desired.props, alias: { ...alb, dnsName: `new-${alb.dnsName}` } } };
    await dnsRecord.create(pass(), moved);
    const again = await dnsRecord.observe(pass(), moved);
    assert.deepEqual(dnsRecord.diff(moved, again!), []);
    assert.equal(again?.tags[TAG_OWNER], ownerKey(owner));
    const txts = (await recordsAt(`gone.${zone}`)).filter((r) => r.Type === 'TXT');
    assert.equal(txts.length, 1);
    assert.deepEqual(txts[0]!.ResourceRecords, [{ Value: `"${ownerValue()}"` }]);
    await dnsRecord.delete(pass(), again!);
  });

  test("a wave member's write reads the name afresh: a TXT value added since the wave's snapshot of the zone is kept", async () => {
    const desired = record('fresh');
    const txtAt = (values: string[]) =>
      changeZone({
        Action: 'UPSERT',
        ResourceRecordSet: {
          Name: `fresh.${zone}`,
          Type: 'TXT',
          TTL: 300,
          ResourceRecords: values.map((Value) => ({ Value })),
        },
      });
    // Someone else's TXT at the name, and no record of ours.
    const first = '"site-verification=first"';
    const second = '"site-verification=second"';
    await txtAt([first]);
    const wave = new WaveReads(Date.now());
    const member = <T>(fn: (ctx: ReconcileContext) => Promise<T>) =>
      withPassContext(aws, fn, { owner: `it/${owner.name}`, steady: true, wave });
    // The wave's snapshot of the zone: nothing of ours at the name, their TXT with one value.
    assert.equal(await member((ctx) => dnsRecord.observe(ctx, desired)), undefined);
    // Since then, a second value added to their TXT.
    await txtAt([first, second]);
    // The member creates the record, adding its owner value to the TXT set it sends whole.
    await member((ctx) => dnsRecord.create(ctx, desired));
    const txt = (await recordsAt(`fresh.${zone}`)).find((r) => r.Type === 'TXT');
    assert.deepEqual(txt?.ResourceRecords?.map((r) => r.Value).sort(), [first, second, `"${ownerValue()}"`].sort());
    await dnsRecord.delete(pass(), (await dnsRecord.observe(pass(), desired))!);
    assert.deepEqual(
      (await recordsAt(`fresh.${zone}`)).map((r) => r.ResourceRecords?.map((v) => v.Value)),
      [[first, second]],
      'deleting ours leaves their values',
    );
  });

  test('a foreign A record at our name is a conflict and is left untouched', async () => {
    const desired = record('taken');
    const foreign = { Name: `taken.${zone}`, Type: 'A' as const, TTL: 60, ResourceRecords: [{ Value: '192.0.2.10' }] };
    await changeZone({ Action: 'CREATE', ResourceRecordSet: foreign });
    const before = await recordsAt(`taken.${zone}`);

    const report = await applyPlan(pass(), registry, planOf(desired), { mode: 'apply', inventory: [] });
    const outcome = report.outcomes.find((o) => o.id === desired.id);
    assert.equal(outcome?.action, 'conflict');
    assert.match(outcome?.message ?? '', /not created by Slipway/);
    assert.deepEqual(await recordsAt(`taken.${zone}`), before);
    assert.deepEqual(report.inventory, []);
  });
});

describe('cognito', () => {
  const poolName = `slipway-dcc-${run}`;
  let poolId = '';

  before(async () => {
    const created = await userPool.create(pass(), desiredOf('cognito.UserPool', 'pool', { name: poolName }));
    poolId = created.attrs.id!;
  });

  describe('cognito.UserPool', () => {
    test('create → observe → in sync → observeByIdentifier → delete', async () => {
      const desired = desiredOf('cognito.UserPool', 'pool2', { name: `slipway-dcc2-${run}` });
      const created = await userPool.create(pass(), desired);
      const seen = await userPool.observe(pass(), desired);
      assert.ok(seen);
      assert.deepEqual(seen.props, { name: desired.props.name });
      assert.equal(seen.tags[TAG_CLUSTER], CLUSTER);
      assert.equal(seen.tags[TAG_OWNER], ownerKey(owner));
      assert.equal(seen.tags.team, 'dcc');
      assert.match(seen.attrs.id!, /^us-east-1_/);
      assert.equal(seen.attrs.arn, created.attrs.arn);
      assert.equal(seen.identifier, created.attrs.arn);
      assert.deepEqual(userPool.diff(desired, seen), []);
      const described = await aws.cognito.send(new DescribeUserPoolCommand({ UserPoolId: seen.attrs.id }));
      assert.equal(described.UserPool?.AdminCreateUserConfig?.AllowAdminCreateUserOnly, true, 'invite-only');

      assert.equal((await userPool.observeByIdentifier(pass(), seen.attrs.id!))?.identifier, seen.identifier);
      assert.equal((await userPool.observeByIdentifier(pass(), seen.identifier))?.attrs.id, seen.attrs.id);

      await userPool.delete(pass(), seen);
      assert.equal(await userPool.observe(pass(), desired), undefined);
      assert.equal(await userPool.observeByIdentifier(pass(), seen.identifier), undefined);
    });

    test('a same-named pool without our tags is a conflict and is left untouched', async () => {
      const name = `foreign-pool-${run}`;
      const foreign = await aws.cognito.send(new CreateUserPoolCommand({ PoolName: name }));
      const desired = desiredOf('cognito.UserPool', 'pool', { name });
      const report = await applyPlan(pass(), registry, planOf(desired), { mode: 'apply', inventory: [] });
      assert.equal(report.outcomes[0]?.action, 'conflict');
      const still = await aws.cognito.send(new DescribeUserPoolCommand({ UserPoolId: foreign.UserPool!.Id }));
      assert.deepEqual(still.UserPool?.UserPoolTags ?? {}, {});
    });
  });

  describe('cognito.UserPoolDomain', () => {
    test('create → observe → in sync → moved out of band → update → delete', async () => {
      const prefix = `slipway-dcc-${run}`;
      const desired = desiredOf('cognito.UserPoolDomain', 'domain', { userPoolId: poolId, domain: prefix });
      const created = await userPoolDomain.create(pass(), desired);
      assert.equal(created.identifier, prefix);

      const seen = await userPoolDomain.observe(pass(), desired);
      assert.ok(seen);
      assert.deepEqual(seen.props, { userPoolId: poolId, domain: prefix });
      assert.equal(seen.tags[TAG_OWNER], ownerKey(owner), 'the pool’s tags');
      assert.deepEqual(seen.attrs, { domain: prefix, fqdn: `${prefix}.auth.us-east-1.amazoncognito.com` });
      assert.deepEqual(userPoolDomain.diff(desired, seen), []);

      // Out of band: the prefix is moved to another of our pools (a recreated pool, say).
      const other = await aws.cognito.send(
        new CreateUserPoolCommand({ PoolName: `slipway-dcc-b-${run}`, UserPoolTags: desired.tags }),
      );
      await aws.cognito.send(new DeleteUserPoolDomainCommand({ Domain: prefix, UserPoolId: poolId }));
      await aws.cognito.send(new CreateUserPoolDomainCommand({ Domain: prefix, UserPoolId: other.UserPool!.Id }));
      const drifted = await userPoolDomain.observe(pass(), desired);
      const changes = userPoolDomain.diff(desired, drifted!);
      assert.deepEqual(
        changes.map((c) => [c.path, c.desired, c.actual]),
        [['userPoolId', poolId, other.UserPool!.Id]],
      );
      await userPoolDomain.update(pass(), desired, drifted!, changes);
      const fixed = await userPoolDomain.observe(pass(), desired);
      assert.deepEqual(userPoolDomain.diff(desired, fixed!), []);
      const described = await aws.cognito.send(new DescribeUserPoolDomainCommand({ Domain: prefix }));
      assert.equal(described.DomainDescription?.UserPoolId, poolId);

      assert.equal((await userPoolDomain.observeByIdentifier(pass(), prefix))?.props.userPoolId, poolId);
      await userPoolDomain.delete(pass(), fixed!);
      assert.equal(await userPoolDomain.observe(pass(), desired), undefined);
    });

    test('a renamed prefix replaces the old one on our pool; a pool not ours keeps its domain', async () => {
      const oldPrefix = `slipway-old-${run}`;
      const newPrefix = `slipway-new-${run}`;
      await userPoolDomain.create(
        pass(),
        desiredOf('cognito.UserPoolDomain', 'domain', { userPoolId: poolId, domain: oldPrefix }),
      );
      const renamed = desiredOf('cognito.UserPoolDomain', 'domain', { userPoolId: poolId, domain: newPrefix });
      await userPoolDomain.create(pass(), renamed);
      assert.equal(await userPoolDomain.observeByIdentifier(pass(), oldPrefix), undefined);
      const seen = await userPoolDomain.observe(pass(), renamed);
      assert.equal(seen?.props.userPoolId, poolId);
      await userPoolDomain.delete(pass(), seen!);

      const external = await aws.cognito.send(new CreateUserPoolCommand({ PoolName: `external-dom-${run}` }));
      const theirs = `external-dom-${run}`;
      await aws.cognito.send(new CreateUserPoolDomainCommand({ Domain: theirs, UserPoolId: external.UserPool!.Id }));
      const onExternal = desiredOf('cognito.UserPoolDomain', 'domain', {
        userPoolId: external.UserPool!.Id!,
        domain: `mine-${run}`,
      });
      await assert.rejects(userPoolDomain.create(pass(), onExternal), /already has the domain/);
      assert.equal((await userPoolDomain.observeByIdentifier(pass(), theirs))?.props.userPoolId, external.UserPool!.Id);
    });

    test('an external pool’s own domain is read by prefix; a domain on a pool not ours is a conflict', async () => {
      const external = await aws.cognito.send(new CreateUserPoolCommand({ PoolName: `external-${run}` }));
      const prefix = `external-${run}`;
      await aws.cognito.send(new CreateUserPoolDomainCommand({ Domain: prefix, UserPoolId: external.UserPool!.Id }));
      const read = await userPoolDomain.observeByIdentifier(pass(), prefix);
      assert.equal(read?.props.userPoolId, external.UserPool!.Id);
      assert.equal(read?.attrs.fqdn, `${prefix}.auth.us-east-1.amazoncognito.com`);
      assert.deepEqual(read?.tags, {});

      const desired = desiredOf('cognito.UserPoolDomain', 'domain', { userPoolId: poolId, domain: prefix });
      const report = await applyPlan(pass(), registry, planOf(desired), { mode: 'apply', inventory: [] });
      assert.equal(report.outcomes[0]?.action, 'conflict');
      const still = await aws.cognito.send(new DescribeUserPoolDomainCommand({ Domain: prefix }));
      assert.equal(still.DomainDescription?.UserPoolId, external.UserPool!.Id);
    });
  });

  describe('cognito.UserPoolClient', () => {
    const urls = (hosts: readonly string[]) => hosts.map((h) => `https://${h}.example.com/oauth2/idpresponse`).sort();

    test('create → observe → in sync → callbacks changed out of band → update keeps unmanaged fields → delete', async () => {
      const desired = desiredOf('cognito.UserPoolClient', 'client', {
        userPoolId: poolId,
        name: `gate-${run}`,
        callbackUrls: urls(['a', 'b']),
        logoutUrls: [],
      });
      const created = await userPoolClient.create(pass(), desired);
      const clientId = created.attrs.id!;
      assert.equal(created.identifier, `${poolId}/${clientId}`);
      const raw = (
        await aws.cognito.send(new DescribeUserPoolClientCommand({ UserPoolId: poolId, ClientId: clientId }))
      ).UserPoolClient!;
      assert.ok(raw.ClientSecret, 'generated with a secret');
      assert.deepEqual(raw.AllowedOAuthFlows, ['code']);

      const seen = await userPoolClient.observe(pass(), desired);
      assert.ok(seen);
      assert.deepEqual(seen.attrs, { id: clientId, name: desired.props.name });
      assert.equal(seen.tags[TAG_OWNER], ownerKey(owner));
      assert.deepEqual(seen.props.callbackUrls, desired.props.callbackUrls);
      assert.deepEqual(userPoolClient.diff(desired, seen), []);

      // Out of band: someone edits the callbacks and an unmanaged setting (sending the whole client, as AWS needs).
      const { ClientSecret: _s, CreationDate: _c, LastModifiedDate: _l, ...editable } = raw;
      await aws.cognito.send(
        new UpdateUserPoolClientCommand({
          ...editable,
          UserPoolId: poolId,
          ClientId: clientId,
          CallbackURLs: urls(['a', 'z']),
          AllowedOAuthFlows: ['implicit'],
          RefreshTokenValidity: 10,
          ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
        }),
      );
      const drifted = await userPoolClient.observe(pass(), desired);
      const changes = userPoolClient.diff(desired, drifted!);
      assert.deepEqual(
        changes.map((c) => c.path),
        ['callbackUrls', 'oauth.flows'],
      );
      await userPoolClient.update(pass(), desired, drifted!, changes);
      const fixed = await userPoolClient.observe(pass(), desired);
      assert.deepEqual(userPoolClient.diff(desired, fixed!), []);
      const after = (
        await aws.cognito.send(new DescribeUserPoolClientCommand({ UserPoolId: poolId, ClientId: clientId }))
      ).UserPoolClient!;
      assert.equal(after.RefreshTokenValidity, 10, 'unmanaged settings survive the update');
      assert.deepEqual(after.ExplicitAuthFlows, ['ALLOW_REFRESH_TOKEN_AUTH']);
      assert.deepEqual(after.AllowedOAuthFlows, ['code']);

      const tooMany = {
        ...desired,
        props: { ...desired.props, callbackUrls: urls(Array.from({ length: 101 }, (_, i) => `h${i}`)) },
      };
      await assert.rejects(userPoolClient.update(pass(), tooMany, fixed!, []), /101 callback URLs/);

      assert.equal((await userPoolClient.observeByIdentifier(pass(), fixed!.identifier))?.attrs.id, clientId);
      await userPoolClient.delete(pass(), fixed!);
      assert.equal(await userPoolClient.observe(pass(), desired), undefined);
    });

    test('in an external pool the exact name is the ownership record', async () => {
      const external = await aws.cognito.send(new CreateUserPoolCommand({ PoolName: `external-client-${run}` }));
      const desired = desiredOf('cognito.UserPoolClient', 'client', {
        userPoolId: external.UserPool!.Id!,
        name: `gate-${run}`,
        callbackUrls: urls(['a']),
        logoutUrls: [],
      });
      const first = await applyPlan(pass(), registry, planOf(desired), { mode: 'apply', inventory: [] });
      assert.equal(first.outcomes[0]?.action, 'created');
      const second = await applyPlan(pass(), registry, planOf(desired), { mode: 'apply', inventory: first.inventory });
      assert.equal(second.outcomes[0]?.action, 'in-sync');
      // Found by identifier alone there is no name to compare: never claimed, so never deleted as a leftover.
      assert.deepEqual((await userPoolClient.observeByIdentifier(pass(), first.inventory[0]!.identifier))?.tags, {});
    });

    test('a same-named client in a pool another owner holds is a conflict and is left untouched', async () => {
      const theirs = await aws.cognito.send(
        new CreateUserPoolCommand({ PoolName: `theirs-${run}`, UserPoolTags: ownershipTags(otherOwner, 'pool') }),
      );
      const id = theirs.UserPool!.Id!;
      const existing = await aws.cognito.send(
        new CreateUserPoolClientCommand({ UserPoolId: id, ClientName: `gate-${run}`, CallbackURLs: urls(['x']) }),
      );
      const desired = desiredOf('cognito.UserPoolClient', 'client', {
        userPoolId: id,
        name: `gate-${run}`,
        callbackUrls: urls(['a']),
        logoutUrls: [],
      });
      const report = await applyPlan(pass(), registry, planOf(desired), { mode: 'apply', inventory: [] });
      assert.equal(report.outcomes[0]?.action, 'conflict');
      assert.match(report.outcomes[0]?.message ?? '', new RegExp(`owned by ${ownerKey(otherOwner)}`));
      const still = await aws.cognito.send(
        new DescribeUserPoolClientCommand({ UserPoolId: id, ClientId: existing.UserPoolClient!.ClientId }),
      );
      assert.deepEqual(still.UserPoolClient?.CallbackURLs, urls(['x']));
    });
  });

  describe('cognito.User', () => {
    test('create → observe → in sync → disabled out of band → update → delete disables', async () => {
      const email = `Ada.${run}@Example.com`;
      const desired = desiredOf('cognito.User', 'user', { userPoolId: poolId, email, enabled: true });
      const created = await userPoolCreateUser(desired);
      assert.equal(created, `${poolId}/${email.toLowerCase()}`);

      const seen = await cognitoUser.observe(pass(), desired);
      assert.ok(seen);
      assert.deepEqual(seen.props, { userPoolId: poolId, email: email.toLowerCase(), enabled: true });
      assert.deepEqual(seen.attrs, { username: email.toLowerCase() });
      assert.equal(seen.tags[TAG_OWNER], ownerKey(owner));
      assert.deepEqual(cognitoUser.diff(desired, seen), []);
      const raw = await aws.cognito.send(
        new AdminGetUserCommand({ UserPoolId: poolId, Username: email.toLowerCase() }),
      );
      assert.deepEqual(
        raw.UserAttributes?.filter((a) => a.Name !== 'sub').map((a) => [a.Name, a.Value]),
        [
          ['email', email.toLowerCase()],
          ['email_verified', 'true'],
        ],
      );

      await aws.cognito.send(new AdminDisableUserCommand({ UserPoolId: poolId, Username: email.toLowerCase() }));
      const drifted = await cognitoUser.observe(pass(), desired);
      const changes = cognitoUser.diff(desired, drifted!);
      assert.deepEqual(
        changes.map((c) => [c.path, c.desired, c.actual]),
        [['enabled', 'true', 'false']],
      );
      await cognitoUser.update(pass(), desired, drifted!, changes);
      const fixed = await cognitoUser.observe(pass(), desired);
      assert.deepEqual(cognitoUser.diff(desired, fixed!), []);

      assert.equal((await cognitoUser.observeByIdentifier(pass(), fixed!.identifier))?.props.enabled, true);
      await cognitoUser.delete(pass(), fixed!);
      // Delete disables: the user is kept, disabled.
      const afterDelete = await cognitoUser.observe(pass(), desired);
      assert.equal(afterDelete?.props.enabled, false);
    });

    test('a user in a pool that is not ours is a conflict and is left untouched', async () => {
      const foreign = await aws.cognito.send(new CreateUserPoolCommand({ PoolName: `foreign-users-${run}` }));
      const id = foreign.UserPool!.Id!;
      const email = `bob.${run}@example.com`;
      await aws.cognito.send(new AdminCreateUserCommand({ UserPoolId: id, Username: email }));
      const desired = desiredOf('cognito.User', 'user', { userPoolId: id, email, enabled: false });
      const report = await applyPlan(pass(), registry, planOf(desired), { mode: 'apply', inventory: [] });
      assert.equal(report.outcomes[0]?.action, 'conflict');
      const still = await aws.cognito.send(new AdminGetUserCommand({ UserPoolId: id, Username: email }));
      assert.equal(still.Enabled, true);
    });
  });

  async function userPoolCreateUser(desired: Desired<'cognito.User'>): Promise<string> {
    return (await cognitoUser.create(pass(), desired)).identifier;
  }
});

describe('cloudfront.Distribution', () => {
  let certificateArn = '';
  const origin = 'slipway-alb-2.us-east-1.elb.amazonaws.com';
  const props = (ref: string) => ({
    callerReference: ref,
    comment: `Slipway dcc ${run}`,
    aliases: [`cdn-${ref}.example.com`],
    certificateArn,
    originDomainName: origin,
    priceClass: 'PriceClass_100',
  });

  before(async () => {
    const env = getTestEnv();
    const acm = new ACMClient({ region: env.awsRegion, endpoint: env.awsEndpoint, credentials: env.awsCredentials });
    const cert = await acm.send(
      new RequestCertificateCommand({ DomainName: `*.dcc-${run}.example.com`, ValidationMethod: 'DNS' }),
    );
    certificateArn = cert.CertificateArn!;
    acm.destroy();
  });

  test('create → observe → in sync → out-of-band change → update keeps unmanaged fields → delete via disable', async () => {
    const desired = desiredOf('cloudfront.Distribution', 'cdn', props(`slipway-dcc-${run}`));
    const created = await distribution.create(pass(), desired);

    const seen = await distribution.observe(pass(), desired);
    assert.ok(seen);
    assert.equal(seen.identifier, created.identifier);
    const { managed, ...managedProps } = seen.props as typeof seen.props & { managed: unknown };
    assert.deepEqual(managedProps, { ...desired.props, aliases: [...desired.props.aliases] });
    assert.deepEqual(managed, {
      enabled: true,
      viewerProtocolPolicy: 'redirect-to-https',
      originProtocolPolicy: 'https-only',
    });
    assert.equal(seen.tags[TAG_OWNER], ownerKey(owner));
    assert.equal(seen.tags.team, 'dcc');
    assert.equal(seen.attrs.hostedZoneId, CLOUDFRONT_HOSTED_ZONE_ID);
    assert.match(seen.attrs.domainName!, /\.cloudfront\.net$/);
    assert.equal(seen.attrs.arn, seen.identifier);
    assert.ok(seen.identifier.endsWith(`/${seen.attrs.id}`));
    assert.deepEqual(distribution.diff(desired, seen), []);

    const id = seen.attrs.id!;
    const current = await aws.cloudfront.send(new GetDistributionConfigCommand({ Id: id }));
    await aws.cloudfront.send(
      new UpdateDistributionCommand({
        Id: id,
        IfMatch: current.ETag,
        DistributionConfig: {
          ...current.DistributionConfig!,
          Comment: 'edited by hand',
          PriceClass: 'PriceClass_All',
          DefaultRootObject: 'index.html',
        },
      }),
    );
    const drifted = await distribution.observe(pass(), desired);
    const changes = distribution.diff(desired, drifted!);
    assert.deepEqual(
      changes.map((c) => c.path),
      ['comment', 'priceClass'],
    );
    await distribution.update(pass(), desired, drifted!, changes);
    const fixed = await distribution.observe(pass(), desired);
    assert.deepEqual(distribution.diff(desired, fixed!), []);
    const afterUpdate = await aws.cloudfront.send(new GetDistributionConfigCommand({ Id: id }));
    assert.equal(
      afterUpdate.DistributionConfig?.DefaultRootObject,
      'index.html',
      'unmanaged fields survive the update',
    );

    assert.equal((await distribution.observeByIdentifier(pass(), seen.identifier))?.attrs.id, id);
    assert.equal((await distribution.observeByIdentifier(pass(), id))?.identifier, seen.identifier);

    // Delete never blocks: it disables first and asks to be called again.
    await assert.rejects(
      distribution.delete(pass(), fixed!),
      (err: unknown) => err instanceof RetryLater && err.afterSeconds > 0,
    );
    const disabled = await distribution.observe(pass(), desired);
    assert.deepEqual(
      distribution.diff(desired, disabled!).map((c) => c.path),
      ['managed.enabled'],
    );
    await distribution.delete(pass(), disabled!);
    assert.equal(await distribution.observe(pass(), desired), undefined);
    assert.equal(await distribution.observeByIdentifier(pass(), id), undefined);
  });

  test('setTags adds, overwrites and removes tags with TagResource and UntagResource', async () => {
    const desired = desiredOf('cloudfront.Distribution', 'cdn', props(`slipway-dcc-tags-${run}`));
    await distribution.create(pass(), desired);
    const writes = (before: ReadonlyMap<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(counter.writesSince(before)).map(([k, n]) => [k.split(':')[1], n]));
    assert.equal(distribution.tagging, 'tags');
    // One pass throughout: observe memoises the tags it reads, so each write must drop them.
    const one = pass();
    const start = await distribution.observe(one, desired);
    assert.ok(start);
    assert.deepEqual(start.tags, desired.tags);

    let before = counter.snapshot();
    await distribution.setTags(one, start, {}, []);
    assert.deepEqual(writes(before), {}, 'nothing to set or remove: no call');

    before = counter.snapshot();
    await distribution.setTags(one, start, { team: 'payments', 'cost-centre': 'cc-42' }, []);
    const added = await distribution.observe(one, desired);
    assert.deepEqual(added?.tags, { ...desired.tags, team: 'payments', 'cost-centre': 'cc-42' });
    assert.deepEqual(writes(before), { TagResource: 1 });

    before = counter.snapshot();
    await distribution.setTags(one, added, { team: 'dcc' }, ['cost-centre']);
    const back = await distribution.observe(one, desired);
    assert.deepEqual(back?.tags, desired.tags);
    assert.deepEqual(writes(before), { TagResource: 1, UntagResource: 1 });
    assert.deepEqual((await distribution.observeByIdentifier(pass(), start.identifier))?.tags, desired.tags);
    assert.deepEqual(distribution.diff(desired, back!), []);
  });

  test('a distribution with our CallerReference but without our tags is a conflict and is left untouched', async () => {
    const ref = `foreign-dcc-${run}`;
    const desired = desiredOf('cloudfront.Distribution', 'cdn', props(ref));
    const foreign = await aws.cloudfront.send(
      new CreateDistributionCommand({
        DistributionConfig: { ...buildDistributionConfig(desired.props), Comment: 'not slipway' },
      }),
    );
    const report = await applyPlan(pass(), registry, planOf(desired), { mode: 'apply', inventory: [] });
    assert.equal(report.outcomes[0]?.action, 'conflict');
    const still = await aws.cloudfront.send(new GetDistributionConfigCommand({ Id: foreign.Distribution!.Id }));
    assert.equal(still.DistributionConfig?.Comment, 'not slipway');
    assert.equal(still.DistributionConfig?.Enabled, true);
  });
});

// cognito.UserPool is a 'tags' kind too (TagResource/UntagResource), but moto 5.2.5 implements neither call, so its
// setTags has no test against moto here.
describe('kinds without tags of their own', () => {
  test('derive their tags: route53.Record, cognito.UserPoolDomain, cognito.UserPoolClient, cognito.User', () => {
    for (const r of [dnsRecord, userPoolDomain, userPoolClient, cognitoUser]) assert.equal(r.tagging, 'derived');
    assert.equal(userPool.tagging, 'tags');
  });
});
