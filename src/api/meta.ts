// Kubernetes object metadata as the API server sends it in JSON (timestamps are RFC 3339 strings). Declared here
// rather than imported from @kubernetes/client-node so that api/ stays free of I/O libraries (see eslint.config.js).
//
// Note: client-node's V1ObjectMeta types the timestamps as Date (it converts them only in its typed core APIs) and
// its lists as mutable arrays, so these kinds are not assignable to client-node's KubernetesObject. Generic code that
// handles them should constrain on a structural type of its own rather than on KubernetesObject.

export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  readonly name: string;
  /** Absent only on objects that were never stored (e.g. built in a test); stored Slipway objects always have one. */
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  /** Incremented by the API server on every spec change; status.observedGeneration echoes it. */
  readonly generation?: number;
  /** RFC 3339 date-time. */
  readonly creationTimestamp?: string;
  /** RFC 3339 date-time; set once deletion was requested, while finalizers are pending. */
  readonly deletionTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly finalizers?: readonly string[];
  readonly ownerReferences?: readonly OwnerReference[];
}
