import type { ErrorRequestHandler, Request } from 'express';
import { HttpError } from '../errors';
import { LaunchError } from '../lti/launchErrors';
import { setFrameAncestors } from './securityHeaders';
import type { Logger } from '../logger';
import { requestContext } from './requestContext';

export function wantsJson(req: Request): boolean {
  return req.originalUrl.startsWith('/api/') || (!!req.get('accept')?.includes('application/json') && !req.accepts('html'));
}

/** Maps body-parser and our own errors to statuses; everything unknown is a 500 without detail. */
function classify(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { type?: string; status?: number; statusCode?: number };
  if (e?.type === 'entity.too.large') return new HttpError(413, 'payload_too_large', 'The request is too large.');
  if (e?.type === 'entity.parse.failed') return new HttpError(400, 'bad_request', 'The request body is not valid JSON.');
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError(status, 'bad_request', 'The request could not be processed.');
  }
  return new HttpError(500, 'internal', 'Something went wrong on our side.');
}

/** The one error translator: JSON for the API, a page otherwise; never a stack trace or the body. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpError = classify(err);
    const requestId = res.locals.requestId as string | undefined;
    // For metrics and the access log: why this request was refused (one of our fixed codes).
    res.locals.errorCode = httpError.code;
    if (httpError.status >= 500) logger.error({ err, ...requestContext(res), path: req.path }, 'unhandled error');
    else logger.info({ ...requestContext(res), status: httpError.status, code: httpError.code }, 'request refused');
    if (res.headersSent) return;
    res.status(httpError.status);
    if (wantsJson(req)) {
      res.json({ error: { code: httpError.code, message: httpError.message, requestId, ...(httpError.fields ? { fields: httpError.fields } : {}), ...(httpError.details ? { details: httpError.details } : {}) } });
      return;
    }
    const detail = httpError instanceof LaunchError ? httpError.detail : undefined;
    // A refused launch is posted by the LMS page that frames us: let it show our explanation.
    const origin = req.get('origin');
    if (httpError instanceof LaunchError && origin && origin !== 'null' && !res.locals.session) setFrameAncestors(res, [origin]);
    const allowCommand = detail?.deploymentId
      ? `npm run cli -- deployment add --issuer '${detail.issuer}' --client-id '${detail.clientId}' --deployment '${detail.deploymentId}'`
      : undefined;
    res.render('errors/error', { title: titleFor(httpError.status), message: httpError.message, requestId, status: httpError.status, allowCommand, code: httpError.code });
  };
}

function titleFor(status: number): string {
  if (status === 401) return 'Session expired';
  if (status === 403) return 'No access';
  if (status === 404) return 'Not found';
  if (status === 413) return 'Too large';
  if (status < 500) return 'Something is wrong with the request';
  return 'Something went wrong';
}
