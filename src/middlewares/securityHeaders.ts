import { randomBytes } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import helmet from 'helmet';

// Helmet for the usual headers; the CSP is ours because frame-ancestors depends on the tenant,
// known only after the ltik is checked, so it is rewritten then (setFrameAncestors).

function buildCsp(nonce: string, frameAncestors: string[]): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self' https: http:", // deep-linking responses post back to the LMS
    `frame-ancestors ${frameAncestors.length ? frameAncestors.join(' ') : "'none'"}`,
  ].join('; ');
}

/** Allows these origins (plus ourselves) to frame the response. */
export function setFrameAncestors(res: Response, origins: string[]): void {
  const safe = origins.filter((o) => /^https?:\/\/[A-Za-z0-9.\-:[\]]+$/.test(o));
  res.setHeader('Content-Security-Policy', buildCsp(res.locals.cspNonce as string, ["'self'", ...safe]));
}

export function securityHeaders(opts: { isProduction: boolean }): RequestHandler[] {
  const nonce: RequestHandler = (_req, res, next) => {
    res.locals.cspNonce = randomBytes(16).toString('base64');
    res.setHeader('Content-Security-Policy', buildCsp(res.locals.cspNonce as string, ["'self'"]));
    next();
  };
  const headers = helmet({
    contentSecurityPolicy: false,
    frameguard: false, // LMSs frame us; frame-ancestors decides who may
    referrerPolicy: { policy: 'no-referrer' }, // the ltik is in URLs
    crossOriginEmbedderPolicy: false,
    crossOriginOpenerPolicy: false, // LMS "open in new window" and dynamic registration use window.opener
    crossOriginResourcePolicy: { policy: 'same-site' },
    strictTransportSecurity: opts.isProduction,
  });
  return [nonce, headers];
}
