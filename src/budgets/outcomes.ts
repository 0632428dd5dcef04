// Reservation outcomes, counted in this process, for the metrics endpoint to read (another change
// wires them to Prometheus; nothing here depends on a metrics library).

export type ReservationOutcome = 'reserved' | 'no_budget' | 'unpriced_allowed' | 'wait' | 'forbidden_unpriced' | 'settled' | 'released' | 'released_stale';

const counts = new Map<ReservationOutcome, number>();

export function countReservationOutcome(outcome: ReservationOutcome, n = 1): void {
  if (n > 0) counts.set(outcome, (counts.get(outcome) ?? 0) + n);
}

/** Totals since the process started, one entry per outcome seen. */
export function reservationOutcomes(): Record<ReservationOutcome, number> {
  return Object.fromEntries(counts) as Record<ReservationOutcome, number>;
}
