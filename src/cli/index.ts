import { Command } from 'commander';
import { registerDbCommands } from './dbCommands';
import { printError } from './output';
import { registerPlatformCommands } from './platformCommands';
import { registerPrivacyCommands } from './privacyCommands';
import { registerSecretsCommands } from './secretsCommands';

// `npm run cli -- <group> <command>`: one entry point for admin tasks.

export function buildProgram(): Command {
  const program = new Command('feedforward').description('FeedForward LTI administration').showHelpAfterError();
  registerDbCommands(program);
  registerSecretsCommands(program);
  registerPlatformCommands(program);
  registerPrivacyCommands(program);
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      printError(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    });
}
