import { Op, QueryTypes, Sequelize } from 'sequelize';
import { Run } from '../models';
import { claimRun } from './executeRun';

// The per-connection concurrency limit across every worker process. A run holds one of its provider
// connection's slots while it is `running` with an unexpired lease (from the claim until its result
// is written, which spans every provider call it makes). A claim counts the held slots and takes the
// run atomically, serialised per connection:
// - PostgreSQL: in one transaction that first locks the provider row (so the count is read after
//   any concurrent claim on that connection has committed);
// - SQLite: in one UPDATE whose WHERE counts the held slots. A write statement takes SQLite's single
//   write lock before it reads, so no other claim runs in between; and it needs no transaction,
//   which on SQLite would open a fresh connection per claim (the per-call benchmark showed it).
// A crashed worker's slots free themselves when their leases expire.

export type SlotClaim = { token: string } | 'busy' | 'gone';

/**
 * Claims the run if its connection has fewer than `limit` runs in flight in any process.
 * Returns the lease token, 'busy' (the connection is at its limit: try later) or 'gone' (not due).
 */
export async function claimRunWithinLimit(sequelize: Sequelize, run: { id: string; providerId: string }, limit: number, leaseMs: number): Promise<SlotClaim> {
  if (sequelize.getDialect() !== 'postgres') {
    const now = new Date();
    const held = sequelize.literal(`(SELECT count(*) FROM runs AS held WHERE held.provider_id = ${sequelize.escape(run.providerId)} AND held.status = 'running' AND held.lease_expires_at > ${sequelize.escape(now)})`);
    const token = await claimRun(sequelize, run.id, leaseMs, undefined, sequelize.where(held, Op.lt, limit));
    if (token) return { token };
    return (await heldSlots(run.providerId)) >= limit ? 'busy' : 'gone';
  }
  return sequelize.transaction(async (transaction) => {
    await sequelize.query('SELECT id FROM providers WHERE id = :id FOR UPDATE', { replacements: { id: run.providerId }, type: QueryTypes.SELECT, transaction });
    if ((await heldSlots(run.providerId, transaction)) >= limit) return 'busy';
    const token = await claimRun(sequelize, run.id, leaseMs, transaction);
    return token ? { token } : 'gone';
  });
}

function heldSlots(providerId: string, transaction?: import('sequelize').Transaction): Promise<number> {
  return Run.count({ where: { providerId, status: 'running', leaseExpiresAt: { [Op.gt]: new Date() } }, transaction });
}
