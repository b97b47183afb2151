// Typed operator settings, read from the environment once at start-up and validated there, so a bad value stops
// the process with a clear message instead of surfacing in the middle of a reconcile.
import { createHash } from 'node:crypto';

export interface Config {
  /** Written into every AWS resource's tags; several clusters may share one AWS account. */
  readonly clusterId: string;
  /** Watch one namespace only; undefined watches all. */
  readonly watchNamespace?: string;
  /** Overrides every AWS endpoint (the local emulator). Never set in production. */
  readonly awsEndpoint?: string;
  readonly metricsPort: number;
  readonly leaderElection: boolean;
  readonly leaseNamespace: string;
  readonly leaseName: string;
  /**
   * The Lease's timings (SLIPWAY_LEASE_DURATION, SLIPWAY_LEASE_RENEW_DEADLINE, SLIPWAY_LEASE_RETRY_PERIOD; default
   * 10s, 7s, 2s): a standby takes over up to about the duration plus two retry periods after the leader dies, and a
   * leader that cannot renew steps down at the renew deadline, which must be the shorter. Shorter than client-go's
   * 15s / 10s / 2s, whose takeover can come 19.8 s after a kill before any request latency: Slipway promises a
   * takeover within 20 s, and pays for it by stepping down after 7 s without the API server instead of 10 s.
   */
  readonly leaseDurationMs: number;
  readonly leaseRenewDeadlineMs: number;
  readonly leaseRetryPeriodMs: number;
  readonly podName: string;
  /**
   * How the operator's own AWS calls show in CloudTrail (SLIPWAY_AWS_SESSION_NAME, default `slipway-<clusterId>`,
   * 2 to 50 of the characters [A-Za-z0-9+=,.@_-]): the session name of every role it assumes (CloudTrail's
   * `userIdentity.arn` ends in `assumed-role/<role>/<session name>`), and `app/<session name>` in the user agent of
   * every call. Drift events ignore the calls that carry it. For the operator's own role (IRSA), give the pod the
   * same value in AWS_ROLE_SESSION_NAME.
   */
  readonly awsSessionName: string;
  readonly workers: number;
  readonly logLevel: string;
  /** Default resync when an Environment sets none (the CRD defaults it to 5m). */
  readonly defaultResyncMs: number;
  /**
   * The deadline of one reconcile pass: its abort signal reaches every AWS call, so a worker is never busy longer
   * than this, whatever a connection does. What is left is done by the next pass.
   */
  readonly passDeadlineMs: number;
  /** Milliseconds to open a connection to an AWS endpoint (TCP and TLS). */
  readonly awsConnectTimeoutMs: number;
  /**
   * Milliseconds one attempt of an AWS call may take. A connection that went silent (dropped by a NAT gateway or a
   * proxy without a word) fails the attempt after this, instead of holding it until the pass deadline.
   */
  readonly awsRequestTimeoutMs: number;
  /** Client-side token buckets at AWS's published rates (src/aws/rate-limits.ts). Off only against an emulator. */
  readonly awsRateLimits: boolean;
  /**
   * At most this many Services and previews on one load balancer (SLIPWAY_MAX_WORKLOADS_PER_LOAD_BALANCER). Unset
   * or 0: the account's quotas decide (listener rules and target groups per Application Load Balancer, from
   * DescribeAccountLimits, else AWS's default of 100; and 100 callback URLs per Cognito app client when gated).
   * A lower value only lowers that, e.g. to see a second load balancer appear in a test.
   */
  readonly maxWorkloadsPerLoadBalancer?: number;
  /**
   * Application Load Balancers the account may have per region (SLIPWAY_LOAD_BALANCER_QUOTA), in place of the
   * account's quota (DescribeAccountLimits `application-load-balancers`, else AWS's default of 50). Unset or 0: the
   * account's. Lower, it keeps load balancers for others in the account; an emulator's answer is not an account's
   * (moto says 20 and enforces nothing), so tests and the benchmark set it.
   */
  readonly loadBalancerQuota?: number;
  /**
   * How long a registry's manifest API may take to resolve an image tag to its digest when a deployment starts
   * (SLIPWAY_REGISTRY_TIMEOUT, default 3s); past it the tag is deployed unpinned and status.image says why.
   */
  readonly registryTimeoutMs: number;
  /**
   * How far V8 lets the old generation grow past what was live at its last full collection before the next one
   * (SLIPWAY_HEAP_GROWING_PERCENT, default 10, 0 to leave V8's own; main.ts sets it). V8's own is about 30% at the
   * image's old-space size, and a resync wave's passes promote garbage up to that: with 10 the RSS of 1,000 Services
   * and 1,000 previews stays under 150 MiB through a wave, for no measured CPU (BENCHMARKS.md, ninth session).
   * NODE_OPTIONS refuses this V8 flag, hence a setting of the operator's own.
   */
  readonly heapGrowingPercent: number;
}

