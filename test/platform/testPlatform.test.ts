import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
  type KeyLike,
} from 'jose';
import request from 'supertest';
import {
  CLAIM,
  CookieJar,
  FIXTURE_NAMES,
  NONCE_PLACEHOLDER,
  SCOPES,
  TestPlatform,
  capturedPayload,
  extractAutoSubmitForm,
  fixtureFlavour,
} from '../support/platform';

const TOOL_URL = 'http://localhost:3000';
const DEPLOYMENT = 'deployment-1';

/** The tool's side of the keys: what it would publish at /lti/keys and sign with. */
async function toolKeys(): Promise<{ privateKey: KeyLike; jwks: { keys: JWK[] }; kid: string }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = randomBytes(16).toString('hex');
  return { privateKey, kid, jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] } };
}

function clientAssertion(key: { privateKey: KeyLike; kid: string }, platform: TestPlatform, aud = platform.tokenUrl): Promise<string> {
  return new SignJWT({ jti: randomBytes(8).toString('hex') })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
    .setIssuer(platform.clientId)
    .setSubject(platform.clientId)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(key.privateKey);
}

/**
 * A minimal ltijs-like tool: login answers 302 to the platform with a SameSite=None state cookie,
 * launch checks cookie, signature and nonce, then redirects with an ltik.
 */
function fakeTool(platform: TestPlatform, opts: { redirectUri?: string; cookieSameSite?: 'none' | 'lax' } = {}): express.Express {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  const nonceByState = new Map<string, string>();
  const usedNonces = new Set<string>();
  const login: express.RequestHandler = (req, res) => {
    const params = { ...(req.query as Record<string, string>), ...(req.body as Record<string, string>) };
    const state = randomBytes(16).toString('hex');
    const nonce = randomBytes(12).toString('hex');
    nonceByState.set(state, nonce);
    res.cookie(`state${state}`, params.iss, { secure: true, httpOnly: true, sameSite: opts.cookieSameSite ?? 'none', maxAge: 600_000 });
    const auth = new URL(platform.authUrl);
    Object.entries({
      response_type: 'id_token',
      response_mode: 'form_post',
      id_token_signed_response_alg: 'RS256',
      scope: 'openid',
      client_id: params.client_id ?? '',
      redirect_uri: opts.redirectUri ?? `${TOOL_URL}/lti/launch`,
      login_hint: params.login_hint ?? '',
      nonce,
      prompt: 'none',
      state,
      lti_message_hint: params.lti_message_hint ?? '',
      lti_deployment_id: params.lti_deployment_id ?? '',
    }).forEach(([k, v]) => auth.searchParams.set(k, v));
    res.redirect(auth.href);
  };
  app.get('/app', (req, res) => res.status(/session=/.test(req.get('cookie') ?? '') ? 200 : 401).send(req.query.ltik));
  app.get('/lti/login', login);
  app.post('/lti/login', login);
  const platformKeys = createRemoteJWKSet(new URL(platform.jwksUrl));
  app.post('/lti/launch', async (req, res) => {
    const { id_token: idToken, state } = req.body as Record<string, string>;
    if (!state || !(req.get('cookie') ?? '').includes(`state${state}=`)) return res.status(401).send('state cookie missing');
    try {
      const { payload } = await jwtVerify(idToken ?? '', platformKeys, { issuer: platform.issuer, audience: platform.clientId, algorithms: ['RS256'] });
      if (payload.nonce !== nonceByState.get(state) || usedNonces.has(String(payload.nonce))) return res.status(401).send('bad nonce');
      usedNonces.add(String(payload.nonce));
      res.clearCookie(`state${state}`);
      res.cookie('session', String(payload.sub), { secure: true, httpOnly: true, sameSite: 'none' });
      return res.redirect(`/app?ltik=ltik-${state}`);
    } catch (error) {
      return res.status(401).send((error as Error).message);
    }
  });
  return app;
}

