import { Router } from 'express';
import { Op } from 'sequelize';
import type { Sequelize } from 'sequelize';
import { budgetNames } from '../../budgets/names';
import { deploymentBudgets, setBudget } from '../../budgets/manage';
import { standingsOf } from '../../budgets/standing';
import { dollarsToMicros } from '../../commands/catalogue';
import { listConnections } from '../../commands/providerConnections';
import { validationFailed } from '../../errors';
import { findAssignmentForInstructor } from '../../commands/assignments';
import { getSession } from '../../lti/session';
import { Assignment, Budget, User } from '../../models';
import type { BudgetPeriod, BudgetScope } from '../../models/Budget';
import { usageFilterFor } from '../../policies/usage';
import { currentPeriod, PERIOD, usageReport } from '../../usage/report';
import { usageCsv } from '../../usage/csv';
import { asyncHandler } from '../asyncHandler';
import type { Area } from './area';
import { budgetView, spendChart, usageGroupsView } from './costViewModels';
import { dollars } from './feedbackViewModels';
import { FormReader } from './forms';
import { noticeFrom, redirectTo, renderPage } from './view';

// The usage screens: the admin's (spend over time, by connection, instructor and model, budgets
// with bars, the budget form, CSV export) and the instructor's (their spend per assignment and the
// caps on their assignments). Both call the commands the JSON API calls.

const NOTICES = { saved: 'The budget was saved.', removed: 'The budget was removed.' };
const DOLLARS = /^\d{1,7}(\.\d{1,6})?$/;

/** The month shown: ?period=YYYY-MM or all, else this month. */
const periodOf = (value: unknown) => (typeof value === 'string' && (PERIOD.test(value) || value === 'all') ? value : currentPeriod());

/** A limit typed in dollars; blank means "remove the budget". */
function limitFrom(form: FormReader): number | null {
  const typed = form.optional('limit')?.trim();
  if (typed === undefined) return null;
  if (!DOLLARS.test(typed)) throw validationFailed([{ field: 'limit', message: 'Limit: must be an amount in dollars such as 250 or 12.50' }]);
  return dollarsToMicros(typed);
}

const periodFrom = (form: FormReader): BudgetPeriod => (form.text('period') === 'total' ? 'total' : 'month');

function periodChoices(selected: string) {
  const now = new Date();
  const months = Array.from({ length: 12 }, (_, i) => currentPeriod(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1))));
  return [...months.map((m) => ({ value: m, label: m, selected: m === selected })), { value: 'all', label: 'All time', selected: selected === 'all' }];
}

