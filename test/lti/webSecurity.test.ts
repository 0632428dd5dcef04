import { randomBytes } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import request from 'supertest';
import { LtiLaunch } from '../../src/models';
import { CookieJar, type FixtureName, type HttpResponse, type LaunchResult } from '../support/platform';
import { browserRequest, cookiesFor, headerValue } from '../support/platform/browser';
import { LtiHarness, me, startLtiHarness } from '../support/lti';

// SECURITY.md "Web (W)" and the ltik part of "LTI launch (L)": cookies, CSP, Referrer-Policy, CORS,
// ltik tampering and age, and what error pages and session pages may contain.

const LAUNCH_PRESENTATION = 'https://purl.imsglobal.org/spec/lti/claim/launch_presentation';
const STACK_TRACE = /\n\s+at \S|\.(?:ts|js):\d+:\d+/;
const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** Content-Security-Policy as directive → sources. */
function parseCsp(header: string | string[] | undefined): Map<string, string[]> {
  expect(typeof header).toBe('string');
  const directives = new Map<string, string[]>();
  for (const part of (header as string).split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) directives.set(name.toLowerCase(), sources);
  }
  return directives;
}

/** Set-Cookie attributes, lower-cased names. */
function cookieAttributes(line: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const part of line.split(';').slice(1)) {
    const [key = '', ...rest] = part.split('=');
    attributes.set(key.trim().toLowerCase(), rest.join('=').trim());
  }
  return attributes;
}

function setCookies(res: { headers: Record<string, unknown> }): string[] {
  const value = res.headers['set-cookie'];
  return Array.isArray(value) ? (value as string[]) : typeof value === 'string' ? [value] : [];
}

