// The local environment can restart kube-apiserver over the same etcd (the chaos suite does it mid-wave): the
// server comes back on the same address with the same credentials, and what was stored before is still there.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { startLocalEnvironment } from '../env/index.js';

test('restartKubeApiserver: same address, same objects', { timeout: 300_000 }, async () => {
  const env = await startLocalEnvironment({ controllerManager: false, log: () => undefined });
  try {
    const kubectl = (...args: string[]) =>
      execFileSync('kubectl', ['--kubeconfig', env.kubeconfigPath, ...args], { encoding: 'utf8' });
    kubectl('create', 'configmap', 'before-restart', '--from-literal=kept=yes');
    const uidBefore = kubectl('get', 'configmap', 'before-restart', '-o', 'jsonpath={.metadata.uid}');

    await env.restartKubeApiserver();

    assert.equal(kubectl('get', 'configmap', 'before-restart', '-o', 'jsonpath={.data.kept}'), 'yes');
    assert.equal(kubectl('get', 'configmap', 'before-restart', '-o', 'jsonpath={.metadata.uid}'), uidBefore);
    kubectl('create', 'configmap', 'after-restart', '--from-literal=written=yes');
    assert.equal(kubectl('get', 'configmap', 'after-restart', '-o', 'jsonpath={.data.written}'), 'yes');
  } finally {
    await env.stop();
  }
});
