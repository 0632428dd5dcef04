import { spawn } from 'node:child_process';
import path from 'node:path';
import { QueryTypes, Sequelize } from 'sequelize';
import { parseDatabaseUrl } from '../../src/config';
import { createSequelize } from '../../src/db/connection';
import { isolatedDatabaseUrl } from '../support/db';
import { REPO_ROOT } from '../support/paths';

// `npm run migrate -- --dry-run` (the CLI's `db migrate --dry-run`) lists pending migrations and
// changes nothing: what an operator runs before an upgrade.

function migrateCli(databaseUrl: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/index.ts'), 'db', 'migrate', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run migrate -- --dry-run', () => {
  let databaseUrl: string;
  let sequelize: Sequelize;
  const applied = async () => (await sequelize.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name', { type: QueryTypes.SELECT })).map((r) => r.name);

  beforeAll(async () => {
    databaseUrl = await isolatedDatabaseUrl();
    const settings = parseDatabaseUrl(databaseUrl, REPO_ROOT);
    if (typeof settings === 'string') throw new Error(settings);
    sequelize = createSequelize(settings);
  });
  afterAll(() => sequelize.close());

  test('lists the pending migrations, or says there are none, and applies nothing', async () => {
    const all = await applied();
    const last = all[all.length - 1]!;
    const upToDate = await migrateCli(databaseUrl, ['--dry-run']);
    expect(upToDate).toMatchObject({ code: 0 });
    expect(upToDate.stdout).toContain('No pending migrations.');

    // Pretend the newest migration is not applied yet (as after deploying a new release).
    await sequelize.query('DELETE FROM schema_migrations WHERE name = :last', { replacements: { last } });
    const dry = await migrateCli(databaseUrl, ['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Pending migrations:');
    expect(dry.stdout).toContain(last);
    expect(await applied()).not.toContain(last);
  });
});
