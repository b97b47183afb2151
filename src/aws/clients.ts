// SDK clients for one (region, role) pair, built lazily and shared by every reconcile of that Environment.
// A middleware times and counts every call; credentials come from the SDK's default chain, or from STS
// AssumeRole when the Environment names a role in another account.
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { CallListener, CallOutcome } from './calls.js';
import { classifyError } from './errors.js';

export interface AwsClientOptions {
  readonly region: string;
  /** Override for every service (the emulator in tests and the sandbox). Absent in production. */
  readonly endpoint?: string;
  /** IAM role to assume for this Environment's account. */
  readonly roleArn?: string;
  /** Session name for AssumeRole; shows in the target account's CloudTrail. */
  readonly roleSessionName?: string;
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  readonly onCall?: CallListener;
  readonly maxAttempts?: number;
}

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

/** Shared configuration for every client; the SDK's own retries are kept short, our queue backs off beyond. */
function baseConfig(opts: AwsClientOptions, credentials: AwsClientOptions['credentials']) {
  return {
    region: opts.region,
    maxAttempts: opts.maxAttempts ?? 3,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  };
}

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

/** Credentials from STS AssumeRole, refreshed five minutes before they expire. */
function assumeRoleProvider(opts: AwsClientOptions & { roleArn: string }): AwsCredentialIdentityProvider {
  const sts = instrument(new STSClient(baseConfig(opts, opts.credentials)), 'sts', opts.onCall);
  let cached: AwsCredentialIdentity | undefined;
  return async () => {
    if (cached?.expiration && cached.expiration.getTime() - Date.now() > 5 * 60_000) return cached;
    const out = await sts.send(
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

export class AwsClients {
  readonly region: string;
  private readonly config: ReturnType<typeof baseConfig>;
  private readonly cache = new Map<string, unknown>();

  constructor(private readonly opts: AwsClientOptions) {
    this.region = opts.region;
    const credentials = opts.roleArn ? assumeRoleProvider({ ...opts, roleArn: opts.roleArn }) : opts.credentials;
    this.config = baseConfig(opts, credentials);
  }

  private get<C>(service: string, make: () => C): C {
    let c = this.cache.get(service) as C | undefined;
    if (!c) {
      c = instrument(make(), service, this.opts.onCall);
      this.cache.set(service, c);
    }
    return c;
  }

  get ecs(): ECSClient {
    return this.get('ecs', () => new ECSClient(this.config));
  }
  get elbv2(): ElasticLoadBalancingV2Client {
    return this.get('elbv2', () => new ElasticLoadBalancingV2Client(this.config));
  }
  get ec2(): EC2Client {
    return this.get('ec2', () => new EC2Client(this.config));
  }
  get logs(): CloudWatchLogsClient {
    return this.get('logs', () => new CloudWatchLogsClient(this.config));
  }
  get autoscaling(): ApplicationAutoScalingClient {
    return this.get('application-autoscaling', () => new ApplicationAutoScalingClient(this.config));
  }
  get cognito(): CognitoIdentityProviderClient {
    return this.get('cognito-idp', () => new CognitoIdentityProviderClient(this.config));
  }
  /** Route53 is a global service: its API lives in us-east-1 whatever the Environment's region. */
  get route53(): Route53Client {
    return this.get('route53', () => new Route53Client({ ...this.config, region: 'us-east-1' }));
  }
  /** CloudFront is global too; its certificates must come from ACM in us-east-1. */
  get cloudfront(): CloudFrontClient {
    return this.get('cloudfront', () => new CloudFrontClient({ ...this.config, region: 'us-east-1' }));
  }

  destroy(): void {
    for (const c of this.cache.values()) (c as { destroy(): void }).destroy();
    this.cache.clear();
  }
}
