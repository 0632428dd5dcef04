import { Op } from 'sequelize';
import { releaseSubmission, type ReleaseDeps } from './release';
import { conflict, HttpError } from '../errors';
import { notifyRunsQueued } from '../feedback/queue';
import { runJobsFor } from '../feedback/runJobs';
import { Assignment, Run, Submission } from '../models';
import { FINAL_RUN_STATUSES } from '../models/Run';

// Work on a whole assignment, shared by the API and the screens: progress counts, re-running the
// failed runs of a submission, and bulk release.

/** The progress numbers of an assignment. */
export interface Progress {
  submissions: Record<string, number>;
  runs: Record<string, number>;
  failures: Record<string, number>;
  spendMicros: number;
  unpricedRuns: number;
  /** Runs held back because a budget has no room; they start by themselves when room frees up. */
  waitingForBudget: number;
  /** About how long the remaining runs take (null until a run has finished, or when nothing remains). */
  etaSeconds: number | null;
}

/**
 * "About" how long is left: the median duration of the finished runs × the runs still to do ÷ the
 * parallelism seen now (runs in flight, at least one). Deliberately simple.
 */
export function estimateTimeLeft(runs: Array<Pick<Run, 'status' | 'startedAt' | 'finishedAt'>>): number | null {
  const durations = runs
    .filter((r) => r.finishedAt && r.startedAt && (FINAL_RUN_STATUSES as readonly string[]).includes(r.status))
    .map((r) => r.finishedAt!.getTime() - r.startedAt!.getTime())
    .filter((ms) => ms >= 0)
    .sort((a, b) => a - b);
  const remaining = runs.filter((r) => ['queued', 'running', 'budget_wait'].includes(r.status)).length;
  if (durations.length === 0 || remaining === 0) return null;
  const mid = Math.floor(durations.length / 2);
  const median = durations.length % 2 ? durations[mid]! : (durations[mid - 1]! + durations[mid]!) / 2;
  const parallelism = Math.max(1, runs.filter((r) => r.status === 'running').length);
  return Math.ceil((median * remaining) / parallelism / 1000);
}

/** Submissions and runs by status, failures by reason, spend so far (the API's progress body). */
export async function assignmentProgress(assignment: Assignment): Promise<Progress & { failedRunsBySubmission: Map<string, number> }> {
  const submissions = await Submission.findAll({ where: { assignmentId: assignment.id }, attributes: ['id', 'status'] });
  const ids = submissions.map((s) => s.id);
  const runs = ids.length ? await Run.findAll({ where: { submissionId: ids }, attributes: ['submissionId', 'status', 'errorCode', 'costMicros', 'startedAt', 'finishedAt'] }) : [];
  const count = <T extends string>(xs: T[]) => xs.reduce<Record<string, number>>((acc, x) => ({ ...acc, [x]: (acc[x] ?? 0) + 1 }), {});
  const failed = runs.filter((r) => r.status === 'failed' || r.status === 'invalid_output');
  const failedRunsBySubmission = new Map<string, number>();
  for (const r of failed) failedRunsBySubmission.set(r.submissionId, (failedRunsBySubmission.get(r.submissionId) ?? 0) + 1);
  return {
    submissions: { total: submissions.length, ...count(submissions.map((s) => s.status)) },
    runs: { total: runs.length, ...count(runs.map((r) => r.status)) },
    failures: count(failed.map((r) => r.errorCode ?? 'unknown')),
    spendMicros: runs.reduce((n, r) => n + (r.costMicros ?? 0), 0),
    unpricedRuns: runs.filter((r) => r.status === 'succeeded' && r.costMicros === null).length,
    waitingForBudget: runs.filter((r) => r.status === 'budget_wait').length,
    etaSeconds: estimateTimeLeft(runs),
    failedRunsBySubmission,
  };
}

/** Queues the failed runs of one submission again; what succeeded is kept. Returns how many. */
export async function retryFailedRuns(submission: Submission): Promise<number> {
  if (submission.status === 'released') throw conflict('This feedback is already released.');
  const failed = await Run.findAll({ where: { submissionId: submission.id, status: { [Op.in]: ['failed', 'invalid_output'] } }, attributes: ['id'] });
  const [count] = await Run.update(
    { status: 'queued', nextAttemptAt: null, errorCode: null, attempts: 0 },
    { where: { id: failed.map((r) => r.id), status: { [Op.in]: ['failed', 'invalid_output'] } } },
  );
  if (count) await submission.update({ status: 'queued', aggregate: null, feedback: null, overallScore: null });
  const sequelize = Run.sequelize!;
  await runJobsFor(sequelize)?.enqueue(sequelize, failed.map((r) => r.id));
  notifyRunsQueued();
  return count;
}

/** Releases each of these submissions of the assignment; one refusal never stops the others. */
export async function releaseMany(deps: ReleaseDeps, assignment: Assignment, submissionIds: string[], userId: string): Promise<{ released: number; refused: number }> {
  let released = 0;
  let refused = 0;
  for (const id of submissionIds) {
    const submission = /^[0-9a-f-]{36}$/i.test(id) ? await Submission.findOne({ where: { id, assignmentId: assignment.id } }) : null;
    if (!submission) {
      refused += 1;
      continue;
    }
    try {
      const result = await releaseSubmission(deps, submission, assignment, userId);
      if (result.status === 'released') released += 1;
      else refused += 1;
    } catch (err) {
      // A refusal (no feedback yet, a score missing) is counted; anything else is a bug and surfaces.
      if (!(err instanceof HttpError)) throw err;
      refused += 1;
    }
  }
  return { released, refused };
}
