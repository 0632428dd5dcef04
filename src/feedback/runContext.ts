import { DataTypes, type InferAttributes, type ModelStatic, type Model, type Sequelize } from 'sequelize';
import { driverOf } from '../db/driver';
import { columnsOf, valuesFromRow } from '../db/modelRows';
import { SQLITE_CLAIM_SQL } from './leases';
import { Assignment, Deployment, Provider, Run, Submission } from '../models';
import type { Price } from './pricing';

// Everything a run needs before its provider call, read in ONE query: the run, its submission,
// assignment, provider connection (only within the run's deployment) and deployment, the feedback of
// the student's previous released draft, the model's price in the deployment's catalogue, and
// whether any budget applies or the run still holds a reservation (when neither, the budget step
// has nothing to do: src/budgets/reserve.ts). The per-call benchmark found executeRun spending
// ~15 ms of CPU on eight separate reads through Sequelize, so this is plain SQL on the driver
// (src/db/driver.ts) whose row is split into plain rows of each model (src/db/modelRows.ts).

/** Plain rows, not model instances: building five instances per call cost ~0.4 ms of CPU (per-call benchmark). */
export interface RunContext {
  run: InferAttributes<Run>;
  submission: InferAttributes<Submission> | null;
  assignment: InferAttributes<Assignment> | null;
  provider: InferAttributes<Provider> | null;
  deployment: InferAttributes<Deployment> | null;
  previousFeedback: { summary: string; criteria: Array<{ criterionId: string; comment: string; score: number }> } | null;
  price: Price;
  budgets: BudgetHint;
}

/** Read with the context, outside any lock: "none" can only order this run before a budget created meanwhile. */
export interface BudgetHint {
  anyApplies: boolean;
  openReservation: boolean;
}

type AnyModel = ModelStatic<Model>;
const REAL_TYPES = [DataTypes.DOUBLE, DataTypes.FLOAT, DataTypes.REAL, DataTypes.DECIMAL];

const PARTS: Array<{ key: 'run' | 'submission' | 'assignment' | 'provider' | 'deployment'; model: AnyModel; alias: string }> = [
  { key: 'run', model: Run as unknown as AnyModel, alias: 'r' },
  { key: 'submission', model: Submission as unknown as AnyModel, alias: 's' },
  { key: 'assignment', model: Assignment as unknown as AnyModel, alias: 'a' },
  { key: 'provider', model: Provider as unknown as AnyModel, alias: 'p' },
  { key: 'deployment', model: Deployment as unknown as AnyModel, alias: 'd' },
];

// Each statement is built once: the models' columns do not change while the process runs.
const built = new Map<string, unknown>();
function once<T>(key: string, build: () => T): T {
  if (!built.has(key)) built.set(key, build());
  return built.get(key) as T;
}

/** The context's columns ([expression, name]) and the tables they come from (the run is r). */
const contextParts = (dialect: 'sqlite' | 'postgres') =>
  once(`${dialect} parts`, () => {
    const snapshotModel = dialect === 'postgres' ? `r."instance_snapshot"->>'model'` : `json_extract(r."instance_snapshot", '$.model')`;
    const columns = PARTS.flatMap(({ model, alias }) => columnsOf(model, alias, `${alias}__`));
    // Floating-point columns: JSON text from SQLite keeps only 15 digits of them, its CAST to text all 17.
    const reals = new Set(
      PARTS.flatMap(({ model, alias }) => Object.values(model.getAttributes()).filter((a) => REAL_TYPES.some((type) => a.type instanceof type)).map((a) => `${alias}__${a.field}`)),
    );
    columns.push(
      [`(SELECT prev."feedback" FROM "submissions" prev
     WHERE prev."assignment_id" = s."assignment_id" AND prev."user_id" = s."user_id"
       AND prev."draft_number" < s."draft_number" AND prev."status" = 'released'
     ORDER BY prev."draft_number" DESC LIMIT 1)`, 'previous_feedback'],
      ['COALESCE(cm."input_price_override_micros", cm."input_price_micros")', 'price_input'],
      ['COALESCE(cm."output_price_override_micros", cm."output_price_micros")', 'price_output'],
      [`EXISTS (SELECT 1 FROM "budgets" b WHERE b."deployment_id" = r."deployment_id" AND (
       (b."scope" = 'deployment' AND b."scope_id" = r."deployment_id") OR (b."scope" = 'connection' AND b."scope_id" = r."provider_id")
    OR (b."scope" = 'instructor' AND b."scope_id" = a."created_by_user_id") OR (b."scope" = 'assignment' AND b."scope_id" = a."id")))`, 'any_budget'],
      [`EXISTS (SELECT 1 FROM "budget_reservations" br WHERE br."run_id" = r."id" AND br."state" = 'reserved')`, 'open_reservation'],
    );
    const from = `FROM "runs" r
LEFT JOIN "submissions" s ON s."id" = r."submission_id"
LEFT JOIN "assignments" a ON a."id" = s."assignment_id"
LEFT JOIN "providers" p ON p."id" = r."provider_id" AND p."deployment_id" = r."deployment_id"
LEFT JOIN "deployments" d ON d."id" = r."deployment_id"
LEFT JOIN "models" cm ON cm."deployment_id" = r."deployment_id" AND cm."provider_kind" = p."kind" AND cm."model" = ${snapshotModel}`;
    return { columns, from, reals };
  });

