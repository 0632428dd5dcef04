import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { QueryTypes, type Sequelize } from 'sequelize';
import { countDueRuns } from '../feedback/dueRuns';

// Every Prometheus metric of this process, in one registry. Metrics are per process: each web or
// worker process counts what it did itself; the database-wide gauges (queue depth, runs by status)
// are read at scrape time. Other code calls the small record* functions below and never touches
// prom-client itself, so hook points stay one line each.

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const launches = new Counter({
  name: 'feedforward_launches_total',
  help: 'LTI launches by outcome: success, or the refusal code (bad_signature, replayed, ...).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

const providerCalls = new Counter({
  name: 'feedforward_provider_calls_total',
  help: 'Calls to LLM providers by provider kind, operation (complete, verify) and outcome (ok or the normalised error code).',
  labelNames: ['kind', 'operation', 'outcome'] as const,
  registers: [registry],
});

const providerLatency = new Histogram({
  name: 'feedforward_provider_call_duration_seconds',
  help: 'Latency of calls to LLM providers.',
  labelNames: ['kind', 'operation', 'outcome'] as const,
  buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
  registers: [registry],
});

const budgetReservations = new Counter({
  name: 'feedforward_budget_reservations_total',
  help: 'Budget reservations made before provider calls, by outcome (e.g. reserved, refused).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

const httpLatency = new Histogram({
  name: 'feedforward_http_request_duration_seconds',
  help: 'HTTP request latency by method, route pattern and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

const queueDepth = new Gauge({
  name: 'feedforward_queue_depth',
  help: 'Runs due for a worker now: queued and past their backoff, or running with an expired lease.',
  registers: [registry],
});

const runsByStatus = new Gauge({
  name: 'feedforward_runs',
  help: 'Runs in the database by status.',
  labelNames: ['status'] as const,
  registers: [registry],
});

/** Counts one launch; `outcome` is 'success' or a launch refusal code. */
export function recordLaunch(outcome: string): void {
  launches.inc({ outcome });
}

/** Counts one provider call and observes its latency. */
export function recordProviderCall(kind: string, operation: 'complete' | 'verify', outcome: string, seconds: number): void {
  providerCalls.inc({ kind, operation, outcome });
  providerLatency.observe({ kind, operation, outcome }, seconds);
}

/** Counts budget reservation outcomes (reserved, wait, settled, released, ...; see src/budgets/outcomes.ts). */
export function recordBudgetReservation(outcome: string, n = 1): void {
  budgetReservations.inc({ outcome }, n);
}

/** Express middleware: observes every request's latency, labelled with the route pattern (never the raw URL: ids would explode the series). */
export function httpMetrics(): RequestHandler {
  return (req, res, next) => {
    const end = httpLatency.startTimer();
    res.on('finish', () => {
      const pattern = req.route?.path;
      const route = typeof pattern === 'string' ? `${req.baseUrl}${pattern}` : req.originalUrl.startsWith('/static/') ? '/static' : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}

/** Reads the database-wide gauges, then renders the registry in the Prometheus text format. */
export async function renderMetrics(sequelize: Sequelize): Promise<string> {
  queueDepth.set(await countDueRuns(sequelize));
  const rows = await sequelize.query<{ status: string; n: number | string }>('SELECT status, COUNT(*) AS n FROM runs GROUP BY status', { type: QueryTypes.SELECT, logging: false });
  runsByStatus.reset();
  for (const row of rows) runsByStatus.set({ status: row.status }, Number(row.n));
  return registry.metrics();
}

export const METRICS_CONTENT_TYPE = registry.contentType;
