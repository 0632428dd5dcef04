import { browserRequest, cookiesFor, headerValue, type HttpResponse, type ToolTarget } from './browser';
import { CookieJar } from './cookies';
import { launchFormExtras, type FixtureName } from './fixtures';
import type { SignOptions } from './keys';

/** The OIDC authentication request the tool redirected the browser to (all query parameters). */
export interface AuthRequest {
  state?: string;
  nonce?: string;
  redirect_uri?: string;
  client_id?: string;
  login_hint?: string;
  lti_message_hint?: string;
  response_type?: string;
  response_mode?: string;
  scope?: string;
  prompt?: string;
  [param: string]: string | undefined;
}

export interface LaunchOptions {
  fixture: FixtureName;
  deploymentId: string;
  /** The tool's PUBLIC_URL, e.g. http://localhost:3000. */
  toolUrl: string;
  /** Claim target_link_uri; defaults to toolUrl + '/lti/launch'. */
  targetLinkUri?: string;
  /** Moodle submits the login form with POST; GET is what some other LMSs do. */
  loginMethod?: 'GET' | 'POST';
  /** Changes to the login initiation parameters; undefined deletes one. */
  loginOverrides?: Record<string, string | undefined>;
  /** Claim overrides, passed to claims(). */
  claims?: Record<string, unknown>;
  /** Last-moment change of the payload (after the nonce is set), e.g. a wrong nonce. */
  mutate?: (payload: Record<string, unknown>, auth: AuthRequest) => Record<string, unknown>;
  signOptions?: SignOptions;
  /** Post this state instead of the one the tool sent. */
  stateOverride?: string;
  /** Post the id_token without any cookie (third-party cookies blocked). */
  dropCookies?: boolean;
  /** Browser cookie jar to use (and keep); a fresh one by default. */
  jar?: CookieJar;
}

export interface LaunchResult {
  login: HttpResponse;
  loginParams: Record<string, string>;
  authRequest?: AuthRequest;
  /** Why the platform refused the authentication request (nothing was posted then). */
  authError?: string;
  idToken?: string;
  payload?: Record<string, unknown>;
  /** The tool's answer to the id_token form_post. */
  launch?: HttpResponse;
  /** Status, Location, ltik and body of the last response (launch if posted, else login). */
  status: number;
  location?: string;
  ltik?: string;
  body: string;
  jar: CookieJar;
  /** Exactly what was posted to redirect_uri, for replay(). */
  launchRequest?: { url: string; form: Record<string, string>; cookie: string };
}

/** The parts of the platform the round trip uses. */
export interface LaunchHost {
  readonly origin: string;
  readonly authUrl: string;
  clientId: string;
  claims(fixture: FixtureName, opts: { deploymentId: string; targetLinkUri: string; overrides?: Record<string, unknown> }): Record<string, unknown>;
  loginParams(fixture: FixtureName, payload: Record<string, unknown>, opts: { deploymentId: string; targetLinkUri: string }): Record<string, string>;
  sign(payload: Record<string, unknown>, opts?: SignOptions): Promise<string>;
  /** Tells the platform what it finally sent (deep-linking data to expect back). */
  noteSent(payload: Record<string, unknown>): void;
}

/** What an LMS and a browser do for one launch: login initiation, authentication request check, form_post. */
export async function runLaunch(host: LaunchHost, target: ToolTarget, opts: LaunchOptions): Promise<LaunchResult> {
  const jar = opts.jar ?? new CookieJar();
  const toolUrl = opts.toolUrl.replace(/\/+$/, '');
  const redirectUri = `${toolUrl}/lti/launch`;
  const targetLinkUri = opts.targetLinkUri ?? redirectUri;
  const payload = host.claims(opts.fixture, { deploymentId: opts.deploymentId, targetLinkUri, overrides: opts.claims });
  const params = withOverrides(host.loginParams(opts.fixture, payload, { deploymentId: opts.deploymentId, targetLinkUri }), opts.loginOverrides);

  const loginUrl = `${toolUrl}/lti/login`;
  const login = await browserRequest(target, {
    method: opts.loginMethod ?? 'POST',
    url: loginUrl,
    form: params,
    jar,
    cookie: cookiesFor(jar, loginUrl, host.origin),
    fromOrigin: host.origin,
  });
  const result: LaunchResult = { login, loginParams: params, jar, ...summary(login, toolUrl) };
  const location = headerValue(login, 'location');
  if (login.status !== 302 || !location || !isAt(location, host.authUrl, toolUrl)) return result;

  const authRequest = Object.fromEntries(new URL(location, toolUrl).searchParams) as AuthRequest;
  result.authRequest = authRequest;
  const authError = authProblem(authRequest, { clientId: host.clientId, redirectUri, sent: params });
  if (authError) return { ...result, authError };

  payload.nonce = authRequest.nonce;
  const finalPayload = opts.mutate ? opts.mutate(payload, authRequest) : payload;
  host.noteSent(finalPayload);
  const idToken = await host.sign(finalPayload, opts.signOptions);
  const extras = launchFormExtras(opts.fixture);
  const form: Record<string, string> = {};
  if (extras.utf8 !== undefined) Object.assign(form, { utf8: extras.utf8, authenticity_token: extras.authenticity_token });
  Object.assign(form, { id_token: idToken, state: opts.stateOverride ?? authRequest.state ?? '' });
  if (extras.lti_storage_target !== undefined) form.lti_storage_target = extras.lti_storage_target;

  const launchUrl = authRequest.redirect_uri ?? redirectUri;
  const cookie = opts.dropCookies ? '' : cookiesFor(jar, launchUrl, host.origin);
  const launch = await browserRequest(target, { method: 'POST', url: launchUrl, form, jar, cookie, fromOrigin: host.origin });
  return {
    ...result,
    idToken,
    payload: finalPayload,
    launch,
    launchRequest: { url: launchUrl, form, cookie },
    ...summary(launch, toolUrl),
  };
}

