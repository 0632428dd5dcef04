import express, { RequestHandler, Router } from 'express';
import type { Config } from '../../config';
import { deepLinkingResponse } from '../../lti/deepLinking';
import type { Ltijs } from '../../lti/ltijs';
import { getSession } from '../../lti/session';
import { sameSiteOnly } from '../../middlewares/sameSiteOnly';
import { allow } from '../../policies';
import { asyncHandler } from '../asyncHandler';
import { renderPage } from './view';

// The landing pages a launch arrives on, and deep linking (adding FeedForward to a course).

export function landingPages(deps: { session: RequestHandler; lti: Ltijs; config: Config }): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '200kb' });

  router.get('/admin', deps.session, allow('administer'), (_req, res) => {
    renderPage(res, 'admin/home', 'Deployment settings', 'overview');
  });
  router.get('/instructor', deps.session, allow('configure'), (_req, res) => {
    renderPage(res, 'instructor/home', 'Course', 'course');
  });
  router.get('/student', deps.session, (_req, res) => {
    renderPage(res, 'student/home', 'Assignment', undefined);
  });

  router.get('/instructor/deep-link', deps.session, allow('deepLink'), (_req, res) => {
    renderPage(res, 'instructor/deep-link', 'Add FeedForward', undefined);
  });
  router.post('/instructor/deep-link', sameSiteOnly(), form, deps.session, allow('deepLink'), asyncHandler(async (req, res) => {
    const session = getSession(res);
    const title = typeof req.body.title === 'string' && req.body.title.trim() ? req.body.title.trim().slice(0, 200) : 'FeedForward feedback';
    const response = await deepLinkingResponse(
      deps.lti,
      session.launch,
      [{ type: 'ltiResourceLink', title, url: `${deps.config.publicUrl}/lti/launch` }],
      { allowLocalUrls: deps.config.allowLocalUrls },
    );
    res.render('lti/deep-link-return', { title: 'Returning to your course', returnUrl: response.returnUrl, jwt: response.jwt, nonce: res.locals.cspNonce });
  }));
  return router;
}
