import { Request, Response, Router } from 'express';
import { applyEdits, releaseSubmission, sendGrade } from '../../commands/release';
import { findVisibleSubmission } from '../../commands/submissions';
import { conflict } from '../../errors';
import { getSession } from '../../lti/session';
import { Assignment, Run, Submission, User } from '../../models';
import { asyncHandler } from '../asyncHandler';
import { reviewSchema } from '../api/assignmentSchemas';
import type { Area } from './area';
import type { FeedbackDeps } from './assignments';
import { aggregateRows, gradebookText, rubricMax, runRow, scoreText, submissionStatusWord } from './feedbackViewModels';
import { FormReader, formFailure } from './forms';
import { noticeFrom, redirectTo, renderPage } from './view';

// Reviewing one submission: the student's text, every run, the aggregate, and the edit form whose
// "Save" and "Save and release" do what POST /api/v1/submissions/:id/review does.

const NOTICES = {
  saved: 'Your changes were saved. The student does not see them until you release the feedback.',
  released: 'The feedback was released to the student.',
  retried: 'The failed runs were queued again.',
  noretry: 'There were no failed runs to re-run.',
  gradeSent: 'The grade was sent to the gradebook.',
};

const MAX_ROWS = 20;

interface ReviewValues {
  summary: string;
  criteria: Array<{ criterionId: string; score: string; comment: string }>;
}

/** The edit form's values: the stored feedback, or what was typed into a refused form. */
function storedValues(submission: Submission): ReviewValues | null {
  const feedback = submission.feedback;
  if (!feedback) return null;
  return {
    summary: feedback.summary,
    criteria: feedback.criteria.map((c) => ({ criterionId: c.criterionId, score: typeof c.score === 'number' ? String(c.score) : '', comment: c.comment })),
  };
}

async function renderReview(req: Request, res: Response, submission: Submission, assignment: Assignment, typed?: { values: ReviewValues; errors: Record<string, string>; problems: string[] }, status = 200) {
  const [user, runs] = await Promise.all([
    User.findByPk(submission.userId, { attributes: ['id', 'name'] }),
    Run.findAll({ where: { submissionId: submission.id }, order: [['instanceId', 'ASC'], ['runIndex', 'ASC']] }),
  ]);
  const rubric = new Map(assignment.rubric.map((c) => [c.id, c]));
  const feedback = submission.feedback;
  const values = typed?.values ?? storedValues(submission);
  const errors = typed?.errors ?? {};
  const editable = !!feedback && submission.status !== 'released' && submission.status !== 'queued' && submission.status !== 'running';
  const runRows = runs.map((r) => runRow(r, assignment));
  const studentName = user?.name?.trim() || 'A student who shares no name';
  renderPage(res, 'instructor/review', `Draft ${submission.draftNumber} by ${studentName}`, 'course', {
    assignment: { id: assignment.id, title: assignment.title, overallMax: rubricMax(assignment), gradePassback: assignment.gradePassback },
    submission: {
      id: submission.id,
      draftNumber: submission.draftNumber,
      status: submission.status,
      statusWord: submissionStatusWord(submission.status),
      released: submission.status === 'released',
      working: submission.status === 'queued' || submission.status === 'running',
      failed: submission.status === 'failed',
      createdAt: submission.createdAt,
      releasedAt: submission.releasedAt,
      text: submission.text,
      textRemovedAt: submission.textRemovedAt,
      overallScore: scoreText(submission.overallScore),
      gradebook: gradebookText(submission, assignment),
      gradebookError: submission.agsError,
      gradebookFailed: submission.agsStatus === 'failed',
    },
    studentName,
    runs: runRows,
    rubricNames: assignment.rubric.map((c) => c.name),
    canRetry: submission.status !== 'released' && !['queued', 'running'].includes(submission.status) && runRows.some((r) => r.failed),
    aggregate: aggregateRows(submission, assignment),
    // The released feedback, read-only.
    releasedFeedback:
      submission.status === 'released' && feedback
        ? { summary: feedback.summary, criteria: feedback.criteria.map((c) => ({ name: rubric.get(c.criterionId)?.name ?? c.criterionId, max: rubric.get(c.criterionId)?.maxScore, score: scoreText(c.score), comment: c.comment, strengths: c.strengths, improvements: c.improvements })) }
        : null,
    edit:
      editable && values && feedback
        ? {
            summary: values.summary,
            summaryError: errors.summary,
            criteria: values.criteria.map((v, i) => {
              const c = rubric.get(v.criterionId);
              const stored = feedback.criteria.find((f) => f.criterionId === v.criterionId);
              return {
                index: i,
                criterionId: v.criterionId,
                name: c?.name ?? v.criterionId,
                max: c?.maxScore,
                score: v.score,
                comment: v.comment,
                noScore: !stored || typeof stored.score !== 'number',
                strengths: stored?.strengths ?? [],
                improvements: stored?.improvements ?? [],
                scoreError: errors[`criteria.${i}.score`],
                commentError: errors[`criteria.${i}.comment`] ?? errors[`criteria.${i}.criterionId`],
              };
            }),
          }
        : null,
    notice: noticeFrom(req, NOTICES),
    warning: req.query.gradeFailed === '1' ? 'The gradebook refused the grade again. The reason is shown below.' : undefined,
    problems: typed?.problems,
  }, status);
}

