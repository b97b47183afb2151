// A ReconcileContext with no AWS behind it: every client's send() records the command it was given and answers
// from `answer` (an empty response by default), memo() always loads, bulk() never lists, and invalidate() records
// the prefix. For unit tests of what a reconciler sends, in which order and how many calls, without an emulator.
import type { AwsClients } from '../../src/aws/clients.js';
import type { ReconcileContext } from '../../src/reconcilers/contract.js';

export interface SentCommand {
  /** The client's name on AwsClients (`ecs`, `elbv2`, ...). */
  readonly client: string;
  /** The command's class name (`TagResourceCommand`). */
  readonly command: string;
  readonly input: Record<string, unknown>;
}

export interface RecordingContext {
  readonly ctx: ReconcileContext;
  readonly sent: SentCommand[];
  readonly invalidated: string[];
}

type Answer = (sent: SentCommand) => unknown;

export function recordingContext(answer: Answer = () => ({})): RecordingContext {
  const sent: SentCommand[] = [];
  const invalidated: string[] = [];
  const client = (name: string) => ({
    send: async (command: { readonly input: Record<string, unknown> }) => {
      const call = { client: name, command: command.constructor.name, input: command.input };
      sent.push(call);
      return answer(call);
    },
  });
  // Its own root (what per-account state is keyed by), and no signal.
  const aws: AwsClients = new Proxy({} as AwsClients, {
    get: (_target, name) => (name === 'root' ? aws : name === 'signal' ? undefined : client(String(name))),
  });
  const ctx: ReconcileContext = {
    aws,
    memo: (_key, load) => load(ctx),
    invalidate: (prefix) => void invalidated.push(prefix),
    bulk: () => Promise.resolve(undefined),
    existing: () => Promise.resolve(undefined),
    readEach: () => true,
    rotating: () => false,
    wrote: () => undefined,
  };
  return { ctx, sent, invalidated };
}
