import { Router } from 'express';
import type { Sequelize } from 'sequelize';
import { z } from 'zod';
import { recordAudit } from '../../commands/audit';
import { parseBody } from '../../commands/validation';
import { getSession } from '../../lti/session';
import { allow } from '../../policies';
import { presentMember, presentNotice } from '../../presenters/privacy';
import { eraseUserData } from '../../privacy/eraseUser';
import { exportUserData } from '../../privacy/exportUser';
import { findMember, searchMembers } from '../../privacy/members';
import { acceptNotice, currentNotice, noticeAcceptedAt } from '../../privacy/notice';
import { asyncHandler } from '../asyncHandler';

const acceptSchema = z.object({ version: z.string({ error: 'is required: the version of the notice you accept' }).regex(/^[0-9a-f]{64}$/, 'must be the version GET /api/v1/notice gave') });
const searchSchema = z.object({ q: z.string().max(320).optional(), pseudonym: z.string().max(100).optional() });

/** /api/v1/notice (students accept the data-use notice) and /api/v1/privacy (admins: find, export, erase a user). */
export function privacyRoutes(deps: { sequelize: Sequelize }): Router {
  const router = Router();
  const admin = allow('administer');

  router.get('/notice', asyncHandler(async (_req, res) => {
    const session = getSession(res);
    res.json(presentNotice(currentNotice(session.deployment), await noticeAcceptedAt(session)));
  }));

  router.post('/notice/accept', allow('submit'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const { version } = parseBody(acceptSchema, req.body);
    const acceptedAt = await acceptNotice(session, version);
    res.json(presentNotice(currentNotice(session.deployment), acceptedAt));
  }));

  router.get('/privacy/users', admin, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const search = parseBody(searchSchema, req.query);
    const users = await searchMembers(deps.sequelize, session.deployment, { query: search.q, pseudonym: search.pseudonym });
    res.json({ users: users.map(presentMember) });
  }));

  router.get('/privacy/users/:id/export', admin, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const user = await findMember(deps.sequelize, session.deployment, req.params.id);
    const data = await exportUserData(deps.sequelize, session.deployment, user);
    // Audited by who and whom only: the exported data never enters the audit log.
    await recordAudit(session, { action: 'privacy.export', targetType: 'user', targetId: user.id });
    res.set('Content-Disposition', `attachment; filename="feedforward-user-${user.id}.json"`);
    res.set('Cache-Control', 'no-store');
    res.json(data);
  }));

  router.post('/privacy/users/:id/erase', admin, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const user = await findMember(deps.sequelize, session.deployment, req.params.id);
    res.json(await eraseUserData(deps.sequelize, session, user));
  }));

  return router;
}
