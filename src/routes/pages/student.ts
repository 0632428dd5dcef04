import express, { Request, Response, Router } from 'express';
import { assignmentOfLaunch } from '../../commands/assignments';
import { createSubmission } from '../../commands/submissions';
import { HttpError, notFound } from '../../errors';
import { getSession } from '../../lti/session';
import { sameSiteOnly } from '../../middlewares/sameSiteOnly';
import { acceptNotice, currentNotice, noticeAcceptedAt } from '../../privacy/notice';
import { Assignment, Submission } from '../../models';
import { allow, can } from '../../policies';
import { asyncHandler } from '../asyncHandler';
import { submissionSchema } from '../api/assignmentSchemas';
import type { FeedbackDeps } from './assignments';
import { studentDraft } from './feedbackViewModels';
import { FormReader, formFailure } from './forms';
import { noticeFrom, redirectTo, renderPage } from './view';

// The student's page: the assignment of the launched link, their own drafts (feedback only once
// released, through the API presenter), and the submit form, which calls the API's command.

const NOTICES = {
  submitted: 'Your draft was submitted. Feedback is being generated; come back to this page later.',
  accepted: 'Thank you. You can now submit your draft.',
  duplicate: 'You already submitted this text a moment ago; it is the same draft.',
};

const NOT_SET_UP = 'Your instructor has not set up this assignment yet.';

/** The text limit a student's form may reach: the largest assignment limit, four bytes a character, URL-encoded. */
const FORM_LIMIT = '3mb';

async function renderStudent(req: Request, res: Response, assignment: Assignment | null, typed?: { text: string; error: string; problems: string[] }, status = 200) {
  const session = getSession(res);
  if (!assignment) return renderPage(res, 'student/assignment', 'Assignment', undefined, { notSetUp: NOT_SET_UP }, status);
  // Only this student's own drafts of this assignment, ever. Read at once with the notice acceptance.
  const [mine, accepted] = await Promise.all([
    Submission.findAll({ where: { assignmentId: assignment.id, userId: session.user.id }, order: [['draftNumber', 'ASC']] }),
    can(session, 'submit') ? noticeAcceptedAt(session) : null,
  ]);
  const remaining = Math.max(0, assignment.maxDrafts - mine.length);
  // A student reads and accepts the data-use notice before the submit form appears.
  const dataNotice = can(session, 'submit') && !accepted ? currentNotice(session.deployment) : null;
  renderPage(res, 'student/assignment', assignment.title, undefined, {
    assignment: { id: assignment.id, title: assignment.title, instructions: assignment.instructions, maxChars: assignment.maxChars, maxDrafts: assignment.maxDrafts },
    drafts: mine.map((s) => studentDraft(s, assignment)).reverse(),
    canSubmit: can(session, 'submit') && !dataNotice,
    dataNotice: dataNotice && { paragraphs: dataNotice.text.split(/\n\s*\n/), version: dataNotice.version },
    remaining,
    nextDraft: mine.length + 1,
    text: typed?.text ?? '',
    textError: typed?.error,
    problems: typed?.problems,
    notice: noticeFrom(req, NOTICES),
  }, status);
}

export function studentPages(deps: FeedbackDeps): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: FORM_LIMIT });

  router.get('/student', deps.session, asyncHandler(async (req, res) => {
    await renderStudent(req, res, await assignmentOfLaunch(getSession(res)));
  }));

  router.post('/student/submissions', sameSiteOnly(), form, deps.session, allow('submit'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const assignment = await assignmentOfLaunch(session);
    if (!assignment) throw notFound(NOT_SET_UP);
    const reader = new FormReader(req.body);
    const text = reader.text('text');
    let created: boolean;
    try {
      const input = reader.parse(submissionSchema, { text });
      ({ created } = await createSubmission(deps.sequelize, session, assignment, input.text));
    } catch (err) {
      // Refusals a student can act on (empty, too long, no drafts left) are shown on the page, with the text kept.
      const failure = err instanceof HttpError && err.status === 413 ? { status: 413, errors: {}, summary: [err.message] } : formFailure(err, { text: 'Your text' });
      if (!failure) throw err;
      return renderStudent(req, res, assignment, { text, error: failure.errors.text ?? failure.summary[0] ?? 'This text was not accepted.', problems: failure.summary }, failure.status);
    }
    redirectTo(res, '/student', created ? 'submitted' : 'duplicate');
  }));

  router.post('/student/notice', sameSiteOnly(), form, deps.session, allow('submit'), asyncHandler(async (req, res) => {
    await acceptNotice(getSession(res), new FormReader(req.body).text('version'));
    redirectTo(res, '/student', 'accepted');
  }));

  return router;
}
