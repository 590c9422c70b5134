import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../local/ports.js';
import { localDynamoClient } from '../../../local/services/clients.js';
import { checkJava, JAVA_REQUIRED_MESSAGE, startDynamoDbLocal } from '../../../local/services/dynamodb.js';
import { processAlive } from '../../support/processes.js';
import { createHashKeyTable } from '../../support/standins.js';

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'serval-ddb-test-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A stand-in `java` executable: answers -version with `versionLine`, and otherwise runs `body`. */
async function fakeJava(name: string, versionLine: string, body: string): Promise<string> {
  const path = join(scratch, name);
  await writeFile(
    path,
    `#!/bin/sh\nif [ "$1" = "-version" ]; then echo '${versionLine}' >&2; exit 0; fi\n${body}\n`,
  );
  await chmod(path, 0o755);
  return path;
}

describe('DynamoDB Local', () => {
  // Two JVM starts in a row: on a busy 2-core machine that can exceed the default 30 s.
  it('keeps data across a restart when given a data directory', { timeout: 90_000 }, async () => {
    const dataDir = join(scratch, 'data');
    const first = await startDynamoDbLocal({ dataDir });
    const client = localDynamoClient(first.endpoint);
    await createHashKeyTable(client, 'persisted', 'pk');
    await client.send(
      new PutItemCommand({ TableName: 'persisted', Item: { pk: { S: 'a' }, v: { N: '42' } } }),
    );
    client.destroy();
    await first.stop();
    expect(processAlive(first.pid)).toBe(false);

    const second = await startDynamoDbLocal({ dataDir });
    try {
      expect(second.pid).not.toBe(first.pid);
      const again = localDynamoClient(second.endpoint);
      const { Item } = await again.send(
        new GetItemCommand({ TableName: 'persisted', Key: { pk: { S: 'a' } } }),
      );
      expect(Item).toEqual({ pk: { S: 'a' }, v: { N: '42' } });
      again.destroy();
    } finally {
      await second.stop();
    }
  });

  it('finds Java 17 or newer on this machine', async () => {
    expect(await checkJava()).toBeGreaterThanOrEqual(17);
  });

  it('says Java is needed when there is no java executable', async () => {
    await expect(startDynamoDbLocal({ java: join(scratch, 'no-such-java') })).rejects.toThrow(
      JAVA_REQUIRED_MESSAGE,
    );
  });

  it('says Java 17 is needed when an older Java is installed', async () => {
    const java8 = await fakeJava('java8', 'java version "1.8.0_402"', 'exec sleep 30');
    const java11 = await fakeJava('java11', 'openjdk version "11.0.22" 2024-01-16', 'exec sleep 30');
    await expect(checkJava(java8)).rejects.toThrow(JAVA_REQUIRED_MESSAGE);
    await expect(startDynamoDbLocal({ java: java11 })).rejects.toThrow(JAVA_REQUIRED_MESSAGE);
  });

  it('surfaces the output of an emulator that exits during start-up', async () => {
    const crashing = await fakeJava(
      'crashing',
      'openjdk version "21.0.1" 2023-10-17',
      'echo "Exception in thread main: port is taken" >&2; exit 3',
    );
    await expect(startDynamoDbLocal({ java: crashing })).rejects.toThrow(
      /exited during start-up \(code 3\)[\s\S]*port is taken/,
    );
  });

  it('says which port is taken when told to use a busy one', async () => {
    const port = await freePort();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      await expect(startDynamoDbLocal({ port })).rejects.toThrow(
        `Port ${port} is already in use, so DynamoDB Local cannot listen there; choose another port.`,
      );
    } finally {
      squatter.close();
    }
  });
});
