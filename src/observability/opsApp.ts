import express, { ErrorRequestHandler, Express } from 'express';
import { HttpError, notFound } from '../errors';
import type { Logger } from '../logger';
import { requestId } from '../middlewares/requestId';
import { healthRoutes } from '../routes/health';
import { metricsRoutes } from '../routes/metrics';
import type { ReadinessDeps } from './readiness';

/**
 * The operations endpoints alone (/healthz, /readyz, /metrics), for a worker process that serves no
 * pages: its liveness, readiness and provider-call metrics, on WORKER_HTTP_PORT.
 */
export function createOpsApp(deps: ReadinessDeps & { logger: Logger; metricsToken: string | undefined }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestId());
  app.use(healthRoutes(deps));
  app.use(metricsRoutes({ sequelize: deps.sequelize, token: deps.metricsToken }));
  app.use((_req, _res, next) => next(notFound('There is no page at this address.')));
  // No pages here, so no view engine: the same codes as the main translator, always as JSON.
  const asJson: ErrorRequestHandler = (err, _req, res, _next) => {
    const known = err instanceof HttpError ? err : undefined;
    if (!known) deps.logger.error({ err, requestId: res.locals.requestId }, 'unhandled error');
    res.status(known?.status ?? 500).json({ error: { code: known?.code ?? 'internal', message: known?.message ?? 'Something went wrong on our side.', requestId: res.locals.requestId } });
  };
  app.use(asJson);
  return app;
}
