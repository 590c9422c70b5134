/**
 * API Gateway usage plans for Serval keys (AWS only). API Gateway meters and throttles requests
 * per API Gateway API key, and Serval's keys are its own; so each Serval key gets an API Gateway
 * key whose value is derived from the Serval key id, enrolled in the stage's usage plan, and the
 * authorizer names that value as the request's `usageIdentifierKey` (apiKeySourceType
 * AUTHORIZER). The value identifies a caller for metering only: callers never send it, and it
 * grants nothing: the Serval key or token checked by the authorizer is the credential.
 *
 * Both operations are idempotent, so a retried key creation or revocation converges.
 */
import {
  APIGatewayClient,
  CreateApiKeyCommand,
  type CreateApiKeyCommandOutput,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  GetApiKeysCommand,
  type GetApiKeysCommandOutput,
} from '@aws-sdk/client-api-gateway';
import { USAGE_PLAN_ENV, USAGE_PLAN_TAG } from '../contract/limits.js';
import type { UsagePlanPort } from '../core/auth/api-keys.js';

const PREFIX = 'serval-usage-';
/** API Gateway refuses API key values shorter than this. */
export const API_KEY_VALUE_MIN_LENGTH = 20;

/**
 * The API Gateway API key value (and name) standing for a Serval key. One function for the
 * adapter that creates the key and the authorizer that names it, so the two cannot disagree.
 * Key ids are alphanumeric (ULIDs), so padding with `-` keeps the mapping one-to-one.
 */
export function usageIdentifierKey(keyId: string): string {
  if (!/^[A-Za-z0-9]+$/.test(keyId)) throw new Error(`not a Serval key id: ${JSON.stringify(keyId)}`);
  return `${PREFIX}${keyId}`.padEnd(API_KEY_VALUE_MIN_LENGTH, '-');
}

/** The commands this adapter sends: a fake in tests implements exactly these. */
export type UsagePlanCommand =
  | CreateApiKeyCommand
  | CreateUsagePlanKeyCommand
  | GetApiKeysCommand
  | DeleteApiKeyCommand;

export interface ApiGatewaySender {
  send(command: UsagePlanCommand): Promise<unknown>;
}

function isServiceError(err: unknown, name: string): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === name;
}

export class ApiGatewayUsagePlan implements UsagePlanPort {
  constructor(
    private readonly client: ApiGatewaySender | APIGatewayClient,
    private readonly usagePlanId: string,
  ) {}

  async enroll(keyId: string): Promise<void> {
    const name = usageIdentifierKey(keyId);
    let apiKeyId = (await this.find(name))[0];
    if (apiKeyId === undefined) {
      try {
        const created = (await this.client.send(
          new CreateApiKeyCommand({
            name,
            value: name,
            enabled: true,
            description: `Serval key ${keyId}: usage identifier for plan ${this.usagePlanId} (not a credential)`,
            // Usage identifiers outlive a deleted stack; these tags find the ones it left. The plan
            // tag is also what IAM lets this function create and delete (USAGE_PLAN_TAG).
            tags: { 'serval:keyId': keyId, [USAGE_PLAN_TAG]: this.usagePlanId },
          }),
        )) as CreateApiKeyCommandOutput;
        apiKeyId = created.id;
      } catch (err) {
        // Values are unique per account and region: a concurrent or earlier attempt made it.
        if (!isServiceError(err, 'ConflictException')) throw err;
        apiKeyId = (await this.find(name))[0];
        if (apiKeyId === undefined) throw err;
      }
    }
    if (apiKeyId === undefined) throw new Error(`API Gateway created API key ${name} without an id`);
    try {
      await this.client.send(
        new CreateUsagePlanKeyCommand({ usagePlanId: this.usagePlanId, keyId: apiKeyId, keyType: 'API_KEY' }),
      );
    } catch (err) {
      if (!isServiceError(err, 'ConflictException')) throw err; // already in the plan
    }
  }

  async withdraw(keyId: string): Promise<void> {
    // Deleting the API key also removes it from every usage plan.
    for (const apiKey of await this.find(usageIdentifierKey(keyId))) {
      try {
        await this.client.send(new DeleteApiKeyCommand({ apiKey }));
      } catch (err) {
        if (!isServiceError(err, 'NotFoundException')) throw err;
      }
    }
  }

  /** Ids of the API keys named exactly `name` (nameQuery alone also matches longer names). */
  private async find(name: string): Promise<string[]> {
    const ids: string[] = [];
    let position: string | undefined;
    do {
      const page = (await this.client.send(
        new GetApiKeysCommand({ nameQuery: name, limit: 500, position }),
      )) as GetApiKeysCommandOutput;
      for (const item of page.items ?? []) if (item.name === name && item.id) ids.push(item.id);
      position = page.position;
    } while (position);
    return ids;
  }
}

/**
 * The authorizer's answer with the caller's usage identifier when usage plans are in use (env
 * SERVAL_USAGE_PLAN_ID, set on AWS only): API Gateway then meters the request against that API
 * key, and refuses it (403) if the key is not in the stage's plan. The principal id is the Serval
 * key id, for API keys and for tokens issued from them alike.
 */
export function withUsageIdentifier<R extends { principalId: string; usageIdentifierKey?: string | null }>(
  result: R,
  env: Readonly<Record<string, string | undefined>>,
): R {
  return env[USAGE_PLAN_ENV]
    ? { ...result, usageIdentifierKey: usageIdentifierKey(result.principalId) }
    : result;
}

/** The usage plan adapter when SERVAL_USAGE_PLAN_ID is set (AWS); locally none is needed. */
export function usagePlanFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): UsagePlanPort | undefined {
  const usagePlanId = env[USAGE_PLAN_ENV];
  return usagePlanId ? new ApiGatewayUsagePlan(new APIGatewayClient({}), usagePlanId) : undefined;
}
