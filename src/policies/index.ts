import type { RequestHandler } from 'express';
import { forbidden } from '../errors';
import type { LaunchSession } from '../lti/session';
import { getSession } from '../lti/session';

// Authorization in one place. Routes call authorize(); templates read `can` flags to hide buttons.

export type Action = 'administer' | 'configure' | 'deepLink' | 'submit' | 'view';

const RULES: Record<Action, (s: LaunchSession) => boolean> = {
  administer: (s) => s.role === 'admin',
  // Admins have instructor rights too.
  configure: (s) => s.role === 'admin' || s.role === 'instructor',
  deepLink: (s) => (s.role === 'admin' || s.role === 'instructor') && s.launch.messageType === 'LtiDeepLinkingRequest',
  submit: (s) => s.role === 'student',
  view: () => true,
};

export function can(session: LaunchSession, action: Action): boolean {
  return RULES[action](session);
}

/** Throws 403 unless the session may do this. */
export function authorize(session: LaunchSession, action: Action): void {
  if (!can(session, action)) throw forbidden(action === 'configure' || action === 'administer' ? 'This page is for instructors and administrators.' : undefined);
}

/** Route guard form of authorize(). */
export const allow = (action: Action): RequestHandler => (_req, res, next) => {
  try {
    authorize(getSession(res), action);
    next();
  } catch (err) {
    next(err);
  }
};

/** The flags templates use to show or hide actions. */
export function capabilities(session: LaunchSession): Record<Action, boolean> {
  return Object.fromEntries((Object.keys(RULES) as Action[]).map((a) => [a, can(session, a)])) as Record<Action, boolean>;
}
