import { Router } from 'express';
import type { Sequelize } from 'sequelize';
import { isDatabaseReachable } from '../db/connection';

/** GET /healthz: 200 while the database answers, 503 when it does not. */
export function healthRoutes(sequelize: Sequelize): Router {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    const ok = await isDatabaseReachable(sequelize);
    res.status(ok ? 200 : 503).set('Cache-Control', 'no-store').json({ status: ok ? 'ok' : 'unavailable', database: ok ? 'ok' : 'unreachable' });
  });
  return router;
}
