// SDK clients for one (region, role) pair, built lazily and shared by every reconcile of that Environment.
// A middleware times and counts every call; credentials come from the SDK's default chain, or from STS
// AssumeRole when the Environment names a role in another account.
//
// Every wait has a deadline. Each client's HTTP handler has a connection timeout and a request timeout, and a pass
// takes a view of the clients (withSignal) that gives its abort signal to every call it makes, paginators included.
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { CallListener, CallOutcome } from './calls.js';
import { classifyError } from './errors.js';
import {
  callSignals,
  familyOf,
  limitRate,
  sharedRateLimits,
  type RateLimitListener,
  type RateLimits,
  type RateScope,
} from './rate-limits.js';
import { guardNotIdempotentCreates } from './unknown-outcome.js';

export interface AwsClientOptions {
  readonly region: string;
  /** Override for every service (the emulator in tests and the sandbox). Absent in production. */
  readonly endpoint?: string;
  /** IAM role to assume for this Environment's account. */
  readonly roleArn?: string;
  /** Session name for AssumeRole; shows in the target account's CloudTrail. */
  readonly roleSessionName?: string;
  /**
   * Appended to every call's user agent as `app/<id>` (at most 50 characters); CloudTrail records the user agent, so
   * drift events can tell Slipway's own calls from others' even where the session name is not Slipway's.
   */
  readonly userAgentAppId?: string;
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  readonly onCall?: CallListener;
  /**
   * Client-side rate limits at AWS's published rates (rate-limits.ts), shared by every client of the process for
   * one account and region. Default on; off for tools that talk to an emulator only.
   */
  readonly rateLimits?: boolean;
  /**
   * The buckets (default: the process's sharedRateLimits, so every AwsClients for one account and region shares
   * them). Tests pass their own, with a clock they move.
   */
  readonly rateLimitRegistry?: RateLimits;
  /** Told how long a call waited for a rate-limit token, when it had to, and of every throttled attempt. */
  readonly onRateLimitWait?: RateLimitListener;
  /** Attempts per call, the first one included (the SDK's standard retry strategy). Default 3. */
  readonly maxAttempts?: number;
  /** Milliseconds to establish a connection (TCP and TLS) to an AWS endpoint. Default 3,000. */
  readonly connectionTimeout?: number;
  /**
   * Milliseconds one attempt of a call may take, request and response. Default 30,000. The SDK retries a timed-out
   * attempt (TimeoutError is transient), so one call may take up to maxAttempts times this, plus backoff.
   */
  readonly requestTimeout?: number;
}

export const DEFAULT_CONNECTION_TIMEOUT_MS = 3_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

