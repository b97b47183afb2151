// Status is a summary of the last reconcile, written on every exit path. Writing it changes the object's
// resourceVersion, which the informer sees as an update, which enqueues the key again — so a write that changes
// nothing must not happen at all, or the controller reconciles itself forever. "Nothing" ignores the
// lastTransitionTime of conditions whose status did not change: a rebuilt condition carries a fresh timestamp
// that means nothing.
import type { Logger } from 'pino';
import { type KubeObject, type ResourceClient, refOf } from './kube.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** A standard Kubernetes condition (metav1.Condition). */
export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  /** CamelCase, machine-readable. */
  readonly reason: string;
  readonly message: string;
  /** RFC 3339, when `status` last changed. */
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

export type ConditionUpdate = Omit<Condition, 'lastTransitionTime'>;

/** RFC 3339 at second precision, as Kubernetes writes metav1.Time. */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Returns the conditions with `cond` set (pure). lastTransitionTime becomes `now` only when the status of that
 * condition type changes or it is new; reason, message and observedGeneration are always updated. Order is kept,
 * a new type is appended.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  cond: ConditionUpdate,
  now: Date,
): Condition[] {
  const list = conditions ?? [];
  const existing = getCondition(list, cond.type);
  const lastTransitionTime =
    existing && existing.status === cond.status ? existing.lastTransitionTime : formatTime(now);
  const next: Condition = { ...cond, lastTransitionTime };
  return existing ? list.map((c) => (c.type === cond.type ? next : c)) : [...list, next];
}

/** Deep equality with JSON semantics: key order does not matter and undefined properties count as absent. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...definedKeys(a), ...definedKeys(b)]);
    for (const key of keys) if (!jsonEqual(a[key], b[key])) return false;
    return true;
  }
  return false;
}

/**
 * The desired status with each condition's lastTransitionTime taken from the current status wherever that
 * condition's status is unchanged, so that rebuilding conditions from scratch does not look like a change.
 */
export function carryTransitionTimes<S>(current: S | undefined, desired: S): S {
  if (!isPlainObject(desired) || !Array.isArray(desired.conditions)) return desired;
  const currentConditions = isPlainObject(current) && Array.isArray(current.conditions) ? current.conditions : [];
  const conditions = (desired.conditions as unknown[]).map((c) => {
    if (!isPlainObject(c)) return c;
    const before = currentConditions.find((p: unknown) => isPlainObject(p) && p.type === c.type) as
      Record<string, unknown> | undefined;
    return before && before.status === c.status && before.lastTransitionTime !== undefined
      ? { ...c, lastTransitionTime: before.lastTransitionTime }
      : c;
  });
  return { ...desired, conditions } as S;
}

/** True when writing `desired` over `current` would change nothing that matters. */
export function statusEqual(current: unknown, desired: unknown): boolean {
  return jsonEqual(current ?? {}, carryTransitionTimes(current, desired) ?? {});
}

/**
 * The RFC 7386 merge patch that turns `current` into `desired`: changed keys set, removed keys null, arrays and
 * scalars replaced whole. Sending only this (not the full status) keeps the request small and avoids clobbering
 * fields that are equal anyway.
 */
export function mergePatchFor(current: unknown, desired: unknown): unknown {
  if (!isPlainObject(current) || !isPlainObject(desired)) return desired === undefined ? null : desired;
  const patch: Record<string, unknown> = {};
  for (const key of definedKeys(current)) if (desired[key] === undefined) patch[key] = null;
  for (const key of definedKeys(desired)) {
    if (!jsonEqual(current[key], desired[key])) patch[key] = mergePatchFor(current[key], desired[key]);
  }
  return patch;
}

export interface StatusWriteResult<T> {
  /** False when the status was already as desired and no request was made. */
  readonly written: boolean;
  /** The object after the write (or the one passed in, when nothing was written). */
  readonly object: T;
}

type WithStatus = KubeObject & { readonly status?: unknown };

/** Writes `status` through the /status subresource of one kind, skipping writes that would change nothing. */
export class StatusWriter<T extends WithStatus> {
  constructor(
    private readonly client: ResourceClient<T>,
    private readonly logger?: Logger,
  ) {}

  /**
   * `obj` is the object as last read (its status is what the server has); `status` is the full desired status.
   * `signal` ends the request early (besides the client's own request timeout).
   */
  async write(obj: T, status: NonNullable<T['status']>, signal?: AbortSignal): Promise<StatusWriteResult<T>> {
    const desired = carryTransitionTimes(obj.status, status);
    if (jsonEqual(obj.status ?? {}, desired)) {
      this.logger?.trace('status unchanged; not writing');
      return { written: false, object: obj };
    }
    const object = await this.client.patchStatus(refOf(obj), { status: mergePatchFor(obj.status, desired) }, signal);
    this.logger?.debug('status written');
    return { written: true, object };
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function definedKeys(obj: Record<string, unknown>): string[] {
  return Object.keys(obj).filter((k) => obj[k] !== undefined);
}
