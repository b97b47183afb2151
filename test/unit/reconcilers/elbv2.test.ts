// Pure helpers of the network and load-balancing reconcilers: action and condition conversion, priority allocation,
// quota headroom, normalisation and the diff options each kind uses.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ownershipTags } from '../../../src/planner/naming.js';
import { cloudTrailRecord, type CloudTrailCall } from '../../support/cloudtrail.js';
import type { Desired, Observed, ReconcileContext } from '../../../src/reconcilers/contract.js';
import { containerInsightsEnabled } from '../../../src/reconcilers/ecs-cluster.js';
import {
  addTags,
  describeTags,
  fromSdkAction,
  fromSdkActions,
  fromSdkDefaultActions,
  recordToTags,
  removeTags,
  tagsToRecord,
  toSdkAction,
  toSdkActions,
  UserActionRequired,
  type ResolvedAction,
} from '../../../src/reconcilers/elbv2-shared.js';
import {
  allocatePriority,
  forwardTargetsOf,
  listenerArnOfRule,
  listenerRuleReconciler,
  preferredPriority,
  priorityOf,
  routeOf,
  ruleCandidates,
  ruleOwner,
  ruleQuotaHeadroom,
  readTurnTags,
  rulesOf,
  RuleTags,
  toConditions,
} from '../../../src/reconcilers/listener-rule.js';
import { listenerReconciler, listenerTagsOf, loadBalancerArnOf } from '../../../src/reconcilers/listener.js';
import { idleTimeoutOf, loadBalancerReconciler } from '../../../src/reconcilers/load-balancer.js';
import {
  deleteError,
  managedIngress,
  securityGroupReconciler,
  toPermissions,
} from '../../../src/reconcilers/security-group.js';
import { healthCheckInput, targetGroupsChangedIn } from '../../../src/reconcilers/target-group.js';
import { recordingContext } from '../../support/recording-context.js';

const cognito: ResolvedAction = {
  type: 'authenticate-cognito',
  userPoolArn: 'arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc',
  userPoolClientId: 'client',
  userPoolDomain: 'auth-domain',
  sessionTimeoutSeconds: 3600,
};
const forward: ResolvedAction = { type: 'forward', targetGroupArn: 'arn:tg' };

describe('action conversion', () => {
  test('every Slipway action survives a round trip through the SDK shape', () => {
    const actions: ResolvedAction[] = [
      { type: 'fixed-response', statusCode: '404', contentType: 'text/plain', messageBody: 'none' },
      { type: 'redirect-https' },
      forward,
      cognito,
    ];
    for (const a of actions) assert.deepEqual(fromSdkAction(toSdkAction(a)), a);
  });

  test('authenticate-cognito always asks to authenticate with scope openid; redirect-https is a permanent HTTPS redirect', () => {
    const sdk = toSdkAction(cognito, 1);
    assert.equal(sdk.Order, 1);
    assert.equal(sdk.AuthenticateCognitoConfig?.OnUnauthenticatedRequest, 'authenticate');
    assert.equal(sdk.AuthenticateCognitoConfig?.Scope, 'openid');
    assert.equal(sdk.AuthenticateCognitoConfig?.SessionTimeout, 3600);
    const redirect = toSdkAction({ type: 'redirect-https' });
    assert.deepEqual(redirect.RedirectConfig, {
      Protocol: 'HTTPS',
      Port: '443',
      Host: '#{host}',
      Path: '/#{path}',
      Query: '#{query}',
      StatusCode: 'HTTP_301',
    });
  });

  test('actions are numbered from 1 in the order given, and read back sorted by Order', () => {
    const sdk = toSdkActions([cognito, forward]);
    assert.deepEqual(
      sdk.map((a) => [a.Type, a.Order]),
      [
        ['authenticate-cognito', 1],
        ['forward', 2],
      ],
    );
    assert.deepEqual(fromSdkActions([...sdk].reverse()), [cognito, forward]);
  });

  test('what AWS fills in is the same as what Slipway omits', () => {
    assert.deepEqual(
      fromSdkAction({ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', StatusCode: 'HTTP_301' } }),
      { type: 'redirect-https' },
    );
    assert.deepEqual(
      fromSdkAction({ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: 'arn:tg', Weight: 1 }] } }),
      forward,
    );
    const { OnUnauthenticatedRequest: _o, Scope: _s, ...bare } = toSdkAction(cognito).AuthenticateCognitoConfig!;
    assert.deepEqual(fromSdkAction({ Type: 'authenticate-cognito', AuthenticateCognitoConfig: bare }), cognito);
  });

  test('actions Slipway cannot express show what they are in `type`, so the diff is honest', () => {
    const allow = fromSdkAction({
      Type: 'authenticate-cognito',
      AuthenticateCognitoConfig: {
        ...toSdkAction(cognito).AuthenticateCognitoConfig!,
        OnUnauthenticatedRequest: 'allow',
      },
    });
    assert.equal(allow.type, 'authenticate-cognito (onUnauthenticatedRequest=allow, scope=openid)');
    assert.match(
      fromSdkAction({ Type: 'redirect', RedirectConfig: { Protocol: 'HTTP', StatusCode: 'HTTP_302' } }).type,
      /^redirect \(HTTP:/,
    );
    assert.equal(
      fromSdkAction({
        Type: 'forward',
        ForwardConfig: { TargetGroups: [{ TargetGroupArn: 'a' }, { TargetGroupArn: 'b' }] },
      }).type,
      'forward (weighted across 2 target groups)',
    );
    assert.equal(fromSdkAction({ Type: 'authenticate-oidc' }).type, 'authenticate-oidc');
    assert.equal(fromSdkDefaultActions(toSdkActions([cognito, forward])).type, 'authenticate-cognito + forward');
    assert.equal(fromSdkDefaultActions([]).type, '(none)');
  });
});

