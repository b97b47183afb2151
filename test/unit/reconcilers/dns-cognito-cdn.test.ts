import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Change as R53Change } from '@aws-sdk/client-route-53';
import type { UserPoolClientType } from '@aws-sdk/client-cognito-identity-provider';
import type { DistributionConfig } from '@aws-sdk/client-cloudfront';
import {
  BATCH_MAX_CHARS,
  Route53ZoneWriter,
  bareZoneId,
  changeWeight,
  packBatches,
} from '../../../src/aws/route53-zone-writer.js';
import {
  dnsRecord,
  normaliseRecordName,
  ownerTxtValue,
  parseRecordIdentifier,
  parseRecordOwnerValue,
  parseTxtValue,
  recordIdentifier,
  recordOwnerValue,
} from '../../../src/reconcilers/dns-record.js';
import {
  checkCallbackCount,
  clientOwnerTags,
  diffClient,
  mergeClientUpdate,
  MANAGED_OAUTH,
  observedClientProps,
  userPoolClient,
} from '../../../src/reconcilers/user-pool-client.js';
import { poolIdOf } from '../../../src/reconcilers/user-pool.js';
import { userPoolDomainFqdn } from '../../../src/reconcilers/user-pool-domain.js';
import { usernameOf } from '../../../src/reconcilers/cognito-user.js';
import {
  ALL_VIEWER_ORIGIN_REQUEST_POLICY_ID,
  CACHING_DISABLED_POLICY_ID,
  buildDistributionConfig,
  diffDistribution,
  mergeDistributionUpdate,
  observedDistributionProps,
} from '../../../src/reconcilers/distribution.js';
import { RetryLater } from '../../../src/reconcilers/retry-later.js';
import { TAG_CLUSTER, TAG_OWNER } from '../../../src/planner/naming.js';
import type { ReconcileContext } from '../../../src/reconcilers/contract.js';
import { recordingContext } from '../../support/recording-context.js';

const owner = recordOwnerValue('c1', 'Service/team-a/web');

function txtCreate(name: string, value = 'x', action: 'CREATE' | 'UPSERT' = 'CREATE'): R53Change {
  return {
    Action: action,
    ResourceRecordSet: { Name: name, Type: 'TXT', TTL: 300, ResourceRecords: [{ Value: `"${value}"` }] },
  };
}

function aliasCreate(name: string): R53Change {
  return {
    Action: 'CREATE',
    ResourceRecordSet: {
      Name: name,
      Type: 'A',
      AliasTarget: { DNSName: 'lb.example.com', HostedZoneId: 'Z1', EvaluateTargetHealth: false },
    },
  };
}

describe('route53.Record helpers', () => {
  test('names normalise: lowercase, no trailing dot, the \\052 escape read as *', () => {
    assert.equal(normaliseRecordName('App.Example.COM.'), 'app.example.com');
    assert.equal(normaliseRecordName('\\052.example.com.'), '*.example.com');
    assert.equal(normaliseRecordName('*.example.com'), '*.example.com');
  });

  test('the owner value round-trips through its quoted TXT form', () => {
    assert.equal(owner, 'heritage=slipway,slipway.dev/cluster=c1,slipway.dev/owner=Service/team-a/web');
    const txt = ownerTxtValue(owner);
    assert.equal(txt, `"${owner}"`);
    assert.deepEqual(parseRecordOwnerValue(parseTxtValue(txt)), {
      [TAG_CLUSTER]: 'c1',
      [TAG_OWNER]: 'Service/team-a/web',
    });
    assert.equal(parseRecordOwnerValue('"v=spf1 -all"'), undefined);
  });

  test('a value longer than one TXT string is split into 255-character strings and joined back', () => {
    const long = recordOwnerValue('c1', `Service/ns/${'n'.repeat(300)}`);
    const txt = ownerTxtValue(long);
    assert.match(txt, /^"[^"]{255}" "/);
    assert.equal(parseTxtValue(txt), long);
    assert.equal(parseTxtValue(ownerTxtValue('say "hi"')), 'say "hi"');
  });

  test('identifiers carry the bare zone id and the normalised name', () => {
    assert.equal(recordIdentifier('/hostedzone/Z1', 'App.example.com.'), 'Z1/app.example.com/A');
    assert.deepEqual(parseRecordIdentifier('Z1/app.example.com/A'), { zoneId: 'Z1', name: 'app.example.com' });
    assert.equal(parseRecordIdentifier('Z1/app.example.com/CNAME'), undefined);
    assert.equal(bareZoneId('/hostedzone/Z9'), 'Z9');
  });

  test('diff compares normalised names and alias targets', () => {
    const desired = {
      id: 'dns',
      kind: 'route53.Record' as const,
      tags: {},
      props: {
        hostedZoneId: '/hostedzone/Z1',
        name: 'App.Example.com.',
        alias: { dnsName: 'LB-1.elb.amazonaws.com.', hostedZoneId: 'Z35' },
        ownerValue: owner,
      },
    };
    const observed = {
      identifier: 'Z1/app.example.com/A',
      tags: {},
      attrs: {},
      props: {
        hostedZoneId: 'Z1',
        name: 'app.example.com',
        alias: { dnsName: 'lb-1.elb.amazonaws.com', hostedZoneId: 'Z35' },
        ownerValue: owner,
      },
    };
    assert.deepEqual(dnsRecord.diff(desired, observed), []);
    const moved = {
      ...observed,
      props: { ...observed.props, alias: { dnsName: 'other.elb.amazonaws.com', hostedZoneId: 'Z35' } },
    };
    assert.deepEqual(
      dnsRecord.diff(desired, moved).map((c) => c.path),
      ['alias.dnsName'],
    );
  });
});

