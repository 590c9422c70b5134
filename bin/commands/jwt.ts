/**
 * `serval jwt rotate`: rotates the local runtime's JWT signing secret. The old secret becomes
 * `previous`, so tokens already issued stay valid until they expire; functions pick the new one up
 * within their secret cache period (one minute). On AWS, put the same JSON shape into the Secrets
 * Manager secret instead (see README, Security).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';

export function rotateSecretFile(path: string): void {
  let current: string;
  try {
    current = (JSON.parse(readFileSync(path, 'utf8')) as { current: string }).current;
  } catch {
    throw new Error(`${path} is missing or unreadable; start Serval once to create it`);
  }
  const next = { current: randomBytes(48).toString('base64url'), previous: current };
  // Write-then-rename, so a function reading the file never sees half a secret.
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(next)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

export function jwtCommand(): Command {
  const jwt = new Command('jwt').description('JWT signing secret of the local runtime');
  jwt
    .command('rotate')
    .description('replace the signing secret; tokens issued before stay valid until they expire')
    .option('--data-dir <dir>', 'the data directory', process.env.SERVAL_DATA_DIR ?? '.serval')
    .action((opts: { dataDir: string }) => {
      try {
        rotateSecretFile(join(opts.dataDir, 'jwt-secret.json'));
        console.log(
          `rotated ${join(opts.dataDir, 'jwt-secret.json')}: new tokens use the new secret within a minute`,
        );
      } catch (err) {
        console.error(`serval: ${(err as Error).message}`);
        process.exitCode = 2;
      }
    });
  return jwt;
}
