import { RequestHandler, Router } from 'express';
import type { Config } from '../../config';
import type { ConnectionDeps } from '../../commands/providerConnections';
import type { Ltijs } from '../../lti/ltijs';
import { areas } from './area';
import { assignmentPages } from './assignments';
import { availablePages } from './available';
import { cataloguePages } from './catalogue';
import { connectionPages } from './connections';
import { instancePages } from './instances';
import { landingPages } from './landing';
import { privacyPages } from './privacy';
import { settingsPages } from './settings';
import { studentPages } from './student';
import { usagePages } from './usage';

/** Server-rendered pages, each behind the launch session: landing pages, the feedback screens and the configuration screens. */
export function pageRoutes(deps: ConnectionDeps & { session: RequestHandler; lti: Ltijs; config: Config }): Router {
  const router = Router();
  const { admin, instructor } = areas(deps.session);
  router.use(landingPages(deps));
  router.use(assignmentPages(deps, instructor));
  router.use(studentPages(deps));
  for (const area of [admin, instructor]) {
    router.use(connectionPages(deps, area));
    router.use(instancePages(deps, area));
  }
  router.use(cataloguePages(admin));
  router.use(settingsPages(admin));
  router.use(privacyPages(deps, admin));
  router.use(availablePages(instructor));
  router.use(usagePages(deps, admin, instructor));
  return router;
}
