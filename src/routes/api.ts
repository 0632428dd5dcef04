import express, { RequestHandler, Router } from 'express';
import { getSession } from '../lti/session';
import { presentMe } from '../presenters/session';

/** The JSON API: every route behind `Authorization: Bearer <ltik>`. */
export function apiRoutes(deps: { session: RequestHandler }): Router {
  const router = Router();
  router.use(express.json({ limit: '200kb' }));
  router.use(deps.session);
  router.get('/me', (_req, res) => {
    res.json(presentMe(getSession(res)));
  });
  return router;
}
