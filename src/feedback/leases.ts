import type { Sequelize } from 'sequelize';
import { driverOf, type Statement } from '../db/driver';
import type { Run } from '../models';

// A run's lease, in plain SQL on the driver (src/db/driver.ts: these run once or more per provider
// call). A worker owns a run while it is `running` with its lease token and an unexpired lease; every
// write of the result names the token, so a worker that lost the lease (it expired and another took
// the run) writes nothing.

/** Runs a worker may take: queued and due, or running with an expired lease (a crashed process's). Parameter $1 is now. */
export const DUE_RUN_SQL = `(("status" = 'queued' AND ("next_attempt_at" IS NULL OR "next_attempt_at" <= $1)) OR ("status" = 'running' AND "lease_expires_at" < $1))`;

/** Counts the runs of connection `provider` holding one of its slots at time `now` (see connectionSlots.ts); both are parameter placeholders. */
export function heldSlotsSql(now: string, provider: string): string {
  return `SELECT count(*) AS "held" FROM "runs" WHERE "provider_id" = ${provider} AND "status" = 'running' AND "lease_expires_at" > ${now}`;
}

/**
 * SQLite's claim of a run as one UPDATE: it takes the run if it is due, only while its connection
 * holds fewer slots than allowed (counted in the same statement). Parameters: $1 now, $2 the run,
 * $3 the lease token, $4 the lease's end, $5 the connection and $6 its slots. PostgreSQL claims with
 * a function instead (connectionSlots.ts).
 */
export const SQLITE_CLAIM_SQL = `UPDATE "runs" SET "status" = 'running', "lease_token" = $3, "lease_expires_at" = $4, "started_at" = $1, "attempts" = "attempts" + 1, "updated_at" = $1
WHERE "id" = $2 AND ${DUE_RUN_SQL} AND (${heldSlotsSql('$1', '$5')}) < $6`;

/** What a finished attempt writes on its run. */
export interface RunResult {
  status: Run['status'];
  errorCode?: string | null;
  output?: unknown;
  tokensIn?: number;
  tokensOut?: number;
  costMicros?: number | null;
  latencyMs?: number;
  finishedAt?: Date;
  nextAttemptAt?: Date;
  /** Waiting for budget: not an attempt, so the claim's count is taken back and the start cleared. */
  notAnAttempt?: boolean;
}

const COLUMNS: Array<[keyof RunResult, string, 'date' | 'json' | 'plain']> = [
  ['status', 'status', 'plain'],
  ['errorCode', 'error_code', 'plain'],
  ['output', 'output', 'json'],
  ['tokensIn', 'tokens_in', 'plain'],
  ['tokensOut', 'tokens_out', 'plain'],
  ['costMicros', 'cost_micros', 'plain'],
  ['latencyMs', 'latency_ms', 'plain'],
  ['finishedAt', 'finished_at', 'date'],
  ['nextAttemptAt', 'next_attempt_at', 'date'],
];

/**
 * Writes the attempt's result and ends the lease, only while `token` still holds it; false when it no
 * longer does. `ledgerRow` (the last call's usage row, see RunCharges) is written first, in the same
 * statement on PostgreSQL (runAfter), even when the lease is no longer ours: the call was made.
 */
export async function finishRun(sequelize: Sequelize, runId: string, token: string, result: RunResult, ledgerRow?: Statement | null): Promise<boolean> {
  const driver = driverOf(sequelize);
  const params: unknown[] = [runId, token, driver.date(new Date())];
  const sets = ['"lease_token" = NULL', '"lease_expires_at" = NULL', '"updated_at" = $3'];
  for (const [key, column, kind] of COLUMNS) {
    if (!(key in result) || result[key] === undefined) continue;
    const value = result[key];
    params.push(kind === 'date' ? driver.date(value as Date | null) : kind === 'json' ? driver.json(value) : value);
    sets.push(`"${column}" = $${params.length}`);
  }
  if (result.notAnAttempt) sets.push('"started_at" = NULL', '"attempts" = CASE WHEN "attempts" > 0 THEN "attempts" - 1 ELSE 0 END');
  const update = `UPDATE "runs" SET ${sets.join(', ')} WHERE "id" = $1 AND "status" = 'running' AND "lease_token" = $2`;
  const changed = ledgerRow ? await driver.runAfter(ledgerRow, { sql: update, params }) : await driver.run(update, params);
  return changed === 1;
}

/**
 * Gives a claimed run back to the queue at once (graceful shutdown): only while `token` still holds
 * its lease, so a run that finished or was taken over meanwhile is left alone. The interrupted
 * attempt is not counted against the run's retries.
 */
export async function releaseRun(sequelize: Sequelize, runId: string, token: string): Promise<boolean> {
  const driver = driverOf(sequelize);
  const changed = await driver.run(
    `UPDATE "runs" SET "status" = 'queued', "lease_token" = NULL, "lease_expires_at" = NULL, "next_attempt_at" = NULL, "attempts" = CASE WHEN "attempts" > 0 THEN "attempts" - 1 ELSE 0 END, "updated_at" = $3
WHERE "id" = $1 AND "status" = 'running' AND "lease_token" = $2`,
    [runId, token, driver.date(new Date())],
  );
  return changed === 1;
}

/** Extends the lease while a call runs; false when the run is no longer ours. */
export async function renewLease(sequelize: Sequelize, runId: string, token: string, leaseMs: number): Promise<boolean> {
  const driver = driverOf(sequelize);
  const changed = await driver.run(`UPDATE "runs" SET "lease_expires_at" = $3 WHERE "id" = $1 AND "status" = 'running' AND "lease_token" = $2`, [runId, token, driver.date(new Date(Date.now() + leaseMs))]);
  return changed === 1;
}
