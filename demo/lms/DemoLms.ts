import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type Request, type Response } from 'express';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';
// The demo LMS is the test platform's services (token endpoint, AGS gradebook, deep-linking checks,
// keys) behind a course page a person can click. It lives outside src/, so the production build and
// server never contain it.
import { Gradebook, type ScoreRecord } from '../../test/support/platform/ags';
import { DeepLinkingInbox } from '../../test/support/platform/deepLinking';
import { CLAIM, isObject } from '../../test/support/platform/fixtures';
import { generatePlatformKey, moodleKid, publicJwk, signHs256Sync, signRs256Sync, type PlatformKey } from '../../test/support/platform/keys';
import { Roster } from '../../test/support/platform/nrps';
import type { PlatformContext } from '../../test/support/platform/platformContext';
import { SCOPES, TokenService } from '../../test/support/platform/token';
import { COURSE, COURSE_TOOL_LINK, PEOPLE, personByKey, type CourseLink, type Person } from './course';
import { authResponsePage, coursePage, deepLinkDonePage, messagePage } from './pages';

export const DEMO_CLIENT_ID = 'feedforward-demo';
export const DEMO_DEPLOYMENT_ID = '1';

export interface DemoLmsOptions {
  /** The tool's public URL (a different host name from ours, so the frame is cross-site). */
  toolUrl: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1; the course page is served at http://<host>:<port>/. */
  host?: string;
  /** Where the course's links and grades are kept between runs; none keeps them in memory only. */
  stateFile?: string;
}

interface SavedState {
  links: CourseLink[];
  scores: ScoreRecord[];
}

/** The message a launch button asks for, carried opaquely through the tool in lti_message_hint. */
interface MessageHint {
  person: string;
  link?: string;
  type: 'LtiResourceLinkRequest' | 'LtiDeepLinkingRequest';
  exp: number;
}

/**
 * A small LMS for trying FeedForward without Moodle or Canvas: one course, three people, a launch
 * button for each (a real OIDC login → authentication response → form_post, into an iframe), an
 * "add assignment" button that runs deep linking, and the gradebook that AGS scores land in.
 */
export class DemoLms implements PlatformContext {
  readonly flavour = 'moodle' as const;
  readonly origin: string;
  readonly issuer: string;
  clientId = DEMO_CLIENT_ID;
  readonly authUrl: string;
  readonly tokenUrl: string;
  readonly jwksUrl: string;
  readonly authorizationServer: string;
  readonly toolUrl: string;

  readonly tokens: TokenService;
  readonly roster: Roster;
  readonly gradebook: Gradebook;
  readonly deepLinking: DeepLinkingInbox;
  /** Assignments added by deep linking, in the order they were added. */
  readonly links: CourseLink[] = [];

  private readonly hintSecret = randomBytes(32);

  private constructor(
    private readonly server: http.Server,
    origin: string,
    private readonly key: PlatformKey,
    private readonly jwk: JWK,
    private readonly opts: DemoLmsOptions,
  ) {
    this.origin = origin;
    this.issuer = origin;
    this.authUrl = `${origin}/auth`;
    this.tokenUrl = `${origin}/token`;
    this.jwksUrl = `${origin}/jwks`;
    this.authorizationServer = new URL(origin).host;
    this.toolUrl = opts.toolUrl.replace(/\/+$/, '');
    this.tokens = new TokenService(this);
    this.roster = new Roster(this, this.tokens);
    this.gradebook = new Gradebook(this, this.tokens, this.roster);
    this.deepLinking = new DeepLinkingInbox(this);
    // Launching everyone once tells the gradebook who the students are.
    for (const person of Object.values(PEOPLE)) this.roster.recordLaunch({ sub: person.sub, [CLAIM.roles]: person.roles });
    this.restore();
    server.on('request', this.app());
  }

