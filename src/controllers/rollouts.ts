// The rollout watcher. While ECS rolls out a new revision, a workload's status (runningCount, rolloutState) must
// follow ECS; a full pass for that costs every read of the workload (about 17), whereas one DescribeServices answers
// it for 10 services. So a pass that sees its ECS service rolling hands it here, and the watcher, per Environment
// (its account's clients and its cluster), describes every rolling service on a short interval, 10 names a call
// through the shared batcher. Only an owner whose deployment moved (completed, failed, counts changed) is enqueued
// for a pass, which writes the status and hands the service back if it still rolls. A service that settled or
// vanished is dropped; an Environment's timer runs only while something of it rolls. Every poll has a deadline.
import { deadline } from '../runtime/deadline.js';
import type { Service as EcsService } from '@aws-sdk/client-ecs';
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { AwsClients } from '../aws/clients.js';
import { ecsDescribeBatcher } from '../aws/ecs-describe-batcher.js';
import { rolloutAttrsOf, type RolloutAttrs } from '../reconcilers/ecs-service.js';

/**
 * How often an Environment's rolling services are described. One call covers 10 services, so 100 rolling Services
 * cost 1 call a second, against DescribeServices' sustained 20 a second.
 */
export const ROLLOUT_POLL_MS = 10_000;

/** Pure: ECS is still moving the service toward its PRIMARY deployment. */
export function isRolling(state: RolloutAttrs): boolean {
  return state.rolloutState === 'IN_PROGRESS';
}

/** Pure: whether the status would show something else (every field the status takes from the deployment). */
export function rolloutChanged(before: RolloutAttrs, after: RolloutAttrs): boolean {
  return (
    before.rolloutState !== after.rolloutState ||
    before.runningCount !== after.runningCount ||
    before.desiredCount !== after.desiredCount
  );
}

/** What one poll found for one followed service. */
export type PollFinding =
  | { readonly kind: 'unchanged' }
  /** Its state moved: enqueue the owner; keep following while it still rolls. */
  | { readonly kind: 'changed'; readonly state: RolloutAttrs; readonly rolling: boolean }
  /** No ACTIVE service by that name any more: enqueue the owner, stop following. */
  | { readonly kind: 'gone' };

/** Pure: the finding for a service last seen in `before`, now described as `now` (undefined: missing). */
export function pollFinding(before: RolloutAttrs, now: EcsService | undefined): PollFinding {
  if (!now || now.status !== 'ACTIVE') return { kind: 'gone' };
  const state = rolloutAttrsOf(now);
  if (!rolloutChanged(before, state)) return { kind: 'unchanged' };
  return { kind: 'changed', state, rolling: isRolling(state) };
}

/** The ECS service of one owner (`Service/ns/name`, `PreviewDeployment/ns/name`), on its Environment. */
export interface RolloutTarget {
  readonly owner: string;
  /** The Environment's key (`ns/name`): one poll per Environment. */
  readonly environment: string;
  /** The Environment's shared clients (not a pass's view: the watcher outlives the pass). */
  readonly aws: AwsClients;
  readonly cluster: string;
  readonly service: string;
}

/** What a pass tells the watcher. */
export interface RolloutFollower {
  /** After a pass: follow the owner's ECS service while `state` rolls; forget it otherwise. */
  follow(target: RolloutTarget, state: RolloutAttrs | undefined): void;
  /**
   * The owner is being deleted: stop following it. Its deletion removes the ECS service, and a poll finding it gone
   * would queue a pass of an object that is on its way out or already gone.
   */
  forget(owner: string): void;
}

export interface RolloutWatcherOptions {
  /** How often an Environment's rolling services are described. */
  readonly intervalMs: number;
  /** The deadline of one poll (its DescribeServices calls). */
  readonly timeoutMs: number;
  /** Queues a pass of an owner (`Kind/ns/name`). */
  readonly enqueue: (owner: string) => void;
  readonly log: Logger;
}

