import { Router } from 'express';
import { addCatalogueModel, findCatalogueEntry, listCatalogue, updateCatalogueModel } from '../../commands/catalogue';
import { parseBody } from '../../commands/validation';
import { getSession } from '../../lti/session';
import { allow, can } from '../../policies';
import { presentModel } from '../../presenters/configuration';
import { asyncHandler } from '../asyncHandler';
import { modelCreateSchema, modelUpdateSchema } from './schemas';

/** /api/v1/models: the deployment's catalogue; admins also add, re-price and hide. */
export function modelRoutes(): Router {
  const router = Router();
  router.use(allow('configure'));

  router.get('/', asyncHandler(async (_req, res) => {
    const session = getSession(res);
    const models = await listCatalogue(session.deployment.id, { includeHidden: can(session, 'administer') });
    res.json({ models: models.map(presentModel) });
  }));

  router.post('/', allow('administer'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const entry = await addCatalogueModel(session, parseBody(modelCreateSchema, req.body));
    res.status(201).json(presentModel(entry));
  }));

  router.patch('/:id', allow('administer'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const entry = await findCatalogueEntry(session, req.params.id);
    await updateCatalogueModel(session, entry, parseBody(modelUpdateSchema, req.body));
    res.json(presentModel(entry));
  }));
  return router;
}
