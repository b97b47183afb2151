// Finalizers keep an object around until we have cleaned up what it owns outside the cluster. The finalizer list is
// written whole by a merge patch, so the patch carries the resourceVersion we read: if anyone else changed the
// object (another controller's finalizer, a user's edit) the server answers 409 and we retry from a fresh read
// instead of silently dropping their change.
import { type KubeObject, type ResourceClient, isNotFound, refOf } from './kube.js';

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

/** True once deletion was requested: the object only waits for its finalizers now. */
export function isBeingDeleted(obj: KubeObject): boolean {
  return Boolean(obj.metadata?.deletionTimestamp);
}

/**
 * Adds the finalizer unless present. Returns the object as the server now has it (unchanged when nothing was
 * written). Throws a 409 KubeApiError if the object changed since it was read.
 */
export async function addFinalizer<T extends KubeObject>(
  client: ResourceClient<T>,
  obj: T,
  finalizer: string,
): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  return writeFinalizers(client, obj, [...(obj.metadata?.finalizers ?? []), finalizer]);
}

/**
 * Removes the finalizer if present, which lets a deleting object go. Returns the object as the server has it
 * afterwards, or undefined when the object is gone (removing the last finalizer of a deleting object deletes it).
 */
export async function removeFinalizer<T extends KubeObject>(
  client: ResourceClient<T>,
  obj: T,
  finalizer: string,
): Promise<T | undefined> {
  if (!hasFinalizer(obj, finalizer)) return obj;
  const remaining = (obj.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
  try {
    return await writeFinalizers(client, obj, remaining);
  } catch (err) {
    // Already deleted by someone else's finalizer removal: what we wanted has happened.
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function writeFinalizers<T extends KubeObject>(
  client: ResourceClient<T>,
  obj: T,
  finalizers: readonly string[],
): Promise<T> {
  const resourceVersion = obj.metadata?.resourceVersion;
  if (!resourceVersion) throw new Error('cannot change finalizers without the resourceVersion that was read');
  // An empty list is sent as null: merge-patch deletes the field rather than storing [].
  return client.mergePatch(refOf(obj), {
    metadata: { resourceVersion, finalizers: finalizers.length > 0 ? finalizers : null },
  });
}