describe('Route53 zone writer', () => {
  test('an UPSERT weighs twice; an alias counts as one value', () => {
    assert.deepEqual(changeWeight(txtCreate('a.example.com', 'abc')), { values: 1, chars: 5 });
    assert.deepEqual(changeWeight(txtCreate('a.example.com', 'abc', 'UPSERT')), { values: 2, chars: 10 });
    assert.equal(changeWeight(aliasCreate('a.example.com')).values, 1);
  });

  test('batches respect 1,000 values, 32,000 characters, and never touch one record set twice', () => {
    const pairs = Array.from({ length: 30 }, (_, i) => [
      aliasCreate(`r${i}.example.com`),
      txtCreate(`r${i}.example.com`),
    ]);
    assert.equal(packBatches(pairs).length, 1);
    const many = Array.from({ length: 600 }, (_, i) => [
      aliasCreate(`r${i}.example.com`),
      txtCreate(`r${i}.example.com`),
    ]);
    const batches = packBatches(many);
    assert.deepEqual(
      batches.map((b) => b.length),
      [500, 100],
    );
    const upserts = Array.from({ length: 600 }, (_, i) => [txtCreate(`u${i}.example.com`, 'v', 'UPSERT')]);
    assert.deepEqual(
      packBatches(upserts).map((b) => b.length),
      [500, 100],
    );
    const big = Array.from({ length: 5 }, (_, i) => [txtCreate(`b${i}.example.com`, 'x'.repeat(10_000))]);
    for (const b of packBatches(big)) {
      const chars = b.reduce((n, i) => n + changeWeight(big[i]![0]!).chars, 0);
      assert.ok(chars <= BATCH_MAX_CHARS);
    }
    const clash = [
      [txtCreate('same.example.com')],
      [txtCreate('other.example.com')],
      [{ ...txtCreate('SAME.example.com.'), Action: 'DELETE' as const }],
    ];
    assert.deepEqual(packBatches(clash), [[0, 1], [2]]);
  });

  test('concurrent submits for one zone go out as one call; zones are independent', async () => {
    const calls: { zone: string; n: number }[] = [];
    const w = new Route53ZoneWriter(async (zone, changes) => {
      calls.push({ zone, n: changes.length });
    });
    await Promise.all([
      ...Array.from({ length: 30 }, (_, i) =>
        w.submit('/hostedzone/Z1', [aliasCreate(`r${i}.a.com`), txtCreate(`r${i}.a.com`)]),
      ),
      w.submit('Z2', [txtCreate('x.b.com')]),
    ]);
    assert.deepEqual(
      calls.sort((a, b) => a.zone.localeCompare(b.zone)),
      [
        { zone: 'Z1', n: 60 },
        { zone: 'Z2', n: 1 },
      ],
    );
  });

  test('one write in flight per zone; later submits wait for it and are merged', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const sizes: number[] = [];
    let started!: () => void;
    const firstStarted = new Promise<void>((r) => (started = r));
    const w = new Route53ZoneWriter(async (_zone, changes) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      started();
      await new Promise((r) => setTimeout(r, 40));
      sizes.push(changes.length);
      inFlight--;
    });
    const first = w.submit('Z1', [txtCreate('a.a.com')]);
    await firstStarted;
    await Promise.all([first, w.submit('Z1', [txtCreate('b.a.com')]), w.submit('Z1', [txtCreate('c.a.com')])]);
    assert.equal(maxInFlight, 1);
    assert.deepEqual(sizes, [1, 2]);
  });

  test('a failed batch is not retried here: every request it carried is rejected once, with the error', async () => {
    // PriorRequestNotComplete and throttling are retried by the SDK's standard retry (clients.ts); what still fails
    // goes back to the controller queue's backoff.
    let attempts = 0;
    const busy = Object.assign(new Error('busy'), { name: 'PriorRequestNotComplete' });
    const w = new Route53ZoneWriter(async () => {
      attempts++;
      throw busy;
    });
    const results = await Promise.allSettled([
      w.submit('Z1', [txtCreate('a.a.com')]),
      w.submit('Z1', [txtCreate('b.a.com')]),
    ]);
    assert.equal(attempts, 1);
    assert.deepEqual(results, [
      { status: 'rejected', reason: busy },
      { status: 'rejected', reason: busy },
    ]);
  });

  test('a rejected merged batch is retried request by request, so only the bad request fails', async () => {
    const sent: number[] = [];
    const w = new Route53ZoneWriter(async (_zone, changes) => {
      sent.push(changes.length);
      if (changes.some((c) => c.ResourceRecordSet?.Name === 'bad.a.com'))
        throw Object.assign(new Error('exists'), { name: 'InvalidChangeBatch' });
    });
    const results = await Promise.allSettled([
      w.submit('Z1', [txtCreate('ok.a.com')]),
      w.submit('Z1', [txtCreate('bad.a.com')]),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected'],
    );
    assert.deepEqual(sent, [2, 1, 1]);
  });

  test('a request larger than one batch is refused at once', async () => {
    const w = new Route53ZoneWriter(async () => assert.fail('must not send'));
    const huge = Array.from({ length: 501 }, (_, i) => txtCreate(`h${i}.a.com`, 'v', 'UPSERT'));
    await assert.rejects(w.submit('Z1', huge), /1002 values/);
  });
});

