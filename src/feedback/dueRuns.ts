import type { Sequelize } from 'sequelize';
import { driverOf } from '../db/driver';
import { DUE_RUN_SQL } from './leases';

// What the worker reads each time it looks for work (once per finished run): plain rows straight
// from the driver (src/db/driver.ts), oldest first.

export interface DueRun {
  id: string;
  providerId: string;
  submissionId: string;
}

const COLUMNS = `"id", "provider_id" AS "providerId", "submission_id" AS "submissionId"`;

/** Up to `limit` runs a worker may take now, skipping the connections in `exceptProviders`. */
export async function dueRuns(sequelize: Sequelize, limit: number, exceptProviders: string[] = []): Promise<DueRun[]> {
  const driver = driverOf(sequelize);
  const params: unknown[] = [driver.date(new Date()), limit, ...exceptProviders];
  const except = exceptProviders.length ? ` AND "provider_id" NOT IN (${exceptProviders.map((_, i) => `$${i + 3}`).join(', ')})` : '';
  return driver.all<DueRun>(`SELECT ${COLUMNS} FROM "runs" WHERE ${DUE_RUN_SQL}${except} ORDER BY "created_at" LIMIT $2`, params);
}

/** How many runs are due now (the queue-depth gauge). */
export async function countDueRuns(sequelize: Sequelize): Promise<number> {
  const driver = driverOf(sequelize);
  const rows = await driver.all<{ n: number | string }>(`SELECT count(*) AS "n" FROM "runs" WHERE ${DUE_RUN_SQL}`, [driver.date(new Date())]);
  return Number(rows[0]?.n ?? 0);
}

/** These runs (those that still exist), in no particular order. */
export async function runsByIds(sequelize: Sequelize, ids: string[]): Promise<DueRun[]> {
  if (ids.length === 0) return [];
  return driverOf(sequelize).all<DueRun>(`SELECT ${COLUMNS} FROM "runs" WHERE "id" IN (${ids.map((_, i) => `$${i + 1}`).join(', ')})`, ids);
}
