/**
 * The SQS client, apart from the others (aws-clients.ts) so that a function that sends to SQS only
 * after its answer can load it then: inference's capture and online-learning sends (see
 * sqs-deferred.ts). With code splitting a module goes whole into the chunk every importer reaches,
 * so in aws-clients.ts it would be read at every init that reads the others.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { type ClientOverrides, region, sharedClient } from './aws-clients.js';

export function sqsClient(o: ClientOverrides = {}): SQSClient {
  return sharedClient(
    'SQS',
    o,
    () => new SQSClient({ endpoint: o.endpoint, region: region(o), credentials: o.credentials }),
  );
}
