import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseDatabaseUrl } from '../../src/config';
import { createSequelize } from '../../src/db/connection';
import { migrate } from '../../src/db/migrator';
import { prepareLtijsTables } from '../../src/lti/ltijs';
import { isPostgres, runTmpDir, sqliteTemplate } from './paths';

/** A DATABASE_URL for one test file: the shared PostgreSQL, or a fresh copy of the migrated SQLite template. */
export function testDatabaseUrl(): string {
  if (isPostgres()) return process.env.DATABASE_URL!;
  const file = path.join(runTmpDir(), `db-${process.pid}-${randomUUID()}.sqlite`);
  fs.copyFileSync(sqliteTemplate(), file);
  return `sqlite:${file}`;
}

/**
 * A database no other test file touches, for tests that change SECRET_KEY or count every row:
 * on PostgreSQL a new database built by the migrations, on SQLite a fresh template copy.
 */
export async function isolatedDatabaseUrl(): Promise<string> {
  if (!isPostgres()) return testDatabaseUrl();
  const base = new URL(process.env.DATABASE_URL!);
  const name = `ff_test_${randomUUID().replace(/-/g, '').slice(0, 8)}_${process.env.FF_TEST_RUN ?? 'manual'}`;
  const admin = createSequelize(postgresSettings(process.env.DATABASE_URL!));
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.close();
  base.pathname = `/${name}`;
  const sequelize = createSequelize(postgresSettings(base.toString()));
  await migrate(sequelize);
  await sequelize.close();
  await prepareLtijsTables(postgresSettings(base.toString()));
  return base.toString();
}

function postgresSettings(url: string) {
  const settings = parseDatabaseUrl(url, process.cwd());
  if (typeof settings === 'string') throw new Error(`DATABASE_URL ${settings}`);
  return settings;
}