/** The context query; the run's id is parameter $1. */
const contextSql = (dialect: 'sqlite' | 'postgres') =>
  once(dialect, () => {
    const { columns, from } = contextParts(dialect);
    return `SELECT ${columns.map(([expression, name]) => `${expression} AS "${name}"`).join(', ')}
${from}
WHERE r."id" = $1`;
  });

/**
 * PostgreSQL: the claim (connectionSlots.ts) and, when it succeeds, the run's context in one
 * statement (one round trip fewer per call). Parameters as the claim function's; the row has
 * "slots" (the claim's answer) and the context's columns when slots ≥ 0. The context is read with
 * the statement's snapshot, from before the claim: contextFromRow applies the claim to the run.
 */
export const claimWithContextSql = () =>
  once('postgres claim', () => `WITH "claim" AS MATERIALIZED (SELECT feedforward_claim_run_slots($1, $2, $3, $4, $5, $6) AS "slots")
SELECT "claim"."slots", "context".* FROM "claim" LEFT JOIN LATERAL (${contextSql('postgres')}) "context" ON "claim"."slots" >= 0`);

/**
 * SQLite: the claim's UPDATE (SQLITE_CLAIM_SQL, with its parameters) returning the run's context, as one
 * JSON array in one column (a RETURNING clause names only the updated table; a subquery may read the
 * others): one statement, so one trip through libuv's threadpool, instead of two. No row: no claim.
 */
export const sqliteClaimWithContextSql = () =>
  once('sqlite claim', () => {
    const { columns, from, reals } = contextParts('sqlite');
    const values = columns.map(([expression, name]) => (reals.has(name) ? `CAST(${expression} AS TEXT)` : expression));
    return `${SQLITE_CLAIM_SQL}
RETURNING (SELECT json_array(${values.join(', ')}) ${from} WHERE r."id" = "runs"."id") AS "context"`;
  });

/** The row of the context query, from sqliteClaimWithContextSql's JSON array. */
export function contextRowFromJson(json: string): Record<string, unknown> {
  const values = JSON.parse(json) as unknown[];
  const { columns, reals } = contextParts('sqlite');
  const row: Record<string, unknown> = {};
  columns.forEach(([, name], i) => (row[name] = reals.has(name) && typeof values[i] === 'string' ? Number(values[i]) : values[i]));
  return row;
}

/** EXISTS comes back as a boolean on PostgreSQL and as 0/1 on SQLite. */
const truthy = (value: unknown) => value === true || Number(value) === 1;

/** The run and what it refers to, or null when the run does not exist. */
export async function loadRunContext(sequelize: Sequelize, runId: string): Promise<RunContext | null> {
  const driver = driverOf(sequelize);
  const rows = await driver.all(contextSql(driver.dialect), [runId]);
  return rows[0] ? contextFromRow(rows[0]) : null;
}

/**
 * A context row split into its parts. `claimed`: the row was read in the statement that claimed
 * the run, with a snapshot from before the claim; the claim's changes to the run are applied here.
 */
export function contextFromRow(row: Record<string, unknown>, claimed?: { token: string; now: Date; leaseUntil: Date }): RunContext {
  const built = Object.fromEntries(PARTS.map(({ key, model, alias }) => [key, valuesFromRow(model, row, `${alias}__`)])) as unknown as Pick<RunContext, 'run' | 'submission' | 'assignment' | 'provider' | 'deployment'>;
  if (claimed && built.run.leaseToken !== claimed.token) {
    built.run = { ...built.run, status: 'running', leaseToken: claimed.token, leaseExpiresAt: claimed.leaseUntil, startedAt: claimed.now, attempts: built.run.attempts + 1, updatedAt: claimed.now };
  }
  const feedback = (typeof row.previous_feedback === 'string' ? JSON.parse(row.previous_feedback) : row.previous_feedback) as Submission['feedback'];
  const previousFeedback = feedback ? { summary: feedback.summary, criteria: feedback.criteria.map((c) => ({ criterionId: c.criterionId, comment: c.comment, score: c.score })) } : null;
  const micros = (value: unknown) => (value === null || value === undefined ? null : Number(value));
  return {
    ...built,
    previousFeedback,
    price: { inputMicrosPerMTok: micros(row.price_input), outputMicrosPerMTok: micros(row.price_output) },
    budgets: { anyApplies: truthy(row.any_budget), openReservation: truthy(row.open_reservation) },
  };
}
