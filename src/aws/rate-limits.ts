// Client-side rate limits: token buckets per account, region and API family, shared by every controller and every
// pass in the process, at the rates AWS publishes. Staying under them means AWS rarely throttles us at all, so a
// resync wave of hundreds of Services queues here for milliseconds instead of failing, backing off and retrying.
// AWS throttling is still handled where it arrives (the SDK retries it, then the queue backs off); a call waiting
// for a token is bounded by its pass's signal like every other wait.
//
// Each attempt takes a token (the SDK's retries included), since AWS counts every request.
import { classifyError } from './errors.js';
import { aroundEachAttempt, operationOf } from './middleware.js';

/** One family of operations that AWS throttles together, with its bucket. */
export interface RateFamily {
  readonly service: string;
  readonly family: string;
  /** Operations in the family; the first family of a service that matches wins. */
  readonly operations: RegExp;
  /** Bucket size: the burst. */
  readonly burst: number;
  /** Tokens added per second: the sustained rate. */
  readonly perSecond: number;
  /**
   * Every operation of the family has a bucket of its own (EC2 evaluates each API individually); otherwise the
   * family's operations share one.
   */
  readonly perOperation?: boolean;
  /** Where the figure comes from; "conservative" where AWS publishes none and the figure is our choice. */
  readonly source: string;
}

const CLOUDTRAIL = 'https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html';
const ELB = 'https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html';
/** The AWS Load Balancer Controller's client-side defaults, which mirror the ELB page's target-registration bucket. */
const LBC = 'https://github.com/kubernetes-sigs/aws-load-balancer-controller/blob/main/pkg/aws/throttle/defaults.go';
const ECS = 'https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html';
const EC2 = 'https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html';
const ROUTE53 = 'https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/throttling-api-requests.html';
const COGNITO = 'https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html#category_operations';
const LOGS = 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html';
/** Where AWS publishes no figure for an API, a conservative one is used and the table says so. */
const CONSERVATIVE = 'no published figure; conservative';

const READ = /^(Describe|List|Get)/;

/**
 * The table: service, operations → family, bucket size (burst), refill per second, and the source of each figure.
 * Buckets are per account and region (Route53 and CloudFront: per account; their key's region is us-east-1).
 * STS is not limited: credentials are fetched once an hour per role.
 */
