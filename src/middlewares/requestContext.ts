import type { Response } from 'express';

/**
 * Who and what a log line is about: the request id, and after a launch the deployment and the
 * user (our row ids, never names, emails or LMS ids). Only ids: nothing here can carry a secret.
 */
export function requestContext(res: Response): { requestId?: string; deploymentId?: string; userId?: string } {
  const locals = res.locals as {
    requestId?: string;
    session?: { deployment: { id: string }; user: { id: string } };
    resolvedLaunch?: { deployment: { id: string }; user: { id: string } };
  };
  const who = locals.session ?? locals.resolvedLaunch;
  return { requestId: locals.requestId, ...(who ? { deploymentId: who.deployment.id, userId: who.user.id } : {}) };
}
