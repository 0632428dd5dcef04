import { Op } from 'sequelize';
import { driverOf } from '../db/driver';
import { Assignment, Run, Submission } from '../models';
import { FINAL_RUN_STATUSES } from '../models/Run';
import { aggregate } from './aggregate';
import { defaultQuorum } from '../commands/assignments';

// When a submission's last run ends, aggregate the successful runs once. The conditional status
// update makes the finisher unique even when two runs end at the same moment.


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
    if (progress?.submission_status === 'queued' && Number(progress.running) > 0) await Submission.update({ status: 'running' }, { where: { id: submissionId, status: 'queued' } });
    return { finalized: false };
  }
  const runs = await Run.findAll({ where: { submissionId } });
  const submission = await Submission.findByPk(submissionId);
  const assignment = submission && (await Assignment.findByPk(submission.assignmentId));
  if (!submission || !assignment) return { finalized: false };

  const succeeded = runs
    .filter((r) => r.status === 'succeeded' && r.output)
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((r) => ({ runId: r.id, instanceId: r.instanceId, weight: r.instanceSnapshot.weight, output: r.output! }));
  if (succeeded.length === 0) {
    const [won] = await Submission.update({ status: 'failed' }, { where: { id: submissionId, status: { [Op.in]: ['queued', 'running'] } } });
    return won ? { finalized: true, submission: await submission.reload(), assignment, autoRelease: false } : { finalized: false };
  }
  const result = aggregate(succeeded, assignment.rubric, { method: assignment.aggregation, quorum: assignment.quorum ?? defaultQuorum(assignment.models) });
  const feedback = {
    summary: result.summary,
    // A criterion below quorum keeps a null score: the instructor sets it; nothing is invented.
    criteria: result.criteria.map((c) => ({ criterionId: c.criterionId, score: c.score as number, strengths: c.strengths, improvements: c.improvements, comment: c.comment })),
  };
  const status = result.needsReview ? 'needs_review' : 'ready';
  const [won] = await Submission.update(
    { status, aggregate: result, feedback, overallScore: result.overallScore },
    { where: { id: submissionId, status: { [Op.in]: ['queued', 'running'] } } },
  );
  if (!won) return { finalized: false };
  return { finalized: true, submission: await submission.reload(), assignment, autoRelease: assignment.releaseMode === 'auto' && !result.needsReview };
}
