import { QueryTypes, Sequelize } from 'sequelize';
import { parseDatabaseUrl } from '../../src/config';
import { createSequelize } from '../../src/db/connection';
import { runCli } from '../support/cli';
import { isolatedDatabaseUrl } from '../support/db';
import { REPO_ROOT } from '../support/paths';

// `npm run migrate -- --dry-run` (the CLI's `db migrate --dry-run`) lists pending migrations and
// changes nothing: what an operator runs before an upgrade.

const migrateCli = (databaseUrl: string, args: string[]) => runCli(databaseUrl, ['db', 'migrate', ...args]);

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
