import { Router } from 'express';
import { addCatalogueModel, listCatalogue, updateCatalogueModel } from '../../commands/catalogue';
import { recordAudit } from '../../commands/audit';
import { parseBody } from '../../commands/validation';
import { notFound } from '../../errors';
import { getSession } from '../../lti/session';
import { CatalogueModel } from '../../models';
import { allow, can } from '../../policies';
import { requireId } from '../../policies/ownership';
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
    const entry = await addCatalogueModel(session.deployment.id, parseBody(modelCreateSchema, req.body));
    await recordAudit(session, { action: 'model.create', targetType: 'model', targetId: entry.id, details: { model: entry.model, kind: entry.providerKind } });
    res.status(201).json(presentModel(entry));
  }));

  router.patch('/:id', allow('administer'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const entry = await CatalogueModel.findOne({ where: { id: requireId(req.params.id), deploymentId: session.deployment.id } });
    if (!entry) throw notFound('No such model.');
    const changes = parseBody(modelUpdateSchema, req.body);
    await updateCatalogueModel(entry, changes);
    await recordAudit(session, { action: 'model.update', targetType: 'model', targetId: entry.id, details: { model: entry.model, changed: Object.keys(changes) } });
    res.json(presentModel(entry));
  }));
  return router;
}
