import { Op, Sequelize } from 'sequelize';
import { notifyRunsQueued } from '../feedback/queue';
import { runJobsFor } from '../feedback/runJobs';
import { BudgetReservation, Run } from '../models';
import { countReservationOutcome } from './outcomes';

// Runs waiting for budget are never dropped: whenever room may have freed up (a settlement, a
// release, a budget raised, a new month, or the worker's periodic check for other processes'
// settlements) they go back to the queue and try to reserve again.

/** Queues the deployment's (or every) waiting run again; returns how many. */
export async function wakeBudgetWaiters(sequelize: Sequelize, deploymentId?: string): Promise<number> {
  const waiting = await Run.findAll({ where: { status: 'budget_wait', ...(deploymentId ? { deploymentId } : {}) }, attributes: ['id'], order: [['createdAt', 'ASC']], limit: 500 });
  if (waiting.length === 0) return 0;
  const ids = waiting.map((r) => r.id);
  const [count] = await Run.update({ status: 'queued', nextAttemptAt: null }, { where: { id: { [Op.in]: ids }, status: 'budget_wait' } });
  await runJobsFor(sequelize)?.enqueue(sequelize, ids);
  notifyRunsQueued();
  return count;
}

/**
 * The recovery sweep's part: releases reservations whose run no longer holds a live lease (a worker
 * that crashed mid-call, or a run that ended without settling). Returns how many.
 */
export async function releaseStaleReservations(): Promise<number> {
  const open = await BudgetReservation.findAll({ where: { state: 'reserved' }, attributes: ['id', 'runId'], limit: 1000 });
  if (open.length === 0) return 0;
  const now = new Date();
  const live = await Run.findAll({
    where: { id: { [Op.in]: [...new Set(open.map((r) => r.runId))] }, status: 'running', leaseExpiresAt: { [Op.gte]: now } },
    attributes: ['id'],
  });
  const liveIds = new Set(live.map((r) => r.id));
  const stale = open.filter((r) => !liveIds.has(r.runId)).map((r) => r.id);
  if (stale.length === 0) return 0;
  const [released] = await BudgetReservation.update({ state: 'released' }, { where: { id: { [Op.in]: stale }, state: 'reserved' } });
  countReservationOutcome('released_stale', released);
  return released;
}
