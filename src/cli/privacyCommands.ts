import type { Command } from 'commander';
import { removeExpiredTexts } from '../privacy/retention';
import { print } from './output';
import { withRuntime } from './runtime';

export function registerPrivacyCommands(program: Command): void {
  const privacy = program.command('privacy').description('student data');
  privacy
    .command('retention')
    .description("remove expired submission texts now, by each deployment's retention setting (workers also do it hourly)")
    .action(async () => {
      await withRuntime({}, async (runtime) => {
        const { removed, byDeployment } = await removeExpiredTexts(runtime.sequelize);
        print(removed ? `Removed ${removed} expired submission text(s):\n${Object.entries(byDeployment).map(([id, n]) => `  deployment ${id}: ${n}`).join('\n')}` : 'No expired submission texts.');
      });
    });
}
