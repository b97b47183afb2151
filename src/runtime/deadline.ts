// Deadlines as abort signals that are sure to fire.
//
// Not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: Node holds a timeout signal only weakly, through the
// composite made by any(), and lets it be garbage-collected before it fires (nodejs/node#57736), which silently
// removes the deadline. With 1,000 Services that happened to the pass deadline: four workers held their keys for
// minutes on a wait the deadline was there to end. Here the timer holds the controller it aborts.

export interface Deadline {
  /** Aborted when the time is up (a TimeoutError, as AbortSignal.timeout's) or when a parent aborts. */
  readonly signal: AbortSignal;
  /** Stops the timer once the work it bounds is over. */
  clear(): void;
}

export function deadline(ms: number, ...parents: readonly (AbortSignal | undefined)[]): Deadline {
  const controller = new AbortController();
  // Strong references only: the timer and each parent's listener hold the controller whose signal is returned
  // (AbortSignal.any's sources and dependants are weak references).
  const timer = setTimeout(
    () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    ms,
  );
  timer.unref(); // it keeps the controller alive, not the process
  const linked: { parent: AbortSignal; onAbort: () => void }[] = [];
  const clear = () => {
    clearTimeout(timer);
    for (const { parent, onAbort } of linked.splice(0)) parent.removeEventListener('abort', onAbort);
  };
  for (const parent of parents) {
    if (!parent) continue;
    if (parent.aborted) {
      controller.abort(parent.reason);
      break;
    }
    const onAbort = () => controller.abort(parent.reason);
    parent.addEventListener('abort', onAbort, { once: true });
    linked.push({ parent, onAbort });
  }
  if (controller.signal.aborted) clear();
  else controller.signal.addEventListener('abort', clear, { once: true });
  return { signal: controller.signal, clear };
}