function int(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

function bool(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new Error(`${name} must be true or false, got "${value}"`);
}

/** A role session name that also fits a user agent's app id (50 characters). */
function sessionName(value: string | undefined, clusterId: string): string {
  if (value === undefined || value === '') {
    const name = `slipway-${clusterId}`;
    return name.length <= 50
      ? name
      : `${name.slice(0, 41)}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
  }
  if (!/^[\w+=,.@-]{2,50}$/.test(value)) {
    throw new Error(
      `SLIPWAY_AWS_SESSION_NAME must be 2 to 50 of the characters A-Z a-z 0-9 + = , . @ _ -, got "${value}"`,
    );
  }
  return value;
}

/** Parses Go-style durations as the CRDs use them: `90s`, `5m`, `1h30m`, `72h`. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  let matched = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]!]!;
    matched += m[0].length;
  }
  if (matched === 0 || matched !== text.length) throw new Error(`"${text}" is not a duration like 90s, 5m or 72h`);
  return total;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const clusterId = env.SLIPWAY_CLUSTER_ID ?? 'default';
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(clusterId)) {
    throw new Error(`SLIPWAY_CLUSTER_ID must be a DNS label (it is written into AWS tags), got "${clusterId}"`);
  }
  const awsEndpoint = env.SLIPWAY_AWS_ENDPOINT ?? env.AWS_ENDPOINT_URL;
  const maxWorkloads = int(
    'SLIPWAY_MAX_WORKLOADS_PER_LOAD_BALANCER',
    env.SLIPWAY_MAX_WORKLOADS_PER_LOAD_BALANCER,
    0,
    0,
    1000,
  );
  const loadBalancerQuota = int('SLIPWAY_LOAD_BALANCER_QUOTA', env.SLIPWAY_LOAD_BALANCER_QUOTA, 0, 0, 100_000);
  const leaseDurationMs = parseDuration(env.SLIPWAY_LEASE_DURATION ?? '10s');
  const leaseRenewDeadlineMs = parseDuration(env.SLIPWAY_LEASE_RENEW_DEADLINE ?? '7s');
  const leaseRetryPeriodMs = parseDuration(env.SLIPWAY_LEASE_RETRY_PERIOD ?? '2s');
  if (leaseRenewDeadlineMs >= leaseDurationMs || leaseRetryPeriodMs <= 0 || leaseRetryPeriodMs >= leaseRenewDeadlineMs)
    throw new Error(
      'SLIPWAY_LEASE_RETRY_PERIOD < SLIPWAY_LEASE_RENEW_DEADLINE < SLIPWAY_LEASE_DURATION must hold (a leader must ' +
        `step down before a standby may take over), got ${leaseRetryPeriodMs} ms, ${leaseRenewDeadlineMs} ms, ${leaseDurationMs} ms`,
    );
  return {
    clusterId,
    ...(env.SLIPWAY_WATCH_NAMESPACE ? { watchNamespace: env.SLIPWAY_WATCH_NAMESPACE } : {}),
    ...(awsEndpoint ? { awsEndpoint } : {}),
    metricsPort: int('SLIPWAY_METRICS_PORT', env.SLIPWAY_METRICS_PORT, 8080, 0, 65535),
    leaderElection: bool('SLIPWAY_LEADER_ELECTION', env.SLIPWAY_LEADER_ELECTION, true),
    leaseNamespace: env.SLIPWAY_LEASE_NAMESPACE ?? env.POD_NAMESPACE ?? 'default',
    leaseName: env.SLIPWAY_LEASE_NAME ?? 'slipway-operator',
    leaseDurationMs,
    leaseRenewDeadlineMs,
    leaseRetryPeriodMs,
    podName: env.POD_NAME ?? env.HOSTNAME ?? 'slipway-local',
    awsSessionName: sessionName(env.SLIPWAY_AWS_SESSION_NAME, clusterId),
    workers: int('SLIPWAY_WORKERS', env.SLIPWAY_WORKERS, 4, 1, 64),
    logLevel: env.SLIPWAY_LOG_LEVEL ?? 'info',
    defaultResyncMs: parseDuration(env.SLIPWAY_DEFAULT_RESYNC ?? '5m'),
    passDeadlineMs: parseDuration(env.SLIPWAY_PASS_DEADLINE ?? '2m'),
    awsConnectTimeoutMs: parseDuration(env.SLIPWAY_AWS_CONNECT_TIMEOUT ?? '3s'),
    awsRequestTimeoutMs: parseDuration(env.SLIPWAY_AWS_REQUEST_TIMEOUT ?? '30s'),
    awsRateLimits: bool('SLIPWAY_AWS_RATE_LIMITS', env.SLIPWAY_AWS_RATE_LIMITS, true),
    registryTimeoutMs: parseDuration(env.SLIPWAY_REGISTRY_TIMEOUT ?? '3s'),
    heapGrowingPercent: int('SLIPWAY_HEAP_GROWING_PERCENT', env.SLIPWAY_HEAP_GROWING_PERCENT, 10, 0, 400),
    ...(maxWorkloads > 0 ? { maxWorkloadsPerLoadBalancer: maxWorkloads } : {}),
    ...(loadBalancerQuota > 0 ? { loadBalancerQuota } : {}),
  };
}
