import type { RequestHandler } from 'express';
import { forbidden } from '../errors';

/**
 * Refuses cross-site form posts. Our forms also carry the ltik, which another site cannot know;
 * Sec-Fetch-Site, where the browser sends it, stops the post before any work is done.
 */
export function sameSiteOnly(): RequestHandler {
  return (req, _res, next) => {
    const site = req.get('sec-fetch-site');
    if (site && site !== 'same-origin' && site !== 'none') {
      next(forbidden('This form must be sent from FeedForward itself.'));
      return;
    }
    next();
  };
}
