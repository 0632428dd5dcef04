import { Router } from 'express';
import type { ConnectionDeps } from '../../commands/providerConnections';
import { createConnection, deleteConnection, findConnection, listConnections, updateConnection, verifyConnection } from '../../commands/providerConnections';
import { parseBody } from '../../commands/validation';
import { getSession } from '../../lti/session';
import { allow } from '../../policies';
import { presentProvider } from '../../presenters/configuration';
import { asyncHandler } from '../asyncHandler';
import { providerCreateSchema, providerUpdateSchema } from './schemas';

/** /api/v1/providers: provider connections (validate → load → authorize → act → present). */
export function providerRoutes(deps: ConnectionDeps): Router {
  const router = Router();
  router.use(allow('configure'));

  router.get('/', asyncHandler(async (_req, res) => {
    const session = getSession(res);
    res.json({ providers: (await listConnections(session)).map((p) => presentProvider(p, session)) });
  }));

  router.post('/', asyncHandler(async (req, res) => {
    const session = getSession(res);
    const input = parseBody(providerCreateSchema, req.body);
    const provider = await createConnection(deps, session, input);
    res.status(201).json(presentProvider(provider, session));
  }));

  router.get('/:id', asyncHandler(async (req, res) => {
    const session = getSession(res);
    res.json(presentProvider(await findConnection(session, req.params.id), session));
  }));

  router.patch('/:id', asyncHandler(async (req, res) => {
    const session = getSession(res);
    const provider = await findConnection(session, req.params.id);
    const changes = parseBody(providerUpdateSchema, req.body);
    res.json(presentProvider(await updateConnection(deps, session, provider, changes), session));
  }));

  router.delete('/:id', asyncHandler(async (req, res) => {
    const session = getSession(res);
    await deleteConnection(deps, session, await findConnection(session, req.params.id));
    res.status(204).end();
  }));

  router.post('/:id/verify', asyncHandler(async (req, res) => {
    const session = getSession(res);
    const provider = await verifyConnection(deps, session, await findConnection(session, req.params.id));
    res.json(presentProvider(provider, session));
  }));
  return router;
}