describe('cognito helpers', () => {
  const described: UserPoolClientType = {
    UserPoolId: 'us-east-1_P',
    ClientId: 'cid',
    ClientName: 'gate',
    ClientSecret: 'secret',
    CreationDate: new Date(0),
    LastModifiedDate: new Date(0),
    RefreshTokenValidity: 10,
    AccessTokenValidity: 2,
    TokenValidityUnits: { AccessToken: 'hours', RefreshToken: 'days' },
    ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_SRP_AUTH'],
    ReadAttributes: ['email', 'name'],
    WriteAttributes: ['name'],
    PreventUserExistenceErrors: 'ENABLED',
    EnableTokenRevocation: true,
    AuthSessionValidity: 5,
    CallbackURLs: ['https://old.example.com/oauth2/idpresponse'],
    DefaultRedirectURI: 'https://old.example.com/oauth2/idpresponse',
    AllowedOAuthFlows: ['implicit'],
    AllowedOAuthScopes: ['openid'],
    AllowedOAuthFlowsUserPoolClient: false,
    SupportedIdentityProviders: ['COGNITO', 'Google'],
  };
  const desired = {
    userPoolId: 'us-east-1_P',
    name: 'gate',
    callbackUrls: ['https://b.example.com/oauth2/idpresponse', 'https://a.example.com/oauth2/idpresponse'],
    logoutUrls: ['https://a.example.com/'],
  };

  test('mergeClientUpdate carries every unmanaged field over and overlays only the managed ones', () => {
    const merged = mergeClientUpdate(described, desired);
    assert.equal(merged.UserPoolId, 'us-east-1_P');
    assert.equal(merged.ClientId, 'cid');
    assert.equal(merged.ClientName, 'gate');
    assert.equal(merged.RefreshTokenValidity, 10);
    assert.equal(merged.AccessTokenValidity, 2);
    assert.deepEqual(merged.TokenValidityUnits, { AccessToken: 'hours', RefreshToken: 'days' });
    assert.deepEqual(merged.ExplicitAuthFlows, ['ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_SRP_AUTH']);
    assert.deepEqual(merged.ReadAttributes, ['email', 'name']);
    assert.deepEqual(merged.WriteAttributes, ['name']);
    assert.equal(merged.PreventUserExistenceErrors, 'ENABLED');
    assert.equal(merged.EnableTokenRevocation, true);
    assert.equal(merged.AuthSessionValidity, 5);
    assert.deepEqual(merged.CallbackURLs, [
      'https://a.example.com/oauth2/idpresponse',
      'https://b.example.com/oauth2/idpresponse',
    ]);
    assert.deepEqual(merged.LogoutURLs, ['https://a.example.com/']);
    assert.deepEqual(merged.AllowedOAuthFlows, ['code']);
    assert.deepEqual(merged.AllowedOAuthScopes, ['openid', 'email']);
    assert.equal(merged.AllowedOAuthFlowsUserPoolClient, true);
    assert.deepEqual(merged.SupportedIdentityProviders, ['COGNITO']);
    // Read-only fields are not part of an update; a default redirect that is no longer a callback is dropped.
    assert.ok(!('ClientSecret' in merged) && !('CreationDate' in merged) && !('LastModifiedDate' in merged));
    assert.ok(!('DefaultRedirectURI' in merged));
    const kept = mergeClientUpdate(
      { ...described, DefaultRedirectURI: 'https://a.example.com/oauth2/idpresponse' },
      desired,
    );
    assert.equal(kept.DefaultRedirectURI, 'https://a.example.com/oauth2/idpresponse');
  });

  test('more than 100 callback URLs is refused, naming the count', () => {
    const urls = Array.from({ length: 101 }, (_, i) => `https://h${i}.example.com/oauth2/idpresponse`);
    assert.throws(() => checkCallbackCount('gate', urls), /101 callback URLs.*at most 100/);
    assert.doesNotThrow(() => checkCallbackCount('gate', urls.slice(0, 100)));
  });

  test('client ownership: the pool decides; in an external pool, the exact name does', () => {
    const ours = { [TAG_CLUSTER]: 'c1', [TAG_OWNER]: 'Environment/x/prod', 'slipway.dev/logical-id': 'pool' };
    assert.deepEqual(clientOwnerTags(ours, 'anything'), ours);
    const desiredTags = { [TAG_CLUSTER]: 'c1', [TAG_OWNER]: 'Environment/x/prod', team: 'a' };
    assert.deepEqual(clientOwnerTags({ team: 'b' }, 'gate', { name: 'gate', tags: desiredTags }), {
      [TAG_CLUSTER]: 'c1',
      [TAG_OWNER]: 'Environment/x/prod',
    });
    assert.deepEqual(clientOwnerTags({}, 'Gate', { name: 'gate', tags: desiredTags }), {});
    assert.deepEqual(clientOwnerTags({}, 'gate'), {});
  });

  test('callback URLs diff as a set; the OAuth settings are diffed too', () => {
    const observed = observedClientProps({
      ...described,
      CallbackURLs: [...desired.callbackUrls].reverse(),
      LogoutURLs: desired.logoutUrls,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['email', 'openid'],
      AllowedOAuthFlowsUserPoolClient: true,
      SupportedIdentityProviders: ['COGNITO'],
    });
    assert.deepEqual(diffClient(desired, observed), []);
    const drifted = observedClientProps(described);
    assert.deepEqual(
      diffClient(desired, drifted).map((c) => c.path),
      ['callbackUrls', 'logoutUrls', 'oauth.flows', 'oauth.scopes', 'oauth.userPoolClient', 'oauth.identityProviders'],
    );
  });

  test('small helpers', () => {
    assert.equal(poolIdOf('arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Abc'), 'us-east-1_Abc');
    assert.equal(poolIdOf('us-east-1_Abc'), 'us-east-1_Abc');
    assert.equal(userPoolDomainFqdn('acme-login', 'eu-west-1'), 'acme-login.auth.eu-west-1.amazoncognito.com');
    assert.equal(usernameOf('  Ada@Example.COM '), 'ada@example.com');
  });
});

