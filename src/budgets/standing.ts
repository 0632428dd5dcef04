import { Op, Transaction, WhereOptions } from 'sequelize';
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
  const spentMicros = Number(spent ?? 0);
  const reservedMicros = Number(reserved ?? 0);
  return {
    budget,
    periodKey: periodKey(budget.period, now),
    spentMicros,
    reservedMicros,
    remainingMicros: Math.max(0, budget.limitMicros - spentMicros - reservedMicros),
    unpricedCalls,
  };
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
