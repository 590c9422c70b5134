/**
 * Priming: the work an SDK client does only on its first call, done ahead of that call and
 * without the network.
 */
import { Readable } from 'node:stream';

/** The empty answer a primed command gets instead of a network round trip. */
export interface PrimeAnswer {
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** Longest a priming send may hold its caller (an init) up. */
export const PRIME_TIMEOUT_MS = 2_000;

/** What priming needs of a command: its own middleware stack (the SDK's, structurally). */
interface PrimableCommand {
  readonly middlewareStack: {
    add(
      middleware: () => () => Promise<{ response: unknown }>,
      options: { step: 'deserialize'; priority: 'low' },
    ): void;
  };
}

/**
 * Sends a command through its client, which answers it itself: a middleware innermost in the
 * command's own stack, where the HTTP handler would be called, returns `answer` as a 200 response.
 * Everything else runs as for a real call: serialisation, endpoint rules, credentials, signing,
 * retries, deserialisation. What that does only on a client's first call (V8 compiling the
 * SDK's code, resolving the endpoint rules, preparing the schemas) is then done, with no request
 * made: most of what a cold start's first request spent in the SDK (docs/inference.md, round 13).
 * Resolves true once the client has taken the answer; false if it refused it, or has not finished
 * within PRIME_TIMEOUT_MS (a credential chain that waits on something, say). It never rejects:
 * priming only saves time, and init must not wait on it long; a client that refuses it still
 * serves its first call as before.
 */
export async function primeSend<C extends PrimableCommand>(
  command: C,
  send: (command: C) => Promise<unknown>,
  answer: PrimeAnswer,
): Promise<boolean> {
  command.middlewareStack.add(
    () => async () => ({
      response: {
        statusCode: 200,
        headers: answer.headers,
        // A stream that pushes once, as a response's body does (an IncomingMessage).
        body: new Readable({
          read() {
            if (answer.body !== undefined) this.push(answer.body);
            this.push(null);
          },
        }),
      },
    }),
    // Unnamed: lib-dynamodb's commands share their stack with the command they wrap, and the SDK
    // adds that stack twice, which it refuses for a named middleware. Added twice, the outer copy
    // answers.
    { step: 'deserialize', priority: 'low' },
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gaveUp = new Promise<boolean>((done) => {
    timer = setTimeout(() => done(false), PRIME_TIMEOUT_MS);
  });
  const answered = send(command).then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([answered, gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}
