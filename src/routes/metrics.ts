import { createHash, timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { Sequelize } from 'sequelize';
import { notFound, unauthorized } from '../errors';
import { METRICS_CONTENT_TYPE, renderMetrics } from '../observability/metrics';
import { asyncHandler } from './asyncHandler';

/** Compares in constant time (hashing first makes the lengths equal, so the length leaks nothing either). */
function sameToken(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** GET /metrics in the Prometheus text format: 404 unless METRICS_TOKEN is set, then `Authorization: Bearer <token>` is required. */
export function metricsRoutes(deps: { sequelize: Sequelize; token: string | undefined }): Router {
  const router = Router();
  router.get(
    '/metrics',
    asyncHandler(async (req, res) => {
      if (!deps.token) throw notFound('There is no page at this address.');
      const header = req.get('authorization') ?? '';
      const given = /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, '').trim() : '';
      if (!given || !sameToken(given, deps.token)) {
        res.set('WWW-Authenticate', 'Bearer realm="metrics"');
        throw unauthorized('A valid metrics token is required.');
      }
      const body = await renderMetrics(deps.sequelize);
      res.status(200).set('Cache-Control', 'no-store').type(METRICS_CONTENT_TYPE).send(body);
    }),
  );
  return router;
}
