import type { BudgetStanding } from '../budgets/standing';
import { spentPercent } from '../budgets/alerts';
import { microsToDollars } from '../commands/catalogue';
import type { Estimate } from '../usage/estimate';
import type { UsageReport } from '../usage/report';

// Budgets, usage and estimates as the API shows them: micro-dollars as integers plus a dollar
// string for people; ids and labels only, never a connection's configuration.

const dollars = (micros: number) => microsToDollars(Math.max(0, micros));

export function presentBudget(s: BudgetStanding) {
  const { budget } = s;
  return {
    id: budget.id,
    scope: budget.scope,
    scopeId: budget.scopeId,
    period: budget.period,
    periodKey: s.periodKey,
    limitMicros: budget.limitMicros,
    forbidUnpriced: budget.forbidUnpriced,
    spentMicros: s.spentMicros,
    reservedMicros: s.reservedMicros,
    remainingMicros: s.remainingMicros,
    unpricedCalls: s.unpricedCalls,
    spentPercent: spentPercent(s),
    limit: dollars(budget.limitMicros),
    spent: dollars(s.spentMicros),
    reserved: dollars(s.reservedMicros),
    remaining: dollars(s.remainingMicros),
    updatedAt: budget.updatedAt,
  };
}

export function presentUsage(report: UsageReport) {
  return {
    ...report,
    totals: { ...report.totals, cost: dollars(report.totals.costMicros) },
  };
}

export function presentEstimate(e: Estimate) {
  return {
    ...e,
    low: e.lowMicros === null ? null : dollars(e.lowMicros),
    high: e.highMicros === null ? null : dollars(e.highMicros),
  };
}
