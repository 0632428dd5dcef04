import type { Command } from 'commander';
import { createMigrator } from '../db/migrator';
import { prepareLtijsTables } from '../lti/ltijs';
import { print } from './output';
import { withRuntime } from './runtime';

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('database schema');
  db.command('migrate')
    .description('apply pending migrations')
    .option('--dry-run', 'list pending migrations without applying them')
    .action(async (opts: { dryRun?: boolean }) => {
      await withRuntime({ migrate: false, checkKey: false }, async (runtime) => {
        const { sequelize } = runtime;
        const migrator = createMigrator(sequelize);
        const pending = (await migrator.pending()).map((m) => m.name);
        if (opts.dryRun) {
          print(pending.length ? `Pending migrations:\n${pending.map((n) => `  ${n}`).join('\n')}` : 'No pending migrations.');
          return;
        }
        const applied = await migrator.up();
        await prepareLtijsTables(runtime.config.database);
        print(applied.length ? `Applied ${applied.length} migration(s):\n${applied.map((m) => `  ${m.name}`).join('\n')}` : 'Database is up to date.');
      });
    });
}