export const RATE_FAMILIES: readonly RateFamily[] = [
  // ELBv2: all non-mutating (Describe*) calls share a bucket of 40 that refills at 10/s (the page's own example).
  { service: 'elbv2', family: 'describe', operations: READ, burst: 40, perSecond: 10, source: ELB },
  {
    service: 'elbv2',
    family: 'register-targets',
    operations: /^(Register|Deregister)Targets$/,
    burst: 20,
    perSecond: 4,
    source: `${ELB}; ${LBC}`,
  },
  {
    service: 'elbv2',
    family: 'mutate',
    operations: /./,
    burst: 20,
    perSecond: 5,
    source: `${ELB} (rule, listener and target group writes: ${CONSERVATIVE})`,
  },
  // ECS: per account and region, a burst (bucket) and a sustained rate (refill) per category of operations.
  {
    service: 'ecs',
    family: 'service-read',
    operations: /^(DescribeServices|ListServices)$/,
    burst: 100,
    perSecond: 20,
    source: ECS,
  },
  {
    service: 'ecs',
    family: 'service-modify',
    operations: /^(Create|Update|Delete)Service$/,
    burst: 50,
    perSecond: 5,
    source: ECS,
  },
  {
    service: 'ecs',
    family: 'task-definition-modify',
    operations: /^(Register|Deregister)TaskDefinition$/,
    burst: 20,
    perSecond: 1,
    source: ECS,
  },
  {
    service: 'ecs',
    family: 'read',
    operations: READ,
    burst: 50,
    perSecond: 20,
    source: `${ECS} (cluster reads: bucket 50; other reads: ${CONSERVATIVE})`,
  },
  { service: 'ecs', family: 'write', operations: /./, burst: 20, perSecond: 5, source: `${ECS} (${CONSERVATIVE})` },
  // EC2: request rate limiting evaluates each API individually: one bucket per action.
  {
    service: 'ec2',
    family: 'describe',
    operations: READ,
    burst: 100,
    perSecond: 20,
    perOperation: true,
    source: `${EC2} (non-mutating actions, e.g. DescribeHosts)`,
  },
  {
    service: 'ec2',
    family: 'mutate',
    operations: /./,
    burst: 200,
    perSecond: 5,
    perOperation: true,
    source: `${EC2} (mutating actions)`,
  },
  // Route53: one account-level bucket for all operations (50, 10/s since the change-based throttling update; the
  // older figure was 5 requests a second). Global: one bucket per account whatever the Environment's region.
  {
    service: 'route53',
    family: 'all',
    operations: /./,
    burst: 50,
    perSecond: 10,
    source: `${ROUTE53} (account level)`,
  },
  // Cognito user pools: a requests-per-second quota per category; no burst is published, so one second's worth.
  {
    service: 'cognito-idp',
    family: 'user-pool-client-read',
    operations: /^(DescribeUserPoolClient|ListUserPoolClients)$/,
    burst: 15,
    perSecond: 15,
    source: `${COGNITO} (UserPoolClientRead)`,
  },
  {
    service: 'cognito-idp',
    family: 'user-pool-client-update',
    operations: /^(Create|Update|Delete)UserPoolClient$/,
    burst: 15,
    perSecond: 15,
    source: `${COGNITO} (UserPoolClientUpdate)`,
  },
  {
    service: 'cognito-idp',
    family: 'user-pool-read',
    operations: READ,
    burst: 15,
    perSecond: 15,
    source: `${COGNITO} (UserPoolRead and UserPoolResourceRead: the lower figure, ${CONSERVATIVE})`,
  },
  {
    service: 'cognito-idp',
    family: 'user-pool-update',
    operations: /./,
    burst: 15,
    perSecond: 15,
    source: `${COGNITO} (UserPoolUpdate and UserPoolResourceUpdate; ${CONSERVATIVE})`,
  },
  { service: 'logs', family: 'read', operations: READ, burst: 10, perSecond: 10, source: `${LOGS} (${CONSERVATIVE})` },
  { service: 'logs', family: 'write', operations: /./, burst: 5, perSecond: 5, source: `${LOGS} (${CONSERVATIVE})` },
  {
    service: 'application-autoscaling',
    family: 'all',
    operations: /./,
    burst: 20,
    perSecond: 10,
    source: CONSERVATIVE,
  },
  { service: 'cloudfront', family: 'all', operations: /./, burst: 10, perSecond: 10, source: CONSERVATIVE },
  // CloudTrail's event history: LookupEvents allows two requests a second per account and region, and says so.
  { service: 'cloudtrail', family: 'lookup', operations: /^LookupEvents$/, burst: 2, perSecond: 2, source: CLOUDTRAIL },
  // Resource Groups Tagging API (GetResources pages of tag reads).
  { service: 'tagging', family: 'all', operations: /./, burst: 5, perSecond: 5, source: CONSERVATIVE },
];

/** The family of a call; undefined for services not in the table (STS). */
export function familyOf(service: string, operation: string): RateFamily | undefined {
  return RATE_FAMILIES.find((f) => f.service === service && f.operations.test(operation));
}

export interface LimiterClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: LimiterClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('aborted while waiting for an AWS rate-limit token'), {
    name: 'AbortError',
    cause: signal.reason,
  });
}

/**
 * The refusal of a token whose wait would exceed the bucket's longest wait. It carries the SDK's throttling trait,
 * so it is classified as throttling (errors.ts): the call's outcome is Throttled and the queue backs off.
 */
export class RateLimitExceeded extends Error {
  override readonly name = 'RateLimitExceeded';
  readonly $retryable = { throttling: true };
  constructor(readonly waitMs: number) {
    super(`the client-side rate limit would hold this call for ${waitMs} ms; refused, the queue backs off instead`);
  }
}

/** The longest a call waits for a token by default: past it the call is refused, and its key backs off. */
export const DEFAULT_MAX_WAIT_MS = 60_000;