describe('tags', () => {
  test('convert both ways', () => {
    const tags = { a: '1', b: '' };
    assert.deepEqual(tagsToRecord(recordToTags(tags)), tags);
    assert.deepEqual(tagsToRecord([{ Key: 'k' }]), { k: '' });
  });

  test('DescribeTags reads 20 ARNs per call, each once; an ARN without tags maps to none', async () => {
    const arns = Array.from({ length: 45 }, (_, i) => `arn:tg/${i}`);
    const rec = recordingContext(({ input }) => ({
      TagDescriptions: (input.ResourceArns as string[])
        .filter((arn) => arn !== 'arn:tg/7')
        .map((arn) => ({ ResourceArn: arn, Tags: [{ Key: 'arn', Value: arn }] })),
    }));
    const tags = await describeTags(rec.ctx, [...arns, 'arn:tg/0']);
    assert.deepEqual(
      rec.sent.map((s) => (s.input.ResourceArns as string[]).length),
      [20, 20, 5],
    );
    assert.equal(tags.size, 45);
    assert.deepEqual(tags.get('arn:tg/44'), { arn: 'arn:tg/44' });
    assert.deepEqual(tags.get('arn:tg/7'), {});
  });

  test('AddTags carries 10 tags per call; RemoveTags all keys in one; nothing is sent for none', async () => {
    const rec = recordingContext();
    const many = Object.fromEntries(Array.from({ length: 23 }, (_, i) => [`k${i}`, `v${i}`]));
    await addTags(rec.ctx, 'arn:tg/1', many);
    await removeTags(rec.ctx, 'arn:tg/1', ['a', 'b', 'c']);
    await addTags(rec.ctx, 'arn:tg/1', {});
    await removeTags(rec.ctx, 'arn:tg/1', []);
    assert.deepEqual(
      rec.sent.map((s) => [s.command, ((s.input.Tags ?? s.input.TagKeys) as unknown[]).length]),
      [
        ['AddTagsCommand', 10],
        ['AddTagsCommand', 10],
        ['AddTagsCommand', 3],
        ['RemoveTagsCommand', 3],
      ],
    );
    const added = rec.sent.flatMap((s) => (s.command === 'AddTagsCommand' ? (s.input.Tags as unknown[]) : []));
    assert.deepEqual(tagsToRecord(added as Parameters<typeof tagsToRecord>[0]), many);
  });
});

