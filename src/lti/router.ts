import cookieParser from 'cookie-parser';
import express, { RequestHandler, Router } from 'express';
import type { IdToken } from 'ltijs';
import type { Sequelize } from 'sequelize';
import type { Config } from '../config';
import { canvasConfig } from './canvasConfig';
import { dynamicRegistrationRoutes } from './dynamicRegistration';
import { JwksCache } from './jwksCache';
import { launchError, LaunchError, LaunchErrorCode } from './launchErrors';
import { resolveLaunch } from './launchResolver';
import { checkLaunch } from './launchValidator';
import { loginRoute } from './loginRoute';
import { LoginStates, STATE_COOKIE } from './loginStates';
import type { Ltijs } from './ltijs';
import { signLtik } from './ltik';
import { landingPath } from './landing';
import { recordLaunch } from '../observability/metrics';

// Everything under /lti. Our routes come first and handle the whole launch (login, validation,
// tenant, ltik); ltijs's app gets only what is left: the tool JWKS (/lti/keys).

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
  // Never let another method reach ltijs's own login (Math.random nonces, any redirect_uri).
  router.all('/login', (_req, res) => {
    res.set('Allow', 'GET, POST').status(405).json({ error: { code: 'method_not_allowed', message: 'Use GET or POST.' } });
  });

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
      const validated = await checkLaunch(
        { jwks, loginStates, publicUrl: config.publicUrl, idTokenMaxAgeSeconds: config.idTokenMaxAgeSeconds },
        { idToken: body.id_token, state, stateCookie: typeof stateCookie === 'string' ? stateCookie : undefined },
      );
      // Consumes the login (single use) before or with its writes.
      const resolved = await resolveLaunch(validated, config.ltikMaxAgeSeconds, loginStates);
      res.locals.resolvedLaunch = resolved; // the access log line names the deployment and user
      const { launch } = resolved;
      const ltik = await signLtik(config.ltiKey, { issuer: validated.platform.issuer, clientId: validated.clientId, deploymentId: validated.deploymentId, sub: launch.claims.sub, launchId: launch.id });
      // The login is over: drop its state cookie.
      res.clearCookie(`state${validated.state}`, STATE_COOKIE);
      res.redirect(303, `${landingPath(launch)}?ltik=${encodeURIComponent(ltik)}`);
    })().catch(next);
  };
  // Every launch is counted once, when its answer is sent: a redirect into the tool, or a refusal code.
  const countLaunch: RequestHandler = (_req, res, next) => {
    res.on('finish', () => recordLaunch(res.statusCode < 400 ? 'success' : String(res.locals.errorCode ?? 'error')));
    next();
  };
  router.post('/launch', countLaunch, launchGuard);

  // Launches end above; whatever still reaches ltijs's launch route (another method, an ltik sent
  // back to it) is refused. ltijs's sub-app has no view engine: refusals go to our error translator.
  const notHere = (_token: IdToken, _req: express.Request, _res: express.Response, next: express.NextFunction) => {
    next(launchError('missing_parameters', 'Open the tool from your course.'));
  };
  lti.onConnect(notHere);
  lti.onDeepLinking(notHere);
  const refuse = (code: LaunchErrorCode, message: string) => (_req: express.Request, _res: express.Response, next: express.NextFunction) => next(launchError(code, message));
  lti.onInvalidToken(refuse('invalid_session', 'The launch could not be verified. Go back to your course and open the tool again.'));
  lti.onSessionTimeout(refuse('session_expired', 'Your session has expired. Launch the tool again from your course.'));
  lti.onUnregisteredPlatform(refuse('unknown_platform', 'This LMS is not registered with FeedForward.'));
  lti.onInactivePlatform(refuse('platform_inactive', 'This LMS registration is not active yet.'));

  router.use(lti.app);
  return router;
}

export { LaunchError };
