// Talking to the API server. One JSON client serves core and custom resources alike: it builds the path from a
// ResourceType, signs requests with the KubeConfig, and returns plain JSON. Objects are never run through
// client-node's model serializer, so timestamps stay strings and an object read, compared and written back is
// byte-for-byte what the server sent (the status writer's equality check depends on that).
import { deadline } from './deadline.js';
// Deep imports: the package index also loads every generated API, exec, attach, cp (tar) and metrics, which the
// operator never uses (tens of MiB of heap; BENCHMARKS.md, "Memory of `node dist/main.js`").
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { HttpMethod, RequestContext } from '@kubernetes/client-node/dist/gen/http/http.js';
import { IsomorphicFetchHttpLibrary } from '@kubernetes/client-node/dist/gen/http/isomorphic-fetch.js';
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';

/** An owner reference, as much of it as the runtime reads. */
export interface KubeOwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
}

/**
 * The metadata the runtime reads. Structural and read-only on purpose: plain-JSON kinds (timestamps as strings,
 * readonly arrays) and client-node's model types (Dates, mutable arrays) both satisfy it, whereas client-node's
 * KubernetesObject would reject the former.
 */
export interface KubeObjectMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly creationTimestamp?: string | Date;
  /** Set once deletion was requested; the object lingers while finalizers remain. */
  readonly deletionTimestamp?: string | Date;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly finalizers?: readonly string[];
  readonly ownerReferences?: readonly KubeOwnerReference[];
  /** Server-side apply bookkeeping: never read by the operator, dropped by the informer cache. */
  readonly managedFields?: readonly unknown[];
}

/** Any Kubernetes object. Everything the runtime returns is plain JSON as the server sent it. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: KubeObjectMeta;
}

/** Where a kind lives in the API. `group` is '' for the core group (ConfigMap, Secret, Event…). */
export interface ResourceType {
  readonly group: string;
  readonly version: string;
  /** Lower-case plural, as in the URL: 'configmaps', 'environments'. */
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

/** Names one object; `namespace` is undefined for cluster-scoped kinds. */
export interface ObjectRef {
  readonly namespace?: string;
  readonly name: string;
}

export interface ListMeta {
  readonly resourceVersion?: string;
  readonly continue?: string;
}

export interface ObjectList<T> {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: ListMeta;
  readonly items: T[];
}

export interface ListOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly limit?: number;
  readonly continue?: string;
  readonly resourceVersion?: string;
  readonly signal?: AbortSignal;
}

export interface DeleteOptions {
  readonly propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  readonly gracePeriodSeconds?: number;
  /** Delete only if the object still has this uid / resourceVersion. */
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
}

/** A JSON patch (RFC 6902) operation. */
export type JsonPatchOp =
  | { readonly op: 'add' | 'replace' | 'test'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string }
  | { readonly op: 'move' | 'copy'; readonly from: string; readonly path: string };

/** The body of a failed request (a metav1.Status), when the server sent one. */
export interface KubeStatus {
  readonly kind?: string;
  readonly status?: string;
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
  readonly details?: unknown;
}

/** A non-2xx answer from the API server. `code` is the HTTP status; `reason` is e.g. 'Conflict', 'NotFound'. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly code: number,
    readonly method: string,
    readonly path: string,
    readonly status: KubeStatus | undefined,
  ) {
    super(`${method} ${path}: ${code} ${status?.reason ?? ''} ${status?.message ?? ''}`.trim());
  }

  get reason(): string | undefined {
    return this.status?.reason;
  }
}

/**
 * The HTTP status of an error from this client, from client-node's generated APIs (ApiException.code) or from
 * its Watch (statusCode); undefined for network errors.
 */
export function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  if (typeof statusCode === 'number') return statusCode;
  return undefined;
}

export const isNotFound = (err: unknown): boolean => statusCodeOf(err) === 404;
export const isConflict = (err: unknown): boolean => statusCodeOf(err) === 409;
export const isGone = (err: unknown): boolean => statusCodeOf(err) === 410;

