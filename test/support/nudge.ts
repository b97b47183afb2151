// Forcing a reconcile now instead of waiting for a resync: an annotation change is a meaningful change to the
// operator, so it reconciles the object at once.
import type { Operator } from '../../src/operator.js';
import { eventually, kubectl } from './kube.js';
import { reconcileCount } from './operator.js';

const RESOURCE = {
  environment: 'environments.slipway.dev',
  service: 'services.slipway.dev',
  preview: 'previewdeployments.slipway.dev',
} as const;

/** Waits until no controller has a key waiting or in progress for `quietMs` in a row. */
export async function waitQuiet(operator: Operator, quietMs = 750): Promise<void> {
  let quietSince = 0;
  await eventually(
    'the operator to go quiet',
    async () => {
      if (!operator.idle()) quietSince = 0;
      else quietSince ||= Date.now();
      return quietSince && Date.now() - quietSince > quietMs ? true : undefined;
    },
    30_000,
    50,
  );
}

/** Gives the object a new nudge annotation, which asks for a reconcile now; waits for nothing. */
export function annotateNudge(controller: keyof typeof RESOURCE, namespace: string, name: string): void {
  kubectl([
    'annotate',
    '--overwrite',
    RESOURCE[controller],
    name,
    '-n',
    namespace,
    `test.slipway.dev/nudge=${Date.now()}`,
  ]);
}

/**
 * Annotates the object so that it is reconciled now, waits until that reconcile has run and the operator has gone
 * quiet, so a pass that was already running when the annotation landed is not mistaken for it.
 */
export async function nudge(
  operator: Operator,
  controller: keyof typeof RESOURCE,
  namespace: string,
  name: string,
): Promise<void> {
  const before = await reconcileCount(operator, controller);
  annotateNudge(controller, namespace, name);
  await eventually(
    `a ${controller} reconcile of ${namespace}/${name}`,
    async () => ((await reconcileCount(operator, controller)) > before ? true : undefined),
    30_000,
  );
  await waitQuiet(operator);
}