describe('listener rules', () => {
  const rule = (priority: string, extra: Partial<Rule> = {}): Rule => ({
    RuleArn: `arn:rule/${priority}`,
    Priority: priority,
    IsDefault: priority === 'default',
    ...extra,
  });

  test('quota headroom counts every rule but the default one', () => {
    assert.deepEqual(ruleQuotaHeadroom([rule('default'), rule('1'), rule('2')]), {
      used: 2,
      limit: 100,
      remaining: 98,
    });
    const full = [rule('default'), ...Array.from({ length: 100 }, (_, i) => rule(String(i + 1)))];
    assert.deepEqual(ruleQuotaHeadroom(full), { used: 100, limit: 100, remaining: 0 });
    assert.equal(ruleQuotaHeadroom(full, 150).remaining, 50);
    assert.equal(priorityOf(rule('default')), undefined);
    assert.equal(priorityOf(rule('42')), 42);
  });

  test('the preferred priority is deterministic, in range, and puts more specific paths first', () => {
    const p = preferredPriority('app.example.com', ['/*']);
    assert.equal(p, preferredPriority('APP.example.com', ['/*']));
    assert.equal(
      preferredPriority('a.example.com', ['/b/*', '/a/*']),
      preferredPriority('a.example.com', ['/a/*', '/b/*']),
    );
    for (const host of ['a.example.com', 'b.example.com', 'c.example.com']) {
      const catchAll = preferredPriority(host, ['/*']);
      const api = preferredPriority(host, ['/api/*']);
      const v1 = preferredPriority(host, ['/api/v1/*']);
      assert.ok(v1 < api && api < catchAll, `${host}: ${v1} < ${api} < ${catchAll}`);
      for (const x of [catchAll, api, v1, preferredPriority(host, [])]) assert.ok(x >= 1000 && x < 40000);
    }
  });

  test('allocation probes upward from the preference and wraps to the bottom', () => {
    assert.equal(allocatePriority(new Set(), 1500), 1500);
    assert.equal(allocatePriority(new Set([1500, 1501]), 1500), 1502);
    assert.equal(allocatePriority(new Set([49_999, 50_000]), 49_999), 1);
    const all = new Set(Array.from({ length: 50_000 }, (_, i) => i + 1));
    assert.throws(
      () => allocatePriority(all, 10),
      (err: UserActionRequired) =>
        err.outcome.reason === 'NoFreePriority' &&
        err.outcome.retry.kind === 'terminal' &&
        /every priority from 1 to 50000 .*remove rules/.test(err.message),
    );
  });

  test('conditions: host and sorted paths, new and legacy shapes alike', () => {
    assert.deepEqual(toConditions('a.example.com', []), [
      { Field: 'host-header', HostHeaderConfig: { Values: ['a.example.com'] } },
    ]);
    const r: Rule = { Conditions: toConditions('a.example.com', ['/b/*', '/a/*']) };
    assert.deepEqual(routeOf(r), { host: 'a.example.com', pathPatterns: ['/a/*', '/b/*'] });
    const legacy: Rule = {
      Conditions: [
        { Field: 'host-header', Values: ['x.example.com'] },
        { Field: 'path-pattern', Values: ['/x'] },
      ],
    };
    assert.deepEqual(routeOf(legacy), { host: 'x.example.com', pathPatterns: ['/x'] });
  });

  test('owners are named from tags; the listener ARN comes from the rule ARN', () => {
    const tags = ownershipTags({ clusterId: 'prod', kind: 'Service', namespace: 'shop', name: 'cart' }, 'rule');
    assert.equal(ruleOwner(tags), 'Service/shop/cart (cluster prod)');
    assert.equal(ruleOwner({}), 'a rule not created by Slipway');
    assert.equal(
      listenerArnOfRule(
        'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/my-lb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee',
      ),
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/my-lb/50dc6c495c0c9188/f2f7dc8efc522ab2',
    );
  });

  test('diff: an absent desired priority is not drift, path order is not drift, a fixed priority is', () => {
    const props = {
      listenerArn: 'arn:l',
      host: 'a.example.com',
      pathPatterns: ['/a/*', '/b/*'],
      actions: [cognito, forward],
    };
    const d: Desired<'elbv2.ListenerRule'> = { id: 'rule', kind: 'elbv2.ListenerRule', props, tags: {} };
    const o: Observed<'elbv2.ListenerRule'> = {
      identifier: 'arn:r',
      props: { ...props, priority: 1234, pathPatterns: ['/b/*', '/a/*'] },
      tags: {},
      attrs: {},
    };
    assert.deepEqual(listenerRuleReconciler.diff(d, o), []);
    const fixed = { ...d, props: { ...props, priority: 5 } };
    assert.deepEqual(listenerRuleReconciler.diff(fixed, o), [{ path: 'priority', desired: '5', actual: '1234' }]);
    const plain = { ...d, props: { ...props, actions: [forward] } };
    assert.deepEqual(
      listenerRuleReconciler.diff(plain, o).map((c) => c.path),
      ['actions'],
    );
  });

  test("conflict: another owner's rule on the same route is HostInUse, terminal, naming the owner, the rule, the field and the fix", () => {
    const props = { listenerArn: 'arn:l', host: 'shop.example.com', pathPatterns: ['/api/*'], actions: [forward] };
    const mine = ownershipTags(
      { clusterId: 'prod', kind: 'Service', namespace: 'shop', name: 'cart' },
      'listener-rule',
    );
    const theirs = ownershipTags(
      { clusterId: 'prod', kind: 'Service', namespace: 'shop', name: 'api' },
      'listener-rule',
    );
    const d: Desired<'elbv2.ListenerRule'> = { id: 'listener-rule', kind: 'elbv2.ListenerRule', props, tags: mine };
    const rival: Observed<'elbv2.ListenerRule'> = { identifier: 'arn:rule/7', props, tags: theirs, attrs: {} };
    const found = listenerRuleReconciler.conflict!(d, rival);
    assert.equal(found?.reason, 'HostInUse');
    assert.equal(found.retry.kind, 'terminal');
    assert.match(found.message, /^host shop\.example\.com and paths \/api\/\* is already routed on listener arn:l/);
    assert.match(found.message, /by Service\/shop\/api \(cluster prod\) \(rule arn:rule\/7\)/);
    assert.match(found.message, /spec\.subdomain or spec\.routing\.pathPatterns, or remove the other rule/);
    // A rule no Slipway owner tagged is named as such.
    const untagged = listenerRuleReconciler.conflict!(d, { ...rival, tags: {} });
    assert.match(untagged!.message, /by a rule not created by Slipway \(rule arn:rule\/7\)/);
  });
});

