import { recordBudgetReservation } from '../observability/metrics';

// Reservation outcomes go to the process's Prometheus registry (`/metrics`), the one place metrics live.

export type ReservationOutcome = 'reserved' | 'no_budget' | 'unpriced_allowed' | 'wait' | 'forbidden_unpriced' | 'settled' | 'released' | 'released_stale';

export function countReservationOutcome(outcome: ReservationOutcome, n = 1): void {
  if (n > 0) recordBudgetReservation(outcome, n);
}
