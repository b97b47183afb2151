// Client-side rate limits: token buckets per account, region and API family, shared by every controller and every
// pass in the process, at the rates AWS publishes. Staying under them means AWS rarely throttles us at all, so a
// resync wave of hundreds of Services queues here for milliseconds instead of failing, backing off and retrying.
// AWS throttling is still handled where it arrives (the SDK retries it, then the queue backs off); a call waiting
// for a token is bounded by its pass's signal like every other wait.
//
// Each attempt takes a token (the SDK's retries included), since AWS counts every request.
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
  readonly source: string;
}

const ELB = 'https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html';
const ECS = 'https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html';
const EC2 = 'https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html';
const ROUTE53 = 'https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html#limits-api-requests';
const COGNITO = 'https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html';
const LOGS = 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html';
/** Where AWS publishes no figure for an API, a conservative one is used and the table says so. */
const UNPUBLISHED = 'not published per operation; conservative';

const READ = /^(Describe|List|Get)/;

/** The table: AWS's published figures where there are some, and the source of each. */
export const RATE_FAMILIES: readonly RateFamily[] = [
  { service: 'elbv2', family: 'describe', operations: READ, burst: 40, perSecond: 10, source: ELB },
  { service: 'elbv2', family: 'mutate', operations: /./, burst: 20, perSecond: 5, source: `${ELB} (${UNPUBLISHED})` },
  {
    service: 'ecs',
    family: 'describe-services',
    operations: /^DescribeServices$/,
    burst: 100,
    perSecond: 20,
    source: ECS,
  },
  {
    service: 'ecs',
    family: 'service-writes',
    operations: /^(Create|Update|Delete)Service$/,
    burst: 50,
    perSecond: 5,
    source: ECS,
  },
  {
    service: 'ecs',
    family: 'register-task-definition',
    operations: /^RegisterTaskDefinition$/,
    burst: 20,
    perSecond: 1,
    source: ECS,
  },
  { service: 'ecs', family: 'read', operations: READ, burst: 50, perSecond: 20, source: `${ECS} (${UNPUBLISHED})` },
  { service: 'ecs', family: 'write', operations: /./, burst: 20, perSecond: 5, source: `${ECS} (${UNPUBLISHED})` },
  { service: 'ec2', family: 'describe', operations: READ, burst: 100, perSecond: 20, source: EC2 },
  { service: 'ec2', family: 'mutate', operations: /./, burst: 200, perSecond: 5, source: EC2 },
  // Route53: five requests a second per account, all operations together; global, so one bucket per account.
  { service: 'route53', family: 'all', operations: /./, burst: 5, perSecond: 5, source: ROUTE53 },
  {
    service: 'cognito-idp',
    family: 'all',
    operations: /./,
    burst: 15,
    perSecond: 15,
    source: `${COGNITO} (app client read and update; the lowest category used)`,
  },
  { service: 'logs', family: 'read', operations: READ, burst: 10, perSecond: 10, source: LOGS },
  { service: 'logs', family: 'write', operations: /./, burst: 5, perSecond: 5, source: LOGS },
  {
    service: 'application-autoscaling',
    family: 'all',
    operations: /./,
    burst: 20,
    perSecond: 10,
    source: UNPUBLISHED,
  },
  { service: 'cloudfront', family: 'all', operations: /./, burst: 10, perSecond: 10, source: UNPUBLISHED },
  { service: 'tagging', family: 'all', operations: /./, burst: 5, perSecond: 5, source: UNPUBLISHED },
];

/** The family of a call; undefined for services not in the table (STS: its quota is far above our use). */
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
 * A token bucket. A caller that finds it empty reserves the next token (the count goes below zero) and waits
 * until that token has been refilled, so callers are served in order without a queue; one that gives up returns
 * its reservation. No timer runs while tokens are available.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly burst: number,
    readonly perSecond: number,
    private readonly clock: LimiterClock = systemClock,
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
    this.tokens -= 1;
    if (this.tokens >= 0) return Promise.resolve(0);
    const waitMs = Math.ceil((-this.tokens / this.perSecond) * 1000);
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

/** Buckets shared by every client of the process, keyed by account (role or default), region and family. */
export class RateLimits {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly clock: LimiterClock = systemClock) {}

  bucketFor(account: string, region: string, family: RateFamily): TokenBucket {
    const key = `${account}|${region}|${family.service}:${family.family}`;
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(family.burst, family.perSecond, this.clock)));
    return bucket;
  }
}

/** The process's buckets: every AwsClients for one account and region shares them. */
export const sharedRateLimits = new RateLimits();

export type RateLimitWaitListener = (wait: {
  readonly service: string;
  readonly family: string;
  readonly seconds: number;
}) => void;

/**
 * The abort signal a call was sent with, by the command's input: middleware does not see send()'s options, so the
 * signal-bound clients (clients.ts withAbortSignal) record it here for the wait for a token.
 */
export const callSignals = new WeakMap<object, AbortSignal>();

/**
 * Makes every attempt of the client's calls take a token of its family first (inside the SDK's retry loop, so a
 * retry takes one too). The wait is bounded by the call's abort signal: the pass deadline.
 */
export function limitRate<C>(
  client: C,
  scope: { readonly service: string; readonly account: string; readonly region: string },
  limits: RateLimits,
  onWait?: RateLimitWaitListener,
): C {
  return aroundEachAttempt(client, 'slipwayRateLimit', (next, context) => async (args) => {
    const family = familyOf(scope.service, operationOf(context));
    if (family) {
      const input = (args as { input?: unknown }).input;
      const signal = typeof input === 'object' && input !== null ? callSignals.get(input) : undefined;
      const waited = await limits.bucketFor(scope.account, scope.region, family).take(signal);
      if (waited > 0) onWait?.({ service: scope.service, family: family.family, seconds: waited / 1000 });
    }
    return next(args);
  });
}
