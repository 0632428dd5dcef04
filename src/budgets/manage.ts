import type { Sequelize } from 'sequelize';
import { recordAudit } from '../commands/audit';
import { fieldError } from '../commands/validation';
import type { LaunchSession } from '../lti/session';
import { Assignment, Budget, LtiLaunch, Provider } from '../models';
import type { BudgetPeriod, BudgetScope } from '../models/Budget';
import { isVisible } from '../policies/ownership';
import { auditScopeId, recordThresholds } from './alerts';
import { standingOf, standingsOf, type BudgetStanding } from './standing';
import { wakeBudgetWaiters } from './waiters';

// Setting budgets: admins for the deployment, a connection, an instructor or an assignment;
// instructors for their own assignments (the per-assignment cap). A null limit removes the budget.
// Raising or removing a limit wakes the runs waiting for room.

export interface BudgetInput {
  scope: BudgetScope;
  scopeId?: string | null;
  period: BudgetPeriod;
  limitMicros: number | null;
  forbidUnpriced?: boolean;
}

/** The id a scope's budget is keyed by, checked to exist in this deployment (and to be visible). */
async function scopeIdFor(session: LaunchSession, input: BudgetInput): Promise<string> {
  const deploymentId = session.deployment.id;
  if (input.scope === 'deployment') return deploymentId;
  const id = input.scopeId && /^[0-9a-f-]{36}$/i.test(input.scopeId) ? input.scopeId.toLowerCase() : null;
  if (!id) throw fieldError('scopeId', 'is required for this scope');
  if (input.scope === 'connection') {
    const provider = await Provider.findOne({ where: { id, deploymentId } });
    if (!provider || !isVisible(session, provider)) throw fieldError('scopeId', 'no such provider connection');
  } else if (input.scope === 'instructor') {
    if (!(await LtiLaunch.count({ where: { userId: id, deploymentId } }))) throw fieldError('scopeId', 'no such instructor');
  } else if (!(await Assignment.count({ where: { id, deploymentId } }))) {
    throw fieldError('scopeId', 'no such assignment');
  }
  return id;
}

/** Creates, replaces or (limit null) removes the budget of one scope; audited. Returns its standing, or null once removed. */
export async function setBudget(sequelize: Sequelize, session: LaunchSession, input: BudgetInput): Promise<BudgetStanding | null> {
  const scopeId = await scopeIdFor(session, input);
  const deploymentId = session.deployment.id;
  const result = await sequelize.transaction(async (transaction) => {
    const existing = await Budget.findOne({ where: { deploymentId, scope: input.scope, scopeId }, transaction });
    if (input.limitMicros === null) {
      if (existing) {
        await existing.destroy({ transaction });
        await recordAudit(session, { action: 'budget.delete', targetType: 'budget', targetId: existing.id, details: { scope: input.scope, ...auditScopeId(input.scope, scopeId) } }, transaction);
      }
      return null;
    }
    const values = { period: input.period, limitMicros: input.limitMicros, forbidUnpriced: input.forbidUnpriced ?? existing?.forbidUnpriced ?? false, updatedByUserId: session.user.id };
    const budget = existing
      ? await existing.update(values, { transaction })
      : await Budget.create({ deploymentId, scope: input.scope, scopeId, ...values, createdByUserId: session.user.id }, { transaction });
    await recordAudit(
      session,
      { action: 'budget.update', targetType: 'budget', targetId: budget.id, details: { scope: input.scope, ...auditScopeId(input.scope, scopeId), period: budget.period, limitMicros: budget.limitMicros, forbidUnpriced: budget.forbidUnpriced } },
      transaction,
    );
    return budget;
  });
  if (!result) {
    await wakeBudgetWaiters(sequelize, deploymentId);
    return null;
  }
  const standing = await standingOf(result);
  // A limit lowered below what is already spent crosses its thresholds now.
  await recordThresholds([standing]);
  await wakeBudgetWaiters(sequelize, deploymentId);
  return standing;
}

/** Every budget of the deployment with where it stands. */
export async function deploymentBudgets(deploymentId: string): Promise<BudgetStanding[]> {
  const budgets = await Budget.findAll({ where: { deploymentId }, order: [['scope', 'ASC'], ['createdAt', 'ASC']] });
  return standingsOf(budgets);
}