export function usagePages(deps: { sequelize: Sequelize }, admin: Area, instructor: Area): Router {
  const router = Router();

  router.get('/admin/usage', ...admin.page, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const period = periodOf(req.query.period);
    const report = await usageReport({ deploymentId: session.deployment.id, period }, session.user.id);
    const standings = await deploymentBudgets(session.deployment.id);
    const names = await budgetNames(standings.map((s) => s.budget), session.user.id);
    const connections = (await listConnections(session)).filter((c) => c.ownerType === 'system');
    const assignments = await Assignment.findAll({ where: { deploymentId: session.deployment.id }, attributes: ['id', 'title', 'contextId', 'createdByUserId'], order: [['title', 'ASC']], limit: 500 });
    const instructors = await User.findAll({ where: { id: [...new Set(assignments.map((a) => a.createdByUserId))] }, attributes: ['id', 'name'] });
    // Assignment caps from this screen: the assignments of the course the admin launched from.
    const courseAssignments = assignments.filter((a) => a.contextId === session.launch.contextId);
    renderPage(res, 'admin/usage', 'Usage and budgets', 'usage', {
      period,
      periods: periodChoices(period),
      total: dollars(report.totals.costMicros),
      totals: report.totals,
      chart: spendChart(report),
      byConnection: usageGroupsView(report.byConnection),
      byInstructor: usageGroupsView(report.byInstructor),
      byModel: usageGroupsView(report.byModel),
      budgets: standings.map((s) => budgetView(s, names.get(s.budget.id)!)),
      scopes: [
        { value: 'deployment', label: 'The whole institution' },
        ...connections.map((c) => ({ value: `connection:${c.id}`, label: `Connection: ${c.label}` })),
        ...instructors.map((u) => ({ value: `instructor:${u.id}`, label: `Instructor: ${u.name ?? 'an instructor who shares no name'}` })),
        ...courseAssignments.map((a) => ({ value: `assignment:${a.id}`, label: `Assignment: ${a.title}` })),
      ],
      csvUrl: `/admin/usage.csv?period=${encodeURIComponent(period)}`,
      notice: noticeFrom(req, NOTICES),
    });
  }));

  router.get('/admin/usage.csv', ...admin.page, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const period = periodOf(req.query.period);
    const csv = await usageCsv({ deploymentId: session.deployment.id, period }, session.user.id);
    res.status(200).type('text/csv; charset=utf-8').attachment(`feedforward-usage-${period}.csv`).send(csv);
  }));

  router.post('/admin/budgets', ...admin.post, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const form = new FormReader(req.body);
    const [scope, scopeId] = form.text('scope').split(':') as [string, string | undefined];
    if (!['deployment', 'connection', 'instructor', 'assignment'].includes(scope)) throw validationFailed([{ field: 'scope', message: 'Applies to: choose what the budget limits' }]);
    const limitMicros = limitFrom(form);
    await setBudget(deps.sequelize, session, { scope: scope as BudgetScope, scopeId: scopeId ?? null, period: periodFrom(form), limitMicros, forbidUnpriced: form.checkbox('forbidUnpriced') });
    redirectTo(res, '/admin/usage', limitMicros === null ? 'removed' : 'saved');
  }));

  router.get('/instructor/usage', ...instructor.page, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const period = periodOf(req.query.period);
    const report = await usageReport(await usageFilterFor(session, { period, instructor: session.user.id }), session.user.id);
    const mine = await Assignment.findAll({ where: { deploymentId: session.deployment.id, createdByUserId: session.user.id }, attributes: ['id', 'title'], order: [['title', 'ASC']], limit: 500 });
    const caps = mine.length ? await Budget.findAll({ where: { deploymentId: session.deployment.id, scope: 'assignment', scopeId: { [Op.in]: mine.map((a) => a.id) } } }) : [];
    const own = await Budget.findOne({ where: { deploymentId: session.deployment.id, scope: 'instructor', scopeId: session.user.id } });
    // Every cap and their own budget in one batch (a fixed number of statements however many caps).
    const standings = await standingsOf(own ? [...caps, own] : caps);
    const titles = new Map(mine.map((a) => [a.id, a.title]));
    const capViews = standings.slice(0, caps.length).map((s) => budgetView(s, titles.get(s.budget.scopeId) ?? 'An assignment'));
    renderPage(res, 'instructor/usage', 'My usage', 'my-usage', {
      period,
      periods: periodChoices(period),
      total: dollars(report.totals.costMicros),
      totals: report.totals,
      byAssignment: usageGroupsView(report.byAssignment),
      byModel: usageGroupsView(report.byModel),
      caps: capViews,
      ownBudget: own ? [budgetView(standings[caps.length]!, 'Your budget (set by your institution)')] : [],
      assignments: mine.map((a) => ({ id: a.id, title: a.title })),
      notice: noticeFrom(req, NOTICES),
    });
  }));

  // The per-assignment cap (admins may also use /admin/usage).
  router.post('/instructor/budgets', ...instructor.post, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const form = new FormReader(req.body);
    // The same rule as PUT /api/v1/assignments/:id/budget: the course's instructors.
    const assignment = await findAssignmentForInstructor(session, form.text('assignmentId'));
    const limitMicros = limitFrom(form);
    await setBudget(deps.sequelize, session, { scope: 'assignment', scopeId: assignment.id, period: periodFrom(form), limitMicros });
    redirectTo(res, '/instructor/usage', limitMicros === null ? 'removed' : 'saved');
  }));

  return router;
}
