/**
 * Health probes against a stalled endpoint: a TCP server that accepts connections and never
 * answers, the way a wedged queue or store looks from a client. The detailed health check must
 * say `degraded` within seconds instead of hanging until API Gateway's 29 s timeout.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoClient, s3Client } from '../../functions/adapters/aws-clients.js';
import { AwsHealthProbes, PROBE_TIMEOUT_MS } from '../../functions/adapters/health.js';
import { sqsClient } from '../../functions/adapters/sqs-client.js';
import { Health } from '../../functions/core/system/health.js';

let server: Server;
let endpoint: string;
const sockets: Socket[] = [];
let accepted = 0;

beforeAll(async () => {
  server = createServer((socket) => {
    accepted++;
    sockets.push(socket); // read nothing, answer nothing, close nothing
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  endpoint = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('health probes against a stalled endpoint', () => {
  it('answer degraded within the probe timeout, naming the stalled queue', async () => {
    const sqs = sqsClient({ endpoint, region: 'eu-west-1', credentials });
    const probes = new AwsHealthProbes(
      {
        db: dynamoClient({ endpoint, region: 'eu-west-1', credentials }),
        s3: s3Client({ endpoint, region: 'eu-west-1', credentials }),
        sqs,
      },
      {
        tables: [],
        buckets: [],
        queues: [{ name: 'queue:captures', resource: `${endpoint}/000000000000/captures` }],
      },
      1_000,
    );
    const health = new Health({
      probes,
      artifacts: {
        async *productionVersions() {},
        check: async () => ({ ok: true }),
        lastVerification: async () => ({ status: 'ready' }),
      },
      clock: { now: () => new Date() },
      maxVerificationAgeMs: 3_600_000,
    });
    const started = performance.now();
    const report = await health.detailed({ id: 'v', name: 'v', role: 'viewer' });
    const elapsed = performance.now() - started;
    expect(accepted).toBeGreaterThan(0); // the request did reach the stalled server
    expect(report.status).toBe('degraded');
    expect(report.queues).toEqual([
      expect.objectContaining({ name: 'queue:captures', kind: 'sqs', ok: false, error: expect.any(String) }),
    ]);
    expect(elapsed).toBeLessThan(3_000);
    sqs.destroy();
  }, 60_000);

  it('has a default deadline well under API Gateway’s 29 s', () => {
    expect(PROBE_TIMEOUT_MS).toBeLessThanOrEqual(5_000);
  });
});
