import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { CLAIM, isObject, loadFixture, type Flavour } from './fixtures';
import type { PlatformContext } from './platformContext';

export interface DynRegHost extends PlatformContext {
  /** RS256 JWT with the platform's own key (Moodle signs its registration tokens that way). */
  signWithPlatformKey(payload: Record<string, unknown>): string;
  /** HS256 JWT with a platform-internal secret (Canvas's opaque tokens). */
  signInternal(payload: Record<string, unknown>): string;
}

export interface Registration {
  flavour: Flavour;
  clientId: string;
  deploymentId: string;
  jwksUri: string;
  response: Record<string, unknown>;
}

interface IssuedToken {
  flavour: Flavour;
  clientId: string;
  used: boolean;
}

/**
 * LTI Dynamic Registration as Moodle 4.5 and Canvas run it (dynreg-*.json and
 * canvas/dynamic-registration*.json): initiation query, openid-configuration and the registration
 * endpoint, which hands out a new client_id and deployment_id.
 */
export class DynRegDouble {
  readonly registrationRequests: Array<Record<string, unknown>> = [];
  readonly registrations: Registration[] = [];
  /** When set, the registration endpoint (or `failAt`) answers with this status. */
  fail?: number;
  failAt: 'register' | 'openid-configuration' = 'register';
  /** When set, openid-configuration announces this issuer instead of the platform's. */
  issuerOverride?: string;
  private readonly tokens = new Map<string, IssuedToken>();
  private nextMoodleTypeId = 2;

  constructor(private readonly host: DynRegHost) {}

  /** The query an LMS puts on the tool's registration URL: where its configuration is, and a fresh token. */
  initiationQuery(flavour: Flavour): { openid_configuration: string; registration_token: string } {
    const now = Math.floor(Date.now() / 1000);
    const clientId = flavour === 'moodle' ? moodleClientId() : canvasClientId();
    // Moodle's token is its own RS256 JWT whose sub is the client_id it will assign.
    const token = flavour === 'moodle'
      ? this.host.signWithPlatformKey({ sub: clientId, scope: 'reg', iat: now, exp: now + 3600 })
      : this.host.signInternal({
          uuid: randomUUID(),
          initiated_at: new Date().toISOString(),
          user_id: 1,
          root_account_global_id: 10000000000001,
          root_account_domain: new URL(this.host.origin).host,
          exp: now + 3600,
        });
    this.tokens.set(token, { flavour, clientId, used: false });
    const configuration = new URL(`${this.host.origin}/dynreg/${flavour}/openid-configuration`);
    // Canvas carries the token on the configuration URL as well (observed), so a plain GET works.
    if (flavour === 'canvas') configuration.searchParams.set('registration_token', token);
    return { openid_configuration: configuration.href, registration_token: token };
  }

  /** The fixture's openid-configuration, re-pointed at this server. */
  openidConfiguration(flavour: Flavour): Record<string, unknown> {
    const config = flavour === 'moodle'
      ? loadFixture('moodle-4.5/dynreg-openid-configuration.json').response.body
      : loadFixture('canvas/dynamic-registration-observed.json').openid_configuration;
    Object.assign(config, {
      issuer: this.issuerOverride ?? this.host.issuer,
      authorization_endpoint: this.host.authUrl,
      token_endpoint: this.host.tokenUrl,
      jwks_uri: this.host.jwksUrl,
      registration_endpoint: `${this.host.origin}/dynreg/${flavour}/register`,
    });
    if (flavour === 'canvas') {
      config.authorization_server = this.host.authorizationServer;
      config['https://purl.imsglobal.org/spec/lti-platform-configuration']['https://canvas.instructure.com/lti/account_domain'] =
        new URL(this.host.origin).host;
    }
    return config;
  }

  router(): Router {
    const router = express.Router();
    router.get('/dynreg/:flavour/openid-configuration', (req, res) => {
      const flavour = asFlavour(req.params.flavour);
      if (!flavour) return res.status(404).end();
      if (this.fail && this.failAt === 'openid-configuration') return res.status(this.fail).json({ error: 'server_error' });
      // Moodle serves it to anyone; Canvas wants the registration token (header or query).
      if (flavour === 'canvas' && !this.tokenFrom(req, flavour)) return res.status(401).json({ error: 'unauthorized' });
      res.status(200).json(this.openidConfiguration(flavour));
    });
    router.post('/dynreg/:flavour/register', express.json({ type: () => true }), (req, res) => this.register(req, res));
    return router;
  }

  private register(req: Request, res: Response): void {
    const flavour = asFlavour(req.params.flavour ?? '');
    if (!flavour) {
      res.status(404).end();
      return;
    }
    const token = this.tokenFrom(req, flavour, true);
    if (!token) {
      res.status(401).json({ error: 'invalid_token' });
      return;
    }
    const body = isObject(req.body) ? req.body : {};
    this.registrationRequests.push(body);
    if (this.fail && this.failAt === 'register') {
      res.status(this.fail).json({ error: 'server_error' });
      return;
    }
    const problem = registrationProblem(body);
    if (problem) {
      res.status(400).json({ error: 'invalid_client_metadata', error_description: problem });
      return;
    }
    token.used = true;
    const registration = flavour === 'moodle' ? this.moodleResponse(body, token.clientId) : this.canvasResponse(body, token.clientId);
    this.registrations.push(registration);
    this.host.clientId = registration.clientId;
    res.status(200).json(registration.response);
  }

