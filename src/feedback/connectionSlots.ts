import { randomUUID } from 'node:crypto';
import type { Sequelize } from 'sequelize';
import { driverOf } from '../db/driver';
import { DUE_RUN_SQL } from './leases';
import { claimWithContextSql, contextFromRow, contextRowFromJson, sqliteClaimWithContextSql, type RunContext } from './runContext';

// The per-connection concurrency limit across every worker process. A run holds one of its provider
// connection's slots while it is `running` with an unexpired lease (from the claim until its result
// is written, which spans every provider call it makes). A claim counts the held slots and takes the
// run atomically, serialised per connection:
// - PostgreSQL: in one function call (one round trip, migration 20261126110000) that counts, locks the
//   provider row and counts again with a fresh snapshot (READ COMMITTED), after any concurrent claim
//   on that connection committed, then takes the run. It also says why a claim failed and how many
//   slots a successful one left, so a worker never tries a connection it knows is full;
// - SQLite: in one UPDATE whose WHERE counts the held slots. A write statement takes SQLite's single
//   write lock before it reads, so no other claim runs in between; and it needs no transaction,
//   which on SQLite would open a fresh connection per claim (the per-call benchmark showed it). It
//   returns the run's context (runContext.ts).
// A crashed worker's slots free themselves when their leases expire.

/**
 * A successful claim has the lease token and `context`, the run's context read in the same statement
 * (pass it to executeRun); on PostgreSQL also `slotsLeft`, the free slots on the connection just after
 * it (more may free meanwhile).
 */
export type SlotClaim = { token: string; slotsLeft?: number; context?: RunContext } | 'busy' | 'gone';

export async function claimRunWithinLimit(sequelize: Sequelize, run: { id: string; providerId: string }, limit: number, leaseMs: number): Promise<SlotClaim> {
  const now = new Date();
  const lease: Lease = { token: randomUUID(), now, leaseUntil: new Date(now.getTime() + leaseMs) };
  return driverOf(sequelize).dialect === 'postgres' ? claimOnPostgres(sequelize, run, limit, lease) : claimOnSqlite(sequelize, run, limit, lease);
}

/** The lease a claim takes (contextFromRow applies it to a context read before the claim). */
interface Lease {
  token: string;
  now: Date;
  leaseUntil: Date;
}

/** One round trip: the function (migration 20261126110000) counts, locks the provider row, claims, and says why not; the run's context comes with a successful claim. */
async function claimOnPostgres(sequelize: Sequelize, run: { id: string; providerId: string }, limit: number, lease: Lease): Promise<SlotClaim> {
  const [row] = await driverOf(sequelize).all<Record<string, unknown> & { slots: number }>(claimWithContextSql(), [run.id, run.providerId, limit, lease.token, lease.now, lease.leaseUntil]);
  const slots = Number(row?.slots);
  if (slots >= 0) return { token: lease.token, slotsLeft: slots, context: contextFromRow(row!, lease) };
  return slots === -2 ? 'busy' : 'gone';
}

/** One statement: the claim's UPDATE returns the run's context; no row, and a second look says why. */
async function claimOnSqlite(sequelize: Sequelize, run: { id: string; providerId: string }, limit: number, lease: Lease): Promise<SlotClaim> {
  const driver = driverOf(sequelize);
  const params = [driver.date(lease.now), run.id, lease.token, driver.date(lease.leaseUntil), run.providerId, limit];
  const [row] = await driver.returning<{ context: string | null }>(sqliteClaimWithContextSql(), params);
  // (The subquery sees the claimed run; contextFromRow would apply the claim if it did not.)
  if (row) return row.context ? { token: lease.token, context: contextFromRow(contextRowFromJson(row.context), lease) } : { token: lease.token };
  return (await isDue(sequelize, run.id)) ? 'busy' : 'gone';
}

async function isDue(sequelize: Sequelize, runId: string): Promise<boolean> {
  const driver = driverOf(sequelize);
  const rows = await driver.all(`SELECT 1 AS "due" FROM "runs" WHERE "id" = $2 AND ${DUE_RUN_SQL}`, [driver.date(new Date()), runId]);
  return rows.length > 0;
}
