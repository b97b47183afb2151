// status.history: the last deployments of a Service, newest first. Pure: previous history + the deployment the pass
// planned + what ECS says of the service's deployments + annotations + now → the next history.
//
// A deployment is a task definition revision: a new revision in the plan opens an entry (InProgress); ECS's
// deployments then settle it. With the circuit breaker's rollback on, a failed deployment shows in DescribeServices
// as a deployment of our revision with rolloutState FAILED, while the service goes back to the previous revision (a
// new PRIMARY deployment of it, "rolling back"); once the rollback is done the failed deployment may be gone from
// the list and the service simply runs an older revision. Either is a RolledBack entry. A result other than
// InProgress is final.
import type { DeploymentRecord } from '../api/index.js';

export const HISTORY_MAX = 10;
export const COMMIT_ANNOTATION = 'slipway.dev/commit';
export const PULL_REQUEST_ANNOTATION = 'slipway.dev/pull-request';

/** One entry of DescribeServices' deployments[], the fields history reads. */
export interface ObservedDeployment {
  readonly id?: string;
  readonly status?: string;
  readonly taskDefinition?: string;
  readonly rolloutState?: string;
  readonly rolloutStateReason?: string;
}

/** The ECS service as DescribeServices reports it, the fields history reads. */
export interface ObservedService {
  /** The task definition the service runs now. */
  readonly taskDefinition?: string;
  readonly deployments?: readonly ObservedDeployment[];
}

/** The deployment the pass planned: the task definition revision and the image it runs. */
export interface PlannedDeployment {
  readonly taskDefinitionArn: string;
  readonly revision: number;
  readonly image: string;
  readonly digest?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface HistoryUpdate {
  readonly history: DeploymentRecord[];
  /** The newest entry when this update ended it as Failed or RolledBack (a Warning Event says so). */
  readonly ended?: DeploymentRecord;
}

const ROLLBACK_HINT = /circuit breaker.*roll(ing|ed) back|roll(ing|ed) back to/i;

/** Whether ECS's circuit breaker is seen to have rolled the service back from a deployment of this revision. */
export function rolledBackFrom(taskDefinitionArn: string, service: ObservedService): boolean {
  return settle({ taskDefinitionArn }, service)?.result === 'RolledBack';
}

/** The result ECS's deployments give the entry, or undefined when they say nothing new. */
function settle(
  entry: Pick<DeploymentRecord, 'taskDefinitionArn'>,
  service: ObservedService,
): Pick<DeploymentRecord, 'result' | 'message'> | undefined {
  const deployments = service.deployments ?? [];
  const ours = deployments.find((d) => d.taskDefinition === entry.taskDefinitionArn);
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  const runsOurs = service.taskDefinition === entry.taskDefinitionArn;
  const message = (d: ObservedDeployment | undefined) =>
    d?.rolloutStateReason ? { message: d.rolloutStateReason.slice(0, 1024) } : {};
  if (ours?.rolloutState === 'FAILED') {
    const rolledBack =
      !runsOurs ||
      (primary !== undefined && primary.taskDefinition !== entry.taskDefinitionArn) ||
      ROLLBACK_HINT.test(primary?.rolloutStateReason ?? '');
    return { result: rolledBack ? 'RolledBack' : 'Failed', ...message(ours) };
  }
  if (runsOurs) {
    // Our deployment, or the primary one when the list does not name our revision (some emulators keep the first).
    const d = ours ?? primary;
    if (d?.rolloutState === 'COMPLETED') return { result: 'Succeeded', ...message(d) };
    return undefined;
  }
  // The service runs another revision and ours is no longer listed: ECS rolled back and finished doing so.
  if (!ours && primary && ROLLBACK_HINT.test(primary.rolloutStateReason ?? '')) {
    return { result: 'RolledBack', ...message(primary) };
  }
  return undefined;
}

export function updateHistory(
  previous: readonly DeploymentRecord[] | undefined,
  planned: PlannedDeployment | undefined,
  service: ObservedService | undefined,
  now: string,
): HistoryUpdate {
  let history = [...(previous ?? [])];
  if (planned && history[0]?.taskDefinitionArn !== planned.taskDefinitionArn) {
    const head = history[0];
    if (head && head.result === 'InProgress') {
      history[0] = { ...head, message: `superseded by revision ${planned.revision} before its rollout ended` };
    }
    const commit = planned.annotations?.[COMMIT_ANNOTATION];
    const pullRequest = planned.annotations?.[PULL_REQUEST_ANNOTATION];
    const entry: DeploymentRecord = {
      revision: planned.revision,
      taskDefinitionArn: planned.taskDefinitionArn,
      image: planned.image,
      ...(planned.digest ? { digest: planned.digest } : {}),
      deployedAt: now,
      ...(commit ? { commit: commit.slice(0, 256) } : {}),
      ...(pullRequest ? { pullRequest: pullRequest.slice(0, 256) } : {}),
      result: 'InProgress',
    };
    history = [entry, ...history].slice(0, HISTORY_MAX);
  }
  const head = history[0];
  if (!head || head.result !== 'InProgress' || !service) return { history };
  const settled = settle(head, service);
  if (!settled) return { history };
  const next: DeploymentRecord = { ...head, ...settled };
  history[0] = next;
  return next.result === 'Failed' || next.result === 'RolledBack' ? { history, ended: next } : { history };
}