export function reviewPages(deps: FeedbackDeps, instructor: Area): Router {
  const router = Router();

  router.get('/instructor/submissions/:id', ...instructor.page, asyncHandler(async (req, res) => {
    const { submission, assignment } = await findVisibleSubmission(getSession(res), req.params.id);
    await renderReview(req, res, submission, assignment);
  }));

  // The same steps as POST /api/v1/submissions/:id/review: parse, check, applyEdits, then release.
  router.post('/instructor/submissions/:id/review', ...instructor.post, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const { submission, assignment } = await findVisibleSubmission(session, req.params.id);
    const form = new FormReader(req.body);
    const rows = Array.from({ length: form.rowCount('criteria', MAX_ROWS) }, (_, i) => i);
    const typed: ReviewValues = {
      summary: form.text('summary'),
      criteria: rows.map((i) => ({ criterionId: form.text(`criteria.${i}.criterionId`), score: form.text(`criteria.${i}.score`), comment: form.text(`criteria.${i}.comment`) })),
    };
    const release = form.raw('release') !== undefined;
    try {
      const review = form.parse(reviewSchema, {
        summary: typed.summary,
        criteria: rows.map((i) => ({ criterionId: typed.criteria[i]!.criterionId, score: form.number(`criteria.${i}.score`), comment: typed.criteria[i]!.comment })),
        release,
      });
      if (!submission.feedback) throw conflict('This submission has no feedback yet.');
      if (submission.status === 'released') throw conflict('This feedback is already released.');
      await submission.update({ feedback: applyEdits(assignment, submission.feedback, review) });
      if (review.release) await releaseSubmission({ lti: deps.lti }, submission, assignment, session.user.id);
    } catch (err) {
      const labels: Record<string, string> = { summary: 'Summary', criteria: 'The scores' };
      typed.criteria.forEach((c, i) => {
        const name = assignment.rubric.find((r) => r.id === c.criterionId)?.name ?? `Criterion ${i + 1}`;
        labels[`criteria.${i}.score`] = `Score for \u201c${name}\u201d`;
        labels[`criteria.${i}.comment`] = `Comment on \u201c${name}\u201d`;
        labels[`criteria.${i}.criterionId`] = `\u201c${name}\u201d`;
      });
      const failure = formFailure(err, labels);
      if (!failure) throw err;
      // Saved edits stay saved when only the release was refused: show what is stored now.
      await submission.reload();
      return renderReview(req, res, submission, assignment, { values: typed, errors: failure.errors, problems: failure.summary }, failure.status);
    }
    redirectTo(res, `/instructor/submissions/${submission.id}`, release ? 'released' : 'saved');
  }));

  router.post('/instructor/submissions/:id/gradebook', ...instructor.post, asyncHandler(async (req, res) => {
    const { submission, assignment } = await findVisibleSubmission(getSession(res), req.params.id);
    if (submission.status !== 'released') throw conflict('Release the feedback first.');
    await sendGrade({ lti: deps.lti }, submission, assignment);
    await submission.reload();
    redirectTo(res, `/instructor/submissions/${submission.id}`, submission.agsStatus === 'failed' ? 'gradeFailed' : 'gradeSent');
  }));

  return router;
}
