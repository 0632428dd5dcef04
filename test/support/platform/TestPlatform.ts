import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createLocalJWKSet, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';
import { Gradebook } from './ags';
import type { HttpResponse, ToolTarget } from './browser';
import { DeepLinkingInbox } from './deepLinking';
import { canvasClientId, DynRegDouble, moodleClientId } from './dynreg';
import { buildClaims, loginParams, type FixtureName, type Flavour } from './fixtures';
import {
  canvasKid,
  generatePlatformKey,
  moodleKid,
  publicJwk,
  signHs256Sync,
  signRs256Sync,
  signToken,
  type PlatformKey,
  type SignOptions,
} from './keys';
import { browseAfterLaunch, replayLaunch, runLaunch, type LaunchOptions, type LaunchResult } from './launch';
import { Roster } from './nrps';
import type { PlatformContext } from './platformContext';
import { TokenService } from './token';

export interface StartOptions {
  flavour?: Flavour;
  clientId?: string;
  /** Delay before /jwks answers, to test the tool's timeouts and caching. */
  jwksDelayMs?: number;
  /** Defaults to the server's own origin (a self-hosted LMS). */
  issuer?: string;
}

/**
 * An LTI 1.3 platform (Moodle 4.5 or Canvas flavoured) on a real HTTP server at 127.0.0.1: it signs
 * id_tokens with its own RSA key, serves its JWKS, drives the OIDC round trip against the tool, and
 * answers the token, AGS, NRPS, deep-linking and dynamic-registration calls the tool makes back.
 */
export class TestPlatform implements PlatformContext {
  readonly flavour: Flavour;
  readonly origin: string;
  readonly issuer: string;
  clientId: string;
  readonly authUrl: string;
  readonly tokenUrl: string;
  readonly jwksUrl: string;
  readonly authorizationServer: string;
  jwksDelayMs: number;
  /** When true, /jwks accepts the request and never answers. */
  jwksHang = false;
  jwksFetches = 0;
  /** Every request the tool (or a test) made to the platform, in arrival order. */
  readonly requestLog: Array<{ method: string; url: string; userAgent?: string }> = [];

  readonly tokens: TokenService;
  readonly roster: Roster;
  readonly gradebook: Gradebook;
  readonly deepLinking: DeepLinkingInbox;
  readonly dynreg: DynRegDouble;