describe('cloudfront.Distribution helpers', () => {
  const props = {
    callerReference: 'slipway-ref',
    comment: 'Slipway prod',
    aliases: ['www.example.com', 'app.example.com'],
    certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
    originDomainName: 'alb-1.us-east-1.elb.amazonaws.com',
    priceClass: 'PriceClass_100',
  };

  test('the created config: https-only origin, every method, caching disabled, redirect to https, SNI certificate', () => {
    const c = buildDistributionConfig(props);
    assert.deepEqual(c.Aliases, { Quantity: 2, Items: ['app.example.com', 'www.example.com'] });
    const origin = c.Origins!.Items![0]!;
    assert.equal(origin.CustomOriginConfig!.OriginProtocolPolicy, 'https-only');
    assert.deepEqual(origin.CustomOriginConfig!.OriginSslProtocols!.Items, ['TLSv1.2']);
    assert.equal(c.DefaultCacheBehavior!.TargetOriginId, origin.Id);
    assert.equal(c.DefaultCacheBehavior!.AllowedMethods!.Quantity, 7);
    assert.equal(c.DefaultCacheBehavior!.CachePolicyId, CACHING_DISABLED_POLICY_ID);
    assert.equal(c.DefaultCacheBehavior!.OriginRequestPolicyId, ALL_VIEWER_ORIGIN_REQUEST_POLICY_ID);
    assert.equal(c.DefaultCacheBehavior!.ViewerProtocolPolicy, 'redirect-to-https');
    assert.deepEqual(c.ViewerCertificate, {
      ACMCertificateArn: props.certificateArn,
      SSLSupportMethod: 'sni-only',
      MinimumProtocolVersion: 'TLSv1.2_2021',
    });
    assert.deepEqual(diffDistribution(props, observedDistributionProps(c, props.callerReference)), []);
  });

  test('mergeDistributionUpdate overlays the managed fields and carries the rest over', () => {
    const created = buildDistributionConfig(props);
    const described: DistributionConfig = {
      ...created,
      Comment: 'edited',
      Enabled: false,
      PriceClass: 'PriceClass_All',
      DefaultRootObject: 'index.html',
      Logging: { Enabled: true, IncludeCookies: false, Bucket: 'logs.s3.amazonaws.com', Prefix: 'cdn/' },
      WebACLId: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/1',
      Origins: {
        Quantity: 2,
        Items: [
          { ...created.Origins!.Items![0]!, DomainName: 'elsewhere.example.com' },
          { Id: 'static', DomainName: 'b.s3.amazonaws.com', S3OriginConfig: { OriginAccessIdentity: '' } },
        ],
      },
      CacheBehaviors: {
        Quantity: 1,
        Items: [{ PathPattern: '/static/*', TargetOriginId: 'static', ViewerProtocolPolicy: 'allow-all' }],
      },
      DefaultCacheBehavior: {
        ...created.DefaultCacheBehavior!,
        ViewerProtocolPolicy: 'allow-all',
        ForwardedValues: { QueryString: false, Cookies: { Forward: 'none' } },
        MinTTL: 0,
      },
    };
    const merged = mergeDistributionUpdate(described, props);
    assert.equal(merged.Comment, props.comment);
    assert.equal(merged.Enabled, true);
    assert.equal(merged.PriceClass, 'PriceClass_100');
    assert.equal(merged.Origins!.Items![0]!.DomainName, props.originDomainName);
    assert.equal(merged.DefaultCacheBehavior!.ViewerProtocolPolicy, 'redirect-to-https');
    // Carried over untouched:
    assert.equal(merged.CallerReference, 'slipway-ref');
    assert.equal(merged.DefaultRootObject, 'index.html');
    assert.deepEqual(merged.Logging, described.Logging);
    assert.equal(merged.WebACLId, described.WebACLId);
    assert.deepEqual(merged.Origins!.Items![1], described.Origins!.Items![1]);
    assert.deepEqual(merged.CacheBehaviors, described.CacheBehaviors);
    // A cache policy excludes the legacy settings an emulator may echo back.
    assert.ok(!('ForwardedValues' in merged.DefaultCacheBehavior!) && !('MinTTL' in merged.DefaultCacheBehavior!));
    assert.deepEqual(diffDistribution(props, observedDistributionProps(merged, props.callerReference)), []);
  });

  test('diff: aliases are a set; a disabled distribution or an http origin is drift', () => {
    const observed = observedDistributionProps(buildDistributionConfig(props), props.callerReference);
    assert.deepEqual(diffDistribution({ ...props, aliases: ['APP.example.com', 'www.example.com'] }, observed), []);
    const disabled = {
      ...observed,
      managed: { ...observed.managed, enabled: false, originProtocolPolicy: 'http-only' },
    };
    assert.deepEqual(
      diffDistribution(props, disabled).map((c) => c.path),
      ['managed.enabled', 'managed.originProtocolPolicy'],
    );
  });

  test('RetryLater carries its delay', () => {
    const e = new RetryLater('later', 60);
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'RetryLater');
    assert.equal(e.afterSeconds, 60);
  });
});