interface Followed {
  readonly service: string;
  readonly state: RolloutAttrs;
}

interface Group {
  readonly aws: AwsClients;
  readonly cluster: string;
  readonly entries: Map<string, Followed>;
  timer?: NodeJS.Timeout;
  polling: boolean;
}

export class RolloutWatcher implements RolloutFollower {
  private readonly groups = new Map<string, Group>();
  /** Which group follows each owner, so that an owner moved to another Environment is followed once. */
  private readonly groupOf = new Map<string, string>();
  private running = false;

  constructor(private readonly opts: RolloutWatcherOptions) {}

  start(): void {
    this.running = true;
  }

  /** Stops every poll (losing leadership, shutting down); the passes of the next leader hand rollouts back. */
  stop(): void {
    this.running = false;
    for (const g of this.groups.values()) clearTimeout(g.timer);
    this.groups.clear();
    this.groupOf.clear();
  }

  /** How many services are followed (for tests and logs). */
  get size(): number {
    return this.groupOf.size;
  }

  follow(target: RolloutTarget, state: RolloutAttrs | undefined): void {
    this.forget(target.owner);
    if (!this.running || !state || !isRolling(state) || !target.cluster || !target.service) return;
    const key = `${target.environment}|${target.cluster}`;
    let group = this.groups.get(key);
    if (!group) {
      group = { aws: target.aws, cluster: target.cluster, entries: new Map(), polling: false };
      this.groups.set(key, group);
    }
    group.entries.set(target.owner, { service: target.service, state });
    this.groupOf.set(target.owner, key);
    this.schedule(key, group);
  }

  forget(owner: string): void {
    const key = this.groupOf.get(owner);
    if (key === undefined) return;
    this.groupOf.delete(owner);
    const group = this.groups.get(key);
    group?.entries.delete(owner);
    if (group && group.entries.size === 0 && !group.polling) {
      clearTimeout(group.timer);
      this.groups.delete(key);
    }
  }

  private schedule(key: string, group: Group): void {
    if (group.timer || group.polling) return;
    group.timer = setTimeout(() => {
      group.timer = undefined;
      void this.poll(key, group);
    }, this.opts.intervalMs);
    group.timer.unref();
  }

  private async poll(key: string, group: Group): Promise<void> {
    if (this.groups.get(key) !== group) return;
    group.polling = true;
    const followed = [...group.entries];
    // Every lookup is made at once, so the batcher sends them 10 names a call; the deadline bounds the poll.
    const pollDeadline = deadline(this.opts.timeoutMs);
    // Each lookup listens to the deadline while it waits: one listener per rolling service, not a leak.
    setMaxListeners(followed.length + 10, pollDeadline.signal);
    const lookup = ecsDescribeBatcher(group.aws.withSignal(pollDeadline.signal));
    const described = await Promise.allSettled(followed.map(([, f]) => lookup.describe(group.cluster, f.service)));
    pollDeadline.clear();
    group.polling = false;
    if (this.groups.get(key) !== group) return; // stopped meanwhile
    let failed = 0;
    followed.forEach(([owner, f], i) => {
      const result = described[i]!;
      // A pass handed the owner back while the poll ran: its state is newer than this answer may be.
      if (group.entries.get(owner) !== f) return;
      if (result.status === 'rejected') {
        failed++; // the next poll asks again; the resync is the backstop
        return;
      }
      const finding = pollFinding(f.state, result.value);
      if (finding.kind === 'unchanged') return;
      if (finding.kind === 'changed' && finding.rolling) group.entries.set(owner, { ...f, state: finding.state });
      else this.forget(owner);
      this.opts.enqueue(owner);
    });
    if (failed > 0) {
      const reason = described.find((r) => r.status === 'rejected')?.reason as unknown;
      this.opts.log.debug({ cluster: group.cluster, failed, err: reason }, 'rollout poll failed; asking again');
    }
    if (group.entries.size > 0) this.schedule(key, group);
    else if (this.groups.get(key) === group) this.groups.delete(key);
  }
}
