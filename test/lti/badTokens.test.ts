import { randomBytes } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { addDeployment } from '../../src/lti/platforms';
import { LtiLaunch } from '../../src/models';
import { CLAIM, CookieJar, type FixtureName, type HttpResponse, type LaunchOptions, type LaunchResult } from '../support/platform';
import { browserRequest, cookiesFor, headerValue } from '../support/platform/browser';
import { LtiHarness, me, startLtiHarness } from '../support/lti';

// SECURITY.md "LTI launch (L)": every bad id_token and every bad login initiation is refused with a
// clear 4xx page, no ltik and no launch row; each case names the check that must refuse it.

const GENERIC = 'The launch could not be verified';
const STACK_TRACE = /\n\s+at \S|\.(?:ts|js):\d+:\d+/;
const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex');

type Outcome = Pick<LaunchResult, 'status' | 'location' | 'ltik' | 'body'>;

interface Attempt {
  outcome: Outcome;
  /** The id_token that was posted, which the page must not echo. */
  idToken?: string;
  /** Every state this attempt used: no launch row may exist under any of them. */
  states: string[];
  contentType?: string;
  elapsedMs?: number;
}

interface RefusalCase {
  name: string;
  status: number;
  code: string;
  /** Text the page must show besides the code. */
  says?: string;
  attempt: () => Promise<Attempt>;
}

function outcomeOf(res: HttpResponse, base: string): Outcome {
  const location = headerValue(res, 'location');
  let ltik: string | undefined;
  if (location) ltik = new URL(location, base).searchParams.get('ltik') ?? undefined;
  return { status: res.status, location, ltik, body: res.text };
}

