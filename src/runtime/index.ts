// Slipway's controller runtime: the public surface. Generic over Kubernetes objects; knows no AWS and no CRDs.
export { type Clock, type TimerHandle, ManualClock, flushMicrotasks, jitter, sleep, systemClock } from './clock.js';
export { WorkQueue, type WorkQueueOptions } from './workqueue.js';
export {
  CoreTypes,
  type DeleteOptions,
  type JsonPatchOp,
  KubeApiError,
  KubeClient,
  type KubeClientOptions,
  type KubeObject,
  type KubeObjectMeta,
  type KubeOwnerReference,
  type KubeStatus,
  type ListOptions,
  type LoadKubeConfigOptions,
  type ObjectList,
  type ObjectRef,
  ResourceClient,
  type ResourceType,
  apiVersionOf,
  isConflict,
  isGone,
  isNotFound,
  keyFor,
  keyOf,
  loadKubeConfig,
  microTime,
  parseKey,
  refOf,
  resourcePath,
  statusCodeOf,
} from './kube.js';
export {
  type IndexFunction,
  Informer,
  type InformerHandlers,
  type InformerOptions,
  type WatchFunction,
} from './informer.js';
export {
  Controller,
  type ControllerOptions,
  type EventSource,
  type IndexedEventSource,
  type KeyMapper,
  type ReconcileContext,
  type Reconciler,
  type Result,
  TerminalError,
  type WatchOptions,
  indexedKeys,
  isTerminalError,
  ownerKeys,
} from './controller.js';
export { type ReconcileResult, type RuntimeMetrics, runtimeMetrics } from './metrics.js';
export { addFinalizer, hasFinalizer, isBeingDeleted, removeFinalizer } from './finalizers.js';
export {
  type Condition,
  type ConditionStatus,
  type ConditionUpdate,
  StatusWriter,
  type StatusWriteResult,
  carryTransitionTimes,
  formatTime,
  getCondition,
  jsonEqual,
  mergePatchFor,
  setCondition,
  statusEqual,
} from './status.js';
export { EventRecorder, type EventRecorderOptions, type EventSpec, type EventType, type KubeEvent } from './events.js';
export { type Lease, LeaderElector, type LeaderElectorOptions, type LeaseSpec, defaultIdentity } from './leader.js';
export { type HealthServer, type HealthServerOptions, type InformerHealth, startHealthServer } from './health.js';