/**
 * A token bucket. A caller that finds it empty reserves the next token (the count goes below zero) and waits
 * until that token has been refilled, so callers are served in order without a queue; one that gives up returns
 * its reservation. No timer runs while tokens are available. The reservations are bounded: a caller whose wait
 * would exceed `maxWaitMs` is refused at once (RateLimitExceeded) without reserving, so the backlog never holds more
 * than maxWaitMs × perSecond callers, with or without a signal.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly burst: number,
    readonly perSecond: number,
    private readonly clock: LimiterClock = systemClock,
    readonly maxWaitMs: number = DEFAULT_MAX_WAIT_MS,
  ) {
    this.tokens = burst;
    this.at = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
  }

  /** Tokens available now (negative: reserved by waiting callers). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Takes a token, waiting for one when there is none; resolves to the milliseconds waited. */
  take(signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve(0);
    }
    const waitMs = Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
    if (waitMs > this.maxWaitMs) return Promise.reject(new RateLimitExceeded(waitMs));
    this.tokens -= 1;
    return new Promise<number>((resolve, reject) => {
      const onAbort = () => {
        this.clock.clearTimeout(timer);
        this.tokens += 1; // the reservation goes back
        reject(abortError(signal!));
      };
      const timer = this.clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(waitMs);
      }, waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

export interface RateLimitsOptions {
  readonly clock?: LimiterClock;
  /** The longest a call waits for a token (DEFAULT_MAX_WAIT_MS). */
  readonly maxWaitMs?: number;
}

/**
 * Buckets shared by every client of the process, keyed by account (role, or the default credentials), region and
 * family (and operation, for a family whose operations each have their own bucket).
 */
export class RateLimits {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly clock: LimiterClock;
  private readonly maxWaitMs: number;

  constructor(options: RateLimitsOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  }

  bucketFor(account: string, region: string, family: RateFamily, operation = ''): TokenBucket {
    const key = `${account}|${region}|${family.service}:${family.family}${family.perOperation ? `:${operation}` : ''}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(family.burst, family.perSecond, this.clock, this.maxWaitMs);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  /** How many buckets exist (for tests: which calls shared one). */
  get size(): number {
    return this.buckets.size;
  }
}

/** The process's buckets: every AwsClients for one account and region shares them. */
export const sharedRateLimits = new RateLimits();

/**
 * What the limiter reports: a wait for a token, and a throttled attempt, refused by AWS (`aws`) or by the
 * client-side limit's longest wait (`client`). The SDK retries a throttled attempt, so these count attempts; the
 * calls that stayed throttled after the retries are slipway_aws_calls_total{outcome="throttled"}.
 */
export type RateLimitEvent =
  | { readonly kind: 'wait'; readonly service: string; readonly family: string; readonly seconds: number }
  | {
      readonly kind: 'throttled';
      readonly service: string;
      readonly operation: string;
      readonly by: 'aws' | 'client';
    };

export type RateLimitListener = (event: RateLimitEvent) => void;

/**
 * The abort signal a call was sent with, by the command's input: middleware does not see send()'s options, so the
 * signal-bound clients (clients.ts withAbortSignal) record it here for the wait for a token.
 */
export const callSignals = new WeakMap<object, AbortSignal>();

/** Whose bucket a client's calls take from: the account (role ARN or `default`) and region of its scope. */
export interface RateScope {
  readonly service: string;
  readonly account: string;
  readonly region: string;
}

/**
 * Makes every attempt of the client's calls take a token of its family first (inside the SDK's retry loop, so a
 * retry takes one too) and reports the attempts throttled. The wait is bounded by the call's abort signal (the pass
 * deadline) and by the bucket's longest wait. Without `limits` (rate limits off) throttled attempts are still
 * reported.
 */
export function limitRate<C>(
  client: C,
  scope: RateScope,
  limits: RateLimits | undefined,
  onEvent?: RateLimitListener,
): C {
  return aroundEachAttempt(client, 'slipwayRateLimit', (next, context) => async (args) => {
    const operation = operationOf(context);
    const family = limits ? familyOf(scope.service, operation) : undefined;
    if (limits && family) {
      const input = (args as { input?: unknown }).input;
      const signal = typeof input === 'object' && input !== null ? callSignals.get(input) : undefined;
      let waited: number;
      try {
        waited = await limits.bucketFor(scope.account, scope.region, family, operation).take(signal);
      } catch (err) {
        if (err instanceof RateLimitExceeded)
          onEvent?.({ kind: 'throttled', service: scope.service, operation, by: 'client' });
        throw err;
      }
      if (waited > 0)
        onEvent?.({ kind: 'wait', service: scope.service, family: family.family, seconds: waited / 1000 });
    }
    try {
      return await next(args);
    } catch (err) {
      if (classifyError(err) === 'throttled')
        onEvent?.({ kind: 'throttled', service: scope.service, operation, by: 'aws' });
      throw err;
    }
  });
}
