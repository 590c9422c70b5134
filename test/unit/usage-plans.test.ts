/**
 * The API Gateway usage plan adapter (functions/adapters/usage-plans.ts) and the usage identifier
 * the authorizer returns.
 *
 * There is no local stand-in for API Gateway's control plane (API keys, usage plans), so these
 * tests drive the adapter with a hand-written fake of the client's `send`. The fake only records
 * the commands and answers with canned results or the SDK's own exception classes: it shows the
 * request shapes and the idempotency and error handling, not how API Gateway itself behaves
 * (value uniqueness, nameQuery matching) — those are taken from the API reference.
 */
import {
  ConflictException,
  CreateApiKeyCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  GetApiKeysCommand,
  NotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-api-gateway';
import { describe, expect, it } from 'vitest';
import {
  API_KEY_VALUE_MIN_LENGTH,
  ApiGatewayUsagePlan,
  type UsagePlanCommand,
  usageIdentifierKey,
  usagePlanFromEnv,
  withUsageIdentifier,
} from '../../functions/adapters/usage-plans.js';
import { USAGE_PLAN_ENV } from '../../functions/contract/limits.js';

const PLAN = 'plan123';
const KEY_ID = '01J9Z3K4M5N6P7Q8R9S0T1V2W3';
const VALUE = `serval-usage-${KEY_ID}`;

type Sent = { command: string; input: unknown };

/** Records every command; `answer` returns the result or throws, per command. */
function fakeClient(answer: (command: UsagePlanCommand, sent: Sent[]) => unknown) {
  const sent: Sent[] = [];
  return {
    sent,
    client: {
      async send(command: UsagePlanCommand): Promise<unknown> {
        sent.push({ command: command.constructor.name, input: command.input });
        return answer(command, sent);
      },
    },
  };
}

const conflict = () => new ConflictException({ message: 'exists', $metadata: {} });
const notFound = () => new NotFoundException({ message: 'gone', $metadata: {} });

describe('usageIdentifierKey', () => {
  it('derives the API key value from the Serval key id', () => {
    expect(usageIdentifierKey(KEY_ID)).toBe(VALUE);
    expect(VALUE.length).toBeGreaterThanOrEqual(API_KEY_VALUE_MIN_LENGTH);
  });

  it("pads short ids to API Gateway's 20-character minimum without making two ids collide", () => {
    expect(usageIdentifierKey('a')).toBe('serval-usage-a------');
    expect(usageIdentifierKey('a')).toHaveLength(20);
    expect(usageIdentifierKey('a0')).not.toBe(usageIdentifierKey('a'));
    expect(usageIdentifierKey('abcdefg')).toBe('serval-usage-abcdefg');
  });

  it.each(['', 'a-b', 'a b', 'svl_x', '../x'])('refuses %j, which is no key id', (id) => {
    expect(() => usageIdentifierKey(id)).toThrow('not a Serval key id');
  });
});

describe('ApiGatewayUsagePlan.enroll', () => {
  it('creates the API key with the derived value and adds it to the plan', async () => {
    const fake = fakeClient((c) => {
      if (c instanceof GetApiKeysCommand) return { items: [] };
      if (c instanceof CreateApiKeyCommand) return { id: 'ak1', name: VALUE };
      return {};
    });
    await new ApiGatewayUsagePlan(fake.client, PLAN).enroll(KEY_ID);
    expect(fake.sent).toEqual([
      { command: 'GetApiKeysCommand', input: { nameQuery: VALUE, limit: 500, position: undefined } },
      {
        command: 'CreateApiKeyCommand',
        input: {
          name: VALUE,
          value: VALUE,
          enabled: true,
          description: expect.stringContaining('not a credential'),
          tags: { 'serval:keyId': KEY_ID, 'serval:usagePlanId': PLAN },
        },
      },
      {
        command: 'CreateUsagePlanKeyCommand',
        input: { usagePlanId: PLAN, keyId: 'ak1', keyType: 'API_KEY' },
      },
    ]);
  });

  it('reuses an existing key of exactly that name, and an existing plan membership is fine', async () => {
    const fake = fakeClient((c) => {
      if (c instanceof GetApiKeysCommand)
        // nameQuery can match longer names too; only the exact name counts.
        return {
          items: [
            { id: 'other', name: `${VALUE}X` },
            { id: 'ak0', name: VALUE },
          ],
        };
      if (c instanceof CreateUsagePlanKeyCommand) throw conflict();
      throw new Error(`unexpected ${c.constructor.name}`);
    });
    await new ApiGatewayUsagePlan(fake.client, PLAN).enroll(KEY_ID);
    expect(fake.sent.map((s) => s.command)).toEqual(['GetApiKeysCommand', 'CreateUsagePlanKeyCommand']);
    expect(fake.sent[1]!.input).toEqual({ usagePlanId: PLAN, keyId: 'ak0', keyType: 'API_KEY' });
  });

  it('when another attempt created the key meanwhile (409), finds and enrolls that one', async () => {
    let lookups = 0;
    const fake = fakeClient((c) => {
      if (c instanceof GetApiKeysCommand)
        return { items: lookups++ === 0 ? [] : [{ id: 'ak2', name: VALUE }] };
      if (c instanceof CreateApiKeyCommand) throw conflict();
      return {};
    });
    await new ApiGatewayUsagePlan(fake.client, PLAN).enroll(KEY_ID);
    expect(fake.sent.map((s) => s.command)).toEqual([
      'GetApiKeysCommand',
      'CreateApiKeyCommand',
      'GetApiKeysCommand',
      'CreateUsagePlanKeyCommand',
    ]);
    expect(fake.sent[3]!.input).toMatchObject({ keyId: 'ak2' });
  });

  it('a 409 with no key of that name to be found is not hidden', async () => {
    const fake = fakeClient((c) => {
      if (c instanceof GetApiKeysCommand) return { items: [] };
      throw conflict();
    });
    await expect(new ApiGatewayUsagePlan(fake.client, PLAN).enroll(KEY_ID)).rejects.toBeInstanceOf(
      ConflictException,
    );
  });

  it('other failures propagate (the key creation then fails and can be retried)', async () => {
    const fake = fakeClient((c) => {
      if (c instanceof GetApiKeysCommand) return { items: [] };
      if (c instanceof CreateApiKeyCommand) return { id: 'ak1' };
      throw new TooManyRequestsException({ message: 'slow down', $metadata: {} });
    });
    await expect(new ApiGatewayUsagePlan(fake.client, PLAN).enroll(KEY_ID)).rejects.toBeInstanceOf(
      TooManyRequestsException,
    );
  });
});

describe('ApiGatewayUsagePlan.withdraw', () => {
  it('deletes every API key of exactly that name, across pages', async () => {
    const fake = fakeClient((c) => {
      if (c instanceof GetApiKeysCommand) {
        return c.input.position === undefined
          ? { items: [{ id: 'ak1', name: VALUE }], position: 'p2' }
          : {
              items: [
                { id: 'ak9', name: VALUE },
                { id: 'x', name: `${VALUE}-other` },
              ],
            };
      }
      return {};
    });
    await new ApiGatewayUsagePlan(fake.client, PLAN).withdraw(KEY_ID);
    expect(fake.sent).toEqual([
      { command: 'GetApiKeysCommand', input: { nameQuery: VALUE, limit: 500, position: undefined } },
      { command: 'GetApiKeysCommand', input: { nameQuery: VALUE, limit: 500, position: 'p2' } },
      { command: 'DeleteApiKeyCommand', input: { apiKey: 'ak1' } },
      { command: 'DeleteApiKeyCommand', input: { apiKey: 'ak9' } },
    ]);
  });

  it('is idempotent: nothing to delete, or already deleted, is fine', async () => {
    const none = fakeClient(() => ({ items: [] }));
    await new ApiGatewayUsagePlan(none.client, PLAN).withdraw(KEY_ID);
    expect(none.sent.map((s) => s.command)).toEqual(['GetApiKeysCommand']);

    const gone = fakeClient((c) => {
      if (c instanceof GetApiKeysCommand) return { items: [{ id: 'ak1', name: VALUE }] };
      if (c instanceof DeleteApiKeyCommand) throw notFound();
      return {};
    });
    await expect(new ApiGatewayUsagePlan(gone.client, PLAN).withdraw(KEY_ID)).resolves.toBeUndefined();
  });

  it('other failures propagate', async () => {
    const fake = fakeClient((c) => {
      if (c instanceof GetApiKeysCommand) return { items: [{ id: 'ak1', name: VALUE }] };
      throw new TooManyRequestsException({ message: 'slow down', $metadata: {} });
    });
    await expect(new ApiGatewayUsagePlan(fake.client, PLAN).withdraw(KEY_ID)).rejects.toBeInstanceOf(
      TooManyRequestsException,
    );
  });
});

describe('wiring by environment', () => {
  const allowed = {
    principalId: KEY_ID,
    policyDocument: { Version: '2012-10-17', Statement: [] },
    context: { role: 'viewer' },
  };

  it('the authorizer names the usage identifier only when a usage plan is configured', () => {
    expect(withUsageIdentifier(allowed, { [USAGE_PLAN_ENV]: PLAN })).toEqual({
      ...allowed,
      usageIdentifierKey: VALUE,
    });
    expect(withUsageIdentifier(allowed, {})).toBe(allowed);
    expect(withUsageIdentifier(allowed, {})).not.toHaveProperty('usageIdentifierKey');
  });

  it('the adapter exists only when SERVAL_USAGE_PLAN_ID is set (AWS), not locally', () => {
    expect(usagePlanFromEnv({})).toBeUndefined();
    expect(usagePlanFromEnv({ [USAGE_PLAN_ENV]: '' })).toBeUndefined();
    expect(usagePlanFromEnv({ [USAGE_PLAN_ENV]: PLAN })).toBeInstanceOf(ApiGatewayUsagePlan);
  });
});
