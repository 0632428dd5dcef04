import type { Command } from 'commander';
import { rotateSecrets, secretsStatus, SecretsStatus } from '../secrets/rotation';
import { print } from './output';
import { progressReporter } from './progress';
import { withRuntime } from './runtime';

function describeStatus(status: SecretsStatus): string {
  const lines = [`Current key id: ${status.currentKeyId}`, `Stored secrets: ${status.total}`];
  for (const k of status.keys) lines.push(`  ${k.kid}  ${String(k.count).padStart(6)}  ${k.state}`);
  lines.push(
    status.remainingOnOldKeys === 0
      ? 'Every stored secret uses the current key: previous keys can be removed from SECRET_KEY_PREVIOUS.'
      : `${status.remainingOnOldKeys} stored secret(s) still use an older key: run \`npm run cli -- secrets rotate\` and keep SECRET_KEY_PREVIOUS until this reaches 0.`,
  );
  return lines.join('\n');
}

export function registerSecretsCommands(program: Command): void {
  const secrets = program.command('secrets').description('encrypted API keys (SECRET_KEY)');
  secrets
    .command('status')
    .description('count stored secrets per encryption key')
    .action(async () => {
      await withRuntime({}, async ({ sequelize, keyring }) => print(describeStatus(await secretsStatus(sequelize, keyring))));
    });
  secrets
    .command('rotate')
    .description('re-encrypt every stored secret with the current SECRET_KEY (resumable, safe to interrupt)')
    .option('--batch-size <n>', 'rows per batch', (v) => Number.parseInt(v, 10), 100)
    .action(async (opts: { batchSize: number }) => {
      await withRuntime({}, async ({ sequelize, keyring }) => {
        const before = await secretsStatus(sequelize, keyring);
        print(`Re-encrypting ${before.remainingOnOldKeys} of ${before.total} stored secret(s) with key ${before.currentKeyId}…`);
        const result = await rotateSecrets(sequelize, keyring, {
          batchSize: opts.batchSize,
          onProgress: progressReporter(before.remainingOnOldKeys, 're-encrypted', print),
        });
        print(`Re-encrypted ${result.rotated} secret(s).${result.failed ? ` ${result.failed} could not be read and were left untouched.` : ''}`);
        print(describeStatus(result.status));
        if (result.failed) process.exitCode = 1;
      });
    });
}
