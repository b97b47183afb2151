// elbv2.Listener — identity: the listener on `props.loadBalancerArn` with `props.port`. attrs: `arn`.
// Managed: protocol, the default certificate, the SSL policy (only when the spec names one) and the default action.
// Listeners an Environment is given are observed by ARN only and never changed; they may carry no tags at all.
import {
  CreateListenerCommand,
  DeleteListenerCommand,
  DescribeListenersCommand,
  ModifyListenerCommand,
  paginateDescribeListeners,
  type Listener,
  type ModifyListenerCommandInput,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { isNotFound, unlessNotFound } from '../aws/errors.js';
import { advancingPages } from '../aws/pages.js';
import { takenAsPlanned, type KindReconciler, type Observed, type ReconcileContext } from './contract.js';
import { diffProps } from './diff.js';
import { describeTags, elbv2TagApi, fromSdkDefaultActions, recordToTags, tagsOf, toSdkAction } from './elbv2-shared.js';
import { writeTags } from './tags.js';

const listenersKey = (loadBalancerArn: string): string => `elbv2:listeners:${loadBalancerArn}`;

/** `arn:...:listener/app/<name>/<lb-id>/<listener-id>` → `arn:...:loadbalancer/app/<name>/<lb-id>`. */
export function loadBalancerArnOf(listenerArn: string): string | undefined {
  const m = /^(arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:)listener\/(.+)\/[^/]+$/.exec(listenerArn);
  return m ? `${m[1]}loadbalancer/${m[2]}` : undefined;
}

/** Every listener of a load balancer, read once per pass. */
export function listenersOf(ctx: ReconcileContext, loadBalancerArn: string): Promise<readonly Listener[]> {
  return ctx.memo(listenersKey(loadBalancerArn), async () => {
    const out: Listener[] = [];
    const pages = paginateDescribeListeners({ client: ctx.aws.elbv2 }, { LoadBalancerArn: loadBalancerArn });
    for await (const page of advancingPages(pages, (p) => p.NextMarker, 'DescribeListeners')) {
      out.push(...(page.Listeners ?? []));
    }
    return out;
  });
}

/**
 * The tags of every listener of a load balancer, 20 a call, read once per pass with its listing and dropped with it:
 * a shard's HTTPS listener and HTTP redirect are observed one after the other, and one DescribeTags serves both. A
 * listener deleted since the listing fails the whole batch (ListenerNotFound): the listing is dropped then, or every
 * listener of it observed later in the pass would fail the same way.
 */
export function listenerTagsOf(
  ctx: ReconcileContext,
  loadBalancerArn: string,
  listeners: readonly Listener[],
): Promise<ReadonlyMap<string, Record<string, string>>> {
  return ctx.memo(`${listenersKey(loadBalancerArn)}|tags`, () =>
    describeTags(
      ctx,
      listeners.flatMap((l) => (l.ListenerArn ? [l.ListenerArn] : [])),
    ).catch((err: unknown) => {
      if (isNotFound(err)) ctx.invalidate(listenersKey(loadBalancerArn));
      throw err;
    }),
  );
}

async function toObserved(
  ctx: ReconcileContext,
  l: Listener,
  known?: Record<string, string>,
): Promise<Observed<'elbv2.Listener'>> {
  const arn = l.ListenerArn ?? '';
  const certificateArn =
    l.Certificates?.find((c) => c.IsDefault)?.CertificateArn ?? l.Certificates?.[0]?.CertificateArn;
  return {
    identifier: arn,
    props: {
      loadBalancerArn: l.LoadBalancerArn ?? '',
      port: l.Port ?? 0,
      protocol: l.Protocol === 'HTTPS' ? 'HTTPS' : 'HTTP',
      ...(certificateArn ? { certificateArn } : {}),
      ...(l.SslPolicy ? { sslPolicy: l.SslPolicy } : {}),
      defaultAction: fromSdkDefaultActions(l.DefaultActions),
    },
    tags: known ?? (await tagsOf(ctx, arn)),
    attrs: { arn },
  };
}

async function describeByArn(ctx: ReconcileContext, arn: string): Promise<Observed<'elbv2.Listener'> | undefined> {
  const l = (await unlessNotFound(() => ctx.aws.elbv2.send(new DescribeListenersCommand({ ListenerArns: [arn] }))))
    ?.Listeners?.[0];
  return l ? toObserved(ctx, l) : undefined;
}

export const listenerReconciler: KindReconciler<'elbv2.Listener'> = {
  kind: 'elbv2.Listener',

  // Read in its load balancer's turn (ctx.readEach by the load balancer's ARN, so that a shard's listing of listeners
  // and their tags are read together); otherwise the listener the inventory records on that load balancer is taken
  // as planned: with drift events on, ModifyListener, DeleteListener and tag changes reconcile the Environment within
  // seconds.
  async observe(ctx, desired, recorded) {
    // An unresolved load balancer (deleting after it vanished) means no listener either.
    if (!desired.props.loadBalancerArn) return undefined;
    const lb = desired.props.loadBalancerArn;
    // Its port names it on its load balancer, not its ARN: the record is checked by the load balancer it names.
    if (takenAsPlanned(ctx, recorded, (r) => loadBalancerArnOf(r) === lb, { each: lb }))
      return {
        identifier: recorded,
        props: desired.props,
        tags: { ...desired.tags },
        attrs: { arn: recorded },
        assumed: true,
      };
    const listeners = await unlessNotFound(() => listenersOf(ctx, desired.props.loadBalancerArn));
    const l = listeners?.find((x) => x.Port === desired.props.port);
    if (!l?.ListenerArn) return undefined;
    const tags = await listenerTagsOf(ctx, desired.props.loadBalancerArn, listeners!);
    return toObserved(ctx, l, tags.get(l.ListenerArn) ?? {});
  },

  observeByIdentifier: describeByArn,

  diff: diffProps(),

  async create(ctx, desired) {
    const p = desired.props;
    const res = await ctx.aws.elbv2.send(
      new CreateListenerCommand({
        LoadBalancerArn: p.loadBalancerArn,
        Port: p.port,
        Protocol: p.protocol,
        ...(p.certificateArn ? { Certificates: [{ CertificateArn: p.certificateArn }] } : {}),
        ...(p.sslPolicy ? { SslPolicy: p.sslPolicy } : {}),
        DefaultActions: [toSdkAction(p.defaultAction)],
        Tags: recordToTags(desired.tags),
      }),
    );
    ctx.invalidate(listenersKey(p.loadBalancerArn));
    const l = res.Listeners?.[0];
    if (!l?.ListenerArn) throw new Error(`CreateListener on port ${p.port} returned no listener`);
    return toObserved(ctx, l, { ...desired.tags });
  },

  async update(ctx, desired, observed, changes) {
    const p = desired.props;
    const changed = (prefix: string): boolean =>
      changes.some((c) => c.path === prefix || c.path.startsWith(`${prefix}.`));
    const input: ModifyListenerCommandInput = { ListenerArn: observed.identifier };
    // Switching to HTTPS needs the certificate (and policy) in the same call.
    const toHttps = changed('protocol') && p.protocol === 'HTTPS';
    if (changed('protocol')) input.Protocol = p.protocol;
    if ((changed('certificateArn') || toHttps) && p.certificateArn)
      input.Certificates = [{ CertificateArn: p.certificateArn }];
    if ((changed('sslPolicy') || toHttps) && p.sslPolicy) input.SslPolicy = p.sslPolicy;
    if (changed('defaultAction')) input.DefaultActions = [toSdkAction(p.defaultAction)];
    if (changed('port')) input.Port = p.port;
    if (Object.keys(input).length > 1) await ctx.aws.elbv2.send(new ModifyListenerCommand(input));
    ctx.invalidate(listenersKey(p.loadBalancerArn));
    return (await describeByArn(ctx, observed.identifier)) ?? observed;
  },

  async delete(ctx, observed) {
    await unlessNotFound(() => ctx.aws.elbv2.send(new DeleteListenerCommand({ ListenerArn: observed.identifier })));
    ctx.invalidate(listenersKey(observed.props.loadBalancerArn));
    ctx.invalidate(`elbv2:rules:${observed.identifier}`);
  },

  tagging: 'tags',

  // The load balancer's listing carries the tags read of its listeners: dropped after the write.
  setTags: (ctx, observed, set, remove) =>
    writeTags(elbv2TagApi(ctx, observed.identifier), set, remove, () =>
      ctx.invalidate(listenersKey(observed.props.loadBalancerArn)),
    ),
};
