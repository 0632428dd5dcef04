import { randomUUID } from 'node:crypto';
import { Sequelize } from 'sequelize';
import { benchDialect, createBenchDatabase } from './lib/databases';
import { setupLaunchAssignment } from './lib/setup';
import { IN_PROCESS_URL, linkClaims, openBenchTool } from './lib/tool';

// `node --import tsx bench/launchStatements.ts [--verbose]`: the SQL statements one full student
// launch (login, id_token POST, first page) sends, counted in-process through Sequelize, which both
// our models and ltijs-sequelize use. A returning student (second launch, same sub) is counted apart
// from a first-time one, since the user row is only written when the profile changed.

async function main(): Promise<void> {
  const verbose = process.argv.includes('--verbose');
  const db = await createBenchDatabase('statements');
  const tool = await openBenchTool(db.url);
  const seen: string[] = [];
  let counting = false;
  const original = Sequelize.prototype.query;
  Sequelize.prototype.query = function patched(this: Sequelize, sql: unknown, options?: unknown) {
    if (counting) seen.push(typeof sql === 'string' ? sql : String((sql as { query?: string }).query ?? sql));
    return (original as (...a: unknown[]) => Promise<unknown>).call(this, sql, options);
  } as typeof Sequelize.prototype.query;
  try {
    await setupLaunchAssignment(tool);
    const sub = `student-${randomUUID()}`;
    const oneLaunch = async (label: string) => {
      seen.length = 0;
      counting = true;
      const result = await tool.platform.launch(tool.app, { fixture: 'moodle-student', deploymentId: tool.deploymentId, toolUrl: IN_PROCESS_URL, claims: linkClaims('launch-bench-link', sub) });
      const page = await tool.platform.follow(tool.app, result);
      counting = false;
      if (page.status !== 200) throw new Error(`first page answered ${page.status}`);
      process.stdout.write(`${label}: ${seen.length} statements\n`);
      if (verbose) for (const s of seen) process.stdout.write(`  ${s.replace(/\s+/g, ' ').slice(0, 160)}\n`);
    };
    await oneLaunch(`${benchDialect()} first launch of a student`);
    await oneLaunch(`${benchDialect()} returning student, same profile`);
  } finally {
    Sequelize.prototype.query = original;
    await tool.close();
    await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