describe("listener rules: a rule's tags read only where its ownership is asked", () => {
  const tg = 'arn:tg/mine';
  const rule = (n: number, host: string, actions: Rule['Actions'], paths = ['/*']): Rule => ({
    RuleArn: `arn:rule/${n}`,
    Priority: String(n),
    IsDefault: false,
    Conditions: toConditions(host, paths),
    Actions: actions,
  });
  const fwd = (arn: string): NonNullable<Rule['Actions']> => [{ Type: 'forward', TargetGroupArn: arn }];

  test('forward targets: a plain forward, a weighted one, and a forward behind an authenticate action', () => {
    assert.deepEqual(forwardTargetsOf(undefined), []);
    assert.deepEqual(forwardTargetsOf(toSdkActions([cognito, forward])), ['arn:tg']);
    assert.deepEqual(
      forwardTargetsOf([
        { Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } },
        {
          Type: 'forward',
          ForwardConfig: { TargetGroups: [{ TargetGroupArn: 'a', Weight: 1 }, { TargetGroupArn: 'b' }] },
        },
      ]),
      ['a', 'b'],
    );
  });

  test('candidates: the rules forwarding to the desired group, and those on its host and paths; no default rule', () => {
    const rules: Rule[] = [
      { RuleArn: 'arn:rule/default', IsDefault: true, Actions: fwd(tg) },
      rule(1, 'other.example.com', fwd('arn:tg/other')),
      rule(2, 'moved.example.com', toSdkActions([cognito, { type: 'forward', targetGroupArn: tg }])),
      rule(3, 'APP.example.com', fwd('arn:tg/rival'), ['/b/*', '/a/*']),
      rule(4, 'app.example.com', fwd('arn:tg/rival'), ['/a/*']),
      rule(5, 'x.example.com', [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: tg }] } }]),
    ];
    const desired = {
      host: 'app.example.com',
      pathPatterns: ['/a/*', '/b/*'],
      actions: [cognito, { ...forward, targetGroupArn: tg }],
    };
    assert.deepEqual(
      ruleCandidates(rules, desired).map((r) => r.RuleArn),
      ['arn:rule/2', 'arn:rule/3', 'arn:rule/5'],
    );
    // Forwarding nowhere (or to a group not known yet): by route alone.
    const fixed = { ...desired, actions: [{ type: 'redirect-https' as const }] };
    assert.deepEqual(
      ruleCandidates(rules, fixed).map((r) => r.RuleArn),
      ['arn:rule/3'],
    );
    assert.deepEqual(
      ruleCandidates(rules, { ...desired, actions: [{ ...forward, targetGroupArn: '' }] }).map((r) => r.RuleArn),
      ['arn:rule/3'],
    );
  });

  const tagging = (extra: Partial<ReconcileContext> = {}) => {
    const rec = recordingContext(({ input }) => ({
      TagDescriptions: (input.ResourceArns as string[]).map((arn) => ({
        ResourceArn: arn,
        Tags: [{ Key: 'of', Value: arn }],
      })),
    }));
    Object.assign(rec.ctx, extra);
    const asked = () => rec.sent.map((s) => s.input.ResourceArns as string[]);
    return { ctx: rec.ctx, asked };
  };
  const all = Array.from({ length: 45 }, (_, i) => `arn:rule/${i}`);

  test('RuleTags reads the ARNs asked for, once each, and answers later asks from what it read', async () => {
    const t = new RuleTags(all);
    const { ctx, asked } = tagging();
    assert.deepEqual([...(await t.tagsOf(ctx, []))], []);
    assert.deepEqual(asked(), [], 'nothing asked: no call');
    const one = await t.tagsOf(ctx, ['arn:rule/3', 'arn:rule/4', 'arn:rule/3']);
    assert.deepEqual([...one.keys()], ['arn:rule/3', 'arn:rule/4']);
    assert.deepEqual(one.get('arn:rule/3'), { of: 'arn:rule/3' });
    // Another pass sharing the listing asks for one it has and one it has not.
    const other = tagging();
    const two = await t.tagsOf(other.ctx, ['arn:rule/4', 'arn:rule/5']);
    assert.deepEqual(two.get('arn:rule/4'), { of: 'arn:rule/4' });
    assert.deepEqual(asked(), [['arn:rule/3', 'arn:rule/4']]);
    assert.deepEqual(other.asked(), [['arn:rule/5']]);
  });

  test("RuleTags: a wave member's first ask reads every rule, 20 a call; after that nobody reads again", async () => {
    const t = new RuleTags(all);
    const member = tagging({ waveMember: () => true });
    await t.tagsOf(member.ctx, ['arn:rule/44']);
    assert.deepEqual(
      member.asked().map((a) => a.length),
      [20, 20, 5],
    );
    const other = tagging({ waveMember: () => true });
    assert.deepEqual((await t.tagsOf(other.ctx, ['arn:rule/0', 'arn:rule/30'])).get('arn:rule/30'), {
      of: 'arn:rule/30',
    });
    assert.deepEqual(other.asked(), []);
  });

  test("readTurnTags: with a rotation, the in-turn rules' tags of every listener are read 20 a call across listeners, and the members ask no more", async () => {
    // Three listeners of 30 rules; a rule is in turn when its number is a multiple of 4 (8 a listener, 24 in all).
    const listeners = ['arn:listener/a', 'arn:listener/b', 'arn:listener/c'];
    const rulesOn = (l: string) =>
      Array.from({ length: 30 }, (_, i) => ({ RuleArn: `${l}/rule/${i}`, Priority: String(i + 1) }));
    const inTurn = (arn: string) => Number(arn.split('/').at(-1)) % 4 === 0;
    const shared = new Map<string, Promise<unknown>>();
    const wave = (extra: Partial<ReconcileContext> = {}) => {
      const rec = recordingContext(({ command, input }) =>
        command === 'DescribeRulesCommand'
          ? { Rules: rulesOn(input.ListenerArn as string) }
          : {
              TagDescriptions: (input.ResourceArns as string[]).map((arn) => ({
                ResourceArn: arn,
                Tags: [{ Key: 'of', Value: arn }],
              })),
            },
      );
      // The wave's shared reads: one listing per listener for all its passes.
      const ctx: ReconcileContext = {
        ...rec.ctx,
        memo: <T>(key: string, load: (c: ReconcileContext) => Promise<T>): Promise<T> => {
          if (!shared.has(key)) shared.set(key, load(ctx));
          return shared.get(key) as Promise<T>;
        },
        rotating: () => true,
        readEach: inTurn,
        listingTurn: inTurn,
        waveMember: () => true,
        ...extra,
      };
      const tagCalls = () =>
        rec.sent.filter((c) => c.command === 'DescribeTagsCommand').map((c) => c.input.ResourceArns as string[]);
      return { ctx, tagCalls };
    };
    const environment = wave();
    await readTurnTags(environment.ctx, listeners);
    assert.deepEqual(
      environment.tagCalls().map((a) => a.length),
      [20, 4],
      '24 rules in turn, in 2 calls rather than one a listener',
    );
    assert.ok(environment.tagCalls().flat().every(inTurn));

    const member = wave();
    const listed = await rulesOf(member.ctx, 'arn:listener/b');
    const tags = await listed.tagsOf(member.ctx, ['arn:listener/b/rule/8']);
    assert.deepEqual(tags.get('arn:listener/b/rule/8'), { of: 'arn:listener/b/rule/8' });
    assert.deepEqual(member.tagCalls(), [], "the member's first ask is answered from the read across listeners");
    await listed.tagsOf(member.ctx, ['arn:listener/b/rule/9']);
    assert.deepEqual(member.tagCalls(), [['arn:listener/b/rule/9']], 'a rule out of turn is read when asked for');

    // An owner that reads everything of its own (drift reported, unsettled) asks for its own rule, not its listener's.
    const unsettled = wave({ readEach: () => true });
    await (await rulesOf(unsettled.ctx, 'arn:listener/c')).tagsOf(unsettled.ctx, ['arn:listener/c/rule/9']);
    assert.deepEqual(unsettled.tagCalls(), [['arn:listener/c/rule/9']]);

    const noRotation = wave({ rotating: () => false });
    await readTurnTags(noRotation.ctx, listeners);
    assert.deepEqual(noRotation.tagCalls(), [], 'without a rotation each member reads its listing whole, 20 a call');
  });

  test('RuleTags forgets a failed read; a read another pass abandoned is read again by the pass still asking', async () => {
    const t = new RuleTags(all);
    const failing = recordingContext(() => {
      throw new Error('throttled');
    });
    await assert.rejects(t.tagsOf(failing.ctx, ['arn:rule/1']), /throttled/);
    const { ctx, asked } = tagging();
    assert.deepEqual((await t.tagsOf(ctx, ['arn:rule/1'])).get('arn:rule/1'), { of: 'arn:rule/1' });
    assert.deepEqual(asked(), [['arn:rule/1']]);

    let abort!: () => void;
    const deadline = new AbortController();
    const abandoned = recordingContext(
      () =>
        new Promise((_, reject) => (abort = () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })))),
    );
    // The pass that started the read is the one whose deadline passed.
    const aws = new Proxy(abandoned.ctx.aws, {
      get: (target, name) => (name === 'signal' ? deadline.signal : Reflect.get(target, name)),
    });
    const first = t.tagsOf({ ...abandoned.ctx, aws }, ['arn:rule/2']);
    const still = tagging();
    const second = t.tagsOf(still.ctx, ['arn:rule/2']);
    deadline.abort();
    abort();
    await assert.rejects(first, { name: 'AbortError' });
    assert.deepEqual((await second).get('arn:rule/2'), { of: 'arn:rule/2' });
    assert.deepEqual(still.asked(), [['arn:rule/2']]);
  });

  test('RuleTags: a batch refused because a rule is gone drops the listing, so the next pass lists again', async () => {
    const dropped: string[] = [];
    const t = new RuleTags(all, () => dropped.push('listing'));
    const refusing = recordingContext(() => {
      throw Object.assign(new Error('One or more rules not found'), { name: 'RuleNotFoundException' });
    });
    await assert.rejects(t.tagsOf(refusing.ctx, ['arn:rule/1', 'arn:rule/2']), /not found/);
    assert.deepEqual(dropped, ['listing']);
    // Any other failure keeps the listing: only its read is forgotten.
    const throttled = recordingContext(() => {
      throw new Error('throttled');
    });
    await assert.rejects(t.tagsOf(throttled.ctx, ['arn:rule/3']), /throttled/);
    assert.deepEqual(dropped, ['listing']);
  });

  test("a listeners' tags batch refused because a listener is gone drops the load balancer's listing", async () => {
    const listeners = [{ ListenerArn: 'arn:l/1' }, { ListenerArn: 'arn:l/2' }];
    const refusing = recordingContext(() => {
      throw Object.assign(new Error('One or more listeners not found'), { name: 'ListenerNotFoundException' });
    });
    await assert.rejects(listenerTagsOf(refusing.ctx, 'arn:lb', listeners), /not found/);
    assert.deepEqual(refusing.invalidated, ['elbv2:listeners:arn:lb']);
    const throttled = recordingContext(() => {
      throw new Error('throttled');
    });
    await assert.rejects(listenerTagsOf(throttled.ctx, 'arn:lb', listeners), /throttled/);
    assert.deepEqual(throttled.invalidated, []);
  });

  test("observe reads only the candidates' tags for a brand-new owner, and every rule's when it finds none of its own otherwise", async () => {
    const mine = ownershipTags({ clusterId: 'c', kind: 'Service', namespace: 'ns', name: 'web' }, 'listener-rule');
    const others = Array.from({ length: 30 }, (_, i) => rule(100 + i, `o${i}.example.com`, fwd(`arn:tg/o${i}`)));
    const moved = rule(7, 'hijacked.example.com', fwd('arn:tg/elsewhere'));
    const listing = (rules: Rule[]) => ({
      answer: ({ command, input }: { command: string; input: Record<string, unknown> }) =>
        command === 'DescribeRulesCommand'
          ? { Rules: rules }
          : {
              TagDescriptions: (input.ResourceArns as string[]).map((arn) => ({
                ResourceArn: arn,
                Tags: recordToTags(arn === moved.RuleArn ? mine : {}),
              })),
            },
    });
    const desired: Desired<'elbv2.ListenerRule'> = {
      id: 'listener-rule',
      kind: 'elbv2.ListenerRule',
      props: {
        listenerArn: 'arn:l',
        host: 'web.example.com',
        pathPatterns: ['/*'],
        actions: [{ ...forward, targetGroupArn: tg }],
      },
      tags: mine,
    };
    const tagCalls = (rec: ReturnType<typeof recordingContext>) =>
      rec.sent.filter((s) => s.command === 'DescribeTagsCommand');

    const fresh = recordingContext(listing(others).answer);
    Object.assign(fresh.ctx, { newOwner: () => true });
    assert.equal(await listenerRuleReconciler.observe(fresh.ctx, desired), undefined);
    assert.deepEqual(tagCalls(fresh), [], 'no rule forwards to its group or routes its host: no tags read');

    // An owner with resources whose rule was moved off both its route and its group: found among all the rules.
    const known = recordingContext(listing([...others, moved]).answer);
    const found = await listenerRuleReconciler.observe(known.ctx, desired);
    assert.equal(found?.identifier, moved.RuleArn);
    assert.deepEqual(
      tagCalls(known).map((s) => (s.input.ResourceArns as string[]).length),
      [20, 11],
    );
  });
});

