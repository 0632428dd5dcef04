import { randomUUID } from 'node:crypto';
import type { Sequelize } from 'sequelize';
import { driverOf } from '../db/driver';
import { claimRun, DUE_RUN_SQL } from './leases';

// The per-connection concurrency limit across every worker process. A run holds one of its provider
// connection's slots while it is `running` with an unexpired lease (from the claim until its result
// is written, which spans every provider call it makes). A claim counts the held slots and takes the
// run atomically, serialised per connection:
// - PostgreSQL: in one function call (one round trip) that first locks the provider row; its claim
//   statement then counts with a fresh snapshot (READ COMMITTED), after any concurrent claim on that
//   connection committed;
// - SQLite: in one UPDATE whose WHERE counts the held slots. A write statement takes SQLite's single
//   write lock before it reads, so no other claim runs in between; and it needs no transaction,
//   which on SQLite would open a fresh connection per claim (the per-call benchmark showed it).
// A crashed worker's slots free themselves when their leases expire.

export type SlotClaim = { token: string } | 'busy' | 'gone';

/**
 * Claims the run if its connection has fewer than `limit` runs in flight in any process.
 * Returns the lease token, 'busy' (the connection is at its limit: try later) or 'gone' (not due).
 * A run that is still due after a failed claim is 'busy', whatever the slots count now: counting
 * them again could find a slot freed since the claim and call the run 'gone', and a PostgreSQL
 * worker would then drop a run whose job it had already completed (the fan-out benchmark lost
 * runs until the next sweep).
 */
export async function claimRunWithinLimit(sequelize: Sequelize, run: { id: string; providerId: string }, limit: number, leaseMs: number): Promise<SlotClaim> {
  const driver = driverOf(sequelize);
  const token = driver.dialect === 'postgres' ? await claimOnPostgres(sequelize, run, limit, leaseMs) : await claimRun(sequelize, run.id, leaseMs, { providerId: run.providerId, slots: limit });
  if (token) return { token };
  return (await isDue(sequelize, run.id)) ? 'busy' : 'gone';
}

/** One round trip: the function (migration 20261126100000) locks the provider row, counts and claims. */
async function claimOnPostgres(sequelize: Sequelize, run: { id: string; providerId: string }, limit: number, leaseMs: number): Promise<string | null> {
  const now = new Date();
  const token = randomUUID();
  const rows = await driverOf(sequelize).all<{ claimed: boolean }>('SELECT feedforward_claim_run($1, $2, $3, $4, $5, $6) AS "claimed"', [run.id, run.providerId, limit, token, now, new Date(now.getTime() + leaseMs)]);
  return rows[0]?.claimed ? token : null;
}

async function isDue(sequelize: Sequelize, runId: string): Promise<boolean> {
  const driver = driverOf(sequelize);
  const rows = await driver.all(`SELECT 1 AS "due" FROM "runs" WHERE "id" = $2 AND ${DUE_RUN_SQL}`, [driver.date(new Date()), runId]);
  return rows.length > 0;
}
