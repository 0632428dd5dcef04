import type { Response } from 'express';
import type { JWTVerifyGetKey } from 'jose';
import type { Flavour } from './fixtures';

/** What the platform's service modules (token, AGS, NRPS, deep linking, dynreg) need to know about it. */
export interface PlatformContext {
  readonly origin: string;
  readonly issuer: string;
  /** Mutable: dynamic registration hands out a new one. */
  clientId: string;
  readonly flavour: Flavour;
  readonly authUrl: string;
  readonly tokenUrl: string;
  readonly jwksUrl: string;
  /** Canvas's `authorization_server` (its host); also accepted as the client assertion `aud`. */
  readonly authorizationServer: string;
  /** The tool's public keys, fetched fresh on every call so tests can rotate them. */
  toolKeySet(): Promise<JWTVerifyGetKey>;
}

/** Moodle's services.php answer to a missing, unknown or under-scoped bearer token (ags-unauthorized.json). */
export function sendUnauthorized(res: Response, method: string, url: string, accept: string | undefined): void {
  res
    .status(401)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ status: 401, reason: 'Unauthorized', request: { method, url, accept: accept ?? '' } }));
}
