import fs from 'node:fs';
import './env';
import { parseDatabaseUrl } from '../../src/config';
import { createSequelize } from '../../src/db/connection';
import { migrate } from '../../src/db/migrator';
import { prepareLtijsTables } from '../../src/lti/ltijs';
import { isPostgres, SQLITE_TEMPLATE, TMP_DIR } from './paths';

// Every run starts from a clean database built by the real migrations (never sync()).
// PostgreSQL: one schema for the run, tests isolate by data. SQLite: a migrated template that each
// test file copies, so files run in parallel without sharing a writer.
export default async function globalSetup(): Promise<void> {
  fs.rmSync(TMP_DIR, { recursive: true, force: true });
  fs.mkdirSync(TMP_DIR, { recursive: true });
  if (isPostgres()) {
    const settings = parseDatabaseUrl(process.env.DATABASE_URL!, process.cwd());
    if (typeof settings === 'string') throw new Error(`DATABASE_URL ${settings}`);
    const sequelize = createSequelize(settings);
    // Databases left by isolatedDatabaseUrl() in earlier runs.
    const [old] = await sequelize.query("SELECT datname FROM pg_database WHERE datname LIKE 'ff_test_%'");
    for (const { datname } of old as { datname: string }[]) await sequelize.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await sequelize.query('DROP SCHEMA IF EXISTS public CASCADE');
    await sequelize.query('CREATE SCHEMA public');
    await migrate(sequelize);
    await sequelize.close();
    // ltijs-sequelize creates its tables with sync(); do it once here, not racing in every test file.
    await prepareLtijsTables(settings);
    return;
  }
  const sequelize = createSequelize({ dialect: 'sqlite', storage: SQLITE_TEMPLATE, url: `sqlite:${SQLITE_TEMPLATE}` });
  await migrate(sequelize);
  await prepareLtijsTables({ dialect: 'sqlite', storage: SQLITE_TEMPLATE, url: `sqlite:${SQLITE_TEMPLATE}` });
  await sequelize.query('PRAGMA wal_checkpoint(TRUNCATE)');
  await sequelize.query('PRAGMA journal_mode=DELETE');
  await sequelize.close();
}
