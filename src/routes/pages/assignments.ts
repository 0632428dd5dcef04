import express, { Request, RequestHandler, Response, Router } from 'express';
import type { Sequelize } from 'sequelize';
import { ASSIGNMENT_CUSTOM_PARAM, assignmentOfLaunch, createAssignment, defaultModelChoices, findAssignmentForInstructor, updateAssignment } from '../../commands/assignments';
import { listInstances } from '../../commands/modelInstances';
import { findVisibleSubmission } from '../../commands/submissions';
import type { Config } from '../../config';
import { conflict } from '../../errors';
import { deepLinkingResponse, resourceLinkItem } from '../../lti/deepLinking';
import type { Ltijs } from '../../lti/ltijs';
import { getSession, LaunchSession } from '../../lti/session';
import { sameSiteOnly } from '../../middlewares/sameSiteOnly';
import { estimateForLaunch } from '../../usage/studentCount';
import { Assignment, Submission, User } from '../../models';
import { allow } from '../../policies';
import { asyncHandler } from '../asyncHandler';
import { assignmentSchema, assignmentUpdateSchema, bulkReleaseSchema } from '../api/assignmentSchemas';
import type { Area } from './area';
import { AssignmentFormState, assignmentFailure, assignmentFormView, blankState, FormOptions, instanceNames, parseAssignment, PostedForm, readAssignmentForm, stateOf } from './assignmentForm';
import { assignmentProgress, releaseMany, retryFailedRuns } from '../../commands/assignmentActivity';
import { aggregationLabel, progressView, rubricMax, submissionRow } from './feedbackViewModels';
import { estimateView } from './costViewModels';
import { FormReader, formFailure } from './forms';
import { reviewPages } from './review';
import { noticeFrom, redirectTo, renderPage } from './view';

// The instructor's feedback screens: setting up the assignment of a link (first launch, deep
// linking, editing), and its progress with bulk release. Every action calls the command the JSON
// API calls, with the API's own schema; the review screen lives in review.ts.

const PROGRESS_NOTICES = {
  created: 'The assignment was created. Students can now submit their work from the course link.',
  saved: 'The assignment was saved. Changes apply to drafts submitted from now on.',
  retried: 'The failed runs were queued again.',
  noretry: 'There were no failed runs to re-run.',
};

export interface FeedbackDeps {
  session: RequestHandler;
  sequelize: Sequelize;
  lti: Ltijs;
  config: Config;
}

/** The set-up form of a launch: new (defaults ticked) or an existing assignment. */
async function formFor(session: LaunchSession, state: AssignmentFormState, opts: FormOptions) {
  const instances = await listInstances(session);
  return assignmentFormView(session, state, instances, opts);
}

/** A short description of the assignment's settings, for the progress page. */
function assignmentSummary(a: Assignment) {
  return {
    id: a.id,
    title: a.title,
    instructions: a.instructions,
    criteria: a.rubric.map((c) => ({ name: c.name, weight: c.weight, max: c.maxScore })),
    overallMax: rubricMax(a),
    aggregation: aggregationLabel(a.aggregation),
    quorum: a.quorum === null ? 'A majority of the runs' : String(a.quorum),
    runs: a.models.reduce((n, m) => n + m.runs, 0),
    modelCount: a.models.length,
    release: a.releaseMode === 'auto' ? 'Automatically when ready' : 'After your review',
    maxDrafts: a.maxDrafts,
    maxChars: a.maxChars,
    gradePassback: a.gradePassback,
    bound: a.resourceLinkId !== null,
  };
}

/** Bulk-release notice: counts from the address are read as whole numbers only, never as text. */
function releaseNotice(req: Request): string | undefined {
  const count = (name: string) => (typeof req.query[name] === 'string' && /^\d{1,4}$/.test(req.query[name]) ? Number(req.query[name]) : null);
  const released = count('released');
  if (released === null) return undefined;
  const refused = count('refused') ?? 0;
  const words = (n: number) => `${n} submission${n === 1 ? '' : 's'}`;
  return `Released ${words(released)}.${refused ? ` ${words(refused)} could not be released (no feedback yet, or a criterion has no score).` : ''}`;
}

