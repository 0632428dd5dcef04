import { Op, QueryTypes, Sequelize } from 'sequelize';
import { Run } from '../models';
import { claimRun } from './executeRun';

// The per-connection concurrency limit across every worker process. A run holds one of its provider
// connection's slots while it is `running` with an unexpired lease (from the claim until its result
// is written, which spans every provider call it makes). A claim counts the held slots and takes the
// run in one transaction, serialised per connection: on PostgreSQL by a row lock on the provider
// row, on SQLite by the IMMEDIATE transaction (one writer at a time). A crashed worker's slots free
// themselves when their leases expire.

export type SlotClaim = { token: string } | 'busy' | 'gone';

/**
 * Claims the run if its connection has fewer than `limit` runs in flight in any process.
 * Returns the lease token, 'busy' (the connection is at its limit: try later) or 'gone' (not due).
 */
export async function claimRunWithinLimit(sequelize: Sequelize, run: { id: string; providerId: string }, limit: number, leaseMs: number): Promise<SlotClaim> {
  return sequelize.transaction(async (transaction) => {
    if (sequelize.getDialect() === 'postgres') {
      await sequelize.query('SELECT id FROM providers WHERE id = :id FOR UPDATE', { replacements: { id: run.providerId }, type: QueryTypes.SELECT, transaction });
    }
    const held = await Run.count({ where: { providerId: run.providerId, status: 'running', leaseExpiresAt: { [Op.gt]: new Date() } }, transaction });
    if (held >= limit) return 'busy';
    const token = await claimRun(sequelize, run.id, leaseMs, transaction);
    return token ? { token } : 'gone';
  });
}
