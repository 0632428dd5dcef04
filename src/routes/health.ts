import { Router } from 'express';
import { checkReadiness, ReadinessDeps } from '../observability/readiness';

/**
 * GET /healthz: liveness, 200 while the process answers (no database: a database outage must not
 * make an orchestrator restart every process). GET /readyz: readiness, 200 when this process can
 * serve (database, migrations, key check), else 503 with a short reason.
 */
export function healthRoutes(deps: ReadinessDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.status(200).set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const readiness = await checkReadiness(deps);
    res.set('Cache-Control', 'no-store');
    if (readiness.ready) res.status(200).json({ status: 'ready' });
    else res.status(503).json({ status: 'unavailable', reason: readiness.reason });
  });
  return router;
}
