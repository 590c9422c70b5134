/**
 * A retrain worker in its own process, for the test that kills one mid-job
 * (test/integration/retrain-recovery.test.ts): the handler of functions/handlers/retrain-worker.ts
 * with the environment it is given, one SQS record for the job in argv[2].
 */
import { createHandler } from '../../functions/handlers/retrain-worker.js';

const jobId = process.argv[2] as string;
const handler = createHandler(process.env);
await handler({ Records: [{ messageId: 'm1', body: JSON.stringify({ jobId }) } as never] }, {
  getRemainingTimeInMillis: () => 900_000,
} as never);
process.stdout.write('finished\n');