  /** Starts the demo LMS; refuses under NODE_ENV=production (it signs launches for anyone who clicks). */
  static async start(opts: DemoLmsOptions): Promise<DemoLms> {
    assertNotProduction();
    const server = http.createServer();
    const host = opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const key = await generatePlatformKey(moodleKid());
    return new DemoLms(server, `http://${host}:${port}`, key, await publicJwk(key), opts);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The grades the tool sent, newest last. */
  get scores(): ScoreRecord[] {
    return this.gradebook.scores;
  }

  async toolKeySet(): Promise<JWTVerifyGetKey> {
    const res = await fetch(`${this.toolUrl}/lti/keys`);
    if (!res.ok) throw new Error(`the tool's key set answered ${res.status}`);
    return createLocalJWKSet((await res.json()) as JSONWebKeySet);
  }

  private app(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.use((_req, res, next) => {
      res.locals.nonce = randomBytes(16).toString('base64');
      res.set('Content-Security-Policy', `default-src 'self'; script-src 'nonce-${String(res.locals.nonce)}'; style-src 'self' 'unsafe-inline'; frame-src 'self' ${this.toolUrl}; form-action 'self' ${this.toolUrl}; base-uri 'none'; object-src 'none'`);
      res.set('Referrer-Policy', 'no-referrer');
      next();
    });
    app.get('/', (req, res) => {
      const added = typeof req.query.added === 'string' ? this.links.find((l) => l.id === req.query.added) : undefined;
      res.type('html').send(coursePage({
        course: COURSE,
        people: Object.values(PEOPLE),
        courseLink: COURSE_TOOL_LINK,
        links: this.links,
        grades: this.gradeRows(),
        loginForm: (person, link, type) => this.loginForm(person, link, type),
        added: added?.title,
        nonce: String(res.locals.nonce),
      }));
    });
    app.get('/jwks', (_req, res) => {
      res.set('Cache-Control', 'max-age=300').json({ keys: [this.jwk] });
    });
    app.get('/auth', (req, res) => void this.authenticate(req, res).catch((err: Error) => this.refuse(res, err.message)));
    app.post('/deep_links', express.urlencoded({ extended: false }), (req, res) => void this.receiveDeepLink(req, res));
    // Grades survive a restart of the demo.
    app.use((req, res, next) => {
      if (req.method === 'POST' && req.path.endsWith('/scores')) res.on('finish', () => this.save());
      next();
    });
    app.use(this.tokens.router(), this.gradebook.router());
    return app;
  }

  /** The hidden fields of a launch button: third-party login initiation, as Moodle posts it. */
  private loginForm(person: Person, link: CourseLink | undefined, type: MessageHint['type']): { action: string; fields: Record<string, string> } {
    const hint: MessageHint = { person: person.key, link: link?.id, type, exp: Math.floor(Date.now() / 1000) + 24 * 3600 };
    return {
      action: `${this.toolUrl}/lti/login`,
      fields: {
        iss: this.issuer,
        target_link_uri: `${this.toolUrl}/lti/launch`,
        login_hint: person.sub,
        lti_message_hint: signHs256Sync({ ...hint }, this.hintSecret),
        client_id: this.clientId,
        lti_deployment_id: DEMO_DEPLOYMENT_ID,
      },
    };
  }

  /** The OIDC authentication request: check it like Moodle's auth.php, then post a signed id_token back. */
  private async authenticate(req: Request, res: Response): Promise<void> {
    const q = req.query as Record<string, unknown>;
    const redirectUri = `${this.toolUrl}/lti/launch`;
    const problems: string[] = [];
    if (q.response_type !== 'id_token') problems.push('response_type must be id_token');
    if (q.response_mode !== 'form_post') problems.push('response_mode must be form_post');
    if (!String(q.scope ?? '').split(' ').includes('openid')) problems.push('scope must include openid');
    if (q.client_id !== this.clientId) problems.push('unknown client_id');
    if (q.redirect_uri !== redirectUri) problems.push('redirect_uri is not the registered launch URL');
    if (typeof q.nonce !== 'string' || !q.nonce) problems.push('nonce missing');
    if (typeof q.state !== 'string' || !q.state) problems.push('state missing');
    const hint = await this.readHint(q.lti_message_hint);
    const person = personByKey(hint?.person);
    if (!hint || !person) problems.push('lti_message_hint is not one this LMS issued');
    else if (q.login_hint !== person.sub) problems.push('login_hint does not match the launch');
    const link = hint?.link === COURSE_TOOL_LINK.id ? COURSE_TOOL_LINK : this.links.find((l) => l.id === hint?.link);
    if (hint?.type === 'LtiResourceLinkRequest' && !link) problems.push('that link is no longer in the course');
    if (problems.length || !hint || !person) return this.refuse(res, problems.join('; '));

    const payload = this.claims(person, hint.type, link, String(q.nonce));
    this.roster.recordLaunch(payload);
    this.deepLinking.track(payload);
    const idToken = signRs256Sync(payload, this.key);
    res.type('html').send(authResponsePage({ action: redirectUri, fields: { id_token: idToken, state: String(q.state) }, nonce: String(res.locals.nonce) }));
  }

  private async readHint(raw: unknown): Promise<MessageHint | undefined> {
    if (typeof raw !== 'string') return undefined;
    try {
      const { payload } = await jwtVerify(raw, this.hintSecret, { algorithms: ['HS256'] });
      return payload as unknown as MessageHint;
    } catch {
      return undefined;
    }
  }

  /** The id_token claims of one launch, shaped like Moodle 4.5's. */
  private claims(person: Person, type: MessageHint['type'], link: CourseLink | undefined, nonce: string): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      iss: this.issuer,
      aud: this.clientId,
      sub: person.sub,
      iat: now,
      exp: now + 60,
      nonce,
      name: person.name,
      given_name: person.givenName,
      family_name: person.familyName,
      email: person.email,
      [CLAIM.deploymentId]: DEMO_DEPLOYMENT_ID,
      [CLAIM.messageType]: type,
      [CLAIM.version]: '1.3.0',
      [CLAIM.targetLinkUri]: `${this.toolUrl}/lti/launch`,
      [CLAIM.roles]: person.roles,
      [CLAIM.context]: COURSE,
      'https://purl.imsglobal.org/spec/lti/claim/tool_platform': { product_family_code: 'feedforward-demo-lms', name: 'FeedForward demo LMS', version: '1' },
      'https://purl.imsglobal.org/spec/lti/claim/launch_presentation': { locale: 'en', document_target: 'iframe', return_url: `${this.origin}/` },
    };
    const scope = [SCOPES.lineitem, SCOPES.lineitemReadonly, SCOPES.resultReadonly, SCOPES.score];
    if (type === 'LtiDeepLinkingRequest') {
      payload[CLAIM.deepLinkingSettings] = {
        deep_link_return_url: this.deepLinking.returnUrl(`${this.origin}/deep_links`),
        accept_types: ['ltiResourceLink'],
        accept_presentation_document_targets: ['iframe', 'window'],
        accept_multiple: false,
        auto_create: true,
        title: 'Add an assignment',
        data: randomBytes(8).toString('hex'),
      };
      payload[CLAIM.ags] = { scope, lineitems: this.gradebook.containerUrl() };
      return payload;
    }
    if (!link) throw new Error('a resource link launch needs a link');
    payload[CLAIM.resourceLink] = { id: link.id, title: link.title };
    if (link.custom) payload[CLAIM.custom] = link.custom;
    payload[CLAIM.ags] = link.graded
      ? { scope, lineitems: this.gradebook.containerUrl(), lineitem: this.gradebook.lineItemUrlFor({ id: link.id, title: link.title }) }
      : { scope, lineitems: this.gradebook.containerUrl() };
    return payload;
  }

  /** The deep-linking response: verified against the tool's keys; each resource link becomes an assignment. */
  private async receiveDeepLink(req: Request, res: Response): Promise<void> {
    const jwt = typeof req.body?.JWT === 'string' ? (req.body.JWT as string) : undefined;
    let claims: Record<string, unknown>;
    try {
      if (!jwt) throw new Error('form field JWT missing');
      claims = await this.deepLinking.verify(jwt, typeof req.query.dl === 'string' ? req.query.dl : undefined);
    } catch (err) {
      return this.refuse(res, `Invalid deep-linking response: ${(err as Error).message}`);
    }
    const items = Array.isArray(claims[CLAIM.deepLinkingContentItems]) ? (claims[CLAIM.deepLinkingContentItems] as unknown[]) : [];
    const added: CourseLink[] = [];
    for (const item of items) {
      if (!isObject(item) || item.type !== 'ltiResourceLink') continue;
      const custom = isObject(item.custom) ? Object.fromEntries(Object.entries(item.custom).map(([k, v]) => [k, String(v)])) : undefined;
      const link: CourseLink = { id: `demo-assignment-${this.links.length + 1}`, title: typeof item.title === 'string' && item.title ? item.title : 'FeedForward assignment', graded: isObject(item.lineItem), custom };
      this.links.push(link);
      if (link.graded) this.gradebook.lineItemUrlFor({ id: link.id, title: link.title });
      added.push(link);
    }
    this.save();
    const first = added[0];
    if (!first) return void res.type('html').send(messagePage('Nothing was added', 'The tool sent no assignment back.', String(res.locals.nonce)));
    res.type('html').send(deepLinkDonePage({ title: first.title, courseUrl: `${this.origin}/?added=${encodeURIComponent(first.id)}`, nonce: String(res.locals.nonce) }));
  }

  private gradeRows(): Array<{ assignment: string; student: string; score: string; comment: string; when: string }> {
    const items = [...this.gradebook.lineItems.values()];
    return this.gradebook.scores.map(({ lineItemId, body }) => {
      const link = this.links.find((l) => l.id === items.find((i) => i.id === lineItemId)?.resourceLinkId);
      const student = Object.values(PEOPLE).find((p) => p.sub === body.userId);
      return {
        assignment: link?.title ?? `Column ${lineItemId}`,
        student: student?.name ?? String(body.userId),
        score: typeof body.scoreGiven === 'number' ? `${body.scoreGiven} / ${String(body.scoreMaximum)}` : 'no score',
        comment: typeof body.comment === 'string' ? body.comment : '',
        when: typeof body.timestamp === 'string' ? body.timestamp : '',
      };
    });
  }

  private refuse(res: Response, reason: string): void {
    res.status(400).type('html').send(messagePage('The LMS refused this request', reason, String(res.locals.nonce)));
  }

  /** Keeps the course's links and grades across restarts; line items are recreated in the same order, so their URLs stay valid. */
  private restore(): void {
    if (!this.opts.stateFile || !fs.existsSync(this.opts.stateFile)) return;
    const saved = JSON.parse(fs.readFileSync(this.opts.stateFile, 'utf8')) as Partial<SavedState>;
    for (const link of saved.links ?? []) {
      this.links.push(link);
      if (link.graded) this.gradebook.lineItemUrlFor({ id: link.id, title: link.title });
    }
    this.gradebook.scores.push(...(saved.scores ?? []));
  }

  /** Called after every change the page shows. */
  save(): void {
    if (!this.opts.stateFile) return;
    fs.mkdirSync(path.dirname(this.opts.stateFile), { recursive: true });
    const state: SavedState = { links: this.links, scores: this.gradebook.scores };
    fs.writeFileSync(this.opts.stateFile, JSON.stringify(state, null, 2));
  }
}

/** The demo signs launches for anyone who clicks: it must never run in production. */
export function assertNotProduction(env: NodeJS.ProcessEnv = process.env): void {
  if (env.NODE_ENV === 'production') {
    throw new Error('The demo LMS refuses to start when NODE_ENV=production: it signs a launch for anyone who clicks. Use a real LMS.');
  }
}
