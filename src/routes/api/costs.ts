import { Router } from 'express';
import type { Sequelize } from 'sequelize';
import { deploymentBudgets, setBudget } from '../../budgets/manage';
import { findAssignmentForInstructor } from '../../commands/assignments';
import { parseBody } from '../../commands/validation';
import type { Ltijs } from '../../lti/ltijs';
import { getSession } from '../../lti/session';
import { Budget } from '../../models';
import { allow } from '../../policies';
import { usageFilterFor } from '../../policies/usage';
import { presentBudget, presentEstimate, presentUsage } from '../../presenters/costs';
import { estimateForLaunch } from '../../usage/studentCount';
import { usageReport } from '../../usage/report';
import { standingOf } from '../../budgets/standing';
import { asyncHandler } from '../asyncHandler';
import { assignmentBudgetSchema, budgetSchema, usageQuerySchema } from './costSchemas';

/** /api/v1/budgets, /api/v1/usage and an assignment's estimate and cap. */
export function costRoutes(deps: { sequelize: Sequelize; lti: Ltijs }): Router {
  const router = Router();

  router.get('/budgets', allow('administer'), asyncHandler(async (_req, res) => {
    res.json({ budgets: (await deploymentBudgets(getSession(res).deployment.id)).map(presentBudget) });
  }));

  router.put('/budgets', allow('administer'), asyncHandler(async (req, res) => {
    const standing = await setBudget(deps.sequelize, getSession(res), parseBody(budgetSchema, req.body));
    res.json({ budget: standing ? presentBudget(standing) : null });
  }));

  router.get('/usage', allow('configure'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const filter = await usageFilterFor(session, parseBody(usageQuerySchema, req.query));
    res.json(presentUsage(await usageReport(filter, session.user.id)));
  }));

  router.get('/assignments/:id/estimate', allow('configure'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const assignment = await findAssignmentForInstructor(session, req.params.id);
    res.json(presentEstimate(await estimateForLaunch(deps.lti, session, assignment)));
  }));

  // The per-assignment cap: the course's instructors set it (admins may too, or through /budgets).
  router.get('/assignments/:id/budget', allow('configure'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const assignment = await findAssignmentForInstructor(session, req.params.id);
    const budget = await Budget.findOne({ where: { deploymentId: session.deployment.id, scope: 'assignment', scopeId: assignment.id } });
    res.json({ budget: budget ? presentBudget(await standingOf(budget)) : null });
  }));

  router.put('/assignments/:id/budget', allow('configure'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const assignment = await findAssignmentForInstructor(session, req.params.id);
    const input = parseBody(assignmentBudgetSchema, req.body);
    const standing = await setBudget(deps.sequelize, session, { scope: 'assignment', scopeId: assignment.id, ...input });
    res.json({ budget: standing ? presentBudget(standing) : null });
  }));

  return router;
}
