// What `slipway promote` and `slipway rollback` decide, from a Service's status alone: which image the source runs and
// whether it may be promoted, and which earlier deployment a rollback returns to. Pure: no I/O, the clock is passed
// in. The status fields are the operator's status.image and status.history (newest first, at most 10).
import type { Condition, DeploymentRecord as HistoryEntry, ImageStatus } from '../api/index.js';

/** status.image and one entry of status.history, as the operator writes them. */
export type { ImageStatus, DeploymentRecord as HistoryEntry } from '../api/index.js';

/** The part of a Service (or preview) these commands read. */
export interface ReleaseSubject {
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec: { readonly image?: string; readonly environmentRef?: { readonly name: string } };
  readonly status?: {
    readonly conditions?: readonly Condition[];
    readonly rolloutState?: string;
    readonly driftCount?: number;
    readonly taskDefinitionArn?: string;
    readonly image?: ImageStatus;
    readonly history?: readonly HistoryEntry[];
  };
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** The repository of an image reference: without its digest (`@...`) and its tag (a `:` after the last `/`). */
export function repositoryOf(image: string): string {
  const at = image.indexOf('@');
  const named = at >= 0 ? image.slice(0, at) : image;
  const colon = named.lastIndexOf(':');
  return colon > named.lastIndexOf('/') ? named.slice(0, colon) : named;
}

/** `repository@sha256:...`: the reference of exactly one image, which no push can move. */
export function pinnedReference(image: string, digest: string): string {
  return `${repositoryOf(image)}@${digest}`;
}

/** The digest a reference names (`...@sha256:<hex>`), if it names one. */
export function digestOf(image: string): string | undefined {
  const at = image.indexOf('@');
  const digest = at >= 0 ? image.slice(at + 1) : '';
  return DIGEST.test(digest) ? digest : undefined;
}

/** `sha256:` and the first 12 hex digits, as `docker images` shows an id. */
export function shortDigest(digest: string | undefined): string | undefined {
  return digest ? digest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]*$/, '$1') : undefined;
}

/** A Go-style duration of hours, minutes and seconds (`30m`, `1h30m`, `90s`), in milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!m || text.trim() === '' || (!m[1] && !m[2] && !m[3])) return undefined;
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}

/** `1h5m`, `12m`, `40s`: a duration for a message. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', !h && !m ? `${s % 60}s` : ''];
  return parts.join('');
}

/** `Service ns/name` as messages name it. */
export function subjectName(s: ReleaseSubject, kind = 'Service'): string {
  return `${kind} ${s.metadata.namespace ? `${s.metadata.namespace}/` : ''}${s.metadata.name}`;
}

export interface Promotion {
  /** The image the source runs, pinned: `repository@sha256:...`. */
  readonly image: string;
  readonly digest: string;
  /** The source's deployment being promoted (history[0]). */
  readonly entry: HistoryEntry;
}

/** Why a command refuses: one line naming what is missing and the fix. */
export interface Refusal {
  readonly refused: string;
}

export function isRefusal(x: unknown): x is Refusal {
  return typeof x === 'object' && x !== null && 'refused' in x;
}

/**
 * The image to promote from `source`: the digest of its current deployment (status.history[0], the task definition
 * it runs, Succeeded), provided it is Ready, its rollout completed, it has no drift, its image is pinned and, with a
 * soak, that deployment started at least `soakMs` before `now`. Otherwise one line saying what is missing.
 */
export function promotionOf(source: ReleaseSubject, now: Date, soakMs?: number): Promotion | Refusal {
  const who = subjectName(source);
  const st = source.status ?? {};
  // First: drift also makes Ready False, and says more.
  const drift = st.driftCount ?? 0;
  if (drift > 0) {
    return {
      refused: `${who} has ${drift} drifted field(s) (status.drift): what runs is not what its spec says; correct the drift (driftPolicy Correct, or put AWS back) and promote after the next sync`,
    };
  }
  const ready = st.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') {
    const why = ready
      ? `Ready is ${ready.status}${ready.reason ? ` (${ready.reason}: ${ready.message ?? ''})` : ''}`
      : 'it has no Ready condition yet';
    return { refused: `${who} is not Ready: ${why}; promote it once it is Ready` };
  }
  if (st.rolloutState !== 'COMPLETED') {
    return {
      refused: `${who}: its rollout has not completed (status.rolloutState ${st.rolloutState ?? 'absent'}); promote once ECS reports COMPLETED`,
    };
  }
  const entry = st.history?.[0];
  if (!entry) {
    return { refused: `${who} has no deployment in status.history yet; promote once the operator has recorded one` };
  }
  if (st.taskDefinitionArn && entry.taskDefinitionArn && entry.taskDefinitionArn !== st.taskDefinitionArn) {
    return {
      refused: `${who}: its latest deployment in status.history (revision ${entry.revision}) is not the task definition it runs (${st.taskDefinitionArn}); promote after the next sync`,
    };
  }
  if (entry.result !== 'Succeeded') {
    return {
      refused: `${who}: its latest deployment (revision ${entry.revision}) is ${entry.result ?? 'of unknown result'}, not Succeeded; promote a deployment that succeeded`,
    };
  }
  const digest = entry.digest ?? digestOf(entry.image);
  if (!digest) {
    const reason = st.image?.reason ? `: ${st.image.reason}` : '';
    return {
      refused: `${who} runs ${entry.image}, not pinned to a digest${reason}; only a pinned image can be promoted unchanged: use a registry Slipway can resolve (ECR, or one whose manifest API it reaches)`,
    };
  }
  if (soakMs !== undefined) {
    const started = entry.deployedAt ? Date.parse(entry.deployedAt) : NaN;
    if (Number.isNaN(started)) {
      return {
        refused: `${who}: its deployment (revision ${entry.revision}) has no deployedAt, so its soak cannot be measured`,
      };
    }
    const ran = now.getTime() - started;
    if (ran < soakMs) {
      return {
        refused: `${who} has run revision ${entry.revision} for ${formatDuration(ran)} of the ${formatDuration(soakMs)} soak; promote after ${new Date(started + soakMs).toISOString()}`,
      };
    }
  }
  return { image: pinnedReference(entry.image, digest), digest, entry };
}

