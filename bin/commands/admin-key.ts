/**
 * `serval admin-key`: creates an admin API key directly in a deployment's keys table — the only
 * way to get the first one, since every key route needs an admin. Uses the same core code and
 * adapters as the auth function, with the caller's own AWS credentials (the default chain).
 */

import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { Command } from 'commander';
import { documentClient } from '../../functions/adapters/aws-clients.js';
import { DynamoKeyStore } from '../../functions/adapters/dynamo-keys.js';
import { systemClock, ulids } from '../../functions/adapters/system.js';
import { ApiGatewayUsagePlan } from '../../functions/adapters/usage-plans.js';
import { ApiKeys } from '../../functions/core/auth/api-keys.js';
import { SYSTEM_PRINCIPAL } from '../../functions/core/auth/principal.js';

export function adminKeyCommand(): Command {
  return new Command('admin-key')
    .description(
      'create an admin API key in a deployed stack (stack outputs KeysTable, AuditTable, UsagePlanId)',
    )
    .requiredOption('--keys-table <name>', 'the KeysTable output')
    .requiredOption('--audit-table <name>', 'the AuditTable output')
    .option('--usage-plan-id <id>', 'the UsagePlanId output (enrols the key for rate limits)')
    .option('--name <name>', 'a name for the key', 'bootstrap-admin')
    .option('--region <region>', 'AWS region (default: the SDK default chain)')
    .action(
      async (opts: {
        keysTable: string;
        auditTable: string;
        usagePlanId?: string;
        name: string;
        region?: string;
      }) => {
        try {
          const keys = new ApiKeys({
            store: new DynamoKeyStore(documentClient({ region: opts.region }), {
              keys: opts.keysTable,
              audit: opts.auditTable,
            }),
            usagePlan: opts.usagePlanId
              ? new ApiGatewayUsagePlan(new APIGatewayClient({ region: opts.region }), opts.usagePlanId)
              : undefined,
            clock: systemClock,
            ids: ulids,
          });
          const { key, record } = await keys.create(SYSTEM_PRINCIPAL, { name: opts.name, role: 'admin' });
          console.log(`created admin key ${record.keyId} (${opts.name}); it is shown once:`);
          console.log(key);
        } catch (err) {
          console.error(`serval: could not create the key: ${(err as Error).message}`);
          process.exitCode = 2;
        }
      },
    );
}
