import { col, fn, literal, Op, Transaction, WhereOptions } from 'sequelize';
import { Budget, BudgetReservation, UsageEntry } from '../models';
import type { BudgetScope } from '../models/Budget';
import { periodKey, periodStart } from './periods';

// Where a budget stands in its current period: spent (the ledger's priced calls), reserved (the
// open reservations of runs in flight) and what is left. The ledger is the truth for spend.

export interface BudgetStanding {
  budget: Budget;
  periodKey: string;
  spentMicros: number;
  reservedMicros: number;
  remainingMicros: number;
  /** Calls of models with no known price in the period: counted, never as $0. */
  unpricedCalls: number;
}

const SCOPE_COLUMN: Record<BudgetScope, keyof UsageEntry | null> = {
  deployment: null,
  connection: 'providerId',
  instructor: 'instructorUserId',
  assignment: 'assignmentId',
};

/** The ledger rows a budget counts in its current period. */
export function ledgerWhere(budget: Pick<Budget, 'deploymentId' | 'scope' | 'scopeId' | 'period'>, now = new Date()): WhereOptions {
  const column = SCOPE_COLUMN[budget.scope];
  return {
    deploymentId: budget.deploymentId,
    createdAt: { [Op.gte]: periodStart(budget.period, now) },
    ...(column ? { [column]: budget.scopeId } : {}),
  };
}

export async function standingOf(budget: Budget, transaction?: Transaction, now = new Date()): Promise<BudgetStanding> {
  const where = ledgerWhere(budget, now);
  // One after the other: inside a transaction they share one connection.
  const spent = await UsageEntry.sum('costMicros', { where, transaction });
  const unpricedCalls = await UsageEntry.count({ where: { ...where, unpriced: true } as WhereOptions, transaction });
  const reserved = await BudgetReservation.sum('amountMicros', { where: { budgetId: budget.id, state: 'reserved' }, transaction });
  return standing(budget, now, Number(spent ?? 0), Number(reserved ?? 0), unpricedCalls);
}

function standing(budget: Budget, now: Date, spentMicros: number, reservedMicros: number, unpricedCalls: number): BudgetStanding {
  return {
    budget,
    periodKey: periodKey(budget.period, now),
    spentMicros,
    reservedMicros,
    remainingMicros: Math.max(0, budget.limitMicros - spentMicros - reservedMicros),
    unpricedCalls,
  };
}

/** The ledger column of each scope, as stored (for grouping by it). */
const SCOPE_FIELD: Record<BudgetScope, string | null> = {
  deployment: null,
  connection: 'provider_id',
  instructor: 'instructor_user_id',
  assignment: 'assignment_id',
};

/**
 * The standings of many budgets (a list screen, the banner) in a fixed number of statements: one
 * grouped ledger query per (deployment, scope, period start) and one grouped reservation query,
 * however many budgets there are. Same figures as standingOf, which stays the one for a single
 * budget inside a transaction.
 */
export async function standingsOf(budgets: Budget[], now = new Date()): Promise<BudgetStanding[]> {
  if (budgets.length === 0) return [];
  const groups = new Map<string, Budget[]>();
  for (const b of budgets) {
    const key = `${b.deploymentId}|${b.scope}|${periodStart(b.period, now).toISOString()}`;
    groups.set(key, [...(groups.get(key) ?? []), b]);
  }
  const ledger = new Map<string, { spent: number; unpriced: number }>();
  const reservedByBudget = new Map<string, number>();
  await Promise.all([
    ...[...groups.values()].map(async (group) => {
      const first = group[0]!;
      const column = SCOPE_COLUMN[first.scope];
      const field = SCOPE_FIELD[first.scope];
      const rows = await UsageEntry.findAll({
        attributes: [
          ...(field ? [[col(field), 'scopeId'] as [ReturnType<typeof col>, string]] : []),
          [fn('SUM', col('cost_micros')), 'spent'],
          [fn('SUM', literal('CASE WHEN unpriced THEN 1 ELSE 0 END')), 'unpriced'],
        ],
        where: {
          deploymentId: first.deploymentId,
          createdAt: { [Op.gte]: periodStart(first.period, now) },
          ...(column ? { [column]: { [Op.in]: group.map((b) => b.scopeId) } } : {}),
        },
        group: field ? [field] : [],
        raw: true,
      }) as unknown as Array<{ scopeId?: string; spent: string | number | null; unpriced: string | number | null }>;
      const totals = new Map(rows.map((r) => [field ? String(r.scopeId) : '', { spent: Number(r.spent ?? 0), unpriced: Number(r.unpriced ?? 0) }]));
      for (const b of group) ledger.set(b.id, totals.get(field ? b.scopeId : '') ?? { spent: 0, unpriced: 0 });
    }),
    (async () => {
      const rows = await BudgetReservation.findAll({
        attributes: [[col('budget_id'), 'budgetId'], [fn('SUM', col('amount_micros')), 'reserved']],
        where: { budgetId: { [Op.in]: budgets.map((b) => b.id) }, state: 'reserved' },
        group: ['budget_id'],
        raw: true,
      }) as unknown as Array<{ budgetId: string; reserved: string | number | null }>;
      for (const r of rows) reservedByBudget.set(r.budgetId, Number(r.reserved ?? 0));
    })(),
  ]);
  return budgets.map((budget) => {
    const { spent, unpriced } = ledger.get(budget.id)!;
    return standing(budget, now, spent, reservedByBudget.get(budget.id) ?? 0, unpriced);
  });
}

/** What a run's provider calls are charged to. */
export interface ChargeTarget {
  deploymentId: string;
  providerId: string;
  instructorUserId: string;
  assignmentId: string;
}

/** Every budget that applies to a call: its deployment's, its connection's, its instructor's and its assignment's. */
export async function applicableBudgets(target: ChargeTarget, transaction?: Transaction, lock = false): Promise<Budget[]> {
  return Budget.findAll({
    where: {
      deploymentId: target.deploymentId,
      [Op.or]: [
        { scope: 'deployment', scopeId: target.deploymentId },
        { scope: 'connection', scopeId: target.providerId },
        { scope: 'instructor', scopeId: target.instructorUserId },
        { scope: 'assignment', scopeId: target.assignmentId },
      ],
    },
    // Ordered so that two transactions lock the same rows in the same order (no deadlock).
    order: [['id', 'ASC']],
    transaction,
    ...(lock && transaction ? { lock: transaction.LOCK.UPDATE } : {}),
  });
}
