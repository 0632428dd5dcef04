import { RequestHandler, Router } from 'express';
import { budgetBanner } from '../../middlewares/budgetBanner';
import { allow } from '../../policies';
import { renderPage } from './view';

// The landing page of an administrator's launch. Instructors land on their link's assignment
// (assignments.ts: set-up, progress, deep linking) and students on theirs (student.ts).

export function landingPages(deps: { session: RequestHandler }): Router {
  const router = Router();
  router.get('/admin', deps.session, allow('administer'), budgetBanner, (_req, res) => {
    renderPage(res, 'admin/home', 'Deployment settings', 'overview');
  });
  return router;
}