  /** Published keys, signing key first. */
  private keys: Array<{ key: PlatformKey; jwk: JWK }> = [];
  private foreignKey?: Promise<PlatformKey>;
  private readonly internalSecret = randomBytes(32);
  private toolJwksSource?: () => Promise<{ keys: unknown[] }>;
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: http.Server,
    app: express.Express,
    origin: string,
    opts: StartOptions,
  ) {
    this.flavour = opts.flavour ?? 'moodle';
    this.origin = origin;
    this.issuer = opts.issuer ?? origin;
    this.clientId = opts.clientId ?? (this.flavour === 'moodle' ? moodleClientId() : canvasClientId());
    this.authUrl = `${origin}/auth`;
    this.tokenUrl = `${origin}/token`;
    this.jwksUrl = `${origin}/jwks`;
    this.authorizationServer = new URL(origin).host;
    this.jwksDelayMs = opts.jwksDelayMs ?? 0;
    this.tokens = new TokenService(this);
    this.roster = new Roster(this, this.tokens);
    this.gradebook = new Gradebook(this, this.tokens, this.roster);
    this.deepLinking = new DeepLinkingInbox(this);
    this.dynreg = new DynRegDouble(this);
    this.mountRoutes(app);
  }

  /** Starts a platform on 127.0.0.1 with a random port and a fresh RSA-2048 key. */
  static async start(opts: StartOptions = {}): Promise<TestPlatform> {
    const app = express();
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const platform = new TestPlatform(server, app, `http://127.0.0.1:${port}`, opts);
    await platform.rotateKey();
    return platform;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.server.closeAllConnections(); // includes /jwks requests left hanging on purpose
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get kid(): string {
    const current = this.keys[0];
    if (!current) throw new Error('platform has no key yet');
    return current.key.kid;
  }

  /** Replaces the signing key with a new one and kid; `keepOld` keeps publishing the previous key. */
  async rotateKey(opts: { keepOld?: boolean } = {}): Promise<void> {
    const taken = this.keys.map((k) => k.key.kid);
    const key = await generatePlatformKey(this.flavour === 'canvas' ? canvasKid(taken) : moodleKid());
    const entry = { key, jwk: await publicJwk(key) };
    this.keys = opts.keepOld ? [entry, ...this.keys] : [entry];
  }

  /** The JWKS document served at /jwks. */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => ({ ...k.jwk })) };
  }

  /**
   * The claims this platform sends for `fixture`: the captured payload re-addressed to this platform
   * (see fixtures.buildClaims). Also records the user and course, as launching them would.
   */
  claims(fixture: FixtureName, opts: { deploymentId: string; targetLinkUri: string; overrides?: Record<string, unknown> }): Record<string, unknown> {
    const payload = buildClaims(fixture, {
      issuer: this.issuer,
      clientId: this.clientId,
      deploymentId: opts.deploymentId,
      targetLinkUri: opts.targetLinkUri,
      lineitemsUrl: this.gradebook.containerUrl(),
      lineitemUrl: (resourceLink) => this.gradebook.lineItemUrlFor(resourceLink),
      membershipsUrl: `${this.origin}/nrps/memberships`,
      deepLinkReturnUrl: (captured) => this.deepLinking.returnUrl(captured),
      overrides: opts.overrides,
    });
    this.roster.recordLaunch(payload);
    this.deepLinking.track(payload);
    return payload;
  }

  /** Login initiation parameters this platform sends for a fixture's user. */
  loginParams(fixture: FixtureName, payload: Record<string, unknown>, opts: { deploymentId: string; targetLinkUri: string }): Record<string, string> {
    return loginParams(fixture, payload, { ...opts, issuer: this.issuer, clientId: this.clientId, hintSecret: this.internalSecret, origin: this.origin });
  }

  /** Signs a payload (RS256 with the platform key by default; see SignOptions for attacks). */
  sign(payload: Record<string, unknown>, opts?: SignOptions): Promise<string> {
    const current = this.keys[0];
    if (!current) throw new Error('platform has no key yet');
    // One foreign key per platform: generating RSA keys is slow.
    const foreign = (): Promise<PlatformKey> => (this.foreignKey ??= generatePlatformKey(current.key.kid));
    return signToken(payload, current.key, foreign, opts);
  }

  signWithPlatformKey(payload: Record<string, unknown>): string {
    const current = this.keys[0];
    if (!current) throw new Error('platform has no key yet');
    return signRs256Sync(payload, current.key);
  }

  signInternal(payload: Record<string, unknown>): string {
    return signHs256Sync(payload, this.internalSecret);
  }

  /** One launch through the real OIDC round trip (login initiation, authentication request, form_post). */
  launch(target: ToolTarget, opts: LaunchOptions): Promise<LaunchResult> {
    return runLaunch(this, target, opts);
  }

  /** Posts the same id_token and state again, with the same Cookie header unless told otherwise. */
  replay(target: ToolTarget, result: LaunchResult, opts?: { cookies?: 'original' | 'jar' | 'none' }): Promise<LaunchResult> {
    return replayLaunch(this, target, result, opts);
  }

  /** GETs the launch's Location (or `url`) as the browser would, with the launch's cookies. */
  follow(target: ToolTarget, result: LaunchResult, opts?: { url?: string; embedded?: boolean }): Promise<HttpResponse> {
    return browseAfterLaunch(this, target, result, opts);
  }

  noteSent(payload: Record<string, unknown>): void {
    this.deepLinking.track(payload);
  }

  /** Where the platform gets the tool's public keys (client assertions, deep-linking responses). */
  setToolJwks(source: () => Promise<{ keys: unknown[] }>): void {
    this.toolJwksSource = source;
  }

  async toolKeySet(): Promise<JWTVerifyGetKey> {
    if (this.toolJwksSource) return createLocalJWKSet((await this.toolJwksSource()) as JSONWebKeySet);
    // Like an LMS, fall back to the jwks_uri the tool registered with.
    const registered = this.dynreg.registrations.at(-1)?.jwksUri;
    if (!registered) throw new Error('tool JWKS unknown: call platform.setToolJwks()');
    return createLocalJWKSet((await (await fetch(registered)).json()) as JSONWebKeySet);
  }

  /** Overrides whether the gradebook treats `sub` as a gradable student. */
  setLearner(sub: string, learner: boolean): void {
    this.roster.setLearner(sub, learner);
  }

  /** An access token for direct AGS/NRPS calls in tests. */
  issueAccessToken(scope: string): string {
    return this.tokens.issue(scope);
  }

  /** Checks a LtiDeepLinkingResponse JWT like the LMS would, returning its payload or throwing why not. */
  verifyDeepLinkingResponse(jwt: string, requestId?: string): Promise<Record<string, unknown>> {
    return this.deepLinking.verify(jwt, requestId);
  }

  // What the tool sent back, for assertions (owned by the service modules).
  get tokenRequests() {
    return this.tokens.requests;
  }
  get scores() {
    return this.gradebook.scores;
  }
  get rejectedScores() {
    return this.gradebook.rejectedScores;
  }
  get deepLinkResponses() {
    return this.deepLinking.responses;
  }
  get rejectedDeepLinkResponses() {
    return this.deepLinking.rejected;
  }
  get registrationRequests() {
    return this.dynreg.registrationRequests;
  }
  get dynregFail(): number | undefined {
    return this.dynreg.fail;
  }
  set dynregFail(status: number | undefined) {
    this.dynreg.fail = status;
  }
  get dynregIssuerOverride(): string | undefined {
    return this.dynreg.issuerOverride;
  }
  set dynregIssuerOverride(issuer: string | undefined) {
    this.dynreg.issuerOverride = issuer;
  }

  private mountRoutes(app: express.Express): void {
    app.use((req, _res, next) => {
      this.requestLog.push({ method: req.method, url: req.originalUrl, userAgent: req.get('user-agent') });
      next();
    });
    app.get('/jwks', (_req, res) => {
      this.jwksFetches += 1;
      if (this.jwksHang) return;
      const answer = (): void => {
        res.status(200).set('Cache-Control', 'max-age=300').type('application/json; charset=utf-8').send(JSON.stringify(this.jwks()));
      };
      if (this.jwksDelayMs <= 0) return answer();
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        answer();
      }, this.jwksDelayMs);
      this.timers.add(timer);
    });
    // The browser never reaches /auth: launch() reads the authentication request from the redirect.
    app.get('/auth', (_req, res) => {
      res.status(400).type('text').send('This test platform answers authentication requests inside platform.launch().');
    });
    app.use(this.tokens.router(), this.gradebook.router(), this.roster.router(), this.deepLinking.router(), this.dynreg.router());
  }
}