/**
 * Re-sends the exact launch form_post of `previous` (same id_token, state and Cookie header) as an
 * attacker holding a captured request would; `cookies: 'jar'` uses the browser's current cookies instead.
 */
export async function replayLaunch(
  host: { origin: string },
  target: ToolTarget,
  previous: LaunchResult,
  opts: { cookies?: 'original' | 'jar' | 'none' } = {},
): Promise<LaunchResult> {
  const sent = previous.launchRequest;
  if (!sent) throw new Error('replay: that launch never posted an id_token');
  const mode = opts.cookies ?? 'original';
  const cookie = mode === 'original' ? sent.cookie : mode === 'jar' ? cookiesFor(previous.jar, sent.url, host.origin) : '';
  const launch = await browserRequest(target, { method: 'POST', url: sent.url, form: sent.form, jar: previous.jar, cookie, fromOrigin: host.origin });
  return { ...previous, launch, ...summary(launch, new URL(sent.url).origin) };
}

/**
 * The browser following the launch redirect (the ltik URL) or any other tool URL with the launch's
 * cookies. By default it is embedded in the LMS page (Moodle and Canvas launch into an iframe), so
 * only SameSite=None cookies go along; `embedded: false` is a top-level window.
 */
export async function browseAfterLaunch(
  host: { origin: string },
  target: ToolTarget,
  previous: LaunchResult,
  opts: { url?: string; embedded?: boolean } = {},
): Promise<HttpResponse> {
  const base = previous.launchRequest?.url ?? previous.loginParams.target_link_uri ?? host.origin;
  const where = opts.url ?? previous.location;
  if (!where) throw new Error('follow: no Location to follow and no url given');
  const url = new URL(where, base).href;
  const cookie = previous.jar.header(url, { crossSite: opts.embedded ?? true });
  return browserRequest(target, { method: 'GET', url, jar: previous.jar, cookie });
}

/** The platform's checks on the authentication request, as Moodle's auth.php makes them. */
function authProblem(
  auth: AuthRequest,
  expected: { clientId: string; redirectUri: string; sent: Record<string, string> },
): string | undefined {
  const problems: string[] = [];
  if (auth.response_type !== 'id_token') problems.push(`response_type is ${String(auth.response_type)}, expected id_token`);
  if (auth.response_mode !== 'form_post') problems.push(`response_mode is ${String(auth.response_mode)}, expected form_post`);
  if (!(auth.scope ?? '').split(' ').includes('openid')) problems.push(`scope is ${String(auth.scope)}, expected openid`);
  if (auth.prompt !== 'none') problems.push(`prompt is ${String(auth.prompt)}, expected none`);
  if (auth.client_id !== expected.clientId) problems.push(`client_id is ${String(auth.client_id)}, expected ${expected.clientId}`);
  if (auth.redirect_uri !== expected.redirectUri) problems.push(`redirect_uri is ${String(auth.redirect_uri)}, expected ${expected.redirectUri}`);
  if (!auth.nonce) problems.push('nonce missing');
  if (auth.login_hint !== expected.sent.login_hint) problems.push(`login_hint is ${String(auth.login_hint)}, expected ${String(expected.sent.login_hint)}`);
  if (expected.sent.lti_message_hint !== undefined && auth.lti_message_hint !== expected.sent.lti_message_hint) {
    problems.push('lti_message_hint not echoed unchanged');
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}

function summary(res: HttpResponse, base: string): Pick<LaunchResult, 'status' | 'location' | 'ltik' | 'body'> {
  const location = headerValue(res, 'location');
  let ltik: string | undefined;
  if (location) {
    try {
      ltik = new URL(location, base).searchParams.get('ltik') ?? undefined;
    } catch {
      ltik = undefined;
    }
  }
  return { status: res.status, location, ltik, body: res.text };
}

function isAt(location: string, endpoint: string, base: string): boolean {
  try {
    const url = new URL(location, base);
    return `${url.origin}${url.pathname}` === endpoint;
  } catch {
    return false;
  }
}

function withOverrides(params: Record<string, string>, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const merged = { ...params };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete merged[name];
    else merged[name] = value;
  }
  return merged;
}
