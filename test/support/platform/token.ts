import { randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { PlatformContext } from './platformContext';

export const SCOPES = {
  lineitem: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
  lineitemReadonly: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly',
  resultReadonly: 'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly',
  score: 'https://purl.imsglobal.org/spec/lti-ags/scope/score',
  nrps: 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
} as const;
const GRANTABLE = new Set<string>([
  ...Object.values(SCOPES),
  'https://canvas.instructure.com/lti-ags/progress/scope/show',
]);

export interface TokenRequestRecord {
  form: Record<string, string>;
  status: number;
  /** OAuth error code sent back, when refused. */
  error?: string;
  /** Why it was refused, for test diagnostics (never sent to the tool). */
  reason?: string;
  scope?: string;
  assertion?: { header: unknown; payload: unknown };
}

interface IssuedToken {
  scopes: Set<string>;
  expiresAt: number;
}

/** The OAuth2 client_credentials endpoint (private_key_jwt) and the access tokens it hands out. */
export class TokenService {
  readonly requests: TokenRequestRecord[] = [];
  private readonly issued = new Map<string, IssuedToken>();

  constructor(private readonly platform: PlatformContext) {}

  /** Mints an access token directly, for tests that call AGS/NRPS without going through /token. */
  issue(scope: string, lifetimeSeconds = 3600): string {
    const token = randomBytes(16).toString('hex');
    this.issued.set(token, { scopes: new Set(scope.split(' ').filter(Boolean)), expiresAt: Date.now() + lifetimeSeconds * 1000 });
    return token;
  }

  /** True when the Authorization header carries a live token holding any of `anyOf`. */
  allows(authorization: string | undefined, anyOf: readonly string[]): boolean {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    const token = match?.[1] ? this.issued.get(match[1]) : undefined;
    if (!token || token.expiresAt <= Date.now()) return false;
    return anyOf.some((scope) => token.scopes.has(scope));
  }

  router(): Router {
    const router = express.Router();
    router.post('/token', express.urlencoded({ extended: false }), (req, res) => void this.handle(req, res));
    return router;
  }

  private async handle(req: Request, res: Response): Promise<void> {
    const form = Object.fromEntries(
      Object.entries((req.body ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
    );
    const record: TokenRequestRecord = { form, status: 400 };
    this.requests.push(record);
    const refuse = (error: string, reason: string): void => {
      Object.assign(record, { error, reason, status: 400 });
      this.send(res, 400, { error });
    };

    // Moodle answers invalid_request for a missing assertion and for one that does not verify.
    if (!form.client_assertion || !form.grant_type || !form.scope) return refuse('invalid_request', 'missing parameter');
    if (form.grant_type !== 'client_credentials') return refuse('unsupported_grant_type', `grant_type ${form.grant_type}`);
    if (form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
      return refuse('invalid_request', `client_assertion_type ${form.client_assertion_type}`);
    }
    try {
      record.assertion = { header: decodeProtectedHeader(form.client_assertion), payload: decodeJwt(form.client_assertion) };
    } catch {
      return refuse('invalid_request', 'client_assertion is not a JWT');
    }
    try {
      await jwtVerify(form.client_assertion, await this.platform.toolKeySet(), {
        algorithms: ['RS256'],
        issuer: this.platform.clientId,
        subject: this.platform.clientId,
        audience: [this.platform.tokenUrl, this.platform.authorizationServer],
        requiredClaims: ['exp', 'iat', 'jti'],
      });
    } catch (error) {
      return refuse('invalid_request', `client_assertion rejected: ${(error as Error).message}`);
    }
    const granted = form.scope.split(' ').filter((scope) => GRANTABLE.has(scope));
    if (granted.length === 0) return refuse('invalid_scope', `no grantable scope in "${form.scope}"`);

    const scope = granted.join(' ');
    Object.assign(record, { status: 200, scope });
    this.send(res, 200, { access_token: this.issue(scope), token_type: 'Bearer', expires_in: 3600, scope });
  }

  private send(res: Response, status: number, body: Record<string, unknown>): void {
    if (this.platform.flavour === 'canvas') {
      res.status(status).json(body);
      return;
    }
    // Moodle's token.php: pretty-printed JSON with CRLF line endings, labelled text/html.
    res
      .status(status)
      .type('text/html; charset=utf-8')
      .send(JSON.stringify(body, null, 4).replace(/\n/g, '\r\n'));
  }
}
