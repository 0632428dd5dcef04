import type { RequestHandler } from 'express';
import { budgetWarningsFor } from '../budgets/warnings';
import { getSession } from '../lti/session';

/** Puts the budget warnings of this session on res.locals for the layout's banner (admin and instructor screens). */
export const budgetBanner: RequestHandler = (_req, res, next) => {
  budgetWarningsFor(getSession(res))
    .then((warnings) => {
      res.locals.budgetWarnings = warnings;
      next();
    })
    .catch(next);
};
