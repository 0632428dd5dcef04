import type { Sequelize } from 'sequelize';
import { releaseStaleReservations, wakeBudgetWaiters } from './waiters';

/**
 * The worker's periodic budget check: release the reservations of runs whose lease expired (a
 * crashed worker), then give waiting runs another try (room may have been freed by another process,
 * a raised budget or a new month).
 */
export async function budgetHousekeeping(sequelize: Sequelize): Promise<void> {
  await releaseStaleReservations();
  await wakeBudgetWaiters(sequelize);
}
