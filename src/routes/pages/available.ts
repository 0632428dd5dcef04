import { Router } from 'express';
import { listCatalogue } from '../../commands/catalogue';
import { listInstances } from '../../commands/modelInstances';
import { listConnections } from '../../commands/providerConnections';
import { settingsOf } from '../../commands/settings';
import { getSession } from '../../lti/session';
import { asyncHandler } from '../asyncHandler';
import type { Area } from './area';
import { renderPage } from './view';
import { connectionRow, instanceRow, modelRow } from './viewModels';

// "Available from your institution": what the admins set up, read-only for instructors.

export function availablePages(instructor: Area): Router {
  const router = Router();
  router.get('/instructor/available', ...instructor.page, asyncHandler(async (_req, res) => {
    const session = getSession(res);
    const [providers, instances, models] = await Promise.all([listConnections(session), listInstances(session), listCatalogue(session.deployment.id, { includeHidden: false })]);
    const connections = providers.filter((p) => p.ownerType === 'system').map((p) => connectionRow(p, session));
    const byId = new Map(connections.map((c) => [c.id, c]));
    const byModel = new Map(models.map(modelRow).map((m) => [`${m.providerKind}:${m.model}`, m]));
    renderPage(res, 'instructor/available', 'Available from your institution', 'available', {
      connections,
      instances: instances.filter((i) => i.ownerType === 'system').map((i) => instanceRow(i, session, byId, byModel)),
      mayBuildOnThem: settingsOf(session.deployment).allowInstructorSystemConnections,
    });
  }));
  return router;
}
