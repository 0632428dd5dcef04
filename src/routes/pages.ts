import express, { RequestHandler, Router } from 'express';
import type { Config } from '../config';
import { deepLinkingResponse } from '../lti/deepLinking';
import type { Ltijs } from '../lti/ltijs';
import { ROLE_LABELS } from '../lti/roles';
import { getSession, LaunchSession } from '../lti/session';
import { allow, capabilities } from '../policies';
import { sameSiteOnly } from '../middlewares/sameSiteOnly';

// Server-rendered pages, each behind the launch session. The landing pages are simple for now;
// the configuration and feedback screens build on them.

function pageData(session: LaunchSession, title: string) {
  return {
    title,
    ltik: session.ltik,
    roleLabel: ROLE_LABELS[session.role],
    user: { name: session.user.name },
    course: { title: session.launch.contextTitle },
    deployment: { name: session.deployment.name, deploymentId: session.deployment.deploymentId, issuer: session.deployment.issuer },
    can: capabilities(session),
  };
}

export function pageRoutes(deps: { session: RequestHandler; lti: Ltijs; config: Config }): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '200kb' });

  router.get('/admin', deps.session, allow('administer'), (_req, res) => {
    res.render('admin/home', pageData(getSession(res), 'Deployment settings'));
  });
  router.get('/instructor', deps.session, allow('configure'), (_req, res) => {
    res.render('instructor/home', pageData(getSession(res), 'Course'));
  });
  router.get('/student', deps.session, (_req, res) => {
    res.render('student/home', pageData(getSession(res), 'Assignment'));
  });

  router.get('/instructor/deep-link', deps.session, allow('deepLink'), (_req, res) => {
    res.render('instructor/deep-link', pageData(getSession(res), 'Add FeedForward'));
  });
  router.post('/instructor/deep-link', form, sameSiteOnly(), deps.session, allow('deepLink'), (req, res, next) => {
    void (async () => {
      const session = getSession(res);
      const title = typeof req.body.title === 'string' && req.body.title.trim() ? req.body.title.trim().slice(0, 200) : 'FeedForward feedback';
      const response = await deepLinkingResponse(
        deps.lti,
        session.launch,
        [{ type: 'ltiResourceLink', title, url: `${deps.config.publicUrl}/lti/launch` }],
        { allowLocalUrls: deps.config.allowLocalUrls },
      );
      res.render('lti/deep-link-return', { title: 'Returning to your course', returnUrl: response.returnUrl, jwt: response.jwt, nonce: res.locals.cspNonce });
    })().catch(next);
  });
  return router;
}
