import express, { Express } from 'express';
import { engine } from 'express-handlebars';
import { notFound } from './errors';
import { startRunJobs, stopRunJobs } from './feedback/runJobs';
import { JwksCache } from './lti/jwksCache';
import { createLtijs, Ltijs } from './lti/ltijs';
import { ltiRouter } from './lti/router';
import { requireLaunch } from './lti/session';
import { accessLog } from './middlewares/accessLog';
import { errorHandler } from './middlewares/errorHandler';
import { requestId } from './middlewares/requestId';
import { securityHeaders, setFrameAncestors } from './middlewares/securityHeaders';
import { PUBLIC_DIR, VIEWS_DIR } from './paths';
import { apiRoutes } from './routes/api';
import { healthRoutes } from './routes/health';
import { metricsRoutes } from './routes/metrics';
import { httpMetrics } from './observability/metrics';
import { pageRoutes } from './routes/pages';
import type { Runtime } from './runtime';
import { helpers } from './views/helpers';

export type AppContext = Pick<Runtime, 'config' | 'logger' | 'sequelize' | 'keyring'>;

export type ToolApp = Express & {
  lti: Ltijs;
  jwks: JwksCache;
  /** Stops ltijs's timers and closes its database pool. */
  close(): Promise<void>;
  /** Marks the process as shutting down: /readyz answers 503 from now on. */
  drain(): void;
};

/** Builds the Express app for one runtime; used by the server and by every HTTP test. */
export async function createApp(ctx: AppContext): Promise<ToolApp> {
  const { config, logger, sequelize } = ctx;
  const lti = await createLtijs({ ltiKey: config.ltiKey, database: config.database });
  const jwks = new JwksCache();
  // PostgreSQL: runs are also pg-boss jobs (written with the run rows); pg-boss maintenance runs where a worker does.
  await startRunJobs(sequelize, config.database, { supervise: config.runWorker });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.isProduction ? 1 : false);
  app.engine('hbs', engine({ extname: '.hbs', defaultLayout: 'main', layoutsDir: `${VIEWS_DIR}/layouts`, partialsDir: `${VIEWS_DIR}/partials`, helpers }));
  app.set('view engine', 'hbs');
  app.set('views', VIEWS_DIR);
  // Express caches compiled templates only in production by default; without it every page
  // re-read and re-compiled its templates (launch benchmark). Templates change only with a deploy.
  app.enable('view cache');

  app.use(requestId());
  app.use(httpMetrics());
  app.use(accessLog(logger));
  app.use(securityHeaders({ isProduction: config.isProduction }));
  app.use('/static', express.static(PUBLIC_DIR, { maxAge: config.isProduction ? '1d' : 0, index: false }));

  let draining = false;
  app.use(healthRoutes({ sequelize, keyring: ctx.keyring, draining: () => draining }));
  app.use(metricsRoutes({ sequelize, token: config.metricsToken }));
  app.get('/', (_req, res) => res.render('home', { title: 'FeedForward LTI', publicUrl: config.publicUrl }));
  app.use('/lti', ltiRouter({ config, sequelize, lti, jwks }));

  const session = requireLaunch({ ltiKey: config.ltiKey, maxAgeSeconds: config.ltikMaxAgeSeconds }, setFrameAncestors);
  app.use('/api/v1', apiRoutes({ session, sequelize, lti, keyring: ctx.keyring, allowLocalUrls: config.allowLocalUrls }));
  app.use(pageRoutes({ session, lti, config, sequelize, keyring: ctx.keyring, allowLocalUrls: config.allowLocalUrls }));

  app.use((_req, _res, next) => next(notFound('There is no page at this address.')));
  app.use(errorHandler(logger));

  return Object.assign(app, {
    lti,
    jwks,
    close: async () => {
      await stopRunJobs(sequelize);
      await lti.close({ silent: true });
    },
    drain: () => {
      draining = true;
    },
  });
}
