// "Come back in N seconds": thrown by a reconciler when AWS is still working on something (a CloudFront
// distribution being disabled before it may be deleted). Never block a worker on a waiter: the controller
// requeues the key after `afterSeconds` instead of counting this as a failure.
export class RetryLater extends Error {
  override readonly name = 'RetryLater';

  constructor(
    message: string,
    readonly afterSeconds: number,
  ) {
    super(message);
  }
}

export function isRetryLater(err: unknown): err is RetryLater {
  return err instanceof RetryLater;
}
