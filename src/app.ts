import path from 'node:path';
import express, { Express } from 'express';
import { engine } from 'express-handlebars';
import { notFound } from './errors';
import { accessLog } from './middlewares/accessLog';
import { errorHandler } from './middlewares/errorHandler';
import { requestId } from './middlewares/requestId';
import { securityHeaders } from './middlewares/securityHeaders';
import { healthRoutes } from './routes/health';
import { PUBLIC_DIR, VIEWS_DIR } from './paths';
import type { Runtime } from './runtime';


export type AppContext = Pick<Runtime, 'config' | 'logger' | 'sequelize' | 'keyring'>;

/** Builds the Express app for one runtime; used by the server and by every HTTP test. */
export async function createApp(ctx: AppContext): Promise<Express> {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', ctx.config.isProduction ? 1 : false);

  app.engine('hbs', engine({ extname: '.hbs', defaultLayout: 'main', layoutsDir: path.join(VIEWS_DIR, 'layouts'), partialsDir: path.join(VIEWS_DIR, 'partials') }));
  app.set('view engine', 'hbs');
  app.set('views', VIEWS_DIR);

  app.use(requestId());
  app.use(accessLog(ctx.logger));
  app.use(securityHeaders());
  app.use('/static', express.static(PUBLIC_DIR, { maxAge: ctx.config.isProduction ? '1d' : 0, index: false }));

  app.use(healthRoutes(ctx.sequelize));
  app.get('/', (_req, res) => res.render('home', { title: 'FeedForward LTI', publicUrl: ctx.config.publicUrl }));

  app.use((_req, _res, next) => next(notFound('There is no page at this address.')));
  app.use(errorHandler(ctx.logger));
  return app;
}
