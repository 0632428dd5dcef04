import { Router } from 'express';
import { settingsOf, updateSettings } from '../../commands/settings';
import { parseBody } from '../../commands/validation';
import { getSession } from '../../lti/session';
import { AuditEvent } from '../../models';
import { allow } from '../../policies';
import { presentAuditEvent, presentSettings } from '../../presenters/configuration';
import { asyncHandler } from '../asyncHandler';
import { settingsSchema } from './schemas';

/** /api/v1/settings and /api/v1/audit: deployment administration (admins only). */
export function settingsRoutes(): Router {
  const router = Router();
  const admin = allow('administer');

  router.get('/settings', admin, (_req, res) => {
    res.json(presentSettings(settingsOf(getSession(res).deployment)));
  });

  router.put('/settings', admin, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const input = parseBody(settingsSchema, req.body);
    const next = await updateSettings(session, input);
    res.json(presentSettings(next));
  }));

  router.get('/audit', admin, asyncHandler(async (_req, res) => {
    const session = getSession(res);
    const events = await AuditEvent.findAll({ where: { deploymentId: session.deployment.id }, order: [['createdAt', 'DESC']], limit: 200 });
    res.json({ events: events.map(presentAuditEvent) });
  }));
  return router;
}