/** `namespace/name`, or just `name` for cluster-scoped objects: the work queue's key. */
export function keyOf(obj: KubeObject): string {
  const name = obj.metadata?.name ?? '';
  const namespace = obj.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

export function keyFor(ref: ObjectRef): string {
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

export function parseKey(key: string): ObjectRef {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** The URL path of a collection (no name) or of one object, optionally of its subresource. */
export function resourcePath(type: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  const parts = [type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`];
  if (type.namespaced && namespace) parts.push('namespaces', encodeURIComponent(namespace));
  parts.push(type.plural);
  if (name !== undefined) parts.push(encodeURIComponent(name));
  if (subresource) parts.push(subresource);
  return parts.join('/');
}

export interface LoadKubeConfigOptions {
  /** An explicit kubeconfig file; otherwise in-cluster when running in a pod, else KUBECONFIG / ~/.kube/config. */
  readonly kubeconfigPath?: string;
  readonly context?: string;
}

export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (options.kubeconfigPath) kc.loadFromFile(options.kubeconfigPath);
  else if (process.env.KUBERNETES_SERVICE_HOST && !process.env.KUBECONFIG) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (options.context) kc.setCurrentContext(options.context);
  return kc;
}

export interface RequestOptions {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly signal?: AbortSignal;
}

export interface KubeClientOptions {
  /** Per-request timeout. Default 30 s: a hung request must not wedge a worker or the leader elector. */
  readonly requestTimeoutMs?: number;
}

/** A thin JSON client over the KubeConfig's server, credentials and TLS settings. */
export class KubeClient {
  private readonly http = new IsomorphicFetchHttpLibrary();
  private readonly requestTimeoutMs: number;

  constructor(
    readonly kubeConfig: KubeConfig,
    options: KubeClientOptions = {},
  ) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** Sends one request and returns the parsed JSON body; throws KubeApiError on a non-2xx answer. */
  async request<R>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<R> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const ctx = new RequestContext(cluster.server.replace(/\/+$/, '') + path, method);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) ctx.setQueryParam(name, String(value));
    }
    ctx.setHeaderParam('Accept', 'application/json');
    if (options.body !== undefined) {
      ctx.setHeaderParam('Content-Type', options.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(options.body));
    }
    const timeout = deadline(this.requestTimeoutMs, options.signal);
    ctx.setSignal(timeout.signal);
    let response: Awaited<ReturnType<ReturnType<typeof this.http.send>['toPromise']>>;
    let text: string;
    try {
      await this.kubeConfig.applySecurityAuthentication(ctx);
      response = await this.http.send(ctx).toPromise();
      text = await response.body.text();
    } finally {
      timeout.clear();
    }
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
      throw new KubeApiError(response.httpStatusCode, method, path, parseStatus(text));
    }
    return (text ? JSON.parse(text) : undefined) as R;
  }

  /** A client bound to one kind. */
  resource<T extends KubeObject>(type: ResourceType): ResourceClient<T> {
    return new ResourceClient<T>(this, type);
  }
}

function parseStatus(text: string): KubeStatus | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as KubeStatus) : undefined;
  } catch {
    return text ? { message: text.slice(0, 500) } : undefined;
  }
}

/** Typed CRUD for one kind. Objects come back exactly as the server sent them (see the file comment). */
export class ResourceClient<T extends KubeObject> {
  constructor(
    readonly client: KubeClient,
    readonly type: ResourceType,
  ) {}

  get(ref: ObjectRef, signal?: AbortSignal): Promise<T> {
    return this.client.request<T>(HttpMethod.GET, this.path(ref), { signal });
  }

  /** Like get, but undefined when the object does not exist. */
  async find(ref: ObjectRef, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await this.get(ref, signal);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * One page of a list. Items get `apiVersion` and `kind` filled in: the server omits them inside lists, but
   * they arrive on watch events, and handlers should not see a difference.
   */
  async list(options: ListOptions = {}): Promise<ObjectList<T>> {
    const list = await this.client.request<ObjectList<T>>(HttpMethod.GET, resourcePath(this.type, options.namespace), {
      query: {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit,
        continue: options.continue,
        resourceVersion: options.resourceVersion,
      },
      signal: options.signal,
    });
    const apiVersion = apiVersionOf(this.type);
    return { ...list, items: list.items.map((item) => ({ apiVersion, kind: this.type.kind, ...item })) };
  }

  /** Every page of a list, and the resourceVersion to watch from. */
  async listAll(options: Omit<ListOptions, 'continue'> = {}): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.list({ limit: 500, ...options, continue: cont });
      items.push(...page.items);
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (cont);
    return { items, resourceVersion };
  }

  create(obj: T, options: { readonly fieldManager?: string; readonly signal?: AbortSignal } = {}): Promise<T> {
    const namespace = obj.metadata?.namespace;
    return this.client.request<T>(HttpMethod.POST, resourcePath(this.type, namespace), {
      body: { apiVersion: apiVersionOf(this.type), kind: this.type.kind, ...obj },
      query: { fieldManager: options.fieldManager },
      signal: options.signal,
    });
  }

  /** PUT: fails with 409 unless metadata.resourceVersion is current. */
  replace(obj: T, options: { readonly signal?: AbortSignal } = {}): Promise<T> {
    return this.client.request<T>(HttpMethod.PUT, this.path(refOf(obj)), {
      body: { apiVersion: apiVersionOf(this.type), kind: this.type.kind, ...obj },
      signal: options.signal,
    });
  }

  /**
   * RFC 7386 merge patch: objects merge, arrays and scalars replace, null deletes. Put
   * `metadata.resourceVersion` in the patch to make it fail with 409 if the object changed meanwhile.
   */
  mergePatch(ref: ObjectRef, patch: unknown): Promise<T> {
    return this.client.request<T>(HttpMethod.PATCH, this.path(ref), {
      body: patch,
      contentType: PatchStrategy.MergePatch,
    });
  }

  /** RFC 6902 JSON patch; a `test` op on /metadata/resourceVersion makes it conditional. */
  jsonPatch(ref: ObjectRef, ops: readonly JsonPatchOp[]): Promise<T> {
    return this.client.request<T>(HttpMethod.PATCH, this.path(ref), {
      body: ops,
      contentType: PatchStrategy.JsonPatch,
    });
  }

  /** Merge patch of the /status subresource (only `status` is honoured there; the kind needs the subresource). */
  patchStatus(ref: ObjectRef, patch: unknown, signal?: AbortSignal): Promise<T> {
    return this.client.request<T>(HttpMethod.PATCH, this.path(ref, 'status'), {
      body: patch,
      contentType: PatchStrategy.MergePatch,
      signal,
    });
  }

  /** Deletes the object; resolves (does not throw) when it is already gone. */
  async delete(ref: ObjectRef, options: DeleteOptions = {}): Promise<void> {
    try {
      await this.client.request<unknown>(HttpMethod.DELETE, this.path(ref), {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', ...options },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private path(ref: ObjectRef, subresource?: string): string {
    return resourcePath(this.type, ref.namespace, ref.name, subresource);
  }
}

export function refOf(obj: KubeObject): ObjectRef {
  const name = obj.metadata?.name;
  if (!name) throw new Error('object has no metadata.name');
  return { namespace: obj.metadata?.namespace, name };
}

/** Core kinds the runtime itself uses. */
export const CoreTypes = {
  configMap: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  secret: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  namespace: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  lease: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  event: { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
} as const satisfies Record<string, ResourceType>;

/**
 * A metav1.MicroTime value (Lease renewTime, Event eventTime): RFC 3339 with exactly six fractional digits. The
 * server's parser insists on six; Date#toISOString gives three.
 */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
