import { Op } from 'sequelize';
import { conflict } from '../errors';
import type { RunOutput } from '../feedback/types';
import { AgsError, postScore } from '../lti/ags';
import type { Ltijs } from '../lti/ltijs';
import { Assignment, Deployment, Submission, User } from '../models';
import { fieldError } from './validation';

// Release makes feedback visible to the student and, with grade passback on, sends the score to the
// gradebook. A gradebook failure is recorded and can be retried; it never undoes the release.

const AI_LABEL = 'AI-assisted feedback, reviewed in FeedForward.';

/** Applies an instructor's edits: scores within 0..maxScore, text trimmed; returns the feedback to store. */
export function applyEdits(assignment: Assignment, current: RunOutput, edits: { summary?: string; criteria?: Array<{ criterionId: string; score?: number; comment?: string }> }): RunOutput {
  const byId = new Map(assignment.rubric.map((c) => [c.id, c]));
  const criteria = current.criteria.map((c) => ({ ...c }));
  for (const [i, edit] of (edits.criteria ?? []).entries()) {
    const rubric = byId.get(edit.criterionId);
    const target = criteria.find((c) => c.criterionId === edit.criterionId);
    if (!rubric || !target) throw fieldError(`criteria.${i}.criterionId`, 'is not a criterion of this rubric');
    if (edit.score !== undefined) {
      if (!Number.isFinite(edit.score) || edit.score < 0 || edit.score > rubric.maxScore) throw fieldError(`criteria.${i}.score`, `must be between 0 and ${rubric.maxScore}`);
      target.score = edit.score;
    }
    if (edit.comment !== undefined) target.comment = edit.comment;
  }
  return { summary: edits.summary ?? current.summary, criteria };
}

/** The rubric-weighted total on the Σ maxScore scale (as the aggregate defines it). */
export function overallScore(assignment: Assignment, feedback: RunOutput): number | null {
  const totalMax = assignment.rubric.reduce((n, c) => n + c.maxScore, 0);
  const totalWeight = assignment.rubric.reduce((n, c) => n + c.weight, 0);
  let weighted = 0;
  for (const c of assignment.rubric) {
    const score = feedback.criteria.find((f) => f.criterionId === c.id)?.score;
    if (typeof score !== 'number') return null;
    weighted += (c.weight * score) / c.maxScore;
  }
  return Math.round(((totalMax * weighted) / totalWeight) * 100) / 100;
}

export interface ReleaseDeps {
  lti: Ltijs;
}

/** Releases one submission (idempotent); then tries the gradebook if the assignment sends grades. */
export async function releaseSubmission(deps: ReleaseDeps, submission: Submission, assignment: Assignment, releasedByUserId: string | null): Promise<Submission> {
  if (submission.status === 'released') return submission;
  if (!['ready', 'needs_review'].includes(submission.status) || !submission.feedback) throw conflict('This submission has no feedback to release yet.');
  const score = overallScore(assignment, submission.feedback);
  if (score === null) throw conflict('Some criteria have no score yet (too few successful runs). Set them before releasing.');
  const [won] = await Submission.update(
    { status: 'released', releasedAt: new Date(), releasedByUserId, overallScore: score },
    { where: { id: submission.id, status: { [Op.in]: ['ready', 'needs_review'] } } },
  );
  await submission.reload();
  if (won && assignment.gradePassback) await sendGrade(deps, submission, assignment);
  return submission;
}

/** Posts the released score through AGS and records the outcome on the submission. */
export async function sendGrade(deps: ReleaseDeps, submission: Submission, assignment: Assignment): Promise<void> {
  const [deployment, user] = await Promise.all([Deployment.findByPk(submission.deploymentId), User.findByPk(submission.userId)]);
  if (!deployment || !user || submission.overallScore === null) return;
  if (!assignment.lineItemUrl) {
    await submission.update({ agsStatus: 'not_applicable', agsError: 'This LMS link has no gradebook column for the tool.' });
    return;
  }
  try {
    await postScore(
      deps.lti,
      { issuer: deployment.issuer, clientId: deployment.clientId, deploymentId: deployment.deploymentId, sub: user.sub, roles: [], ags: { lineitem: assignment.lineItemUrl } },
      { userSub: user.sub, scoreGiven: submission.overallScore, scoreMaximum: assignment.rubric.reduce((n, c) => n + c.maxScore, 0), comment: AI_LABEL },
    );
    await submission.update({ agsStatus: 'sent', agsError: null });
  } catch (err) {
    if (!(err instanceof AgsError)) throw err;
    await submission.update({ agsStatus: 'failed', agsError: err.message.slice(0, 300) });
  }
}