test("a shard's app client out of its turn is taken as planned under the recorded identifier, its owner the pool's", async () => {
  const poolTags = { [TAG_CLUSTER]: 'c1', [TAG_OWNER]: 'Environment/ns/dev' };
  const recorded = 'us-east-1_pool/client1';
  const desired = {
    id: 'user-pool-client-shard-1',
    kind: 'cognito.UserPoolClient' as const,
    props: {
      userPoolId: 'us-east-1_pool',
      name: 'slipway1-ns-dev',
      callbackUrls: ['https://a/oauth2/idpresponse'],
      logoutUrls: [],
    },
    tags: poolTags,
  };
  const aws = () =>
    recordingContext(({ command }) =>
      command === 'DescribeUserPoolCommand'
        ? { UserPool: { Id: 'us-east-1_pool', UserPoolTags: poolTags } }
        : command === 'DescribeUserPoolClientCommand'
          ? { UserPoolClient: { UserPoolId: 'us-east-1_pool', ClientId: 'client1', ClientName: 'slipway1-ns-dev' } }
          : {},
    );
  // The clients' listing is paginated (the SDK's paginator wants a real client): answered through memo.
  const listed = [{ ClientId: 'client1', ClientName: 'slipway1-ns-dev' }];
  const withListing = (rec: ReturnType<typeof recordingContext>, readEach: (id: string) => boolean) => {
    const ctx: ReconcileContext = {
      ...rec.ctx,
      memo: <T>(key: string, load: (c: ReconcileContext) => Promise<T>): Promise<T> => {
        if (!key.startsWith('cognito:clients:')) return load(ctx);
        rec.sent.push({ client: 'cognito', command: 'ListUserPoolClients', input: {} });
        return Promise.resolve(listed as T);
      },
      readEach,
    };
    return ctx;
  };
  const out = aws();
  const observed = await userPoolClient.observe(
    withListing(out, (id) => id !== recorded),
    desired,
    recorded,
  );
  assert.deepEqual(observed, {
    identifier: recorded,
    props: { ...desired.props, oauth: MANAGED_OAUTH },
    tags: poolTags,
    attrs: { id: 'client1', name: 'slipway1-ns-dev' },
    assumed: true,
  });
  assert.deepEqual(diffClient(desired.props, observed.props), []);
  assert.deepEqual(
    out.sent.map((c) => c.command),
    ['DescribeUserPoolCommand'],
    'the pool only (its tags are the ownership)',
  );
  const inTurn = aws();
  await userPoolClient.observe(
    withListing(inTurn, () => true),
    desired,
    recorded,
  );
  assert.deepEqual(
    inTurn.sent.map((c) => c.command),
    ['DescribeUserPoolCommand', 'ListUserPoolClients', 'DescribeUserPoolClientCommand'],
  );
});
