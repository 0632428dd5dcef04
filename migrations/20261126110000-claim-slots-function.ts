import type { Migration } from '../src/db/migrator';

// PostgreSQL: the connection-slot claim (src/feedback/connectionSlots.ts) that also says why a claim
// failed and how many slots are left after one succeeded, so that a worker neither checks a refused
// run again nor tries its connection once more when it is already full. The PostgreSQL fan-out
// benchmark made 1.7 claims per run, the extra ones all refused ("busy"), each followed by a check
// whether the run was still due: a third of the workers' round trips.
//
// Returns the slots left after taking the run (≥ 0), -1 when the run is no longer due, -2 when its
// connection is full. A full connection is seen first without the provider row's lock: such a claim
// writes nothing, so it neither waits for other claims nor waits for a WAL flush when it ends. A slot
// that frees just after that count is announced by the worker freeing it (its wake-up), so the run is
// tried again. Otherwise as feedforward_claim_run (migration 20261126100000): the lock on the
// provider row serialises claims per connection, and each statement takes a fresh snapshot (READ
// COMMITTED, VOLATILE), so the count under the lock sees every claim that committed before it.
//
// A claim commits without waiting for the WAL flush (synchronous_commit off for its transaction only;
// ~0.3–0.4 ms here). Losing one in a database crash (at most ~0.6 s of such commits, and any later
// ordinary commit flushes it) leaves its run queued, as a crashed worker's run is: the sweep re-sends
// its job and it runs again. The result, the ledger row and everything else still wait for the flush.
// The previous function stays for the release before this one.

const DUE = `((status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= p_now)) OR (status = 'running' AND lease_expires_at < p_now))`;
const HELD = `SELECT count(*) FROM runs held WHERE held.provider_id = p_provider AND held.status = 'running' AND held.lease_expires_at > p_now`;

const CLAIM_FUNCTION = `
CREATE OR REPLACE FUNCTION feedforward_claim_run_slots(p_run uuid, p_provider uuid, p_slots integer, p_token varchar, p_now timestamptz, p_lease_until timestamptz)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_held integer;
BEGIN
  v_held := (${HELD});
  IF v_held < p_slots THEN
    PERFORM 1 FROM providers WHERE id = p_provider FOR UPDATE;
    v_held := (${HELD});
    IF v_held < p_slots THEN
      -- The claim's commit does not wait for the WAL flush: lost in a database crash, the run is
      -- simply queued again (its job is re-sent by the sweep), as if its worker had crashed.
      PERFORM set_config('synchronous_commit', 'off', true);
      UPDATE runs SET status = 'running', lease_token = p_token, lease_expires_at = p_lease_until, started_at = p_now, attempts = attempts + 1, updated_at = p_now
      WHERE id = p_run AND ${DUE};
      RETURN CASE WHEN FOUND THEN p_slots - v_held - 1 ELSE -1 END;
    END IF;
  END IF;
  RETURN CASE WHEN EXISTS (SELECT 1 FROM runs WHERE id = p_run AND ${DUE}) THEN -2 ELSE -1 END;
END $$`;

export const up: Migration = async ({ context }) => {
  if (context.sequelize.getDialect() !== 'postgres') return;
  await context.sequelize.query(CLAIM_FUNCTION);
};

export const down: Migration = async ({ context }) => {
  if (context.sequelize.getDialect() !== 'postgres') return;
  await context.sequelize.query('DROP FUNCTION IF EXISTS feedforward_claim_run_slots(uuid, uuid, integer, varchar, timestamptz, timestamptz)');
};
