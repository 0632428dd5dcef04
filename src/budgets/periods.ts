import type { BudgetPeriod } from '../models/Budget';

// Budget periods: a calendar month in UTC, or the whole life of the budget ("total").

/** When the current period of a budget began (the epoch for "total"). */
export function periodStart(period: BudgetPeriod, now = new Date()): Date {
  return period === 'month' ? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)) : new Date(0);
}

/** "2026-11" for a month, "total" otherwise: alerts are recorded once per key. */
export function periodKey(period: BudgetPeriod, now = new Date()): string {
  return period === 'month' ? `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}` : 'total';
}
