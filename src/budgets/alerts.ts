import { UniqueConstraintError } from 'sequelize';
import { recordSystemAudit } from '../commands/audit';
import { BudgetAlert } from '../models';
import type { BudgetStanding } from './standing';

// The 80% warning and the 100% stop: each is recorded once per budget per period (a unique row in
// budget_alerts) and written to the audit log. The banners read the standings live, not these rows.

export const WARNING_PERCENT = 80;

/** Percent of the limit already spent (the ledger), rounded down; reservations are estimates and do not count. */
export function spentPercent(s: Pick<BudgetStanding, 'spentMicros' | 'budget'>): number {
  if (s.budget.limitMicros <= 0) return 100;
  return Math.floor((s.spentMicros * 100) / s.budget.limitMicros);
}

async function once(standing: BudgetStanding, threshold: 80 | 100): Promise<boolean> {
  try {
    await BudgetAlert.create({ deploymentId: standing.budget.deploymentId, budgetId: standing.budget.id, periodKey: standing.periodKey, threshold });
    return true;
  } catch (err) {
    if (err instanceof UniqueConstraintError) return false;
    throw err;
  }
}

/**
 * The scope id an audit row may carry: not an instructor's user id (audit rows outlive erasure, and the
 * budget row itself, which erasure pseudonymises, names them).
 */
export function auditScopeId(scope: string, scopeId: string): { scopeId?: string } {
  return scope === 'instructor' ? {} : { scopeId };
}

function details(standing: BudgetStanding, percent: number) {
  const { budget } = standing;
  return { scope: budget.scope, ...auditScopeId(budget.scope, budget.scopeId), period: budget.period, periodKey: standing.periodKey, limitMicros: budget.limitMicros, spentMicros: standing.spentMicros, reservedMicros: standing.reservedMicros, percent };
}

/**
 * Records the thresholds these standings have crossed. `exhausted` marks budgets that just refused a
 * run (new runs stop there) even when the spend alone is below 100%. Call outside transactions.
 */
export async function recordThresholds(standings: BudgetStanding[], exhausted: ReadonlySet<string> = new Set(), extra: Record<string, unknown> = {}): Promise<void> {
  for (const standing of standings) {
    const percent = spentPercent(standing);
    const stopped = exhausted.has(standing.budget.id) || standing.spentMicros >= standing.budget.limitMicros;
    if (percent >= WARNING_PERCENT || stopped) {
      if (await once(standing, 80)) {
        await recordSystemAudit(standing.budget.deploymentId, { action: 'budget.warning', targetType: 'budget', targetId: standing.budget.id, details: { ...details(standing, percent), ...extra } });
      }
    }
    if (stopped && (await once(standing, 100))) {
      await recordSystemAudit(standing.budget.deploymentId, { action: 'budget.exhausted', targetType: 'budget', targetId: standing.budget.id, details: { ...details(standing, percent), ...extra } });
    }
  }
}
