import { Router } from 'express';
import type { Sequelize } from 'sequelize';
import { badRequest } from '../../errors';
import { getSession } from '../../lti/session';
import { presentMember } from '../../presenters/privacy';
import { eraseUserData } from '../../privacy/eraseUser';
import { findMember, searchMembers } from '../../privacy/members';
import { asyncHandler } from '../asyncHandler';
import type { Area } from './area';
import { FormReader } from './forms';
import { noticeFrom, redirectTo, renderPage } from './view';

// Student data (admins): find a user by name, email, LMS id or the pseudonym a provider reported,
// download everything held about them (the API's export), or erase it.

const NOTICES = { erased: 'The user\u2019s data was erased. Their usage and audit rows remain under a pseudonym.' };

export function privacyPages(deps: { sequelize: Sequelize }, admin: Area): Router {
  const router = Router();

  router.get('/admin/privacy', ...admin.page, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const q = typeof req.query.q === 'string' ? req.query.q.slice(0, 320) : '';
    const pseudonym = typeof req.query.pseudonym === 'string' ? req.query.pseudonym.slice(0, 100) : '';
    const searched = q.trim() !== '' || pseudonym.trim() !== '';
    const users = searched ? await searchMembers(deps.sequelize, session.deployment, pseudonym.trim() ? { pseudonym } : { query: q }) : [];
    renderPage(res, 'admin/privacy', 'Student data', 'privacy', { q, pseudonym, searched, users: users.map(presentMember), notice: noticeFrom(req, NOTICES) });
  }));

  router.post('/admin/privacy/users/:id/erase', ...admin.post, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const user = await findMember(deps.sequelize, session.deployment, req.params.id);
    if (!new FormReader(req.body).checkbox('confirm')) throw badRequest('Tick "I understand this cannot be undone" to erase this user\u2019s data.');
    await eraseUserData(deps.sequelize, session, user);
    redirectTo(res, '/admin/privacy', 'erased');
  }));

  return router;
}