export interface Rollback {
  /** The image to set: pinned. */
  readonly image: string;
  readonly entry: HistoryEntry;
}

/**
 * The deployment a rollback returns to: revision `revision` of status.history, by default the newest Succeeded one
 * older than the current (history[0]). Its image must be pinned (a digest, recorded or in the reference): a tag may
 * have moved since.
 */
export function rollbackOf(subject: ReleaseSubject, revision?: number): Rollback | Refusal {
  const who = subjectName(subject);
  const history = subject.status?.history ?? [];
  const known = history.map((e) => e.revision).join(', ');
  let entry: HistoryEntry | undefined;
  if (revision !== undefined) {
    entry = history.find((e) => e.revision === revision);
    if (!entry) {
      return {
        refused: `${who}: revision ${revision} is not in status.history (it holds ${known ? `revisions ${known}` : 'none'}); pick one of those`,
      };
    }
  } else {
    entry = history.slice(1).find((e) => e.result === 'Succeeded');
    if (!entry) {
      return {
        refused: `${who}: status.history holds no Succeeded deployment before the current one (${known ? `revisions ${known}` : 'no revisions'}); name one with --to-revision N`,
      };
    }
  }
  const digest = entry.digest ?? digestOf(entry.image);
  if (!digest) {
    return {
      refused: `${who}: revision ${entry.revision} ran ${entry.image}, not pinned to a digest, and the tag may have moved since; set spec.image to the image you mean by hand`,
    };
  }
  return { image: pinnedReference(entry.image, digest), entry };
}

/** A history entry in a line: `revision 7 (sha256:1a2b3c4d5e6f, deployed 2026-11-29T06:00:00Z, commit abc1234)`. */
export function describeEntry(e: HistoryEntry): string {
  const parts = [
    shortDigest(e.digest ?? digestOf(e.image)),
    e.deployedAt ? `deployed ${e.deployedAt}` : undefined,
    e.commit ? `commit ${e.commit}` : undefined,
    e.pullRequest ? `pull request ${e.pullRequest}` : undefined,
  ].filter((x): x is string => !!x);
  return `revision ${e.revision}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/** The label Slipway's examples give every Service of one application, in each Environment. */
export const APP_LABEL = 'app.kubernetes.io/name';

export interface Named {
  readonly metadata: { readonly name: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec: { readonly environmentRef?: { readonly name: string } };
}

/**
 * The Service that is application `service` on Environment `env`, among `items` of one namespace. Environments
 * often share a namespace, so a Service's name carries its Environment (`web-dev`, `web-staging`) and the label
 * app.kubernetes.io/name the application (`web`): on `env`, the Service named `service`, else `service-env`, else
 * the one labelled `service`. Undefined with the reason when there is none or more than one.
 */
export function pickService<T extends Named>(items: readonly T[], service: string, env: string): T | Refusal {
  const on = items.filter((s) => s.spec.environmentRef?.name === env);
  const byName = on.find((s) => s.metadata.name === service) ?? on.find((s) => s.metadata.name === `${service}-${env}`);
  if (byName) return byName;
  const labelled = on.filter((s) => s.metadata.labels?.[APP_LABEL] === service);
  if (labelled.length === 1) return labelled[0]!;
  if (labelled.length > 1) {
    const names = labelled.map((s) => s.metadata.name).join(', ');
    return {
      refused: `several Services on Environment ${env} are labelled ${APP_LABEL}=${service} (${names}); name one of them`,
    };
  }
  return {
    refused: `no Service ${service} on Environment ${env} (none named ${service} or ${service}-${env}, or labelled ${APP_LABEL}=${service}, with spec.environmentRef.name ${env})`,
  };
}
