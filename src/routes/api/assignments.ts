import { Router } from 'express';
import type { Sequelize } from 'sequelize';
import { assignmentOfLaunch, createAssignment, defaultModelChoices, findAssignmentForInstructor, updateAssignment } from '../../commands/assignments';
import { assignmentProgress, releaseMany, retryFailedRuns } from '../../commands/assignmentActivity';
import { applyEdits, releaseSubmission, sendGrade } from '../../commands/release';
import { createSubmission, findVisibleSubmission } from '../../commands/submissions';
import { parseBody } from '../../commands/validation';
import { conflict, forbidden, notFound } from '../../errors';
import type { Ltijs } from '../../lti/ltijs';
import { getSession } from '../../lti/session';
import { Run, Submission } from '../../models';
import { allow, can } from '../../policies';
import { requireId } from '../../policies/ownership';
import { presentAssignment, presentRun, presentSubmission } from '../../presenters/feedback';
import { asyncHandler } from '../asyncHandler';
import { assignmentSchema, assignmentUpdateSchema, bulkReleaseSchema, reviewSchema, submissionSchema } from './assignmentSchemas';

/** /api/v1/assignments and /api/v1/submissions: set-up, submitting, progress, review and release. */
export function assignmentRoutes(deps: { sequelize: Sequelize; lti: Ltijs }): Router {
  const router = Router();

  router.post('/assignments', allow('configure'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const assignment = await createAssignment(deps.sequelize, session, parseBody(assignmentSchema, req.body));
    res.status(201).json(presentAssignment(assignment));
  }));

  router.get('/assignments/defaults', allow('configure'), asyncHandler(async (_req, res) => {
    res.json({ models: await defaultModelChoices(getSession(res).deployment.id) });
  }));

  router.get('/assignments/current', asyncHandler(async (_req, res) => {
    const assignment = await assignmentOfLaunch(getSession(res));
    if (!assignment) throw notFound('This link has no FeedForward assignment yet.');
    res.json(presentAssignment(assignment));
  }));

  router.get('/assignments/:id', allow('configure'), asyncHandler(async (req, res) => {
    res.json(presentAssignment(await findAssignmentForInstructor(getSession(res), req.params.id)));
  }));

  router.put('/assignments/:id', allow('configure'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const assignment = await findAssignmentForInstructor(session, req.params.id);
    res.json(presentAssignment(await updateAssignment(session, assignment, parseBody(assignmentUpdateSchema, req.body))));
  }));

  router.post('/assignments/:id/submissions', asyncHandler(async (req, res) => {
    const session = getSession(res);
    if (!can(session, 'submit')) throw forbidden('Only students submit work.');
    const assignment = await assignmentOfLaunch(session);
    // A student submits to the assignment of the link they launched, nothing else.
    if (!assignment || assignment.id !== requireId(req.params.id)) throw notFound('No such assignment.');
    const { text } = parseBody(submissionSchema, req.body);
    const { submission, created } = await createSubmission(deps.sequelize, session, assignment, text);
    res.status(created ? 201 : 200).json({ id: submission.id, status: submission.status });
  }));

  router.get('/assignments/:id/submissions', allow('configure'), asyncHandler(async (req, res) => {
    const assignment = await findAssignmentForInstructor(getSession(res), req.params.id);
    const submissions = await Submission.findAll({ where: { assignmentId: assignment.id }, order: [['createdAt', 'DESC']], limit: 1000 });
    res.json({ submissions: submissions.map((s) => presentSubmission(s, { instructor: true })) });
  }));

  router.get('/assignments/:id/progress', allow('configure'), asyncHandler(async (req, res) => {
    const assignment = await findAssignmentForInstructor(getSession(res), req.params.id);
    const { failedRunsBySubmission: _bySubmission, ...progress } = await assignmentProgress(assignment);
    res.json(progress);
  }));

  router.get('/submissions/mine', asyncHandler(async (_req, res) => {
    const session = getSession(res);
    const assignment = await assignmentOfLaunch(session);
    if (!assignment) throw notFound('This link has no FeedForward assignment yet.');
    const mine = await Submission.findAll({ where: { assignmentId: assignment.id, userId: session.user.id }, order: [['draftNumber', 'ASC']] });
    res.json({ submissions: mine.map((s) => presentSubmission(s, { instructor: false })) });
  }));

  router.get('/submissions/:id', asyncHandler(async (req, res) => {
    const session = getSession(res);
    const { submission } = await findVisibleSubmission(session, req.params.id);
    const instructor = can(session, 'configure') && submission.userId !== session.user.id;
    const body: Record<string, unknown> = presentSubmission(submission, { instructor });
    if (instructor) body.runs = (await Run.findAll({ where: { submissionId: submission.id }, order: [['instanceId', 'ASC'], ['runIndex', 'ASC']] })).map(presentRun);
    res.json(body);
  }));

  router.post('/submissions/:id/review', allow('configure'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const { submission, assignment } = await findVisibleSubmission(session, req.params.id);
    const review = parseBody(reviewSchema, req.body);
    if (!submission.feedback) throw conflict('This submission has no feedback yet.');
    if (submission.status === 'released') throw conflict('This feedback is already released.');
    await submission.update({ feedback: applyEdits(assignment, submission.feedback, review) });
    if (review.release) await releaseSubmission({ lti: deps.lti }, submission, assignment, session.user.id);
    res.json(presentSubmission(submission, { instructor: true }));
  }));

  router.post('/submissions/:id/release', allow('configure'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const { submission, assignment } = await findVisibleSubmission(session, req.params.id);
    res.json(presentSubmission(await releaseSubmission({ lti: deps.lti }, submission, assignment, session.user.id), { instructor: true }));
  }));

  router.post('/assignments/:id/release', allow('configure'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const assignment = await findAssignmentForInstructor(session, req.params.id);
    const { submissionIds } = parseBody(bulkReleaseSchema, req.body);
    res.json(await releaseMany({ lti: deps.lti }, assignment, submissionIds, session.user.id));
  }));

  router.post('/submissions/:id/gradebook', allow('configure'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const { submission, assignment } = await findVisibleSubmission(session, req.params.id);
    if (submission.status !== 'released') throw conflict('Release the feedback first.');
    await sendGrade({ lti: deps.lti }, submission, assignment);
    res.json(presentSubmission(await submission.reload(), { instructor: true }));
  }));

  router.post('/submissions/:id/retry', allow('configure'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const { submission } = await findVisibleSubmission(session, req.params.id);
    res.json({ requeued: await retryFailedRuns(submission) });
  }));

  return router;
}
