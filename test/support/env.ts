// The connection details of the local test environment (real kube-apiserver + moto), as published by
// test/run.ts (or `npm run env`) through environment variables. Integration tests call getTestEnv().
import { KubeConfig } from '@kubernetes/client-node';

export interface TestEnv {
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  /** moto server endpoint, e.g. http://127.0.0.1:5123 — one endpoint serves every AWS service. */
  readonly awsEndpoint: string;
  readonly awsRegion: string;
  readonly awsCredentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

let cached: TestEnv | undefined;

export function getTestEnv(): TestEnv {
  if (cached) return cached;
  const kubeconfigPath = process.env.SLIPWAY_KUBECONFIG;
  const awsEndpoint = process.env.SLIPWAY_AWS_ENDPOINT;
  if (!kubeconfigPath || !awsEndpoint) {
    throw new Error(
      'integration tests need the local environment: run them through `npm test` (test/run.ts), ' +
        'or start it with `npm run env` and export SLIPWAY_KUBECONFIG and SLIPWAY_AWS_ENDPOINT as it prints',
    );
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  cached = {
    kubeconfigPath,
    kubeConfig,
    awsEndpoint,
    awsRegion: process.env.SLIPWAY_AWS_REGION ?? 'us-east-1',
    awsCredentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  return cached;
}

/**
 * The regional quota of load balancers the tests and the benchmark give the operator (SLIPWAY_LOAD_BALANCER_QUOTA):
 * moto answers 20 and enforces nothing, and a lane's emulator keeps the load balancers of the files before, so its
 * count says nothing about a test. A test of the quota sets it from the count it reads.
 */
export const EMULATOR_LOAD_BALANCER_QUOTA = '10000';
