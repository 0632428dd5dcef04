import { driverOf } from '../db/driver';
import { modelFromRow, modelOf, selectColumns, valuesFromRow } from '../db/modelRows';
import { Assignment, Run, Submission } from '../models';
import { FINAL_RUN_STATUSES } from '../models/Run';
import { aggregate } from './aggregate';
import { defaultQuorum } from '../commands/assignments';

// When a submission's last run ends, aggregate the successful runs once. The conditional status
// update makes the finisher unique even when two runs end at the same moment. Plain SQL on the
// driver: a worker calls this after its runs, and through Sequelize (six statements per submission)
// it was a tenth of a worker's CPU in the PostgreSQL fan-out benchmark.

export type FinalizeOutcome = { finalized: false } | { finalized: true; submission: Submission; assignment: Assignment; autoRelease: boolean };

const FINAL_LIST = FINAL_RUN_STATUSES.map((s) => `'${s}'`).join(', ');

export async function finalizeIfComplete(submissionId: string): Promise<FinalizeOutcome> {
  // Called after every run: first one cheap count (plain SQL on the driver), and the runs themselves
  // only once the last has ended.
  const driver = driverOf(Run.sequelize!);
  const [progress] = await driver.all<{ total: number | string; open: number | string | null; running: number | string | null; submission_status: string | null }>(
    `SELECT count(*) AS "total", SUM(CASE WHEN "status" IN (${FINAL_LIST}) THEN 0 ELSE 1 END) AS "open",
       SUM(CASE WHEN "status" = 'running' THEN 1 ELSE 0 END) AS "running",
       (SELECT "status" FROM "submissions" WHERE "id" = $1) AS "submission_status"
     FROM "runs" WHERE "submission_id" = $1`,
    [submissionId],
  );
  if (!progress || Number(progress.total) === 0 || Number(progress.open) > 0) {
    if (progress?.submission_status === 'queued' && Number(progress.running) > 0) {
      await driver.run(`UPDATE "submissions" SET "status" = 'running', "updated_at" = $2 WHERE "id" = $1 AND "status" = 'queued'`, [submissionId, driver.date(new Date())]);
    }
    return { finalized: false };
  }
  // Every run has ended (once per submission): the runs, then the submission with its assignment.
  const sql = (statements ??= finalizeSql());
  const runs = (await driver.all(sql.runs, [submissionId])).map((row) => valuesFromRow(Run, row)!);
  const [row] = await driver.all(sql.submission, [submissionId]);
  const submission = row ? valuesFromRow(Submission, row, 's__') : null;
  const assignment = row ? modelFromRow(Assignment, row, 'a__') : null;
  if (!submission || !assignment) return { finalized: false };

  const succeeded = runs
    .filter((r) => r.status === 'succeeded' && r.output)
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((r) => ({ runId: r.id, instanceId: r.instanceId, weight: r.instanceSnapshot.weight, output: r.output! }));
  const now = new Date();
  if (succeeded.length === 0) {
    const won = await driver.run(`UPDATE "submissions" SET "status" = 'failed', "updated_at" = $2 WHERE "id" = $1 AND "status" IN ('queued', 'running')`, [submissionId, driver.date(now)]);
    return won ? { finalized: true, submission: modelOf(Submission, { ...submission, status: 'failed', updatedAt: now }), assignment, autoRelease: false } : { finalized: false };
  }
  const result = aggregate(succeeded, assignment.rubric, { method: assignment.aggregation, quorum: assignment.quorum ?? defaultQuorum(assignment.models) });
  const feedback = {
    summary: result.summary,
    // A criterion below quorum keeps a null score: the instructor sets it; nothing is invented.
    criteria: result.criteria.map((c) => ({ criterionId: c.criterionId, score: c.score as number, strengths: c.strengths, improvements: c.improvements, comment: c.comment })),
  };
  const status = result.needsReview ? 'needs_review' : 'ready';
  const won = await driver.run(
    `UPDATE "submissions" SET "status" = $2, "aggregate" = $3, "feedback" = $4, "overall_score" = $5, "updated_at" = $6 WHERE "id" = $1 AND "status" IN ('queued', 'running')`,
    [submissionId, status, driver.json(result), driver.json(feedback), result.overallScore, driver.date(now)],
  );
  if (!won) return { finalized: false };
  return {
    finalized: true,
    submission: modelOf(Submission, { ...submission, status, aggregate: result, feedback, overallScore: result.overallScore, updatedAt: now }),
    assignment,
    autoRelease: assignment.releaseMode === 'auto' && !result.needsReview,
  };
}

/** Built on first use (the models are defined by then) and kept. */
let statements: ReturnType<typeof finalizeSql> | undefined;
function finalizeSql() {
  return {
    runs: `SELECT ${selectColumns(Run, 'r', '')} FROM "runs" r WHERE r."submission_id" = $1`,
    submission: `SELECT ${selectColumns(Submission, 's', 's__')}, ${selectColumns(Assignment, 'a', 'a__')}
FROM "submissions" s JOIN "assignments" a ON a."id" = s."assignment_id" WHERE s."id" = $1`,
  };
}