interface Instrumentable {
  readonly middlewareStack: {
    add(
      mw: (
        next: (args: unknown) => Promise<unknown>,
        context: { clientName?: string; commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}

/**
 * The configuration of one client; the SDK's own retries are kept short, our queue backs off beyond.
 *
 * Retries: the SDK's standard strategy with 3 attempts (2 retries). Its backoff is "full jitter": a random delay in
 * [0, base × 2^retry), base 50 ms for transient errors and 1 s for throttling, so a call retries for at most about
 * 0.15 s (transient) or 3 s (throttled), plus a retry quota that stops retries when many fail. That absorbs a blip
 * without holding a worker. Beyond it the error reaches the work queue (outcome Throttled or Transient, retry by
 * backoff), whose per-key backoff starts at 500 ms and doubles to 5 minutes with jitter (runtime/workqueue.ts):
 * minutes, not seconds, and a key that keeps failing frees its worker between attempts. Every attempt, retries
 * included, first takes a token of the client-side rate limit (rate-limits.ts), so retries cannot exceed AWS's rates.
 *
 * Each client gets its own HTTP handler with both timeouts. Without them the SDK waits forever: a NAT gateway drops
 * an idle connection after 350 s without telling either end, so a request written to a kept-alive socket can go
 * unanswered and never fail; and an endpoint that accepts the connection but never answers holds the call too.
 * throwOnRequestTimeout is needed for requestTimeout to fail the attempt (without it the SDK only logs a warning).
 */
function clientConfig(opts: AwsClientOptions, credentials: AwsClientOptions['credentials']) {
  return {
    region: opts.region,
    retryMode: 'standard',
    maxAttempts: opts.maxAttempts ?? 3,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: opts.connectionTimeout ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      requestTimeout: opts.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    }),
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    ...(opts.userAgentAppId ? { userAgentAppId: opts.userAgentAppId } : {}),
  };
}

type ClientConfig = ReturnType<typeof clientConfig>;

function instrument<C>(client: C, service: string, onCall: CallListener | undefined): C {
  if (!onCall) return client;
  (client as unknown as Instrumentable).middlewareStack.add(
    (next, context) => async (args) => {
      const start = process.hrtime.bigint();
      let outcome: CallOutcome = 'success';
      try {
        return await next(args);
      } catch (err) {
        outcome = classifyError(err) === 'throttled' ? 'throttled' : 'error';
        throw err;
      } finally {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        onCall({ service, operation: (context.commandName ?? 'Unknown').replace(/Command$/, ''), outcome, seconds });
      }
    },
    { step: 'initialize', name: 'slipwayCallMetrics' },
  );
  return client;
}

/**
 * Credentials from STS AssumeRole, refreshed five minutes before they expire. The STS client module is loaded and
 * its client made on the first request for credentials: most installations name no role and never need it.
 */
function assumeRoleProvider(opts: AwsClientOptions & { roleArn: string }): AwsCredentialIdentityProvider {
  let sts:
    | Promise<{
        client: import('@aws-sdk/client-sts').STSClient;
        AssumeRoleCommand: typeof import('@aws-sdk/client-sts').AssumeRoleCommand;
      }>
    | undefined;
  let cached: AwsCredentialIdentity | undefined;
  return async () => {
    if (cached?.expiration && cached.expiration.getTime() - Date.now() > 5 * 60_000) return cached;
    sts ??= import('@aws-sdk/client-sts').then(({ STSClient, AssumeRoleCommand }) => ({
      client: instrument(new STSClient(clientConfig(opts, opts.credentials)), 'sts', opts.onCall),
      AssumeRoleCommand,
    }));
    const { client, AssumeRoleCommand } = await sts.catch((err: unknown) => {
      sts = undefined;
      throw err;
    });
    const out = await client.send(
      new AssumeRoleCommand({
        RoleArn: opts.roleArn,
        RoleSessionName: opts.roleSessionName ?? 'slipway-operator',
        DurationSeconds: 3600,
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${opts.roleArn} returned no credentials`);
    cached = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
    return cached;
  };
}

interface Sendable {
  send(command: unknown, ...rest: unknown[]): unknown;
}

/**
 * The client itself, except that send() gives `signal` as the abortSignal of every call whose options carry none.
 * Everything else (config, middleware, destroy) is the client's own; SDK paginators call client.send, so their
 * pages carry the signal too (and `instanceof` still holds, as they check).
 */
function withAbortSignal<C extends object>(client: C, signal: AbortSignal): C {
  const target = client as unknown as Sendable;
  const send = (command: unknown, ...rest: unknown[]): unknown => {
    const [optionsOrCallback, ...more] = rest;
    // The signal the call runs under (its own, when the caller passed one), for the wait for a rate-limit token.
    const own =
      typeof optionsOrCallback === 'object' ? (optionsOrCallback as { abortSignal?: unknown }).abortSignal : undefined;
    const input = (command as { input?: unknown }).input;
    if (typeof input === 'object' && input !== null) callSignals.set(input, own instanceof AbortSignal ? own : signal);
    // send(command, callback): the options are the second argument when present.
    if (typeof optionsOrCallback === 'function')
      return target.send(command, { abortSignal: signal }, optionsOrCallback);
    const options = optionsOrCallback as { readonly abortSignal?: unknown } | undefined;
    if (options?.abortSignal) return target.send(command, ...rest);
    return target.send(command, { ...options, abortSignal: signal }, ...more);
  };
  return new Proxy(client, {
    get: (obj, prop) => (prop === 'send' ? send : Reflect.get(obj, prop, obj)),
  });
}

/** What a view made by withSignal shares with the clients it was made from. */
interface ViewOf {
  readonly root: AwsClients;
  readonly signal: AbortSignal;
}

export class AwsClients {
  readonly region: string;
  /** The abort signal every call through this view carries; undefined on the shared clients themselves. */
  readonly signal: AbortSignal | undefined;
  /**
   * The shared clients this is a view of (itself when it is not a view): the key for state that belongs to the
   * account and region rather than to one pass, such as a Route53 zone's write queue.
   */
  readonly root: AwsClients;
  private readonly credentials: AwsClientOptions['credentials'];
  /** One SDK client per service; only the root's is used. */
  private readonly cache = new Map<string, unknown>();
  /** This view's wrappers of the root's clients. */
  private readonly views = new Map<string, unknown>();

  /** `view` is withSignal's: create views with withSignal, not here. */
  constructor(
    private readonly opts: AwsClientOptions,
    view?: ViewOf,
  ) {
    this.region = opts.region;
    this.root = view?.root ?? this;
    this.signal = view?.signal;
    this.credentials = view
      ? view.root.credentials
      : opts.roleArn
        ? assumeRoleProvider({ ...opts, roleArn: opts.roleArn })
        : opts.credentials;
  }

  /**
   * A view of these clients for one pass: the same SDK clients (connections, credentials, metrics middleware),
   * whose send() gives `signal` to every call that does not pass an abortSignal of its own, so aborting the pass
   * ends its calls at once, paginators included. Cheap: wrappers are made per service on first use.
   */
  withSignal(signal: AbortSignal): AwsClients {
    return new AwsClients(this.root.opts, { root: this.root, signal });
  }

  /**
   * Tokens left now in the client-side bucket an operation takes from (Infinity with the limits off, or for a
   * service without one). For work that can wait for a quieter moment, such as tidying superseded revisions: it
   * runs only when it would not hold up the calls a rollout needs.
   */
  spareTokens(service: string, operation: string): number {
    const limits = this.root.rateLimits();
    const scope = this.root.rateScope(service);
    const family = limits ? familyOf(scope.service, operation) : undefined;
    if (!limits || !family) return Infinity;
    return limits.bucketFor(scope.account, scope.region, family, operation).available();
  }

  /** The buckets this account's calls take from; undefined with the limits off (against an emulator). */
  private rateLimits(): RateLimits | undefined {
    return this.opts.rateLimits === false ? undefined : (this.opts.rateLimitRegistry ?? sharedRateLimits);
  }

  /**
   * Buckets per account (the role, or the default credentials), region and family. Route53 and CloudFront are
   * global, their APIs in us-east-1: one bucket per account whatever the Environment's region.
   */
  private rateScope(service: string, region?: string): RateScope {
    const global = service === 'route53' || service === 'cloudfront' || service.endsWith('-global');
    return {
      service: service.replace(/-global$/, ''),
      account: this.opts.roleArn ?? 'default',
      region: region ?? (global ? 'us-east-1' : this.opts.region),
    };
  }

  /** `region`: a client of another region than the Environment's (an ECR registry's), keyed `<service>@<region>`. */
  private get<C extends object>(service: string, make: (config: ClientConfig) => C, region?: string): C {
    const root = this.root;
    const key = region ? `${service}@${region}` : service;
    let client = root.cache.get(key) as C | undefined;
    if (!client) {
      client = instrument(make(clientConfig(root.opts, root.credentials)), service, root.opts.onCall);
      guardNotIdempotentCreates(client, service);
      // With the limits off (against an emulator) throttled attempts are still reported.
      limitRate(client, root.rateScope(service, region), root.rateLimits(), root.opts.onRateLimitWait);
      root.cache.set(key, client);
    }
    if (!this.signal) return client;
    let view = this.views.get(key) as C | undefined;
    if (!view) {
      view = withAbortSignal(client, this.signal);
      this.views.set(key, view);
    }
    return view;
  }

  get ecs(): ECSClient {
    return this.get('ecs', (config) => new ECSClient(config));
  }
  get elbv2(): ElasticLoadBalancingV2Client {
    return this.get('elbv2', (config) => new ElasticLoadBalancingV2Client(config));
  }
  get ec2(): EC2Client {
    return this.get('ec2', (config) => new EC2Client(config));
  }
  get logs(): CloudWatchLogsClient {
    return this.get('logs', (config) => new CloudWatchLogsClient(config));
  }
  get autoscaling(): ApplicationAutoScalingClient {
    return this.get('application-autoscaling', (config) => new ApplicationAutoScalingClient(config));
  }
  get cognito(): CognitoIdentityProviderClient {
    return this.get('cognito-idp', (config) => new CognitoIdentityProviderClient(config));
  }
  /** Route53 is a global service: its API lives in us-east-1 whatever the Environment's region. */
  get route53(): Route53Client {
    return this.get('route53', (config) => new Route53Client({ ...config, region: 'us-east-1' }));
  }
  /** CloudFront is global too; its certificates must come from ACM in us-east-1. */
  get cloudfront(): CloudFrontClient {
    return this.get('cloudfront', (config) => new CloudFrontClient({ ...config, region: 'us-east-1' }));
  }
  /** The Resource Groups Tagging API of the region: finds what carries given tags in one paginated read. */
  get tagging(): ResourceGroupsTaggingAPIClient {
    return this.get('tagging', (config) => new ResourceGroupsTaggingAPIClient(config));
  }
  /** The same in us-east-1, where CloudFront's global resources are listed. */
  get taggingGlobal(): ResourceGroupsTaggingAPIClient {
    return this.get(
      'tagging-global',
      (config) => new ResourceGroupsTaggingAPIClient({ ...config, region: 'us-east-1' }),
    );
  }

  /**
   * ECR in the region of a registry (`<account>.dkr.ecr.<region>.amazonaws.com`), with this Environment's
   * credentials: how a tag of an image in ECR is resolved to its digest.
   */
  ecr(region: string): ECRClient {
    return this.get('ecr', (config) => new ECRClient({ ...config, region }), region);
  }

  /** EventBridge of the region (drift events' rules). */
  get events(): EventBridgeClient {
    return this.get('events', (config) => new EventBridgeClient(config));
  }
  /** EventBridge in us-east-1, where CloudTrail delivers the events of Route53 and CloudFront. */
  get eventsGlobal(): EventBridgeClient {
    return this.get('events-global', (config) => new EventBridgeClient({ ...config, region: 'us-east-1' }));
  }
  /** CloudTrail of the region: its event history tells a resync what changed out of band (event-history.ts). */
  get cloudtrail(): CloudTrailClient {
    return this.get('cloudtrail', (config) => new CloudTrailClient(config));
  }
  /** SQS of the region (drift events' queues). */
  get sqs(): SQSClient {
    return this.get('sqs', (config) => new SQSClient(config));
  }
  /** SQS in us-east-1, for the queue of the global services' events. */
  get sqsGlobal(): SQSClient {
    return this.get('sqs-global', (config) => new SQSClient({ ...config, region: 'us-east-1' }));
  }

  /**
   * Closes the clients' connections. On a view it only drops the view's wrappers: the shared clients stay open
   * for the other passes using them.
   */
  destroy(): void {
    this.views.clear();
    if (this.root !== this) return;
    for (const c of this.cache.values()) (c as { destroy(): void }).destroy();
    this.cache.clear();
  }
}
