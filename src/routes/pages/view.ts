import type { Request, Response } from 'express';
import { ROLE_LABELS } from '../../lti/roles';
import { getSession, LaunchSession } from '../../lti/session';
import { capabilities } from '../../policies';
import type { FormFailure } from './forms';

// What every page under a launch renders with, and the two ways a form post ends: a 303 back to a
// list with a short notice, or the form again with its problems.

export type Section = 'overview' | 'connections' | 'catalogue' | 'instances' | 'settings' | 'privacy' | 'audit' | 'my-connections' | 'my-instances' | 'available' | 'course' | 'usage' | 'my-usage';

/** The layout's and nav's data for this session. */
export function pageData(session: LaunchSession, title: string, section?: Section) {
  return {
    title,
    ltik: session.ltik,
    roleLabel: ROLE_LABELS[session.role],
    user: { name: session.user.name },
    course: { title: session.launch.contextTitle },
    deployment: { name: session.deployment.name, deploymentId: session.deployment.deploymentId, issuer: session.deployment.issuer },
    can: capabilities(session),
    section,
  };
}

/** Renders a page of this session with extra data. */
export function renderPage(res: Response, view: string, title: string, section: Section | undefined, data: Record<string, unknown> = {}, status = 200): void {
  res.status(status).render(view, { ...pageData(getSession(res), title, section), ...data });
}

/** Renders a form again after a refusal: its problems, and the typed values (never a secret). */
export function renderFailedForm(res: Response, view: string, title: string, section: Section, failure: FormFailure, data: Record<string, unknown>): void {
  renderPage(res, view, title, section, { ...data, errors: failure.errors, problems: failure.summary }, failure.status);
}

/** 303 to a page of this session, with a notice flag such as `saved`. */
export function redirectTo(res: Response, path: string, notice?: string, extra: Record<string, string> = {}): void {
  const query = new URLSearchParams({ ltik: getSession(res).ltik, ...(notice ? { [notice]: '1' } : {}), ...extra });
  res.redirect(303, `${path}?${query.toString()}`);
}

/** The notice a list shows after a redirect; only known flags, never text from the address. */
export function noticeFrom(req: Request, notices: Record<string, string>): string | undefined {
  const flag = Object.keys(notices).find((name) => req.query[name] === '1');
  return flag ? notices[flag] : undefined;
}
