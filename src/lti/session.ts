import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { jwtVerify } from 'jose';
import { ltikKey } from './ltik';
import { QueryTypes } from 'sequelize';
import { modelFromRow, selectColumns } from '../db/modelRows';
import { Deployment, LtiLaunch, User } from '../models';
import { launchError, LaunchError } from './launchErrors';
import type { ToolRole } from './roles';

// Every page and API call after a launch is authenticated by its ltik (ltijs's HS256 token, signed
// with LTI_KEY). ltijs gives it no expiry, so the maximum age is enforced here; the launch row it
// names carries the tenant, user and role, so nothing from the browser decides them.

export interface LaunchSession {
  ltik: string;
  launch: LtiLaunch;
  deployment: Deployment;
  user: User;
  role: ToolRole;
}

/** The ltik from `Authorization: Bearer`, the `ltik` query parameter, or a form field. */
export function readLtik(req: Request): string | undefined {
  const header = req.get('authorization');
  if (header && /^Bearer\s+/i.test(header)) return header.replace(/^Bearer\s+/i, '').trim();
  const fromQuery = req.query.ltik;
  if (typeof fromQuery === 'string') return fromQuery;
  const fromBody = (req.body as Record<string, unknown> | undefined)?.ltik;
  return typeof fromBody === 'string' ? fromBody : undefined;
}

export function getSession(res: Response): LaunchSession {
  const session = res.locals.session as LaunchSession | undefined;
  if (!session) throw new Error('requireLaunch() must run before this handler');
  return session;
}

export interface SessionOptions {
  ltiKey: string;
  maxAgeSeconds: number;
}

type LtikClaims = { platformUrl?: unknown; clientId?: unknown; deploymentId?: unknown; user?: unknown; s?: unknown };

/** The launch row with its deployment and user, in one round trip (every page and API call does this). */
async function launchWithTenant(id: string): Promise<{ launch: LtiLaunch; deployment: Deployment | null; user: User | null } | null> {
  const rows = await LtiLaunch.sequelize!.query<Record<string, unknown>>(
    `SELECT ${selectColumns(LtiLaunch, 'l', 'l_')}, ${selectColumns(Deployment, 'd', 'd_')}, ${selectColumns(User, 'u', 'u_')}
     FROM lti_launches l LEFT JOIN deployments d ON d.id = l.deployment_id LEFT JOIN users u ON u.id = l.user_id
     WHERE l.id = :id`,
    { replacements: { id }, type: QueryTypes.SELECT },
  );
  const launch = rows[0] ? modelFromRow(LtiLaunch, rows[0], 'l_') : null;
  return launch ? { launch, deployment: modelFromRow(Deployment, rows[0]!, 'd_'), user: modelFromRow(User, rows[0]!, 'u_') } : null;
}

/** Verifies the ltik and loads its launch; throws LaunchError (401) when missing, tampered or expired. */
export async function loadSession(ltik: string | undefined, opts: SessionOptions): Promise<LaunchSession> {
  if (!ltik || ltik.length > 4096) throw launchError('invalid_session', 'Your session has ended. Launch the tool again from your course.');
  let claims: LtikClaims;
  try {
    const { payload } = await jwtVerify(ltik, ltikKey(opts.ltiKey), { algorithms: ['HS256'], maxTokenAge: opts.maxAgeSeconds, requiredClaims: ['iat', 's'] });
    claims = payload as LtikClaims;
  } catch {
    throw launchError('session_expired', 'Your session has expired. Launch the tool again from your course.');
  }
  const found = typeof claims.s === 'string' ? await launchWithTenant(claims.s) : null;
  const launch = found?.launch;
  if (
    !launch ||
    launch.expiresAt.getTime() <= Date.now() ||
    launch.claims.issuer !== claims.platformUrl ||
    launch.claims.clientId !== claims.clientId ||
    launch.claims.deploymentId !== claims.deploymentId ||
    launch.claims.sub !== claims.user
  ) {
    throw launchError('session_expired', 'Your session has expired. Launch the tool again from your course.');
  }
  const { deployment, user } = found;
  if (!deployment || !user) throw launchError('invalid_session');
  // Offboarding takes effect at once, not when the ltik expires.
  if (!deployment.active) throw launchError('deployment_inactive', 'This tool has been switched off for your LMS.');
  return { ltik, launch, deployment, user, role: launch.role };
}

/** Middleware: requires a valid ltik and puts the session on res.locals; the CSP then allows the LMS to frame us. */
export function requireLaunch(opts: SessionOptions, onFrameOrigins?: (res: Response, origins: string[]) => void): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    loadSession(readLtik(req), opts)
      .then((session) => {
        res.locals.session = session;
        res.locals.ltik = session.ltik;
        onFrameOrigins?.(res, session.launch.frameOrigins);
        next();
      })
      .catch((err: unknown) => next(err instanceof LaunchError ? err : err));
  };
}
