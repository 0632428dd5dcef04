import express, { RequestHandler, Router } from 'express';
import type { ConnectionDeps } from '../../commands/providerConnections';
import { getSession } from '../../lti/session';
import { presentMe } from '../../presenters/session';
import type { Ltijs } from '../../lti/ltijs';
import { assignmentRoutes } from './assignments';
import { costRoutes } from './costs';
import { instanceRoutes } from './instances';
import { modelRoutes } from './models';
import { privacyRoutes } from './privacy';
import { providerRoutes } from './providers';
import { settingsRoutes } from './settings';

/** The JSON API: every route behind `Authorization: Bearer <ltik>`, errors as {"error":{code,message}}. */
export function apiRoutes(deps: ConnectionDeps & { session: RequestHandler; lti: Ltijs }): Router {
  const router = Router();
  // Room for the largest allowed submission (200 000 characters of up to 4 UTF-8 bytes each).
  router.use(express.json({ limit: '1mb' }));
  router.use(deps.session);
  router.get('/me', (_req, res) => {
    res.json(presentMe(getSession(res)));
  });
  router.use('/providers', providerRoutes(deps));
  router.use('/instances', instanceRoutes(deps));
  router.use('/models', modelRoutes());
  router.use(settingsRoutes());
  router.use(costRoutes(deps));
  router.use(assignmentRoutes(deps));
  router.use(privacyRoutes(deps));
  return router;
}
