// Builds the servers the local environment needs, once per version, into a cache outside the work tree:
// kube-apiserver, kube-controller-manager and etcd from the Go module proxy, moto from PyPI into a virtualenv.
//
// `go install k8s.io/kubernetes/cmd/...@vX` fails on that module's replace directives, so the build uses a
// throwaway module that requires k8s.io/kubernetes and replaces every staging module (k8s.io/api, ...) with
// its published v0.Y.Z twin — the list is read from Kubernetes' own go.mod. Helm (for the chart tests) is a plain
// `go install` of its released module.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cacheRoot, ETCD_VERSION, KUBERNETES_VERSION, MOTO_VERSION } from './versions.js';
import { isAlive } from './processes.js';

export interface Binaries {
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly etcd: string;
  readonly motoServer: string;
}

type Log = (line: string) => void;

const goEnv = { GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };

/** Runs a command, streaming nothing; on failure the error carries the tail of its output. */
async function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out.slice(-4000)}`));
    });
  });
}

/** A directory lock so two test runs on one machine never build the same thing at once. */
async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(cacheRoot(), 'locks', name);
  mkdirSync(join(cacheRoot(), 'locks'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      const holder = Number(readFileSync(join(lock, 'pid'), 'utf8').trim() || '0');
      if (!holder || !isAlive(holder)) rmSync(lock, { recursive: true, force: true });
      else await sleep(2000);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

async function timed<T>(log: Log, what: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  log(`${what} ...`);
  const result = await fn();
  log(`${what}: done in ${((Date.now() - start) / 1000).toFixed(0)}s`);
  return result;
}

async function buildKubernetes(outDir: string, log: Log): Promise<void> {
  const v = KUBERNETES_VERSION;
  const [major, minor] = v.split('.');
  const work = join(cacheRoot(), 'build', `kubernetes-v${v}`);
  mkdirSync(work, { recursive: true });
  const info = JSON.parse(
    await run('go', ['mod', 'download', '-json', `k8s.io/kubernetes@v${v}`], { cwd: work, env: goEnv }),
  ) as {
    GoMod: string;
  };
  const staging = [...readFileSync(info.GoMod, 'utf8').matchAll(/^\s+(k8s\.io\/[\w.-]+) => \.\/staging\//gm)].map(
    (m) => m[1]!,
  );
  if (staging.length < 10) throw new Error(`could not read the staging modules from ${info.GoMod}`);
  const replaces = staging.map((m) => `\t${m} => ${m} v0.${minor}.${v.split('.')[2]}`).join('\n');
  writeFileSync(
    join(work, 'go.mod'),
    `module slipway.local/kubernetes-build\n\ngo 1.24.0\n\ngodebug default=go1.24\n\nrequire k8s.io/kubernetes v${v}\n\nreplace (\n${replaces}\n)\n`,
  );
  writeFileSync(
    join(work, 'tools.go'),
    '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n)\n',
  );
  await timed(log, `resolving Kubernetes v${v} modules`, () => run('go', ['mod', 'tidy'], { cwd: work, env: goEnv }));
  const pkg = 'k8s.io/component-base/version';
  const ldflags = [
    '-s -w',
    `-X ${pkg}.gitVersion=v${v}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
  ].join(' ');
  const tmp = `${outDir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await timed(log, `building kube-apiserver and kube-controller-manager v${v} (several minutes when cold)`, () =>
    run(
      'go',
      [
        'build',
        '-trimpath',
        '-ldflags',
        ldflags,
        '-o',
        `${tmp}/`,
        'k8s.io/kubernetes/cmd/kube-apiserver',
        'k8s.io/kubernetes/cmd/kube-controller-manager',
      ],
      { cwd: work, env: goEnv },
    ),
  );
  rmSync(outDir, { recursive: true, force: true });
  renameSync(tmp, outDir);
}

async function buildEtcd(outDir: string, log: Log): Promise<void> {
  const work = join(cacheRoot(), 'build', `etcd-v${ETCD_VERSION}`);
  mkdirSync(work, { recursive: true });
  writeFileSync(
    join(work, 'go.mod'),
    `module slipway.local/etcd-build\n\ngo 1.23\n\nrequire go.etcd.io/etcd/server/v3 v${ETCD_VERSION}\n`,
  );
  writeFileSync(
    join(work, 'main.go'),
    'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n',
  );
  await timed(log, `resolving etcd v${ETCD_VERSION} modules`, () =>
    run('go', ['mod', 'tidy'], { cwd: work, env: goEnv }),
  );
  const tmp = `${outDir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await timed(log, `building etcd v${ETCD_VERSION}`, () =>
    run('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', join(tmp, 'etcd'), '.'], { cwd: work, env: goEnv }),
  );
  rmSync(outDir, { recursive: true, force: true });
  renameSync(tmp, outDir);
}

