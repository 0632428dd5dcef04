import cookieParser from 'cookie-parser';
import express, { RequestHandler, Router } from 'express';
import type { IdToken } from 'ltijs';
import type { Sequelize } from 'sequelize';
import type { Config } from '../config';
import { canvasConfig } from './canvasConfig';
import { dynamicRegistrationRoutes } from './dynamicRegistration';
import { JwksCache } from './jwksCache';
import { launchError, LaunchError } from './launchErrors';
import { resolveLaunch, ResolvedLaunch } from './launchResolver';
import { validateLaunch } from './launchValidator';
import { loginRoute } from './loginRoute';
import { LoginStates } from './loginStates';
import { handOffValidatedLaunch, Ltijs, withdrawLaunch } from './ltijs';
import { landingPath } from './landing';

// Everything under /lti. Our routes come first; ltijs's app gets only what is left: the tool JWKS
// (/lti/keys) and the end of a launch that our validator already accepted.

export interface LtiRouterDeps {
  config: Config;
  sequelize: Sequelize;
  lti: Ltijs;
  jwks: JwksCache;
}

export function ltiRouter(deps: LtiRouterDeps): Router {
  const { config, sequelize, lti, jwks } = deps;
  const loginStates = new LoginStates(sequelize);
  const router = Router();
  // Same secret as ltijs's own cookie-parser, so both sign and read the state cookie alike.
  router.use(cookieParser(config.ltiKey));
  router.use(express.urlencoded({ extended: false, limit: '100kb' }));

  const login = loginRoute({ loginStates, publicUrl: config.publicUrl });
  router.get('/login', login);
  router.post('/login', login);

  router.get('/config.json', (_req, res) => {
    res.set('Cache-Control', 'no-cache').json(canvasConfig(config.publicUrl));
  });

  router.use('/register', dynamicRegistrationRoutes({ lti, config }));

  const launchGuard: RequestHandler = (req, res, next) => {
    void (async () => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (body.id_token === undefined) throw launchError('missing_parameters', 'This address is where your LMS sends launches. Open the tool from your course instead.');
      const state = typeof body.state === 'string' ? body.state : undefined;
      const signedCookies = req.signedCookies as Record<string, string | false | undefined>;
      const stateCookie = state ? signedCookies[`state${state}`] : undefined;
      const validated = await validateLaunch(
        { sequelize, jwks, loginStates, publicUrl: config.publicUrl, idTokenMaxAgeSeconds: config.idTokenMaxAgeSeconds },
        { idToken: body.id_token, state, stateCookie: typeof stateCookie === 'string' ? stateCookie : undefined },
      );
      const resolved = await resolveLaunch(validated, config.ltikMaxAgeSeconds);
      res.locals.resolvedLaunch = resolved;
      const idToken = body.id_token as string;
      handOffValidatedLaunch(idToken, validated.payload, validated.clientId, validated.platform.id);
      res.on('close', () => withdrawLaunch(idToken));
      next();
    })().catch(next);
  };
  router.post('/launch', launchGuard);

  // ltijs (ltiaas mode) finishes the launch and calls these with res.locals.ltik set.
  const afterLaunch = (_token: IdToken, _req: express.Request, res: express.Response) => {
    const resolved = res.locals.resolvedLaunch as ResolvedLaunch | undefined;
    const ltik = res.locals.ltik as string | undefined;
    if (!resolved || !ltik) {
      res.status(400).render('errors/error', { title: 'Launch again', message: 'Open the tool from your course.' });
      return;
    }
    res.redirect(303, `${landingPath(resolved.launch)}?ltik=${encodeURIComponent(ltik)}`);
  };
  lti.onConnect(afterLaunch);
  lti.onDeepLinking(afterLaunch);
  const refuse = (status: number, message: string) => (_req: express.Request, res: express.Response) => {
    res.status(status).render('errors/error', { title: status === 401 ? 'Session expired' : 'Launch refused', message, requestId: res.locals.requestId });
  };
  lti.onInvalidToken(refuse(401, 'The launch could not be verified. Go back to your course and open the tool again.'));
  lti.onSessionTimeout(refuse(401, 'Your session has expired. Launch the tool again from your course.'));
  lti.onUnregisteredPlatform(refuse(400, 'This LMS is not registered with FeedForward.'));
  lti.onInactivePlatform(refuse(403, 'This LMS registration is not active yet.'));

  router.use(lti.app);
  return router;
}

export { LaunchError };
