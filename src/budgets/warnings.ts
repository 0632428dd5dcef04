import { Op } from 'sequelize';
import type { LaunchSession } from '../lti/session';
import { Assignment, Budget } from '../models';
import { spentPercent, WARNING_PERCENT } from './alerts';
import { budgetNames } from './names';
import { standingsOf } from './standing';

// The budgets a person should be warned about on their screens: admins every budget of the
// deployment at 80% or more; an instructor the institution's budget, their own and their
// assignments' caps.

export interface BudgetWarning {
  name: string;
  percent: number;
  exhausted: boolean;
}

export async function budgetWarningsFor(session: LaunchSession): Promise<BudgetWarning[]> {
  const deploymentId = session.deployment.id;
  let budgets: Budget[];
  if (session.role === 'admin') {
    budgets = await Budget.findAll({ where: { deploymentId } });
  } else {
    const mine = await Assignment.findAll({ where: { deploymentId, createdByUserId: session.user.id }, attributes: ['id'] });
    budgets = await Budget.findAll({
      where: {
        deploymentId,
        [Op.or]: [
          { scope: 'deployment' },
          { scope: 'instructor', scopeId: session.user.id },
          ...(mine.length ? [{ scope: 'assignment', scopeId: mine.map((a) => a.id) }] : []),
        ],
      },
    });
  }
  if (budgets.length === 0) return [];
  const standings = await standingsOf(budgets);
  const hot = standings.filter((s) => spentPercent(s) >= WARNING_PERCENT || s.remainingMicros === 0);
  if (hot.length === 0) return [];
  const names = await budgetNames(hot.map((s) => s.budget), session.user.id);
  return hot.map((s) => ({ name: names.get(s.budget.id)!, percent: spentPercent(s), exhausted: spentPercent(s) >= 100 || s.remainingMicros === 0 }));
}