export function assignmentPages(deps: FeedbackDeps, instructor: Area): Router {
  const router = Router();
  const setUpTitle = 'Set up feedback for this assignment';

  /** The estimate panel: of the saved assignment, or of the form's current choices before it exists. */
  const estimatePanel = async (session: LaunchSession, state: AssignmentFormState, saved?: Assignment) => {
    const assignment = saved ?? Assignment.build({
      deploymentId: session.deployment.id,
      title: state.fields.title,
      instructions: state.fields.instructions,
      rubric: [],
      models: [...state.models].filter(([, m]) => m.use).map(([instanceId, m]) => ({ instanceId, runs: Number(m.runs) || 1, weight: Number(m.weight) || 1 })),
      aggregation: 'mean',
      releaseMode: 'review',
      maxDrafts: Number(state.fields.maxDrafts) || 3,
      maxChars: Number(state.fields.maxChars) || 50000,
      gradePassback: false,
      createdByUserId: session.user.id,
      expectedStudents: Number(state.fields.expectedStudents) || null,
    });
    return estimateView(await estimateForLaunch(deps.lti, session, assignment));
  };

  const renderSetUp = async (res: Response, state: AssignmentFormState, opts: FormOptions, extra: Record<string, unknown> = {}, status = 200) => {
    const session = getSession(res);
    const saved = typeof extra.assignmentId === 'string' ? await Assignment.findOne({ where: { id: extra.assignmentId, deploymentId: session.deployment.id } }) : null;
    extra = { ...extra, estimate: await estimatePanel(session, state, saved ?? undefined) };
    const view = opts.mode === 'deep-link' ? 'instructor/deep-link' : 'instructor/assignment-form';
    const title = opts.mode === 'edit' ? `Edit ${state.fields.title || 'the assignment'}` : opts.mode === 'deep-link' ? 'Add FeedForward to your course' : setUpTitle;
    renderPage(res, view, title, opts.mode === 'deep-link' ? undefined : 'course', { ...(await formFor(session, state, opts)), ...extra }, status);
  };

  /** Saves a posted set-up form with `save`, or shows it again (one more row, or its problems). */
  const handleForm = async (req: Request, res: Response, opts: FormOptions, save: (posted: PostedForm) => Promise<void>): Promise<boolean> => {
    const posted = readAssignmentForm(req.body);
    if (posted.addCriterion) {
      await renderSetUp(res, posted.state, { ...opts, addRow: true });
      return false;
    }
    try {
      await save(posted);
      return true;
    } catch (err) {
      const failure = assignmentFailure(err, posted, instanceNames(await listInstances(getSession(res))));
      if (!failure) throw err;
      await renderSetUp(res, posted.state, { ...opts, errors: failure.rows }, { problems: failure.summary }, failure.status);
      return false;
    }
  };

  const renderProgress = async (req: Request, res: Response, assignment: Assignment, extra: Record<string, unknown> = {}, status = 200) => {
    const session = getSession(res);
    const progress = await assignmentProgress(assignment);
    const submissions = await Submission.findAll({ where: { assignmentId: assignment.id }, order: [['createdAt', 'DESC']], limit: 1000 });
    const userIds = [...new Set(submissions.map((s) => s.userId))];
    const users = new Map((userIds.length ? await User.findAll({ where: { id: userIds }, attributes: ['id', 'name'] }) : []).map((u) => [u.id, u]));
    const rows = submissions.map((s) => submissionRow(s, assignment, users.get(s.userId), progress.failedRunsBySubmission.get(s.id) ?? 0));
    renderPage(res, 'instructor/progress', assignment.title, 'course', {
      assignment: assignmentSummary(assignment),
      estimate: estimateView(await estimateForLaunch(deps.lti, session, assignment)),
      progress: progressView(progress),
      progressUrl: `/api/v1/assignments/${assignment.id}/progress`,
      pagePath: `/instructor/assignments/${assignment.id}`,
      submissions: rows,
      releasable: rows.some((r) => r.canRelease),
      notice: releaseNotice(req) ?? noticeFrom(req, PROGRESS_NOTICES),
      scripts: ['/static/progress.js', '/static/bulk-release.js'],
      ltikForScript: session.ltik,
      ...extra,
    }, status);
  };

  // The launched link: its progress, or its set-up form on the first launch; the course otherwise.
  router.get('/instructor', ...instructor.page, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const assignment = await assignmentOfLaunch(session);
    if (assignment) return renderProgress(req, res, assignment);
    if (session.launch.messageType === 'LtiResourceLinkRequest' && session.launch.resourceLinkId) {
      const state = blankState(await defaultModelChoices(session.deployment.id), session.launch.resourceLinkTitle ?? '');
      return renderSetUp(res, state, { action: '/instructor/assignments', mode: 'create' });
    }
    const assignments = session.launch.contextId
      ? await Assignment.findAll({ where: { deploymentId: session.deployment.id, contextId: session.launch.contextId }, order: [['createdAt', 'DESC']], limit: 200 })
      : [];
    renderPage(res, 'instructor/home', 'Course', 'course', { assignments: assignments.map((a) => ({ id: a.id, title: a.title, bound: a.resourceLinkId !== null })) });
  }));

  router.post('/instructor/assignments', ...instructor.post, asyncHandler(async (req, res) => {
    const session = getSession(res);
    let created: Assignment | undefined;
    const saved = await handleForm(req, res, { action: '/instructor/assignments', mode: 'create' }, async (posted) => {
      if (session.launch.messageType !== 'LtiResourceLinkRequest' || !session.launch.resourceLinkId) {
        throw conflict('Open FeedForward from the assignment link in your course to set it up.');
      }
      const { input, remap } = parseAssignment(posted, assignmentSchema);
      created = await createAssignment(deps.sequelize, session, input).catch((err: unknown) => Promise.reject(remap(err)));
    });
    if (saved && created) redirectTo(res, `/instructor/assignments/${created.id}`, 'created');
  }));

  router.get('/instructor/assignments/:id', ...instructor.page, asyncHandler(async (req, res) => {
    await renderProgress(req, res, await findAssignmentForInstructor(getSession(res), req.params.id));
  }));

  router.get('/instructor/assignments/:id/edit', ...instructor.page, asyncHandler(async (req, res) => {
    const assignment = await findAssignmentForInstructor(getSession(res), req.params.id);
    await renderSetUp(res, stateOf(assignment), { action: `/instructor/assignments/${assignment.id}`, mode: 'edit' }, { assignmentId: assignment.id });
  }));

  // Editing replaces every field (PUT semantics), through the API's update schema and command.
  router.post('/instructor/assignments/:id', ...instructor.post, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const assignment = await findAssignmentForInstructor(session, req.params.id);
    const saved = await handleForm(req, res, { action: `/instructor/assignments/${assignment.id}`, mode: 'edit' }, async (posted) => {
      const { input, remap } = parseAssignment(posted, assignmentUpdateSchema, assignment.rubric);
      await updateAssignment(session, assignment, input).catch((err: unknown) => Promise.reject(remap(err)));
    });
    if (saved) redirectTo(res, `/instructor/assignments/${assignment.id}`, 'saved');
  }));

  router.post('/instructor/assignments/:id/release', ...instructor.post, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const assignment = await findAssignmentForInstructor(session, req.params.id);
    const form = new FormReader(req.body);
    let ids: string[];
    try {
      ({ submissionIds: ids } = form.parse(bulkReleaseSchema, { submissionIds: form.all('submissionIds') }));
    } catch (err) {
      const failure = formFailure(err, { submissionIds: 'Release' });
      if (!failure) throw err;
      // Nothing ticked: the list again, with the reason.
      return renderProgress(req, res, assignment, { problems: ['Nothing was released: tick at least one submission, then choose \u201cRelease selected\u201d.'] }, failure.status);
    }
    const { released, refused } = await releaseMany({ lti: deps.lti }, assignment, ids, session.user.id);
    redirectTo(res, `/instructor/assignments/${assignment.id}`, undefined, { released: String(released), refused: String(refused) });
  }));

  // Adding FeedForward through deep linking: the same set-up form; the assignment is created
  // unbound and the signed content item carries its id, which binds it on the link's first launch.
  router.get('/instructor/deep-link', deps.session, allow('deepLink'), asyncHandler(async (_req, res) => {
    const session = getSession(res);
    const settings = session.launch.claims.deepLinkingSettings;
    const suggested = typeof settings?.title === 'string' ? settings.title.slice(0, 200) : '';
    await renderSetUp(res, blankState(await defaultModelChoices(session.deployment.id), suggested), { action: '/instructor/deep-link', mode: 'deep-link' });
  }));

  const form = express.urlencoded({ extended: false, limit: '200kb' });
  router.post('/instructor/deep-link', sameSiteOnly(), form, deps.session, allow('deepLink'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    let created: Assignment | undefined;
    const saved = await handleForm(req, res, { action: '/instructor/deep-link', mode: 'deep-link' }, async (posted) => {
      const { input, remap } = parseAssignment(posted, assignmentSchema);
      created = await createAssignment(deps.sequelize, session, input).catch((err: unknown) => Promise.reject(remap(err)));
    });
    if (!saved || !created) return;
    const assignment = created;
    try {
      const item = resourceLinkItem({
        title: assignment.title,
        url: `${deps.config.publicUrl}/lti/launch`,
        custom: { [ASSIGNMENT_CUSTOM_PARAM]: assignment.id },
        lineItem: assignment.gradePassback ? { scoreMaximum: rubricMax(assignment), label: assignment.title, resourceId: assignment.id } : undefined,
      });
      const response = await deepLinkingResponse(deps.lti, session.launch, [item], { allowLocalUrls: deps.config.allowLocalUrls });
      res.render('lti/deep-link-return', { title: 'Returning to your course', returnUrl: response.returnUrl, jwt: response.jwt, nonce: res.locals.cspNonce });
    } catch (err) {
      // Nothing reached the LMS: the unbound assignment would never be launched.
      await assignment.destroy();
      throw err;
    }
  }));

  router.post('/instructor/submissions/:id/retry', ...instructor.post, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const { submission, assignment } = await findVisibleSubmission(session, req.params.id);
    const count = await retryFailedRuns(submission);
    const back = new FormReader(req.body).raw('from') === 'review' ? `/instructor/submissions/${submission.id}` : `/instructor/assignments/${assignment.id}`;
    redirectTo(res, back, count ? 'retried' : 'noretry');
  }));

  router.use(reviewPages(deps, instructor));
  return router;
}
