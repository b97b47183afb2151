// Adding a step to every attempt of an SDK client's calls. The SDK's retry loop is a middleware
// (`retryMiddleware`); a middleware placed after it runs once per attempt, which is where a rate-limit token is
// taken and where an attempt's failure is seen before the retry decides what to do with it.

export type Next = (args: unknown) => Promise<unknown>;

/** What the middleware sees of a call: its command's name (`CreateRuleCommand`). */
export interface CallContext {
  readonly commandName?: string;
}

interface RetryAwareStack {
  readonly middlewareStack: {
    addRelativeTo(
      mw: (next: Next, context: CallContext) => Next,
      options: { name: string; relation: 'after'; toMiddleware: string },
    ): void;
  };
}

/** The operation of a call: its command's name without `Command`. */
export function operationOf(context: CallContext): string {
  return (context.commandName ?? '').replace(/Command$/, '');
}

/** Runs `mw` around every attempt of the client's calls, inside the SDK's retry loop. */
export function aroundEachAttempt<C>(client: C, name: string, mw: (next: Next, context: CallContext) => Next): C {
  (client as unknown as RetryAwareStack).middlewareStack.addRelativeTo(mw, {
    name,
    relation: 'after',
    toMiddleware: 'retryMiddleware',
  });
  return client;
}
