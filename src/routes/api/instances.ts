import { Router } from 'express';
import type { Sequelize } from 'sequelize';
import { createInstance, deleteInstance, findInstance, listInstances, updateInstance } from '../../commands/modelInstances';
import { parseBody } from '../../commands/validation';
import { getSession } from '../../lti/session';
import { allow } from '../../policies';
import { presentInstance } from '../../presenters/configuration';
import { asyncHandler } from '../asyncHandler';
import { instanceCreateSchema, instanceUpdateSchema } from './schemas';

/** /api/v1/instances: model instances. */
export function instanceRoutes(deps: { sequelize: Sequelize }): Router {
  const router = Router();
  router.use(allow('configure'));

  router.get('/', asyncHandler(async (_req, res) => {
    const session = getSession(res);
    res.json({ instances: (await listInstances(session)).map((i) => presentInstance(i, session)) });
  }));

  router.post('/', asyncHandler(async (req, res) => {
    const session = getSession(res);
    const instance = await createInstance(deps.sequelize, session, parseBody(instanceCreateSchema, req.body));
    res.status(201).json(presentInstance(instance, session));
  }));

  router.get('/:id', asyncHandler(async (req, res) => {
    const session = getSession(res);
    res.json(presentInstance(await findInstance(session, req.params.id), session));
  }));

  router.patch('/:id', asyncHandler(async (req, res) => {
    const session = getSession(res);
    const instance = await findInstance(session, req.params.id);
    const changes = parseBody(instanceUpdateSchema, req.body);
    res.json(presentInstance(await updateInstance(deps.sequelize, session, instance, changes), session));
  }));

  router.delete('/:id', asyncHandler(async (req, res) => {
    const session = getSession(res);
    await deleteInstance(deps.sequelize, session, await findInstance(session, req.params.id));
    res.status(204).end();
  }));
  return router;
}