describe('security groups', () => {
  test('only TCP single-port IPv4 rules are managed', () => {
    const ingress = managedIngress([
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }, { CidrIp: '10.0.0.0/8' }] },
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: 'tcp', FromPort: 1000, ToPort: 2000, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: 'udp', FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: 'sg-1' }] },
    ]);
    assert.deepEqual(ingress, [
      { port: 80, cidr: '0.0.0.0/0' },
      { port: 443, cidr: '0.0.0.0/0' },
      { port: 443, cidr: '10.0.0.0/8' },
    ]);
    assert.deepEqual(managedIngress(toPermissions(ingress)), ingress);
  });

  test('ingress is a set; the immutable description is not diffed', () => {
    const props = {
      name: 'sg',
      description: 'new text',
      vpcId: 'vpc-1',
      ingress: [
        { port: 80, cidr: '0.0.0.0/0' },
        { port: 443, cidr: '0.0.0.0/0' },
      ],
    };
    const d: Desired<'ec2.SecurityGroup'> = { id: 'sg', kind: 'ec2.SecurityGroup', props, tags: {} };
    const o: Observed<'ec2.SecurityGroup'> = {
      identifier: 'sg-1',
      props: { ...props, description: 'old', ingress: [...props.ingress].reverse() },
      tags: {},
      attrs: {},
    };
    assert.deepEqual(securityGroupReconciler.diff(d, o), []);
    assert.deepEqual(
      securityGroupReconciler.diff(d, { ...o, props: { ...o.props, ingress: [] } }).map((c) => c.path),
      ['ingress'],
    );
  });

  test('delete: gone is fine, DependencyViolation becomes a retryable error, the rest is surfaced', () => {
    assert.equal(deleteError({ name: 'InvalidGroup.NotFound' }, 'sg-1'), undefined);
    const busy = deleteError({ name: 'DependencyViolation' }, 'sg-1');
    assert.ok(busy instanceof Error);
    assert.match(busy.message, /sg-1 is still in use/);
    assert.equal(
      (busy as { terminal?: boolean }).terminal,
      undefined,
      'not terminal: the controller backs off and retries',
    );
    const other = { name: 'UnauthorizedOperation' };
    assert.equal(deleteError(other, 'sg-1'), other);
  });
});