  /** Moodle echoes a normalised copy, lists only deep linking in messages, and reorders the scopes. */
  private moodleResponse(body: Record<string, unknown>, clientId: string): Registration {
    const captured = loadFixture('moodle-4.5/dynreg-registration-response.json').response.body;
    const requested = String(body.scope ?? '').split(' ');
    const scope = String(captured.scope).split(' ').filter((s) => requested.includes(s)).join(' ');
    const tool = body[CLAIM.toolConfiguration] as Record<string, unknown>;
    const deploymentId = String(this.nextMoodleTypeId++);
    const messages = (tool.messages as Array<Record<string, unknown>>)
      .filter((m) => m.type === 'LtiDeepLinkingRequest')
      .map((m) => ({ type: m.type, target_link_uri: m.target_link_uri ?? '' }));
    const response = {
      client_id: clientId,
      response_types: body.response_types,
      jwks_uri: body.jwks_uri,
      initiate_login_uri: body.initiate_login_uri,
      grant_types: captured.grant_types,
      redirect_uris: body.redirect_uris,
      application_type: 'web',
      token_endpoint_auth_method: 'private_key_jwt',
      client_name: body.client_name,
      logo_uri: body.logo_uri ?? '',
      scope,
      [CLAIM.toolConfiguration]: {
        version: '1.3.0',
        deployment_id: deploymentId,
        target_link_uri: tool.target_link_uri,
        domain: tool.domain,
        description: tool.description,
        messages,
        claims: tool.claims,
      },
    };
    return { flavour: 'moodle', clientId, deploymentId, jwksUri: String(body.jwks_uri), response };
  }

  /** Canvas echoes the registration with client_id added and a top-level deployment_id (observed). */
  private canvasResponse(body: Record<string, unknown>, clientId: string): Registration {
    const deploymentId = `${randomInt(2, 100)}:${randomBytes(20).toString('hex')}`;
    const tool = body[CLAIM.toolConfiguration] as Record<string, unknown>;
    const response = {
      client_id: clientId,
      ...body,
      [CLAIM.toolConfiguration]: {
        ...tool,
        'https://canvas.instructure.com/lti/registration_config_url': `${this.host.origin}/api/lti/registrations/${clientId}/view`,
      },
      deployment_id: deploymentId,
    };
    return { flavour: 'canvas', clientId, deploymentId, jwksUri: String(body.jwks_uri), response };
  }

  private tokenFrom(req: Request, flavour: Flavour, fromHeaderOnly = false): IssuedToken | undefined {
    const header = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
    const query = fromHeaderOnly ? undefined : req.query.registration_token;
    const value = header ?? (typeof query === 'string' ? query : undefined);
    const token = value ? this.tokens.get(value) : undefined;
    // A token is for one platform flavour and one registration.
    return token && token.flavour === flavour && !token.used ? token : undefined;
  }
}

/** The fields every LMS insists on before creating a tool (Canvas's schema, Moodle's registration_helper). */
function registrationProblem(body: Record<string, unknown>): string | undefined {
  const isUrl = (value: unknown): boolean => typeof value === 'string' && URL.canParse(value);
  if (!isUrl(body.initiate_login_uri)) return 'initiate_login_uri missing or not a URL';
  if (!Array.isArray(body.redirect_uris) || body.redirect_uris.length === 0 || !body.redirect_uris.every(isUrl)) {
    return 'redirect_uris missing or not URLs';
  }
  if (!isUrl(body.jwks_uri)) return 'jwks_uri missing or not a URL';
  if (!Array.isArray(body.response_types) || !body.response_types.includes('id_token')) return 'response_types must include id_token';
  const grants = body.grant_types;
  if (!Array.isArray(grants) || !grants.includes('implicit') || !grants.includes('client_credentials')) {
    return 'grant_types must include implicit and client_credentials';
  }
  if (body.token_endpoint_auth_method !== undefined && body.token_endpoint_auth_method !== 'private_key_jwt') {
    return 'token_endpoint_auth_method must be private_key_jwt';
  }
  const tool = body[CLAIM.toolConfiguration];
  if (!isObject(tool)) return `${CLAIM.toolConfiguration} missing`;
  if (typeof tool.domain !== 'string' || tool.domain === '') return 'lti-tool-configuration.domain missing';
  if (!isUrl(tool.target_link_uri)) return 'lti-tool-configuration.target_link_uri missing or not a URL';
  if (!Array.isArray(tool.messages)) return 'lti-tool-configuration.messages missing';
  return undefined;
}

function asFlavour(value: string): Flavour | undefined {
  return value === 'moodle' || value === 'canvas' ? value : undefined;
}

/** Moodle client ids are 15 random alphanumerics ("TDDlpV6LP2ZfpPQ"). */
export function moodleClientId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: 15 }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/** Canvas client ids are developer-key ids ("10000000000002"). */
export function canvasClientId(): string {
  return String(10000000000000 + randomInt(1, 10000));
}
