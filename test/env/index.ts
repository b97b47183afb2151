// The local environment: etcd, kube-apiserver, kube-controller-manager and moto as processes on free loopback
// ports. One entry point for the tests (test/run.ts), the sandbox and the benchmarks.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinaries } from './build.js';
import { onInterrupt } from './interrupt.js';
import { freePort, ProcessGroup, reapOrphans } from './processes.js';
import { KUBERNETES_VERSION, MOTO_VERSION } from './versions.js';

export interface LocalEnvironment {
  readonly kubeconfigPath: string;
  readonly kubeApiUrl: string;
  readonly awsEndpoint: string;
  readonly awsRegion: string;
  readonly stateDir: string;
  /** Environment variables that point kubectl, the AWS SDK and the tests at this environment. */
  readonly exports: Readonly<Record<string, string>>;
  /**
   * Stops kube-apiserver and starts it again on the same port over the same etcd: every object survives, every
   * watch and connection breaks. Resolves when it is ready again. `downMs` keeps it down that long in between;
   * `stopped` is called once the old process has exited (a graceful shutdown under load can take seconds, and its
   * open watches last until then).
   */
  restartKubeApiserver(downMs?: number, stopped?: () => void): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Start kube-controller-manager (garbage collection of ownerReferences, namespace deletion). Default true. */
  readonly controllerManager?: boolean;
  /** Extra environment for moto, e.g. MOTO_ECS_SERVICE_RUNNING. */
  readonly motoEnv?: Readonly<Record<string, string>>;
  readonly log?: (line: string) => void;
}

const ENV_ROOT = join(tmpdir(), 'slipway-envs');
const STARTUP_TIMEOUT_MS = 90_000;

export async function startLocalEnvironment(opts: StartOptions = {}): Promise<LocalEnvironment> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[env] ${l}\n`));
  const bins = await ensureBinaries(log);
  reapOrphans(ENV_ROOT);
  const stateDir = join(ENV_ROOT, `${process.pid}-${randomBytes(3).toString('hex')}`);
  mkdirSync(stateDir, { recursive: true });
  const group = new ProcessGroup(stateDir);
  const stop = async () => {
    await group.stop();
    rmSync(stateDir, { recursive: true, force: true });
  };
  const release = onInterrupt(stop);

  try {
    const [etcdPort, etcdPeerPort, apiPort, kcmPort, motoPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);

    // etcd
    const etcd = group.start('etcd', bins.etcd, [
      `--data-dir=${join(stateDir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);

    // moto starts alongside: it does not depend on the control plane.
    const moto = group.start('moto', bins.motoServer, ['-H', '127.0.0.1', '-p', String(motoPort)], {
      MOTO_ACM_VALIDATION_WAIT: '0',
      ...opts.motoEnv,
    });
    const awsEndpoint = `http://127.0.0.1:${motoPort}`;

    await group.waitFor(etcd, async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok, STARTUP_TIMEOUT_MS);

    // kube-apiserver: an admin token in group system:masters, and service-account keys made here.
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(stateDir, 'tokens.csv'), `${token},slipway-admin,slipway-admin,"system:masters"\n`);
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(stateDir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(stateDir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const apiArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(stateDir, 'apiserver-certs')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(stateDir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(stateDir, 'sa.key')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=RBAC',
      '--disable-admission-plugins=ServiceAccount',
      `--token-auth-file=${join(stateDir, 'tokens.csv')}`,
      '--enable-priority-and-fairness=false',
      '--v=0',
    ];
    let api = group.start('kube-apiserver', bins.kubeApiserver, apiArgs);
    const kubeApiUrl = `https://127.0.0.1:${apiPort}`;
    await group.waitFor(api, () => httpsOk(`${kubeApiUrl}/readyz`, token), STARTUP_TIMEOUT_MS);
    const restartKubeApiserver = async (downMs = 0, stopped?: () => void): Promise<void> => {
      await group.stopOne(api);
      stopped?.();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      api = group.start('kube-apiserver', bins.kubeApiserver, apiArgs);
      await group.waitFor(api, () => httpsOk(`${kubeApiUrl}/readyz`, token), STARTUP_TIMEOUT_MS);
      log(`kube-apiserver restarted at ${kubeApiUrl}`);
    };

    const kubeconfigPath = join(stateDir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfig(kubeApiUrl, token));

    if (opts.controllerManager !== false) {
      const kcm = group.start('kube-controller-manager', bins.kubeControllerManager, [
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${kcmPort}`,
        `--cert-dir=${join(stateDir, 'kcm-certs')}`,
        // Garbage collection of ownerReferences, namespace deletion, and a default ServiceAccount per namespace.
        '--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller',
        '--leader-elect=false',
        '--use-service-account-credentials=false',
        '--v=0',
      ]);
      await group.waitFor(kcm, () => httpsOk(`https://127.0.0.1:${kcmPort}/healthz`), STARTUP_TIMEOUT_MS);
    }

    await group.waitFor(moto, async () => (await fetch(`${awsEndpoint}/moto-api/data.json`)).ok, STARTUP_TIMEOUT_MS);
    log(`up: kube-apiserver v${KUBERNETES_VERSION} at ${kubeApiUrl}, moto ${MOTO_VERSION} at ${awsEndpoint}`);

    const awsRegion = 'us-east-1';
    return {
      kubeconfigPath,
      kubeApiUrl,
      awsEndpoint,
      awsRegion,
      stateDir,
      exports: {
        KUBECONFIG: kubeconfigPath,
        SLIPWAY_KUBECONFIG: kubeconfigPath,
        SLIPWAY_AWS_ENDPOINT: awsEndpoint,
        SLIPWAY_AWS_REGION: awsRegion,
        AWS_ENDPOINT_URL: awsEndpoint,
        AWS_REGION: awsRegion,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
      },
      restartKubeApiserver,
      stop: async () => {
        release();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function kubeconfig(server: string, token: string): string {
  // The API server's serving certificate is self-signed for loopback; the environment never leaves this machine.
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: slipway-local',
    '  cluster:',
    `    server: ${server}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    '- name: slipway-admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: slipway-local',
    '  context:',
    '    cluster: slipway-local',
    '    user: slipway-admin',
    '    namespace: default',
    'current-context: slipway-local',
    '',
  ].join('\n');
}

function httpsOk(url: string, token?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { rejectUnauthorized: false, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