async function installMoto(venv: string, log: Log): Promise<void> {
  // A virtualenv's scripts hard-code its path, so it is built in place; `.complete` marks a finished install.
  rmSync(venv, { recursive: true, force: true });
  await run('python3', ['-m', 'venv', venv]);
  await timed(log, `installing moto[server]==${MOTO_VERSION} into a virtualenv`, () =>
    run(join(venv, 'bin', 'pip'), [
      'install',
      '--disable-pip-version-check',
      '--quiet',
      `moto[server]==${MOTO_VERSION}`,
    ]),
  );
  writeFileSync(join(venv, '.complete'), MOTO_VERSION);
}

/** Helm release used by the chart tests; `go list -m -versions helm.sh/helm/v3` shows what the proxy serves. */
export const HELM_VERSION = '3.21.4';

/**
 * Returns the path of the helm binary, building it from the Go module proxy into the cache when missing. The
 * ldflags are the ones helm's own Makefile sets: its version, and the Kubernetes version `helm template` and
 * `helm lint` assume, which is that of the client-go it is built with (read from helm's go.mod).
 */
export async function ensureHelm(log: Log = (l) => process.stderr.write(`[env] ${l}\n`)): Promise<string> {
  const bin = join(cacheRoot(), 'bin', `helm-v${HELM_VERSION}`);
  if (existsSync(bin)) return bin;
  await withLock('helm', async () => {
    if (existsSync(bin)) return;
    const work = cacheRoot();
    // go install pkg@version ignores any go.mod, and refuses -mod=mod.
    const env = { ...goEnv, GOFLAGS: '' };
    const mod = `helm.sh/helm/v3@v${HELM_VERSION}`;
    const info = JSON.parse(await run('go', ['mod', 'download', '-json', mod], { cwd: work, env })) as {
      GoMod: string;
    };
    const clientGo = /^\s*k8s\.io\/client-go v0\.(\d+)\./m.exec(readFileSync(info.GoMod, 'utf8'));
    if (!clientGo) throw new Error(`could not read the client-go version from ${info.GoMod}`);
    const ldflags = [
      '-s -w',
      `-X helm.sh/helm/v3/internal/version.version=v${HELM_VERSION}`,
      ...['pkg/lint/rules', 'pkg/chartutil'].flatMap((p) => [
        `-X helm.sh/helm/v3/${p}.k8sVersionMajor=1`,
        `-X helm.sh/helm/v3/${p}.k8sVersionMinor=${clientGo[1]}`,
      ]),
    ].join(' ');
    const tmp = `${bin}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await timed(log, `building helm v${HELM_VERSION}`, () =>
      run('go', ['install', '-trimpath', '-ldflags', ldflags, `helm.sh/helm/v3/cmd/helm@v${HELM_VERSION}`], {
        cwd: work,
        env: { ...env, GOBIN: tmp },
      }),
    );
    renameSync(join(tmp, 'helm'), bin);
    rmSync(tmp, { recursive: true, force: true });
  });
  return bin;
}

/** Returns the paths of every server binary, building or installing whatever is missing from the cache. */
export async function ensureBinaries(log: Log = (l) => process.stderr.write(`[env] ${l}\n`)): Promise<Binaries> {
  const root = cacheRoot();
  const k8sDir = join(root, 'bin', `kubernetes-v${KUBERNETES_VERSION}`);
  const etcdDir = join(root, 'bin', `etcd-v${ETCD_VERSION}`);
  const venv = join(root, `moto-${MOTO_VERSION}`);
  const bins: Binaries = {
    kubeApiserver: join(k8sDir, 'kube-apiserver'),
    kubeControllerManager: join(k8sDir, 'kube-controller-manager'),
    etcd: join(etcdDir, 'etcd'),
    motoServer: join(venv, 'bin', 'moto_server'),
  };
  const motoReady = () => existsSync(join(venv, '.complete'));
  // The builds are independent; run them side by side (Go parallelises within each anyway).
  await Promise.all([
    existsSync(bins.kubeApiserver) && existsSync(bins.kubeControllerManager)
      ? undefined
      : withLock('kubernetes', async () => {
          if (!existsSync(bins.kubeApiserver)) await buildKubernetes(k8sDir, log);
        }),
    existsSync(bins.etcd)
      ? undefined
      : withLock('etcd', async () => {
          if (!existsSync(bins.etcd)) await buildEtcd(etcdDir, log);
        }),
    motoReady()
      ? undefined
      : withLock('moto', async () => {
          if (!motoReady()) await installMoto(venv, log);
        }),
  ]);
  return bins;
}