describe('refused launches (SECURITY.md L)', () => {
  let h: LtiHarness;
  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
  });
  afterAll(() => h.close());

  /** A full launch through the test platform; the login must succeed and the id_token be posted. */
  async function launchWith(opts: Partial<LaunchOptions> = {}, fixture: FixtureName = 'moodle-student'): Promise<Attempt> {
    const started = Date.now();
    const result = await h.launch(fixture, opts);
    expect(result.authError).toBeUndefined();
    expect(result.launch).toBeDefined(); // refused at the launch, not at the login
    const states = [result.authRequest?.state, opts.stateOverride].filter((s): s is string => !!s);
    return { outcome: result, idToken: result.idToken, states, contentType: headerValue(result.launch!, 'content-type'), elapsedMs: Date.now() - started };
  }

  /** Our own login, so a test can post any form to /lti/launch with the right state and cookie. */
  async function beginLogin(fixture: FixtureName = 'moodle-student') {
    const jar = new CookieJar();
    const launchUrl = `${h.toolUrl}/lti/launch`;
    const payload = h.platform.claims(fixture, { deploymentId: h.deploymentId, targetLinkUri: launchUrl });
    const params = h.platform.loginParams(fixture, payload, { deploymentId: h.deploymentId, targetLinkUri: launchUrl });
    const login = await browserRequest(h.ctx.app, { method: 'POST', url: `${h.toolUrl}/lti/login`, form: params, jar, cookie: '', fromOrigin: h.platform.origin });
    expect(login.status).toBe(302);
    const auth = new URL(headerValue(login, 'location')!).searchParams;
    const state = auth.get('state')!;
    payload.nonce = auth.get('nonce')!;
    const cookie = cookiesFor(jar, launchUrl, h.platform.origin);
    const post = async (form: Record<string, string>, opts: { cookie?: string } = {}): Promise<Attempt> => {
      const started = Date.now();
      const res = await browserRequest(h.ctx.app, { method: 'POST', url: launchUrl, form, jar, cookie: opts.cookie ?? cookie, fromOrigin: h.platform.origin });
      const states = [state, form.state].filter((s): s is string => !!s);
      return { outcome: outcomeOf(res, h.toolUrl), idToken: form.id_token, states, contentType: headerValue(res, 'content-type'), elapsedMs: Date.now() - started };
    };
    return { state, payload, cookie, post };
  }

  /** A malformed id_token posted with a valid state and cookie. */
  async function postMalformed(idToken: string): Promise<Attempt> {
    const { state, post } = await beginLogin();
    return post({ id_token: idToken, state });
  }

  const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

  async function expectRefused(attempt: Attempt, expected: { status: number; code: string; says?: string }): Promise<void> {
    const { outcome } = attempt;
    expect(outcome.status).toBe(expected.status);
    expect(outcome.ltik).toBeUndefined();
    expect(outcome.location ?? '').not.toContain('ltik=');
    // A page a person can read, naming the reason (the code) and nothing internal.
    expect(attempt.contentType).toMatch(/^text\/html/);
    expect(outcome.body).toContain(`<code>${expected.code}</code>`);
    if (expected.says) expect(outcome.body).toContain(expected.says);
    expect(outcome.body).not.toMatch(STACK_TRACE);
    if (attempt.idToken) {
      expect(outcome.body).not.toContain(attempt.idToken);
      for (const segment of attempt.idToken.split('.')) if (segment.length >= 16) expect(outcome.body).not.toContain(segment.slice(0, 16));
    }
    expect(attempt.states.length).toBeGreaterThan(0);
    for (const state of attempt.states) expect(await LtiLaunch.count({ where: { id: state } })).toBe(0);
  }

  async function expectAccepted(attempt: Attempt): Promise<void> {
    const { outcome } = attempt;
    expect(outcome.body).not.toMatch(/<code>[a-z_]+<\/code>/);
    expect(outcome.status).toBe(303);
    expect(outcome.ltik).toBeDefined();
    expect((await me(h.ctx, outcome.ltik)).status).toBe(200);
    expect(await LtiLaunch.count({ where: { id: attempt.states[0]! } })).toBe(1);
  }

  describe('positive controls: the same set-ups without the defect', () => {
    test('an unmodified launch succeeds', async () => {
      await expectAccepted(await launchWith());
    });

    test('a launch posted by hand after our own login succeeds', async () => {
      const { state, payload, post } = await beginLogin();
      await expectAccepted(await post({ id_token: await h.platform.sign(payload), state }));
    });

    test('an iat 0.5 s ahead of our clock is accepted', async () => {
      await expectAccepted(await launchWith({ mutate: (p) => ({ ...p, iat: Date.now() / 1000 + 0.5, exp: nowSeconds() + 60 }) }));
    });

    test('an exp 10 s in the past is accepted (inside the 30 s leeway)', async () => {
      await expectAccepted(await launchWith({ mutate: (p) => ({ ...p, iat: nowSeconds() - 70, exp: nowSeconds() - 10 }) }));
    });

    test('an iat 4 minutes old is accepted (inside the 5 minute maximum age)', async () => {
      await expectAccepted(await launchWith({ mutate: (p) => ({ ...p, iat: nowSeconds() - 240, exp: nowSeconds() + 60 }) }));
    });

    test('a single audience with azp equal to our client id is accepted', async () => {
      await expectAccepted(await launchWith({ mutate: (p) => ({ ...p, aud: [h.platform.clientId], azp: h.platform.clientId }) }));
    });

    test('a launch with a deployment id of exactly 255 ASCII characters is accepted once registered', async () => {
      const deploymentId = `d${randomHex(127)}`;
      expect(deploymentId).toHaveLength(255);
      await addDeployment(h.registration, deploymentId, 'cli');
      await expectAccepted(await launchWith({ deploymentId }));
    });
  });

  const claim = (name: string, value: unknown): Partial<LaunchOptions> => ({ claims: { [name]: value } });

  const cases: RefusalCase[] = [
    // Nonce, deployment, time
    { name: 'a nonce differing from the one sent at login', status: 400, code: 'nonce_mismatch', attempt: () => launchWith({ mutate: (p) => ({ ...p, nonce: randomHex(24) }) }) },
    {
      name: 'an unregistered deployment_id (page shows the command that allows it)',
      status: 403,
      code: 'unregistered_deployment',
      says: 'npm run cli -- deployment add',
      attempt: () => launchWith({ deploymentId: `dep-unknown-${randomHex(4)}` }),
    },
    { name: 'an iat one hour in the future', status: 400, code: 'issued_in_future', attempt: () => launchWith({ mutate: (p) => ({ ...p, iat: nowSeconds() + 3600, exp: nowSeconds() + 3660 }) }) },
    { name: 'an exp 2 minutes in the past (beyond the leeway)', status: 400, code: 'expired', says: 'This launch has expired', attempt: () => launchWith({ mutate: (p) => ({ ...p, iat: nowSeconds() - 180, exp: nowSeconds() - 120 }) }) },
    { name: 'an iat older than the maximum age', status: 400, code: 'too_old', says: 'This launch is too old', attempt: () => launchWith({ mutate: (p) => ({ ...p, iat: nowSeconds() - 400, exp: nowSeconds() + 60 }) }) },
    { name: 'an iat that is not a number', status: 400, code: 'missing_claims', attempt: () => launchWith({ mutate: (p) => ({ ...p, iat: String(nowSeconds()) }) }) },
    { name: 'a missing exp', status: 400, code: 'missing_claims', attempt: () => launchWith({ mutate: (p) => ({ ...p, exp: undefined }) }) },

    // Audience
    { name: 'an untrusted extra aud (with azp = our client id)', status: 400, code: 'untrusted_audience', attempt: () => launchWith({ mutate: (p) => ({ ...p, aud: [h.platform.clientId, 'https://other-tool.example'], azp: h.platform.clientId }) }) },
    { name: 'an untrusted extra aud without azp', status: 400, code: 'untrusted_audience', attempt: () => launchWith({ mutate: (p) => ({ ...p, aud: [h.platform.clientId, 'other-client'], azp: undefined }) }) },
    { name: 'multiple aud without azp', status: 400, code: 'azp_mismatch', attempt: () => launchWith({ mutate: (p) => ({ ...p, aud: [h.platform.clientId, h.platform.clientId], azp: undefined }) }) },
    { name: 'an azp that is not our client id', status: 400, code: 'azp_mismatch', attempt: () => launchWith({ mutate: (p) => ({ ...p, aud: h.platform.clientId, azp: 'someone-else' }) }) },
    { name: 'a wrong aud', status: 400, code: 'wrong_audience', attempt: () => launchWith({ mutate: (p) => ({ ...p, aud: 'someone-else', azp: undefined }) }) },
    { name: 'an aud that is not a string or list', status: 400, code: 'wrong_audience', attempt: () => launchWith({ mutate: (p) => ({ ...p, aud: { id: h.platform.clientId } }) }) },

    // target_link_uri
    { name: 'a target_link_uri claim off our origin', status: 400, code: 'target_link_uri_mismatch', attempt: () => launchWith(claim(CLAIM.targetLinkUri, 'https://evil.example/lti/launch')) },
    {
      name: 'a target_link_uri different from the one at login',
      status: 400,
      code: 'target_link_uri_mismatch',
      attempt: () => launchWith({ mutate: (p) => ({ ...p, [CLAIM.targetLinkUri]: `${h.toolUrl}/admin` }) }),
    },

    // Signature and keys
    { name: 'a bad signature (another key under our kid)', status: 400, code: 'bad_signature', attempt: () => launchWith({ signOptions: { key: 'other' } }) },
    { name: 'alg none', status: 400, code: 'bad_algorithm', attempt: () => launchWith({ signOptions: { key: 'none' } }) },
    { name: 'HS256 signed with the public key (SPKI PEM)', status: 400, code: 'bad_algorithm', attempt: () => launchWith({ signOptions: { key: 'hs256-public', pem: 'spki' } }) },
    { name: 'HS256 signed with the public key (PKCS#1 PEM, as ltijs derives it)', status: 400, code: 'bad_algorithm', attempt: () => launchWith({ signOptions: { key: 'hs256-public', pem: 'pkcs1' } }) },
    { name: 'RS384 instead of RS256', status: 400, code: 'bad_algorithm', attempt: () => launchWith({ signOptions: { alg: 'RS384' } }) },
    { name: 'PS256 instead of RS256', status: 400, code: 'bad_algorithm', attempt: () => launchWith({ signOptions: { alg: 'PS256' } }) },
    { name: 'a jku header', status: 400, code: 'forbidden_header', attempt: () => launchWith({ signOptions: { header: { jku: 'https://evil.example/jwks' } } }) },
    {
      name: 'a jwk header',
      status: 400,
      code: 'forbidden_header',
      attempt: async () => launchWith({ signOptions: { header: { jwk: h.platform.jwks().keys[0] } } }),
    },
    { name: 'an x5u header', status: 400, code: 'forbidden_header', attempt: () => launchWith({ signOptions: { header: { x5u: 'https://evil.example/cert.pem' } } }) },
    { name: 'an unknown kid', status: 400, code: 'unknown_kid', attempt: () => launchWith({ signOptions: { kid: `unknown-${randomHex(8)}` } }) },
    { name: 'a missing kid', status: 400, code: 'missing_kid', attempt: () => launchWith({ signOptions: { kid: null } }) },

    // Issuer
    { name: 'a wrong iss (not the issuer of the login)', status: 400, code: 'issuer_mismatch', attempt: () => launchWith({ mutate: (p) => ({ ...p, iss: 'https://evil.example' }) }) },
    { name: 'an issuer with a trailing slash', status: 400, code: 'issuer_mismatch', attempt: () => launchWith({ mutate: (p) => ({ ...p, iss: `${h.platform.issuer}/` }) }) },

    // State
    { name: 'a missing state', status: 400, code: 'missing_state', attempt: () => launchWith({ stateOverride: '' }) },
    { name: 'an unknown state', status: 400, code: 'unknown_state', attempt: () => launchWith({ stateOverride: randomHex(24) }) },
    {
      name: 'a missing state cookie',
      status: 400,
      code: 'missing_state_cookie',
      says: 'Your browser did not keep the launch cookie',
      attempt: () => launchWith({ dropCookies: true }),
    },
    {
      name: "another login's state cookie",
      status: 400,
      code: 'missing_state_cookie',
      attempt: async () => {
        const first = await beginLogin();
        const second = await beginLogin();
        const attempt = await second.post({ id_token: await h.platform.sign(second.payload), state: second.state }, { cookie: first.cookie });
        return { ...attempt, states: [first.state, second.state] };
      },
    },

    // Claims
    { name: 'a missing roles claim', status: 400, code: 'missing_roles', attempt: () => launchWith(claim(CLAIM.roles, undefined)) },
    {
      name: 'roles of the wrong JSON type (a string): "no access", never a 500',
      status: 403,
      code: 'no_access',
      says: 'does not give access to FeedForward',
      attempt: () => launchWith(claim(CLAIM.roles, 'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor')),
    },
    { name: 'roles of the wrong JSON type (an object)', status: 403, code: 'no_access', attempt: () => launchWith(claim(CLAIM.roles, { role: 'Instructor' })) },
    { name: 'a wrong message_type', status: 400, code: 'wrong_message_type', attempt: () => launchWith(claim(CLAIM.messageType, 'LtiSubmissionReviewRequest')) },
    { name: "a wrong version ('1.1')", status: 400, code: 'wrong_version', attempt: () => launchWith(claim(CLAIM.version, '1.1')) },
    { name: 'a resource link launch without resource_link.id', status: 400, code: 'missing_resource_link', attempt: () => launchWith(claim(CLAIM.resourceLink, { title: 'Essay 1' })) },
    { name: 'a resource link launch without resource_link', status: 400, code: 'missing_resource_link', attempt: () => launchWith(claim(CLAIM.resourceLink, undefined)) },
    { name: 'a missing sub', status: 400, code: 'missing_claims', attempt: () => launchWith(claim('sub', undefined)) },
    { name: 'a sub that is not a string', status: 400, code: 'bad_sub', attempt: () => launchWith(claim('sub', 42)) },

    // Deployment id
    {
      name: "an lti_deployment_id at login differing from the token's deployment_id",
      status: 400,
      code: 'deployment_mismatch',
      attempt: () => launchWith({ loginOverrides: { lti_deployment_id: `dep-other-${randomHex(4)}` } }),
    },
    {
      name: 'a deployment_id over 255 characters',
      status: 400,
      code: 'bad_deployment_id',
      attempt: () => launchWith({ loginOverrides: { lti_deployment_id: undefined }, claims: { [CLAIM.deploymentId]: 'd'.repeat(256) } }),
    },
    {
      name: 'a non-ASCII deployment_id',
      status: 400,
      code: 'bad_deployment_id',
      attempt: () => launchWith({ loginOverrides: { lti_deployment_id: undefined }, claims: { [CLAIM.deploymentId]: 'dép-1' } }),
    },
    { name: 'a deployment_id that is not a string', status: 400, code: 'bad_deployment_id', attempt: () => launchWith({ loginOverrides: { lti_deployment_id: undefined }, claims: { [CLAIM.deploymentId]: 1 } }) },

    // Size and shape
    {
      name: 'an id_token over 64 KB',
      status: 413,
      code: 'token_too_large',
      attempt: () => launchWith(claim(CLAIM.custom, { padding: randomBytes(25_000).toString('hex') })),
    },
    {
      name: 'a launch POST over the body limit',
      status: 413,
      code: 'payload_too_large',
      attempt: async () => {
        const { state, payload, post } = await beginLogin();
        return post({ id_token: await h.platform.sign(payload), state, padding: 'x'.repeat(120 * 1024) });
      },
    },
    { name: 'a malformed JWT: one segment', status: 400, code: 'malformed_token', says: GENERIC, attempt: () => postMalformed(b64({ alg: 'RS256' })) },
    { name: 'a malformed JWT: bad base64', status: 400, code: 'malformed_token', says: GENERIC, attempt: () => postMalformed('eyJ!!!.e30=.@@@') },
    { name: 'a malformed JWT: header not JSON', status: 400, code: 'malformed_token', says: GENERIC, attempt: () => postMalformed(`${b64('{"alg":"RS256"')}.${b64({ sub: '1' })}.c2ln`) },
    {
      name: 'a malformed JWT: payload not JSON',
      status: 400,
      code: 'malformed_token',
      says: GENERIC,
      attempt: () => postMalformed(`${b64({ alg: 'RS256', kid: h.platform.kid })}.${b64('not json at all')}.${randomBytes(256).toString('base64url')}`),
    },
    {
      name: 'a malformed JWT: payload a JSON array',
      status: 400,
      code: 'malformed_token',
      says: GENERIC,
      attempt: () => postMalformed(`${b64({ alg: 'RS256', kid: h.platform.kid })}.${b64([1, 2])}.${randomBytes(256).toString('base64url')}`),
    },
    {
      name: 'an id_token posted to /lti/launch with no prior login at all',
      status: 400,
      code: 'unknown_state',
      attempt: async () => {
        const launchUrl = `${h.toolUrl}/lti/launch`;
        const payload = h.platform.claims('moodle-student', { deploymentId: h.deploymentId, targetLinkUri: launchUrl });
        payload.nonce = randomHex(24);
        const idToken = await h.platform.sign(payload);
        const state = randomHex(24);
        const res = await browserRequest(h.ctx.app, { method: 'POST', url: launchUrl, form: { id_token: idToken, state }, jar: new CookieJar(), cookie: '', fromOrigin: h.platform.origin });
        return { outcome: outcomeOf(res, h.toolUrl), idToken, states: [state], contentType: headerValue(res, 'content-type') };
      },
    },
    {
      name: 'a POST to /lti/launch without an id_token',
      status: 400,
      code: 'missing_parameters',
      attempt: async () => {
        const { state, post } = await beginLogin();
        return post({ state });
      },
    },
  ];

  test.each(cases)('refuses $name', async ({ status, code, says, attempt }) => {
    await expectRefused(await attempt(), { status, code, says });
  });

  test('malformed JWTs are refused fast, with the generic page', async () => {
    for (const token of ['one-segment', 'a.b', 'eyJ!!!.e30.x', `${b64('[]')}.${b64('{}')}.x`]) {
      const attempt = await postMalformed(token);
      expect(attempt.outcome.status).toBe(400);
      expect(attempt.elapsedMs).toBeLessThan(1000);
      expect(attempt.outcome.body).toContain(GENERIC);
      expect(attempt.outcome.body).toContain('<code>malformed_token</code>');
    }
  });

  describe('login initiation', () => {
    const launchUrl = (): string => `${h.toolUrl}/lti/launch`;

    function validParams(overrides: Record<string, string | undefined> = {}): Record<string, string> {
      const payload = h.platform.claims('moodle-student', { deploymentId: h.deploymentId, targetLinkUri: launchUrl() });
      const params = h.platform.loginParams('moodle-student', payload, { deploymentId: h.deploymentId, targetLinkUri: launchUrl() });
      for (const [name, value] of Object.entries(overrides)) {
        if (value === undefined) delete params[name];
        else params[name] = value;
      }
      return params;
    }

    async function login(params: Record<string, string>, method: 'GET' | 'POST' = 'POST') {
      const res = method === 'GET' ? await request(h.ctx.app).get('/lti/login').query(params) : await request(h.ctx.app).post('/lti/login').type('form').send(params);
      return res;
    }

    const loginStateCount = async (): Promise<number> => {
      const rows = await h.ctx.sequelize.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM lti_login_states', { type: QueryTypes.SELECT });
      return Number(rows[0]!.n);
    };

    async function expectLoginRefused(params: Record<string, string>, method: 'GET' | 'POST', code: string): Promise<void> {
      const before = await loginStateCount();
      const res = await login(params, method);
      expect(res.status).toBe(400);
      expect(res.headers.location).toBeUndefined();
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain(`<code>${code}</code>`);
      expect(res.text).not.toMatch(STACK_TRACE);
      expect(await loginStateCount()).toBe(before);
    }

    test('positive control: a complete login answers 302 to the platform with a state cookie', async () => {
      const res = await login(validParams());
      expect(res.status).toBe(302);
      expect(new URL(res.headers.location as string).origin).toBe(h.platform.origin);
      expect(res.headers['set-cookie']).toEqual([expect.stringMatching(/^state[0-9a-f]{48}=/)]);
    });

    test.each([
      ['POST', 'iss'],
      ['GET', 'iss'],
      ['POST', 'login_hint'],
      ['GET', 'login_hint'],
      ['POST', 'target_link_uri'],
      ['GET', 'target_link_uri'],
    ] as const)('a %s login without %s is refused with 400 and no redirect', async (method, param) => {
      await expectLoginRefused(validParams({ [param]: undefined }), method, 'missing_parameters');
    });

    test('an empty login_hint counts as missing', async () => {
      await expectLoginRefused(validParams({ login_hint: '' }), 'POST', 'missing_parameters');
    });

    test('an unknown platform is refused with 400 and no redirect', async () => {
      await expectLoginRefused(validParams({ iss: 'https://unknown-lms.example', client_id: 'abc' }), 'POST', 'unknown_platform');
    });

    test('our issuer with a trailing slash is an unknown platform', async () => {
      await expectLoginRefused(validParams({ iss: `${h.platform.issuer}/` }), 'POST', 'unknown_platform');
    });

    test('a known issuer with an unknown client_id is an unknown platform', async () => {
      await expectLoginRefused(validParams({ client_id: 'not-our-client' }), 'POST', 'unknown_platform');
    });

    test.each([
      ['another origin', 'https://evil.example/lti/launch'],
      ['a look-alike host', 'http://localhost:3000.evil.example/lti/launch'],
      ['another port', 'http://localhost:3001/lti/launch'],
      ['a scheme-relative URL', '//evil.example/lti/launch'],
      ['not a URL', 'javascript:alert(1)'],
    ])('a target_link_uri on %s is refused with 400', async (_label, targetLinkUri) => {
      await expectLoginRefused(validParams({ target_link_uri: targetLinkUri }), 'POST', 'bad_target_link_uri');
    });

    test('the redirect_uri sent to the platform is always our launch URL, even when target_link_uri carries a query', async () => {
      const target = `${h.toolUrl}/lti/launch?redirect_uri=${encodeURIComponent('https://evil.example/steal')}&next=https://evil.example`;
      const res = await login(validParams({ target_link_uri: target, redirect_uri: 'https://evil.example/steal' }));
      expect(res.status).toBe(302);
      const auth = new URL(res.headers.location as string);
      expect(`${auth.origin}${auth.pathname}`).toBe(h.platform.authUrl);
      expect(auth.searchParams.getAll('redirect_uri')).toEqual([launchUrl()]);

      // And the whole launch lands on our own page, not on anything the query names.
      const result = await h.launch('moodle-student', { targetLinkUri: target });
      expect(result.authRequest?.redirect_uri).toBe(launchUrl());
      expect(result.status).toBe(303);
      expect(result.location).toMatch(/^\/student\?ltik=/);
    });

    test.each(['put', 'patch', 'delete'] as const)('a %s /lti/login with a foreign target_link_uri is refused with no redirect', async (method) => {
      const res = await request(h.ctx.app)[method]('/lti/login').type('form').send(validParams({ target_link_uri: 'https://evil.example/steal' })).timeout(2000);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers.location).toBeUndefined();
    });

    test.each(['GET', 'POST'] as const)('a login by %s leads to a successful launch', async (method) => {
      const result = await h.launch('moodle-student', { loginMethod: method });
      expect(result.login.status).toBe(302);
      expect(result.status).toBe(303);
      expect(result.ltik).toBeDefined();
      expect(await LtiLaunch.count({ where: { id: result.authRequest!.state! } })).toBe(1);
    });

    test('the nonce is 48 hex characters and differs between logins, as does the state', async () => {
      const params = validParams();
      const [a, b] = await Promise.all([login(params), login(params)]);
      const first = new URL(a.headers.location as string).searchParams;
      const second = new URL(b.headers.location as string).searchParams;
      expect(first.get('nonce')).toMatch(/^[0-9a-f]{48}$/);
      expect(second.get('nonce')).toMatch(/^[0-9a-f]{48}$/);
      expect(first.get('nonce')).not.toBe(second.get('nonce'));
      expect(first.get('state')).toMatch(/^[0-9a-f]{48}$/);
      expect(first.get('state')).not.toBe(second.get('state'));
      expect(first.get('nonce')).not.toBe(first.get('state'));
    });
  });
});
