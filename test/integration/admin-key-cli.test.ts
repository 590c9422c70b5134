/** `serval admin-key` creates a working admin key in a deployment's tables (DynamoDB Local here). */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/adapters/aws-clients.js';
import { DynamoKeyStore } from '../../functions/adapters/dynamo-keys.js';
import { ApiKeys } from '../../functions/core/auth/api-keys.js';
import { standinsForFile } from '../support/lifecycle.js';
import type { Standins } from '../support/standins.js';

let aws: Standins;

standinsForFile({
  setup: (started) => {
    aws = started;
  },
});

describe('serval admin-key', () => {
  it('prints a key once that authenticates as admin, and audits its creation', async () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['bin/serval.js', 'admin-key', ...args], {
        encoding: 'utf8',
        env: { ...process.env, ...aws.env },
      });
    const res = run([
      '--keys-table',
      aws.resources.tables.keys,
      '--audit-table',
      aws.resources.tables.audit,
      '--name',
      'ops',
    ]);
    expect(res.status, res.stderr).toBe(0);
    const key = res.stdout.trim().split('\n').at(-1)!;
    expect(key).toMatch(/^svl_/);
    const keys = new ApiKeys({
      store: new DynamoKeyStore(documentClient(), { keys: aws.resources.tables.keys }),
      clock: { now: () => new Date() },
      ids: { next: () => 'unused' },
    });
    expect(await keys.authenticate(key)).toMatchObject({ name: 'ops', role: 'admin' });
    const missing = run(['--keys-table', 'no-such-table', '--audit-table', aws.resources.tables.audit]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('could not create the key');
  });
});
