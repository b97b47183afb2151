// "Come back in N seconds": thrown by a reconciler when AWS is still working on something (a CloudFront
// distribution being disabled before it may be deleted). Never block a worker on a waiter: it is an Outcome whose
// retry is a timed requeue, not a failure.
import { after, outcome, OutcomeError } from '../outcome/outcome.js';

export class RetryLater extends OutcomeError {
  override readonly name = 'RetryLater';

  constructor(
    message: string,
    readonly afterSeconds: number,
  ) {
    super(outcome('Waiting', message, after(afterSeconds * 1000)));
  }
}