describe('web security (SECURITY.md W)', () => {
  let h: LtiHarness;
  let student: LaunchResult;
  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
    student = await h.launch('moodle-student');
    expect(student.status).toBe(303);
  });
  afterAll(() => h.close());

  const launchWithReturnUrl = (fixture: FixtureName, returnUrl: string) =>
    h.launch(fixture, { mutate: (p) => ({ ...p, [LAUNCH_PRESENTATION]: { ...(p[LAUNCH_PRESENTATION] as object), return_url: returnUrl } }) });

  describe('cookies', () => {
    test.each(['POST', 'GET'] as const)('the state cookie set by a %s /lti/login is Secure; SameSite=None; HttpOnly; Partitioned', async (method) => {
      const result = await h.launch('moodle-student', { loginMethod: method });
      const cookies = setCookies(result.login);
      expect(cookies).toHaveLength(1);
      const [line] = cookies as [string];
      expect(line).toMatch(new RegExp(`^state${result.authRequest!.state}=s%3A`)); // signed
      const attributes = cookieAttributes(line);
      expect(attributes.has('secure')).toBe(true);
      expect(attributes.has('httponly')).toBe(true);
      expect(attributes.get('samesite')?.toLowerCase()).toBe('none');
      // Kept in the LMS iframe by browsers that block third-party cookies (the browser tests prove it in Chromium).
      expect(attributes.has('partitioned')).toBe(true);
      expect(attributes.get('path')).toBe('/');
      expect(Number(attributes.get('max-age'))).toBeGreaterThan(0);
      expect(Number(attributes.get('max-age'))).toBeLessThanOrEqual(600);
      // Positive control: a browser in an LMS iframe keeps it and the launch works.
      expect(result.status).toBe(303);
    });

    test('the launch clears the state cookie with the attributes it was set with (browsers keep it otherwise)', async () => {
      const result = await h.launch('moodle-student');
      expect(result.status).toBe(303);
      const cleared = setCookies(result.launch!).find((line) => line.startsWith(`state${result.authRequest!.state}=`));
      expect(cleared).toBeDefined();
      const attributes = cookieAttributes(cleared!);
      expect(new Date(attributes.get('expires')!).getTime()).toBeLessThan(Date.now());
      expect({ secure: attributes.has('secure'), httpOnly: attributes.has('httponly'), partitioned: attributes.has('partitioned'), sameSite: attributes.get('samesite')?.toLowerCase(), path: attributes.get('path') }).toEqual({
        secure: true, httpOnly: true, partitioned: true, sameSite: 'none', path: '/',
      });
    });

    test('every cookie set during a launch is Secure; SameSite=None; HttpOnly', async () => {
      const result = await h.launch('moodle-teacher');
      const page = await h.platform.follow(h.ctx.app, result);
      const all = [...setCookies(result.login), ...setCookies(result.launch!), ...setCookies(page)];
      expect(all.length).toBeGreaterThan(0);
      for (const line of all) {
        const attributes = cookieAttributes(line);
        expect({ line, secure: attributes.has('secure'), httpOnly: attributes.has('httponly'), sameSite: attributes.get('samesite')?.toLowerCase() }).toEqual({
          line,
          secure: true,
          httpOnly: true,
          sameSite: 'none',
        });
      }
    });
  });

  describe('Content-Security-Policy', () => {
    test("the landing page may be framed only by 'self' and the platform, with object-src and base-uri 'none' and a script nonce", async () => {
      const result = await launchWithReturnUrl('moodle-student', `${h.platform.origin}/mod/lti/return.php?course=2`);
      expect(result.status).toBe(303);
      const page = await h.platform.follow(h.ctx.app, result);
      expect(page.status).toBe(200);
      const csp = parseCsp(page.headers['content-security-policy']);
      expect([...csp.get('frame-ancestors')!].sort()).toEqual(["'self'", h.platform.origin].sort());
      expect(csp.get('object-src')).toEqual(["'none'"]);
      expect(csp.get('base-uri')).toEqual(["'none'"]);
      const scripts = csp.get('script-src')!;
      expect(scripts).toContain("'self'");
      expect(scripts.filter((s) => /^'nonce-[A-Za-z0-9+/=]{16,}'$/.test(s))).toHaveLength(1);
      expect(scripts.filter((s) => s !== "'self'" && !s.startsWith("'nonce-"))).toEqual([]); // no hosts, no unsafe-*
      expect(page.headers['x-frame-options']).toBeUndefined(); // would override frame-ancestors in old browsers
    });

    test('each platform frames only its own launches', async () => {
      const other = await h.addPlatform({ flavour: 'moodle' });
      const theirs = await other.platform.launch(h.ctx.app, {
        fixture: 'moodle-student',
        deploymentId: other.deploymentId,
        toolUrl: h.toolUrl,
        mutate: (p) => ({ ...p, [LAUNCH_PRESENTATION]: { return_url: `${other.platform.origin}/course` } }),
      });
      const ours = await launchWithReturnUrl('moodle-student', `${h.platform.origin}/course`);
      const [theirPage, ourPage] = await Promise.all([other.platform.follow(h.ctx.app, theirs), h.platform.follow(h.ctx.app, ours)]);
      expect(parseCsp(theirPage.headers['content-security-policy']).get('frame-ancestors')).toEqual(["'self'", other.platform.origin]);
      expect(parseCsp(ourPage.headers['content-security-policy']).get('frame-ancestors')).toEqual(["'self'", h.platform.origin]);
    });

    test.each([
      ['a CSP injection', "https://evil.example;script-src 'unsafe-inline' *"],
      ['a javascript: URL', 'javascript:alert(document.domain)'],
      ['a data: URL', 'data:text/html,<script>alert(1)</script>'],
      ['not a URL', 'not a url'],
    ])('a return_url with %s cannot widen the CSP', async (_label, returnUrl) => {
      const result = await launchWithReturnUrl('moodle-student', returnUrl);
      expect(result.status).toBe(303);
      const page = await h.platform.follow(h.ctx.app, result);
      const header = page.headers['content-security-policy'] as string;
      expect(parseCsp(header).get('frame-ancestors')).toEqual(["'self'", h.platform.origin]);
      expect(header).not.toMatch(/unsafe-inline|evil\.example|javascript:|data:text|\*/);
    });

    test('the script nonce is fresh on every response', async () => {
      const nonces = new Set<string>();
      for (let i = 0; i < 3; i += 1) {
        const page = await h.platform.follow(h.ctx.app, student);
        const nonce = parseCsp(page.headers['content-security-policy']).get('script-src')!.find((s) => s.startsWith("'nonce-"));
        nonces.add(nonce!);
      }
      expect(nonces.size).toBe(3);
    });

    test("pages without a session may be framed by 'self' only", async () => {
      for (const res of [await request(h.ctx.app).get('/'), await request(h.ctx.app).get('/student'), await request(h.ctx.app).post('/lti/login').type('form').send({ iss: 'x' })]) {
        expect(parseCsp(res.headers['content-security-policy']).get('frame-ancestors')).toEqual(["'self'"]);
      }
    });
  });

  test('Referrer-Policy is no-referrer on every response', async () => {
    const launch = await h.launch('moodle-student');
    const refused = await h.launch('moodle-student', { mutate: (p) => ({ ...p, nonce: randomHex(24) }) });
    const responses: Array<[string, { status: number; headers: Record<string, unknown> }]> = [
      ['login 302', launch.login],
      ['launch 303', launch.launch!],
      ['refused launch', refused.launch!],
      ['landing page', await h.platform.follow(h.ctx.app, launch)],
      ['GET /api/v1/me', await me(h.ctx, launch.ltik)],
      ['GET /api/v1/me without ltik', await request(h.ctx.app).get('/api/v1/me')],
      ['GET /student without ltik', await request(h.ctx.app).get('/student')],
      ['GET /lti/login without parameters', await request(h.ctx.app).get('/lti/login')],
      ['GET /lti/keys', await request(h.ctx.app).get('/lti/keys')],
      ['GET /lti/config.json', await request(h.ctx.app).get('/lti/config.json')],
      ['GET /', await request(h.ctx.app).get('/')],
      ['GET /healthz', await request(h.ctx.app).get('/healthz')],
      ['GET /static/app.js', await request(h.ctx.app).get('/static/app.js')],
      ['404', await request(h.ctx.app).get('/no-such-page')],
    ];
    for (const [label, res] of responses) {
      expect({ label, status: res.status >= 100, policy: res.headers['referrer-policy'] }).toEqual({ label, status: true, policy: 'no-referrer' });
    }
  });

  describe('CORS', () => {
    const EVIL = 'https://evil.example';

    function expectNoCors(label: string, res: { status: number; headers: Record<string, unknown> }): void {
      const cors = Object.keys(res.headers).filter((name) => name.toLowerCase().startsWith('access-control-'));
      expect({ label, cors }).toEqual({ label, cors: [] });
    }

    test('no Access-Control-Allow-Origin on /lti/* and /api/v1/* for a foreign Origin', async () => {
      const fresh = await h.launch('moodle-student');
      const meRes = await me(h.ctx, fresh.ltik).set('Origin', EVIL);
      expect(meRes.status).toBe(200); // positive control: answered normally, just not readable cross-origin
      expectNoCors('GET /api/v1/me', meRes);
      expectNoCors('GET /api/v1/me no ltik', await request(h.ctx.app).get('/api/v1/me').set('Origin', EVIL));
      expectNoCors('GET /lti/keys', await request(h.ctx.app).get('/lti/keys').set('Origin', EVIL));
      expectNoCors('GET /lti/config.json', await request(h.ctx.app).get('/lti/config.json').set('Origin', EVIL));
      expectNoCors('POST /lti/login', await request(h.ctx.app).post('/lti/login').set('Origin', EVIL).type('form').send(fresh.loginParams));
      expectNoCors('POST /lti/launch', await request(h.ctx.app).post('/lti/launch').set('Origin', EVIL).type('form').send({ id_token: 'a.b.c', state: 'x' }));
      // The real launch came from the platform's Origin: not reflected either.
      expectNoCors('launch from the platform', fresh.launch!);
      expectNoCors('login from the platform', fresh.login);
    });

    test.each([
      ['/api/v1/me', 'GET'],
      ['/api/v1/me', 'POST'],
      ['/lti/login', 'POST'],
      ['/lti/keys', 'GET'],
      ['/lti/register', 'POST'],
    ])('an OPTIONS preflight to %s (%s) is not granted', async (path, method) => {
      const res = await request(h.ctx.app)
        .options(path)
        .set('Origin', EVIL)
        .set('Access-Control-Request-Method', method)
        .set('Access-Control-Request-Headers', 'authorization, content-type')
        .timeout(3000);
      expect(res.status).toBeLessThan(500);
      expectNoCors(`OPTIONS ${path}`, res);
    });

    // Skipped: a known bug outside this change (src/lti/router.ts). Requests that reach ltijs's own
    // handlers without a valid ltik (GET/HEAD/OPTIONS /lti/launch, OPTIONS /lti/config.json, any
    // unknown /lti/* path) call our onInvalidToken callback, whose res.render runs inside ltijs's
    // sub-app, which has no view engine: it throws inside ltijs's async middleware, the promise
    // rejection is unhandled and the Node process exits. Enable these once router.ts answers them.
    test.each([
      ['OPTIONS', '/lti/launch'],
      ['GET', '/lti/launch'],
      ['GET', '/lti/no-such-route'],
    ])('%s %s is answered promptly with a 4xx and no CORS grant', async (method, path) => {
      const pending = method === 'OPTIONS' ? request(h.ctx.app).options(path).set('Access-Control-Request-Method', 'POST') : request(h.ctx.app).get(path);
      const res = await pending.set('Origin', EVIL).timeout(2000);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expectNoCors(`${method} ${path}`, res);
    });
  });

  describe('ltik', () => {
    const flip = (c: string): string => (c === 'A' ? 'B' : 'A');
    const page = (ltik: string) => request(h.ctx.app).get('/student').query({ ltik }).set('Accept', 'text/html');

    async function expectRejected(ltik: string, code?: string): Promise<void> {
      const api = await me(h.ctx, ltik);
      expect(api.status).toBe(401);
      expect(api.headers['content-type']).toMatch(/^application\/json/);
      expect(api.body).toEqual({ error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }) });
      if (code) expect(api.body.error.code).toBe(code);
      expect(JSON.stringify(api.body)).not.toContain(ltik);

      const html = await page(ltik);
      expect(html.status).toBe(401);
      expect(html.headers['content-type']).toMatch(/^text\/html/);
      expect(html.text).toContain('Launch the tool again from your course');
      expect(html.text).not.toContain(ltik);
      expect(html.text).not.toMatch(STACK_TRACE);
    }

    /** The ltik's claims, re-signed the way ltijs signs them (HS256 with LTI_KEY). */
    async function resign(ltik: string, change: (claims: Record<string, unknown>) => Record<string, unknown>, key = process.env.LTI_KEY!): Promise<string> {
      const claims = change({ ...decodeJwt(ltik) });
      return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(key));
    }

    test('positive control: the issued ltik opens the API and the page', async () => {
      expect((await me(h.ctx, student.ltik)).status).toBe(200);
      expect((await page(student.ltik!)).status).toBe(200);
      expect(process.env.LTI_KEY).toBe(h.ctx.config.ltiKey);
      // Re-signing unchanged claims with LTI_KEY gives an accepted ltik, so the cases below fail for their change only.
      const same = await resign(student.ltik!, (c) => c);
      expect((await me(h.ctx, same)).status).toBe(200);
    });

    test('a flipped character in the signature → 401', async () => {
      const [header, payload, signature] = student.ltik!.split('.') as [string, string, string];
      await expectRejected(`${header}.${payload}.${flip(signature[0]!)}${signature.slice(1)}`, 'session_expired');
      await expectRejected(`${header}.${payload}.${signature.slice(0, 20)}${flip(signature[20]!)}${signature.slice(21)}`);
    });

    test.each([
      ['user', 'someone-else'],
      ['deploymentId', 'another-deployment'],
      ['platformUrl', 'https://evil.example'],
      ['s', 'f'.repeat(48)],
    ])('a changed %s claim under the original signature → 401', async (claim, value) => {
      const [header, , signature] = student.ltik!.split('.') as [string, string, string];
      const payload = Buffer.from(JSON.stringify({ ...decodeJwt(student.ltik!), [claim]: value })).toString('base64url');
      await expectRejected(`${header}.${payload}.${signature}`);
    });

    test('an ltik signed with another key or with alg none → 401', async () => {
      await expectRejected(await resign(student.ltik!, (c) => c, randomHex(32)));
      const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${student.ltik!.split('.')[1]}.`;
      await expectRejected(unsigned);
    });

    test('a validly signed ltik naming another launch is refused', async () => {
      const teacher = await h.launch('moodle-teacher');
      // Student's claims pointed at the teacher's launch row: the row's user does not match.
      await expectRejected(await resign(student.ltik!, (c) => ({ ...c, s: decodeJwt(teacher.ltik!).s })));
    });

    test('an ltik older than LTIK_MAX_AGE → 401 "launch again from your course"', async () => {
      const maxAge = h.ctx.config.ltikMaxAgeSeconds;
      const now = Math.floor(Date.now() / 1000);
      const fresh = await h.launch('moodle-student');
      // Positive control: the same claims with a recent iat are accepted.
      expect((await me(h.ctx, await resign(fresh.ltik!, (c) => ({ ...c, iat: now - maxAge + 60 })))).status).toBe(200);
      await expectRejected(await resign(fresh.ltik!, (c) => ({ ...c, iat: now - maxAge - 60 })), 'session_expired');
      await expectRejected(await resign(fresh.ltik!, (c) => ({ ...c, iat: undefined })), 'session_expired');
    });

    test('an ltik whose launch row has expired → 401', async () => {
      const fresh = await h.launch('moodle-student');
      expect((await me(h.ctx, fresh.ltik)).status).toBe(200);
      await LtiLaunch.update({ expiresAt: new Date(Date.now() - 1000) }, { where: { id: fresh.authRequest!.state! } });
      await expectRejected(fresh.ltik!, 'session_expired');
    });

    test('GET /api/v1/me without an ltik → 401 JSON', async () => {
      for (const res of [await request(h.ctx.app).get('/api/v1/me'), await request(h.ctx.app).get('/api/v1/me').set('Authorization', 'Bearer '), await request(h.ctx.app).get('/api/v1/me').set('Authorization', 'Basic abc')]) {
        expect(res.status).toBe(401);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.body).toEqual({ error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }) });
      }
    });
  });

  describe('what pages contain', () => {
    const CANARY = `CANARY${randomHex(6)}`;

    /** Our own login, then a hand-built POST to /lti/launch (any form fields). */
    async function postLaunch(build: (payload: Record<string, unknown>, state: string) => Promise<Record<string, string>>): Promise<HttpResponse> {
      const jar = new CookieJar();
      const launchUrl = `${h.toolUrl}/lti/launch`;
      const payload = h.platform.claims('moodle-student', { deploymentId: h.deploymentId, targetLinkUri: launchUrl });
      const params = h.platform.loginParams('moodle-student', payload, { deploymentId: h.deploymentId, targetLinkUri: launchUrl });
      const login = await browserRequest(h.ctx.app, { method: 'POST', url: `${h.toolUrl}/lti/login`, form: params, jar, cookie: '', fromOrigin: h.platform.origin });
      const auth = new URL(headerValue(login, 'location')!).searchParams;
      payload.nonce = auth.get('nonce')!;
      const form = await build(payload, auth.get('state')!);
      return browserRequest(h.ctx.app, { method: 'POST', url: launchUrl, form, jar, cookie: cookiesFor(jar, launchUrl, h.platform.origin), fromOrigin: h.platform.origin });
    }

    function expectNoCanary(res: { status: number; text: string; headers: Record<string, unknown> }): void {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.text).not.toContain(CANARY);
      expect(JSON.stringify(res.headers)).not.toContain(CANARY);
      expect(res.text).not.toMatch(STACK_TRACE);
    }

    test('positive control: the same hand-built launch POST with a canary field succeeds', async () => {
      const res = await postLaunch(async (payload, state) => ({ id_token: await h.platform.sign(payload), state, canary: CANARY }));
      expect(res.status).toBe(303);
      expect(headerValue(res, 'location')).toMatch(/ltik=/);
    });

    test('the error page for a refused launch never contains the posted body', async () => {
      const cases = [
        // A signed token refused for its nonce, carrying the canary in a claim and in a form field.
        await postLaunch(async (payload, state) => ({ id_token: await h.platform.sign({ ...payload, nonce: randomHex(24), name: CANARY }), state, canary: CANARY })),
        // A token that is nothing but the canary.
        await postLaunch(async (_payload, state) => ({ id_token: `${CANARY}.${CANARY}.${CANARY}`, state, canary: CANARY })),
        // The canary as the state.
        await postLaunch(async (payload) => ({ id_token: await h.platform.sign(payload), state: CANARY })),
        // Too large: refused by the body limit.
        await postLaunch(async (payload, state) => ({ id_token: await h.platform.sign(payload), state, canary: CANARY.repeat(12_000) })),
      ];
      for (const res of cases) expectNoCanary(res);
    });

    test('refused logins never echo their parameters', async () => {
      expectNoCanary(await request(h.ctx.app).post('/lti/login').type('form').send({ iss: `https://${CANARY}.example`, login_hint: CANARY, target_link_uri: `${h.toolUrl}/lti/launch` }));
      expectNoCanary(await request(h.ctx.app).get('/lti/login').query({ iss: h.platform.issuer, login_hint: CANARY, target_link_uri: `https://${CANARY}.example/` }));
      expectNoCanary(await request(h.ctx.app).get('/lti/login').query({ iss: CANARY }));
    });

    test.each([
      ['moodle-student', '/student'],
      ['moodle-teacher', '/instructor'],
      ['moodle-admin', '/admin'],
      ['moodle-deep-linking', '/instructor/deep-link'],
    ] as const)('the %s page (%s) references no third-party URLs', async (fixture, landing) => {
      const result = await h.launch(fixture);
      expect(new URL(result.location!, h.toolUrl).pathname).toBe(landing);
      const res = await h.platform.follow(h.ctx.app, result);
      expect(res.status).toBe(200);
      const references = [...res.text.matchAll(/\s(?:src|href|srcset|poster|data|action|formaction)\s*=\s*["']?([^"'\s>]+)/gi)].map((m) => m[1]!);
      const styleUrls = [...res.text.matchAll(/url\(\s*["']?([^"')]+)/gi)].map((m) => m[1]!);
      // Positive control: the extraction sees our own stylesheet and script.
      expect(references).toEqual(expect.arrayContaining(['/static/app.css', '/static/app.js']));
      for (const url of [...references, ...styleUrls]) {
        const own = (url.startsWith('/') && !url.startsWith('//')) || url.startsWith(`${h.toolUrl}/`) || url.startsWith('#');
        expect({ url, own }).toEqual({ url, own: true });
      }
      expect(res.text).not.toMatch(/https?:\/\/(?!localhost:3000\/)[^\s"'<>]+\.(?:js|css|png|svg|woff2?)\b/);
    });
  });
});