describe('load balancers, target groups, clusters', () => {
  test('idle timeout defaults to 60 seconds when AWS does not report it', () => {
    assert.equal(idleTimeoutOf(undefined), 60);
    assert.equal(idleTimeoutOf([{ Key: 'idle_timeout.timeout_seconds', Value: '120' }]), 120);
  });

  test('subnets and security groups are sets', () => {
    const props = {
      name: 'lb',
      scheme: 'internet-facing' as const,
      subnetIds: ['a', 'b'],
      securityGroupIds: ['sg-1', 'sg-2'],
      idleTimeoutSeconds: 60,
    };
    const d: Desired<'elbv2.LoadBalancer'> = { id: 'alb', kind: 'elbv2.LoadBalancer', props, tags: {} };
    const o: Observed<'elbv2.LoadBalancer'> = {
      identifier: 'arn',
      props: { ...props, subnetIds: ['b', 'a'], securityGroupIds: ['sg-2', 'sg-1'] },
      tags: {},
      attrs: {},
    };
    assert.deepEqual(loadBalancerReconciler.diff(d, o), []);
    assert.deepEqual(
      loadBalancerReconciler.diff(d, { ...o, props: { ...o.props, scheme: 'internal' } }).map((c) => c.path),
      ['scheme'],
    );
  });

  test("an update whose write fails still drops its kind's listing: a write before it may have landed", async () => {
    const refusing = () =>
      recordingContext(() => {
        throw new Error('throttled');
      });
    const lbProps = {
      name: 'lb',
      scheme: 'internet-facing' as const,
      subnetIds: ['a'],
      securityGroupIds: ['sg-1'],
      idleTimeoutSeconds: 60,
    };
    const lb = refusing();
    await assert.rejects(
      loadBalancerReconciler.update(
        lb.ctx,
        { id: 'alb', kind: 'elbv2.LoadBalancer', props: { ...lbProps, subnetIds: ['b'] }, tags: {} },
        { identifier: 'arn:lb', props: lbProps, tags: {}, attrs: {} },
        [{ path: 'subnetIds', desired: '["b"]', actual: '["a"]' }],
      ),
      /throttled/,
    );
    assert.deepEqual(lb.invalidated, ['elbv2:load-balancers']);
    const sgProps = { name: 'sg', description: 'd', vpcId: 'vpc-1', ingress: [] };
    const sg = refusing();
    await assert.rejects(
      securityGroupReconciler.update(
        sg.ctx,
        {
          id: 'sg',
          kind: 'ec2.SecurityGroup',
          props: { ...sgProps, ingress: [{ port: 443, cidr: '0.0.0.0/0' }] },
          tags: {},
        },
        { identifier: 'sg-1', props: sgProps, tags: {}, attrs: {} },
        [{ path: 'ingress', desired: '', actual: '' }],
      ),
      /throttled/,
    );
    assert.deepEqual(sg.invalidated, ['ec2:owned:ec2.SecurityGroup:']);
  });

  test("a shard out of its turn: its load balancer's tags and idle timeout, and its listeners, are taken as planned under the recorded identifiers", async () => {
    const lbArn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/sw-ns-dev/50dc6c495c0c9188';
    const listenerArn =
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/sw-ns-dev/50dc6c495c0c9188/f2f7dc8efc522ab2';
    assert.equal(loadBalancerArnOf(listenerArn), lbArn);
    const tags = { 'slipway.dev/owner': 'Environment/ns/dev' };
    const lbProps = {
      name: 'sw-ns-dev',
      scheme: 'internet-facing' as const,
      subnetIds: ['subnet-a'],
      securityGroupIds: ['sg-1'],
      idleTimeoutSeconds: 60,
    };
    const lbDesired: Desired<'elbv2.LoadBalancer'> = { id: 'lb', kind: 'elbv2.LoadBalancer', props: lbProps, tags };
    const listenerDesired: Desired<'elbv2.Listener'> = {
      id: 'https',
      kind: 'elbv2.Listener',
      props: { loadBalancerArn: lbArn, port: 443, protocol: 'HTTPS', defaultAction: { type: 'redirect-https' } },
      tags,
    };
    // The listings are paginated (the SDK's paginators want a real client): answered through memo.
    const lbListed = { LoadBalancerArn: lbArn, LoadBalancerName: 'sw-ns-dev', Scheme: 'internet-facing' as const };
    const listed = {
      ...lbListed,
      AvailabilityZones: [{ SubnetId: 'subnet-a' }],
      SecurityGroups: ['sg-1'],
    };
    const listings: Record<string, unknown> = {
      'elbv2:load-balancers': new Map([['sw-ns-dev', listed]]),
      [`elbv2:listeners:${lbArn}`]: [
        { ListenerArn: listenerArn, LoadBalancerArn: lbArn, Port: 443, Protocol: 'HTTPS' },
      ],
    };
    const aws = () => recordingContext();
    const calls = (rec: ReturnType<typeof recordingContext>) => [
      ...Object.keys(listings).filter((k) => rec.invalidated.includes(`listed:${k}`)),
      ...rec.sent.map((c) => c.command).sort(),
    ];
    const withListings = (rec: ReturnType<typeof recordingContext>, turn: boolean): ReconcileContext => {
      const ctx: ReconcileContext = {
        ...rec.ctx,
        memo: <T>(key: string, load: (c: ReconcileContext) => Promise<T>): Promise<T> => {
          if (!(key in listings)) return load(ctx);
          rec.invalidated.push(`listed:${key}`);
          return Promise.resolve(listings[key] as T);
        },
        readEach: (id) => turn || id !== lbArn,
        rotating: () => true,
      };
      return ctx;
    };
    const notItsTurn = (rec: ReturnType<typeof recordingContext>) => withListings(rec, false);
    const out = aws();
    const lb = await loadBalancerReconciler.observe(notItsTurn(out), lbDesired, lbArn);
    assert.deepEqual(lb?.tags, tags);
    assert.equal(lb?.props.idleTimeoutSeconds, 60);
    assert.equal(lb?.assumed, true);

    const listener = await listenerReconciler.observe(notItsTurn(out), listenerDesired, listenerArn);
    assert.deepEqual(listener, {
      identifier: listenerArn,
      props: listenerDesired.props,
      tags,
      attrs: { arn: listenerArn },
      assumed: true,
    });
    assert.deepEqual(calls(out), ['elbv2:load-balancers'], 'only the listing of the load balancers');

    // Not recorded (or recorded on another load balancer): read.
    const unrecorded = aws();
    await loadBalancerReconciler.observe(notItsTurn(unrecorded), lbDesired, undefined);
    await listenerReconciler.observe(notItsTurn(unrecorded), listenerDesired, listenerArn.replace('50dc', '60dc'));
    assert.deepEqual(calls(unrecorded), [
      'elbv2:load-balancers',
      `elbv2:listeners:${lbArn}`,
      'DescribeLoadBalancerAttributesCommand',
      'DescribeTagsCommand',
      'DescribeTagsCommand',
    ]);

    // Listed with a field that differs from the plan: marked, so that the applier reads it fresh before it is changed
    // (applier.ts observeOwned; applier-assumed.test.ts), and its ownership then rests on the tags that read finds.
    const differs = aws();
    const differing = await loadBalancerReconciler.observe(
      notItsTurn(differs),
      { ...lbDesired, props: { ...lbProps, subnetIds: ['subnet-c'] } },
      lbArn,
    );
    assert.equal(differing?.assumed, true);
    assert.deepEqual(calls(differs), ['elbv2:load-balancers']);

    const inTurn = aws();
    await loadBalancerReconciler.observe(withListings(inTurn, true), lbDesired, lbArn);
    await listenerReconciler.observe(withListings(inTurn, true), listenerDesired, listenerArn);
    assert.deepEqual(calls(inTurn), calls(unrecorded), 'its turn: everything read');
  });

  test('health check updates send only the fields that changed', () => {
    const hc = {
      path: '/h',
      intervalSeconds: 10,
      timeoutSeconds: 5,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
      matcher: '200',
    };
    assert.deepEqual(healthCheckInput(hc, new Set(['path', 'matcher'])), {
      HealthCheckPath: '/h',
      Matcher: { HttpCode: '200' },
    });
    assert.equal(Object.keys(healthCheckInput(hc)).length, 6);
  });

  test('container insights: enabled and enhanced are on', () => {
    assert.equal(containerInsightsEnabled([{ name: 'containerInsights', value: 'enabled' }]), true);
    assert.equal(containerInsightsEnabled([{ name: 'containerInsights', value: 'enhanced' }]), true);
    assert.equal(containerInsightsEnabled([{ name: 'containerInsights', value: 'disabled' }]), false);
    assert.equal(containerInsightsEnabled(undefined), false);
  });

  test('errors a user must fix carry the marker the controller treats as terminal', () => {
    const err = new UserActionRequired('pick another priority', 'PriorityInUse');
    assert.equal(err.outcome.retry.kind, 'terminal');
    assert.equal(err.outcome.reason, 'PriorityInUse');
    assert.ok(err instanceof Error);
  });
});

describe("target groups changed out of band, from CloudTrail's event history", () => {
  const own = { sessionName: 'slipway-test', userAgentAppId: 'slipway-test' };
  const arn = (n: string) => `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${n}/0123`;
  const call = (targetGroupArn: string, extra: Partial<CloudTrailCall> = {}) =>
    cloudTrailRecord({
      service: 'elasticloadbalancing',
      eventName: 'ModifyTargetGroupAttributes',
      region: 'us-east-1',
      requestParameters: {
        targetGroupArn,
        attributes: [{ key: 'deregistration_delay.timeout_seconds', value: '300' }],
      },
      ...extra,
    });

  test("a person's call names its target group; the operator's own (by session or user agent) and failed ones do not", () => {
    const records = [
      call(arn('a')),
      call(arn('b'), { session: 'slipway-test' }),
      call(arn('c'), { userAgent: 'aws-sdk-js/3.1169.0 ua/2.1 app/slipway-test' }),
      { ...call(arn('d')), errorCode: 'TargetGroupNotFound' },
      call(arn('a')),
    ];
    assert.deepEqual([...targetGroupsChangedIn(records, own)], [arn('a')]);
  });
});
