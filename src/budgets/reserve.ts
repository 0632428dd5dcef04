import { Op, Sequelize } from 'sequelize';
import { Budget, BudgetReservation } from '../models';
import { microsToDollars } from '../commands/catalogue';
import { recordThresholds } from './alerts';
import { countReservationOutcome } from './outcomes';
import { applicableBudgets, ChargeTarget, standingOf, standingsOf, type BudgetStanding } from './standing';
import { wakeBudgetWaiters } from './waiters';
import type { BudgetHint } from '../feedback/runContext';

// Reserve before the call, settle after it. The check and the insert happen in one transaction
// that first locks every applicable budget row (SELECT ... FOR UPDATE on PostgreSQL; SQLite
// transactions here are BEGIN IMMEDIATE, so writers are serialised): two runs, in any process,
// can never both take the last room in a budget.

export type Gate =
  | { outcome: 'go'; reservationIds: string[] }
  | { outcome: 'wait'; reason: string }
  | { outcome: 'forbidden'; reason: string };

const SCOPE_WORDS = { deployment: 'institution', connection: 'provider connection', instructor: 'instructor', assignment: 'assignment' } as const;

function waitReason(standing: BudgetStanding, amountMicros: number): string {
  const { budget } = standing;
  const period = budget.period === 'month' ? ' this month' : '';
  return `The ${SCOPE_WORDS[budget.scope]} budget has $${microsToDollars(standing.remainingMicros)} left${period}; a run needs up to $${microsToDollars(amountMicros)}. It waits until room frees up or an administrator raises the budget.`;
}

/**
 * Reserves `amountMicros` (null: the model has no known price) for this run against every budget
 * that applies, or says why it cannot start: "wait" when a budget has no room, "forbidden" when a
 * budget forbids unpriced models (waiting would never end). Reservations the run still held from an
 * earlier, crashed attempt are released first: the caller owns the run's lease now.
 */
export async function reserveForRun(sequelize: Sequelize, runId: string, target: ChargeTarget, amountMicros: number | null, known?: BudgetHint): Promise<Gate> {
  const refused: BudgetStanding[] = [];
  // Fast path, without a transaction (on SQLite each one opens a new connection: most of the
  // per-call overhead in the benchmark): when no budget applies, there is nothing to lock or insert.
  // Reading "no budget" outside the lock is safe: it orders this run before any budget created
  // concurrently, exactly as the transaction would. Leftovers of a crashed attempt are released
  // first either way (we hold the run's lease, so nobody else touches them).
  // `known` comes from the run-context query (read without a lock, like the check below), and spares
  // both statements on the common path.
  if (!known || known.openReservation) await BudgetReservation.update({ state: 'released' }, { where: { runId, state: 'reserved' } });
  if (known ? !known.anyApplies : (await applicableBudgets(target)).length === 0) {
    countReservationOutcome('no_budget');
    return { outcome: 'go', reservationIds: [] };
  }
  const gate = await sequelize.transaction(async (transaction): Promise<Gate> => {
    const budgets = await applicableBudgets(target, transaction, true);
    if (budgets.length === 0) {
      countReservationOutcome('no_budget');
      return { outcome: 'go', reservationIds: [] };
    }
    if (amountMicros === null) {
      if (budgets.some((b) => b.forbidUnpriced)) {
        countReservationOutcome('forbidden_unpriced');
        return { outcome: 'forbidden', reason: 'This model has no known price, and a budget that applies forbids models with no known price. Ask an administrator to set its price in the model catalogue.' };
      }
      countReservationOutcome('unpriced_allowed');
      return { outcome: 'go', reservationIds: [] };
    }
    for (const budget of budgets) {
      const standing = await standingOf(budget, transaction);
      if (standing.spentMicros + standing.reservedMicros + amountMicros > budget.limitMicros) refused.push(standing);
    }
    if (refused.length) {
      countReservationOutcome('wait');
      return { outcome: 'wait', reason: waitReason(refused[0]!, amountMicros) };
    }
    const rows = await BudgetReservation.bulkCreate(
      budgets.map((b) => ({ deploymentId: b.deploymentId, budgetId: b.id, runId, amountMicros, state: 'reserved' as const })),
      { transaction },
    );
    countReservationOutcome('reserved');
    return { outcome: 'go', reservationIds: rows.map((r) => r.id) };
  });
  // New runs stop at 100%: the refusal is recorded (once per period) outside the transaction.
  if (refused.length) await recordThresholds(refused, new Set(refused.map((s) => s.budget.id)), { neededMicros: amountMicros });
  return gate;
}

/**
 * Ends a run's reservations: settled to what the calls really cost (the ledger already holds that
 * cost, so the reservation stops counting), or released when no call was made. Then records any
 * threshold crossed and wakes the runs waiting for room in this deployment.
 */
export async function endReservations(sequelize: Sequelize, deploymentId: string, reservationIds: string[], actualMicros: number | null): Promise<void> {
  if (reservationIds.length === 0) return;
  const settled = actualMicros !== null;
  const [changed] = await BudgetReservation.update(
    settled ? { state: 'settled', settledMicros: actualMicros } : { state: 'released' },
    { where: { id: { [Op.in]: reservationIds }, state: 'reserved' } },
  );
  countReservationOutcome(settled ? 'settled' : 'released', changed);
  if (changed === 0) return; // already ended (e.g. by the stale sweep): no room was freed now
  const reservations = await BudgetReservation.findAll({ where: { id: { [Op.in]: reservationIds } }, attributes: ['budgetId'] });
  const budgets = await Budget.findAll({ where: { id: reservations.map((r) => r.budgetId) } });
  await recordThresholds(await standingsOf(budgets));
  await wakeBudgetWaiters(sequelize, deploymentId);
}
