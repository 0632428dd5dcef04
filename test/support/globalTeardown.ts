import fs from 'node:fs';
import { parseDatabaseUrl } from '../../src/config';
import { createSequelize } from '../../src/db/connection';
import { runTmpDir } from './paths';

/** Removes this run's files and databases. */
export default async function globalTeardown(): Promise<void> {
  fs.rmSync(runTmpDir(), { recursive: true, force: true });
  const base = process.env.FF_TEST_BASE_DATABASE_URL;
  const run = process.env.FF_TEST_RUN;
  if (!base || !run) return;
  const settings = parseDatabaseUrl(base, process.cwd());
  if (typeof settings === 'string') return;
  const admin = createSequelize(settings);
  const [rows] = await admin.query(`SELECT datname FROM pg_database WHERE datname = 'ff_run_${run}' OR datname LIKE 'ff_test_%_${run}'`);
  for (const { datname } of rows as { datname: string }[]) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  await admin.close();
}
