import type { RequestHandler } from 'express';
import type { Logger } from '../logger';
import { requestContext } from './requestContext';

/** One log line per request: request id, deployment and user after a launch, method, path without query string (ltiks live there), status, time. */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info(
        { ...requestContext(res), method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode, ms: Math.round(ms * 10) / 10 },
        'request',
      );
    });
    next();
  };
}
