import fs from 'node:fs';
import path from 'node:path';
import './env';
import { parseDatabaseUrl } from '../../src/config';
import { createSequelize } from '../../src/db/connection';
import { migrate } from '../../src/db/migrator';
import { prepareLtijsTables } from '../../src/lti/ltijs';
import { isPostgres, runTmpDir, sqliteTemplate, TMP_ROOT } from './paths';

const STALE_MS = 3 * 3600 * 1000;

// Every run starts from a clean database built by the real migrations (never sync()).
// PostgreSQL: a fresh database for this run, created next to the one DATABASE_URL names; tests
// isolate by data. SQLite: a migrated template that each test file copies.
export default async function globalSetup(): Promise<void> {
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  process.env.FF_TEST_RUN = runId;
  fs.mkdirSync(TMP_ROOT, { recursive: true });
  for (const entry of fs.readdirSync(TMP_ROOT)) {
    const dir = path.join(TMP_ROOT, entry);
    if (Date.now() - fs.statSync(dir).mtimeMs > STALE_MS) fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.mkdirSync(runTmpDir(), { recursive: true });

  if (isPostgres()) {
    const base = process.env.DATABASE_URL!;
    const admin = createSequelize(settingsOf(base));
    await dropStaleDatabases(admin);
    const name = `ff_run_${runId}`;
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.close();
    const url = new URL(base);
    url.pathname = `/${name}`;
    process.env.FF_TEST_BASE_DATABASE_URL = base;
    process.env.DATABASE_URL = url.toString();
    const sequelize = createSequelize(settingsOf(url.toString()));
    await migrate(sequelize);
    await sequelize.close();
    // ltijs-sequelize creates its tables with sync(); do it once here, not racing in every test file.
    await prepareLtijsTables(settingsOf(url.toString()));
    return;
  }
  const template = sqliteTemplate();
  const sequelize = createSequelize({ dialect: 'sqlite', storage: template, url: `sqlite:${template}` });
  await migrate(sequelize);
  await prepareLtijsTables({ dialect: 'sqlite', storage: template, url: `sqlite:${template}` });
  await sequelize.query('PRAGMA wal_checkpoint(TRUNCATE)');
  await sequelize.query('PRAGMA journal_mode=DELETE');
  await sequelize.close();
}

function settingsOf(url: string) {
  const settings = parseDatabaseUrl(url, process.cwd());
  if (typeof settings === 'string') throw new Error(`DATABASE_URL ${settings}`);
  return settings;
}

/** Databases of earlier runs (ff_run_<time><pid>, ff_test_*) older than a few hours. */
async function dropStaleDatabases(admin: ReturnType<typeof createSequelize>): Promise<void> {
  const [rows] = await admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'ff_run_%' OR datname LIKE 'ff_test_%'");
  for (const { datname } of rows as { datname: string }[]) {
    const match = /^ff_run_([0-9a-z]{8})/.exec(datname) ?? /^ff_test_[0-9a-f]+_([0-9a-z]{8})/.exec(datname);
    const created = match ? parseInt(match[1]!, 36) : 0;
    if (Date.now() - created > STALE_MS) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }
}