describe('test platform', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await TestPlatform.start();
  });
  afterAll(async () => {
    await platform.close();
  });

  describe('identity and keys', () => {
    test('its JWKS verifies its own id_tokens, with Moodle-style kid and a cache header', async () => {
      expect(platform.kid).toMatch(/^[0-9a-f]{20}$/);
      expect(platform.clientId).toMatch(/^[A-Za-z0-9]{15}$/);
      expect(platform.issuer).toBe(platform.origin);
      const res = await fetch(platform.jwksUrl);
      expect(res.headers.get('cache-control')).toBe('max-age=300');
      const jwks = (await res.json()) as { keys: JWK[] };
      expect(jwks.keys).toEqual([expect.objectContaining({ kty: 'RSA', kid: platform.kid, alg: 'RS256', use: 'sig', e: 'AQAB' })]);
      const token = await platform.sign({ sub: '4', iss: platform.issuer });
      expect(decodeProtectedHeader(token)).toEqual({ typ: 'JWT', alg: 'RS256', kid: platform.kid });
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(platform.jwksUrl)));
      expect(payload.sub).toBe('4');
      expect(platform.jwksFetches).toBeGreaterThanOrEqual(2);
    });

    test('rotateKey publishes only the new key, so old tokens stop verifying', async () => {
      const other = await TestPlatform.start({ flavour: 'canvas' });
      try {
        expect(other.kid).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(other.clientId).toMatch(/^\d{14}$/);
        const before = await other.sign({ sub: 'x' });
        const oldKid = other.kid;
        await other.rotateKey();
        expect(other.kid).not.toBe(oldKid);
        expect(other.jwks().keys.map((k) => k.kid)).toEqual([other.kid]);
        const keys = createRemoteJWKSet(new URL(other.jwksUrl));
        await expect(jwtVerify(before, keys)).rejects.toThrow();
        await expect(jwtVerify(await other.sign({ sub: 'x' }), keys)).resolves.toBeDefined();
      } finally {
        await other.close();
      }
    });

    test('jwksHang leaves the request unanswered and close() still ends it', async () => {
      const slow = await TestPlatform.start({ jwksDelayMs: 50 });
      const started = Date.now();
      await fetch(slow.jwksUrl);
      expect(Date.now() - started).toBeGreaterThanOrEqual(45);
      slow.jwksHang = true;
      const controller = new AbortController();
      const hanging = fetch(slow.jwksUrl, { signal: controller.signal }).catch((e: Error) => e.name);
      await new Promise((r) => setTimeout(r, 100));
      controller.abort();
      expect(await hanging).toBe('AbortError');
      expect(slow.jwksFetches).toBe(2);
      await slow.close();
    });
  });

  describe('claims', () => {
    test.each(FIXTURE_NAMES)('%s is re-addressed to this platform and keeps its captured roles', (name) => {
      const captured = capturedPayload(name);
      const claims = platform.claims(name, { deploymentId: DEPLOYMENT, targetLinkUri: `${TOOL_URL}/lti/launch` });
      expect(claims.iss).toBe(platform.issuer);
      expect(claims.aud).toBe(platform.clientId);
      if (fixtureFlavour(name) === 'canvas') expect(claims.azp).toBe(platform.clientId);
      else expect(claims).not.toHaveProperty('azp');
      expect(claims[CLAIM.deploymentId]).toBe(DEPLOYMENT);
      expect(claims[CLAIM.targetLinkUri]).toBe(`${TOOL_URL}/lti/launch`);
      expect(claims[CLAIM.roles]).toEqual(captured[CLAIM.roles]);
      expect(claims[CLAIM.context]).toEqual(captured[CLAIM.context]);
      expect(claims.sub).toBe(captured.sub);
      expect(claims.nonce).toBe(NONCE_PLACEHOLDER);
      const now = Math.floor(Date.now() / 1000);
      expect(Math.abs(Number(claims.iat) - now)).toBeLessThan(5);
      expect(Number(claims.exp) - Number(claims.iat)).toBe(fixtureFlavour(name) === 'canvas' ? 3600 : 60);
      // Every service URL now points at this platform.
      const ags = claims[CLAIM.ags] as Record<string, string> | undefined;
      if (ags) {
        expect(ags.lineitems).toMatch(new RegExp(`^${platform.origin}/ags/lineitems`));
        if ('lineitem' in ags) expect(ags.lineitem).toMatch(new RegExp(`^${platform.origin}/ags/lineitems/\\d+`));
      }
      const nrps = claims[CLAIM.nrps] as Record<string, string> | undefined;
      if (nrps) expect(nrps.context_memberships_url).toBe(`${platform.origin}/nrps/memberships`);
      const settings = claims[CLAIM.deepLinkingSettings] as Record<string, string> | undefined;
      if (settings) expect(settings.deep_link_return_url?.startsWith(`${platform.origin}/deep_links?`)).toBe(true);
    });

    test('overrides merge last and undefined deletes a claim', () => {
      const claims = platform.claims('moodle-student', {
        deploymentId: DEPLOYMENT,
        targetLinkUri: `${TOOL_URL}/lti/launch`,
        overrides: { email: undefined, [CLAIM.roles]: ['Learner'] },
      });
      expect(claims).not.toHaveProperty('email');
      expect(claims[CLAIM.roles]).toEqual(['Learner']);
    });
  });

  describe('signing attacks', () => {
    const payload = { sub: '4', iss: 'x' };

    test("'none' is an unsigned token with alg none", async () => {
      const token = await platform.sign(payload, { key: 'none' });
      expect(decodeProtectedHeader(token)).toEqual({ typ: 'JWT', alg: 'none', kid: platform.kid });
      expect(token.endsWith('.')).toBe(true);
      expect(decodeJwt(token)).toEqual(payload);
    });

    test("'hs256-public' is HMAC-signed with the platform's public PEM", async () => {
      const token = await platform.sign(payload, { key: 'hs256-public' });
      expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'HS256', kid: platform.kid });
      const [header, body, signature] = token.split('.');
      const jwk = await importJWK(platform.jwks().keys[0] as JWK, 'RS256');
      const expected = createHmac('sha256', await exportSPKI(jwk as KeyLike)).update(`${header}.${body}`).digest('base64url');
      expect(signature).toBe(expected);
    });

    test("'other' carries the platform kid but fails verification against its JWKS", async () => {
      const token = await platform.sign(payload, { key: 'other', kid: null, header: { jku: 'https://evil.example/jwks' } });
      expect(decodeProtectedHeader(token)).toEqual({ typ: 'JWT', alg: 'RS256', jku: 'https://evil.example/jwks' });
      const withKid = await platform.sign(payload, { key: 'other' });
      expect(decodeProtectedHeader(withKid).kid).toBe(platform.kid);
      await expect(jwtVerify(withKid, createRemoteJWKSet(new URL(platform.jwksUrl)))).rejects.toThrow(/signature/);
    });
  });

  describe('token endpoint', () => {
    let tool: Awaited<ReturnType<typeof toolKeys>>;
    beforeAll(async () => {
      tool = await toolKeys();
      platform.setToolJwks(async () => tool.jwks);
    });

    test('grants a token for a client assertion signed by the tool, answering like token.php', async () => {
      const res = await request(platform.origin)
        .post('/token')
        .type('form')
        .send({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: await clientAssertion(tool, platform),
          scope: SCOPES.score,
        });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.text).toContain('\r\n');
      expect(JSON.parse(res.text)).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: SCOPES.score });
    });

    test('refuses a missing or foreign-signed assertion with invalid_request', async () => {
      const stranger = await toolKeys();
      const base = { grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', scope: SCOPES.score };
      const forged = await request(platform.origin).post('/token').type('form').send({ ...base, client_assertion: await clientAssertion({ ...stranger, kid: tool.kid }, platform) });
      expect(forged.status).toBe(400);
      expect(JSON.parse(forged.text)).toEqual({ error: 'invalid_request' });
      const wrongAud = await request(platform.origin).post('/token').type('form').send({ ...base, client_assertion: await clientAssertion(tool, platform, 'https://elsewhere/token') });
      expect(wrongAud.status).toBe(400);
      const missing = await request(platform.origin).post('/token').type('form').send(base);
      expect(JSON.parse(missing.text)).toEqual({ error: 'invalid_request' });
      expect(platform.tokenRequests.at(-2)?.reason).toMatch(/aud/);
    });
  });

  describe('cookie jar', () => {
    test('honours Max-Age, Expires and deletion', () => {
      let now = Date.parse('2026-01-01T00:00:00Z');
      const jar = new CookieJar({ now: () => now });
      jar.store(['a=1; Max-Age=10; Path=/', 'b=2; Path=/; Expires=Thu, 01 Jan 2026 00:00:05 GMT', 'c=3'], `${TOOL_URL}/lti/login`);
      expect(jar.header(`${TOOL_URL}/lti/launch`).split('; ').sort()).toEqual(['a=1', 'b=2', 'c=3']);
      expect(jar.header(`${TOOL_URL}/other`).split('; ').sort()).toEqual(['a=1', 'b=2']); // c has default path /lti
      now += 6000;
      expect(jar.get('b')).toBeUndefined();
      now += 5000;
      expect(jar.get('a')).toBeUndefined();
      jar.store('c=; Max-Age=0; Path=/lti', `${TOOL_URL}/lti/x`);
      expect(jar.all()).toEqual([]);
    });

    test('sends Secure cookies over http, but cross-site only SameSite=None ones', () => {
      const jar = new CookieJar();
      jar.store(['none=1; Secure; SameSite=None; Path=/', 'lax=2; Path=/', 'insecureNone=3; SameSite=None; Path=/'], `${TOOL_URL}/lti/login`);
      expect(jar.header(`${TOOL_URL}/lti/launch`)).toBe('none=1; lax=2');
      expect(jar.header(`${TOOL_URL}/lti/launch`, { crossSite: true })).toBe('none=1');
      expect(jar.header('http://127.0.0.1:3000/lti/launch')).toBe('');
    });
  });

  describe('AGS and NRPS', () => {
    const student = capturedPayload('moodle-student').sub as string;
    const teacher = capturedPayload('moodle-teacher').sub as string;
    let lineitemUrl: string;
    beforeAll(() => {
      platform.claims('moodle-student', { deploymentId: DEPLOYMENT, targetLinkUri: TOOL_URL });
      const claims = platform.claims('moodle-teacher', { deploymentId: DEPLOYMENT, targetLinkUri: TOOL_URL });
      lineitemUrl = (claims[CLAIM.ags] as { lineitem: string }).lineitem;
    });
    const scoreFor = (userId: string) =>
      JSON.stringify({ scoreGiven: 7, scoreMaximum: 10, comment: 'Good work', activityProgress: 'Completed', gradingProgress: 'FullyGraded', userId, timestamp: new Date().toISOString() });
    const scoresPath = () => {
      const url = new URL(lineitemUrl);
      return `${url.pathname}/scores${url.search}`;
    };

    test('refuses calls without a bearer token with Moodle 401 body', async () => {
      const res = await request(platform.origin).get(new URL(lineitemUrl).pathname + new URL(lineitemUrl).search).set('accept', 'application/vnd.ims.lis.v2.lineitem+json');
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ status: 401, reason: 'Unauthorized', request: { method: 'GET', url: expect.stringMatching(/^\/ags\/lineitems\/\d+\?type_id=1$/), accept: 'application/vnd.ims.lis.v2.lineitem+json' } });
      const unknown = await request(platform.origin).post(scoresPath()).set('authorization', 'Bearer nope').set('content-type', 'application/vnd.ims.lis.v1.score+json').send(scoreFor(student));
      expect(unknown.status).toBe(401);
      expect(platform.scores).toHaveLength(0);
    });

    test('accepts a student score (200, empty) and rejects an instructor score (400, [])', async () => {
      const token = platform.issueAccessToken(`${SCOPES.score} ${SCOPES.resultReadonly}`);
      const ok = await request(platform.origin).post(scoresPath()).set('authorization', `Bearer ${token}`).set('content-type', 'application/vnd.ims.lis.v1.score+json').send(scoreFor(student));
      expect(ok.status).toBe(200);
      expect(ok.text).toBe('');
      const refused = await request(platform.origin).post(scoresPath()).set('authorization', `Bearer ${token}`).set('content-type', 'application/vnd.ims.lis.v1.score+json').send(scoreFor(teacher));
      expect(refused.status).toBe(400);
      expect(refused.text).toBe('[]');
      expect(platform.scores.map((s) => s.body.userId)).toEqual([student]);
      expect(platform.rejectedScores.map((s) => (s.body as { userId: string }).userId)).toEqual([teacher]);
      const url = new URL(lineitemUrl);
      const results = await request(platform.origin).get(`${url.pathname}/results${url.search}`).set('authorization', `Bearer ${token}`);
      expect(JSON.parse(results.text)).toEqual([expect.objectContaining({ userId: student, resultScore: 70, resultMaximum: 100, comment: 'Good work' })]);
    });

    test('lists members with Moodle short roles and pages with a Link header', async () => {
      const token = platform.issueAccessToken(SCOPES.nrps);
      const res = await request(platform.origin).get('/nrps/memberships?limit=2').set('authorization', `Bearer ${token}`);
      expect(res.status).toBe(200);
      const body = JSON.parse(res.text) as { context: { id: string }; members: Array<{ roles: string[] }> };
      expect(body.context.id).toBe('2');
      expect(body.members).toHaveLength(2);
      expect(res.headers.link).toMatch(/from=2>; rel="next"$/);
    });
  });

  describe('OIDC launch round trip', () => {
    test('through supertest: login, authentication request, form_post with the state cookie', async () => {
      const tool = fakeTool(platform);
      const result = await platform.launch(tool, { fixture: 'moodle-student', deploymentId: DEPLOYMENT, toolUrl: TOOL_URL });
      expect(result.authError).toBeUndefined();
      expect(result.loginParams).toMatchObject({ iss: platform.issuer, login_hint: '4', client_id: platform.clientId, target_link_uri: `${TOOL_URL}/lti/launch` });
      expect(JSON.parse(result.loginParams.lti_message_hint ?? '')).toMatchObject({ cmid: 1, launchid: expect.stringMatching(/^ltilaunch1_\d+$/) });
      expect(result.payload?.nonce).toBe(result.authRequest?.nonce);
      expect(result.status).toBe(302);
      expect(result.ltik).toBe(`ltik-${result.authRequest?.state}`);
      const page = await platform.follow(tool, result);
      expect(page.status).toBe(200);
      expect(page.text).toBe(result.ltik);
      // The same request again, state cookie included: only the used nonce stops it.
      const again = await platform.replay(tool, result);
      expect(again.launchRequest?.cookie).toContain(`state${result.authRequest?.state}=`);
      expect(again.status).toBe(401);
      expect(again.body).toBe('bad nonce');
    });

    test('through a listening server, with Canvas login parameters and form fields', async () => {
      const server = http.createServer(fakeTool(platform));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const result = await platform.launch(base, { fixture: 'canvas-student', deploymentId: DEPLOYMENT, toolUrl: TOOL_URL, loginMethod: 'GET' });
        expect(result.loginParams).toMatchObject({ canvas_environment: 'prod', lti_storage_target: 'post_message_forwarding' });
        expect(result.loginParams.login_hint).toBe(capturedPayload('canvas-student')[CLAIM.lti11UserId]);
        expect(result.launchRequest?.form).toHaveProperty('authenticity_token');
        expect(result.status).toBe(302);
        expect(result.ltik).toBeDefined();
      } finally {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      }
    });

    test('a tool state cookie without SameSite=None is lost on the cross-site form_post', async () => {
      const result = await platform.launch(fakeTool(platform, { cookieSameSite: 'lax' }), { fixture: 'moodle-teacher', deploymentId: DEPLOYMENT, toolUrl: TOOL_URL });
      expect(result.status).toBe(401);
      expect(result.body).toBe('state cookie missing');
    });

    test('a wrong redirect_uri is refused by the platform and nothing is posted', async () => {
      const result = await platform.launch(fakeTool(platform, { redirectUri: 'https://evil.example/launch' }), { fixture: 'moodle-admin', deploymentId: DEPLOYMENT, toolUrl: TOOL_URL });
      expect(result.authError).toMatch(/redirect_uri/);
      expect(result.launch).toBeUndefined();
    });

    test('mutate changes the signed payload at the last moment', async () => {
      const result = await platform.launch(fakeTool(platform), {
        fixture: 'moodle-student',
        deploymentId: DEPLOYMENT,
        toolUrl: TOOL_URL,
        mutate: (payload) => ({ ...payload, nonce: 'not-the-nonce' }),
      });
      expect(result.status).toBe(401);
      expect(result.body).toBe('bad nonce');
    });
  });

  describe('deep linking', () => {
    let tool: Awaited<ReturnType<typeof toolKeys>>;
    beforeAll(async () => {
      tool = await toolKeys();
      platform.setToolJwks(async () => tool.jwks);
    });
    const response = (data?: string, overrides: Record<string, unknown> = {}) =>
      new SignJWT({
        nonce: 'n1',
        [CLAIM.deploymentId]: DEPLOYMENT,
        [CLAIM.messageType]: 'LtiDeepLinkingResponse',
        [CLAIM.version]: '1.3.0',
        [CLAIM.deepLinkingContentItems]: [{ type: 'ltiResourceLink', title: 'Essay', url: `${TOOL_URL}/lti/launch` }],
        ...(data === undefined ? {} : { [CLAIM.deepLinkingData]: data }),
        ...overrides,
      })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: tool.kid })
        .setIssuer(platform.clientId)
        .setAudience(platform.issuer)
        .setIssuedAt()
        .setExpirationTime('60s')
        .sign(tool.privateKey);

    test('accepts a response posted to the return URL through the auto-submit form', async () => {
      const claims = platform.claims('moodle-deep-linking', { deploymentId: DEPLOYMENT, targetLinkUri: TOOL_URL });
      const returnUrl = (claims[CLAIM.deepLinkingSettings] as { deep_link_return_url: string }).deep_link_return_url;
      const html = `<form id="ltijs_submit" style="display: none;" action="${returnUrl.replace(/&/g, '&amp;')}" method="POST"><input type="hidden" name="JWT" value="${await response()}" /></form>`;
      const form = extractAutoSubmitForm(html);
      expect(form.action).toBe(returnUrl);
      expect(form.method).toBe('POST');
      const url = new URL(form.action);
      const res = await request(platform.origin).post(url.pathname + url.search).type('form').send(form.fields);
      expect(res.status).toBe(200);
      expect(platform.deepLinkResponses.at(-1)?.payload[CLAIM.deploymentId]).toBe(DEPLOYMENT);
    });

    test('requires the data of the request to be echoed, and the right deployment', async () => {
      const settings = capturedPayload('canvas-deep-linking')[CLAIM.deepLinkingSettings] as Record<string, unknown>;
      platform.claims('canvas-deep-linking', { deploymentId: DEPLOYMENT, targetLinkUri: TOOL_URL, overrides: { [CLAIM.deepLinkingSettings]: { ...settings, data: 'opaque-42' } } });
      await expect(platform.verifyDeepLinkingResponse(await response())).rejects.toThrow(/data/);
      await expect(platform.verifyDeepLinkingResponse(await response('opaque-42', { [CLAIM.deploymentId]: 'other' }))).rejects.toThrow(/deployment_id/);
      await expect(platform.verifyDeepLinkingResponse(await response('opaque-42'))).resolves.toMatchObject({ [CLAIM.deepLinkingData]: 'opaque-42' });
    });
  });

  describe('dynamic registration', () => {
    const registration = (target: string, overrides: Record<string, unknown> = {}) => ({
      application_type: 'web',
      response_types: ['id_token'],
      grant_types: ['implicit', 'client_credentials'],
      initiate_login_uri: `${TOOL_URL}/lti/login`,
      redirect_uris: [`${TOOL_URL}/lti/launch`],
      client_name: 'FeedForward',
      jwks_uri: `${TOOL_URL}/lti/keys`,
      token_endpoint_auth_method: 'private_key_jwt',
      scope: `${SCOPES.score} ${SCOPES.lineitem}`,
      [CLAIM.toolConfiguration]: {
        domain: 'localhost:3000',
        target_link_uri: target,
        claims: ['iss', 'sub'],
        messages: [{ type: 'LtiResourceLinkRequest' }, { type: 'LtiDeepLinkingRequest' }],
      },
      ...overrides,
    });

    test.each(['moodle', 'canvas'] as const)('%s: configuration, registration with the token, new client id', async (flavour) => {
      const lms = await TestPlatform.start({ flavour });
      try {
        const query = lms.dynreg.initiationQuery(flavour);
        const configRes = await fetch(query.openid_configuration);
        expect(configRes.status).toBe(200);
        const config = (await configRes.json()) as Record<string, string>;
        expect(config).toMatchObject({ issuer: lms.issuer, token_endpoint: lms.tokenUrl, jwks_uri: lms.jwksUrl, authorization_endpoint: lms.authUrl });
        const register = (token: string, body: unknown) =>
          fetch(config.registration_endpoint ?? '', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect((await register('wrong', registration(`${TOOL_URL}/lti/launch`))).status).toBe(401);
        expect((await register(query.registration_token, registration(`${TOOL_URL}/lti/launch`, { jwks_uri: undefined }))).status).toBe(400);
        const res = await register(query.registration_token, registration(`${TOOL_URL}/lti/launch`));
        expect(res.status).toBe(200);
        const body = (await res.json()) as Record<string, unknown>;
        expect(lms.clientId).toBe(body.client_id);
        const deploymentId = flavour === 'moodle' ? (body[CLAIM.toolConfiguration] as Record<string, unknown>).deployment_id : body.deployment_id;
        expect(deploymentId).toBe(lms.dynreg.registrations[0]?.deploymentId);
        if (flavour === 'moodle') expect(decodeJwt(query.registration_token).sub).toBe(body.client_id);
        expect(lms.registrationRequests).toHaveLength(2);
        // A token registers one tool only.
        expect((await register(query.registration_token, registration(`${TOOL_URL}/lti/launch`))).status).toBe(401);
      } finally {
        await lms.close();
      }
    });

    test('dynregFail and dynregIssuerOverride', async () => {
      const lms = await TestPlatform.start();
      try {
        lms.dynregIssuerOverride = 'https://impostor.example';
        lms.dynregFail = 500;
        const query = lms.dynreg.initiationQuery('moodle');
        const config = (await (await fetch(query.openid_configuration)).json()) as Record<string, string>;
        expect(config.issuer).toBe('https://impostor.example');
        const res = await fetch(config.registration_endpoint ?? '', { method: 'POST', headers: { authorization: `Bearer ${query.registration_token}` }, body: JSON.stringify(registration(TOOL_URL)) });
        expect(res.status).toBe(500);
      } finally {
        await lms.close();
      }
    });
  });
});
