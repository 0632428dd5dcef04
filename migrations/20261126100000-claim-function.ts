import type { Migration } from '../src/db/migrator';

// PostgreSQL: the connection-slot claim (src/feedback/connectionSlots.ts) as one function, so a claim
// is one round trip instead of four (BEGIN, lock, claim, COMMIT; the per-call benchmark, issue #8).
// It does what that transaction did: lock the provider row, then count the connection's held slots
// and take the run in one UPDATE. In READ COMMITTED each statement of a VOLATILE function takes a
// fresh snapshot, so the count sees every claim that committed while this one waited for the lock.
// The condition for "due" is the same as DUE_RUN_SQL in src/feedback/leases.ts (a migration is a
// fixed snapshot, so it is written out here). SQLite needs no function: there the claim is already
// one UPDATE. A new function is additive: the previous release never calls it.

const CLAIM_FUNCTION = `
CREATE OR REPLACE FUNCTION feedforward_claim_run(p_run uuid, p_provider uuid, p_slots integer, p_token varchar, p_now timestamptz, p_lease_until timestamptz)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM 1 FROM providers WHERE id = p_provider FOR UPDATE;
  UPDATE runs SET status = 'running', lease_token = p_token, lease_expires_at = p_lease_until, started_at = p_now, attempts = attempts + 1, updated_at = p_now
  WHERE id = p_run
    AND ((status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= p_now)) OR (status = 'running' AND lease_expires_at < p_now))
    AND (SELECT count(*) FROM runs held WHERE held.provider_id = p_provider AND held.status = 'running' AND held.lease_expires_at > p_now) < p_slots;
  RETURN FOUND;
END $$`;

export const up: Migration = async ({ context }) => {
  if (context.sequelize.getDialect() !== 'postgres') return;
  await context.sequelize.query(CLAIM_FUNCTION);
};

export const down: Migration = async ({ context }) => {
  if (context.sequelize.getDialect() !== 'postgres') return;
  await context.sequelize.query('DROP FUNCTION IF EXISTS feedforward_claim_run(uuid, uuid, integer, varchar, timestamptz, timestamptz)');
};
