import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { Deployment, LtiPlatform } from '../../src/models';
import { createTestContext, TestContext } from '../support/context';
import { isolatedDatabaseUrl } from '../support/db';
import { me } from '../support/lti';
import { CLAIM, extractAutoSubmitForm, SCOPES, TestPlatform, type Flavour } from '../support/platform';

// LTI Dynamic Registration as Moodle 4.5 and Canvas run it: the admin opens our registration URL
// from the LMS, confirms, and we register with the LMS; only a confirmed registration is stored.

const CANVAS_PRIVACY = 'https://canvas.instructure.com/lti/privacy_level';

/** Every platform and deployment row (the database is this file's own). */
async function storedRows(): Promise<{ platforms: number; deployments: number }> {
  return { platforms: await LtiPlatform.count(), deployments: await Deployment.count() };
}

/** GET /lti/register as the LMS opens it (Moodle in a new window, Canvas in an iframe). */
function openRegistration(ctx: TestContext, query: Record<string, string>) {
  return request(ctx.app).get('/lti/register').query(query);
}

/** POST /lti/register with the fields the confirmation page's form carries. */
function confirmRegistration(ctx: TestContext, fields: Record<string, string>) {
  return request(ctx.app).post('/lti/register').type('form').send(fields);
}

/** The nonce the CSP header allows scripts with. */
function cspNonce(res: request.Response): string | undefined {
  return /'nonce-([^']+)'/.exec(String(res.headers['content-security-policy']))?.[1];
}

/** A minimal LMS whose registration endpoint answers 200 with `answer` (by default: no client_id). */
async function startOddLms(
  answer: Record<string, unknown> = { client_name: 'FeedForward', [CLAIM.toolConfiguration]: { deployment_id: '7' } },
  configuration: Record<string, unknown> = {},
): Promise<{ origin: string; registrationPosts: unknown[]; close(): Promise<void> }> {
  const app = express();
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const registrationPosts: unknown[] = [];
  app.get('/openid-configuration', (_req, res) => {
    res.json({
      issuer: origin,
      authorization_endpoint: `${origin}/auth`,
      token_endpoint: `${origin}/token`,
      jwks_uri: `${origin}/jwks`,
      registration_endpoint: `${origin}/register`,
      'https://purl.imsglobal.org/spec/lti-platform-configuration': { product_family_code: 'moodle', version: '4.5.6' },
      ...configuration,
    });
  });
  app.post('/register', express.json({ type: () => true }), (req, res) => {
    registrationPosts.push(req.body);
    res.status(200).json(answer);
  });
  return {
    origin,
    registrationPosts,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('dynamic registration (development: local LMS URLs allowed)', () => {
  let ctx: TestContext;
  const platforms: TestPlatform[] = [];
  const startPlatform = async (flavour: Flavour): Promise<TestPlatform> => {
    const platform = await TestPlatform.start({ flavour });
    platforms.push(platform);
    return platform;
  };

  beforeAll(async () => {
    ctx = await createTestContext({}, await isolatedDatabaseUrl());
  });
  afterAll(async () => {
    await Promise.all(platforms.map((p) => p.close()));
    await ctx.close();
  });

  describe.each(['moodle', 'canvas'] as const)('%s', (flavour) => {
    let platform: TestPlatform;
    beforeAll(async () => {
      platform = await startPlatform(flavour);
    });

    test('the registration URL shows a confirmation page naming the issuer, and stores nothing yet', async () => {
      const before = await storedRows();
      const res = await openRegistration(ctx, platform.dynreg.initiationQuery(flavour));
      expect(res.status).toBe(200);
      expect(res.text).toContain(`<code>${platform.issuer}</code>`);
      expect(res.text).toMatch(/Register FeedForward/);
      expect(res.text).toContain(flavour); // product_family_code from the LMS configuration
      const form = extractAutoSubmitForm(res.text);
      expect(form).toMatchObject({ action: '/lti/register', method: 'POST' });
      expect(Object.keys(form.fields).sort()).toEqual(['openid_configuration', 'registration_token']);
      // Canvas shows this page in an iframe: the LMS origin may frame it.
      expect(res.headers['content-security-policy']).toContain(`frame-ancestors 'self' ${platform.origin}`);
      expect(platform.registrationRequests).toHaveLength(0);
      expect(await storedRows()).toEqual(before);
    });

    test('confirming registers with the LMS, stores the platform and its deployment, and a launch then lands', async () => {
      const initiation = platform.dynreg.initiationQuery(flavour);
      const page = await openRegistration(ctx, initiation);
      const form = extractAutoSubmitForm(page.text);
      expect(form.fields).toEqual(initiation); // the page carries exactly what the LMS sent
      const sentBefore = platform.registrationRequests.length;

      const res = await confirmRegistration(ctx, form.fields);
      expect(res.status).toBe(200);

      // What the LMS received.
      expect(platform.registrationRequests).toHaveLength(sentBefore + 1);
      const body = platform.registrationRequests.at(-1)!;
      const toolUrl = ctx.config.publicUrl;
      expect(body).toMatchObject({
        application_type: 'web',
        response_types: ['id_token'],
        grant_types: expect.arrayContaining(['implicit', 'client_credentials']),
        initiate_login_uri: `${toolUrl}/lti/login`,
        redirect_uris: [`${toolUrl}/lti/launch`],
        jwks_uri: `${toolUrl}/lti/keys`,
        token_endpoint_auth_method: 'private_key_jwt',
      });
      expect(String(body.scope).split(' ')).toEqual(expect.arrayContaining([SCOPES.lineitem, SCOPES.lineitemReadonly, SCOPES.resultReadonly, SCOPES.score, SCOPES.nrps]));
      const tool = body[CLAIM.toolConfiguration] as Record<string, unknown> & { messages: Array<Record<string, unknown>> };
      expect(tool).toMatchObject({ domain: new URL(toolUrl).host, target_link_uri: `${toolUrl}/lti/launch` });
      expect(tool.messages.map((m) => m.type).sort()).toEqual(['LtiDeepLinkingRequest', 'LtiResourceLinkRequest']);
      const resourceLink = tool.messages.find((m) => m.type === 'LtiResourceLinkRequest')!;
      const deepLinking = tool.messages.find((m) => m.type === 'LtiDeepLinkingRequest')!;
      if (flavour === 'canvas') {
        expect(resourceLink.placements).toEqual(['course_navigation']);
        expect(deepLinking.placements).toEqual(
          expect.arrayContaining(['https://canvas.instructure.com/lti/assignment_selection', 'https://canvas.instructure.com/lti/link_selection']),
        );
        expect(tool[CANVAS_PRIVACY]).toBe('public');
      } else {
        expect(resourceLink.placements).toBeUndefined();
        expect(deepLinking.placements).toBeUndefined();
        expect(tool[CANVAS_PRIVACY]).toBeUndefined();
      }

      // What the admin sees: the window asks the LMS to close it, with a script the CSP allows.
      const registration = platform.dynreg.registrations.at(-1)!;
      expect(registration.clientId).toBe(platform.clientId);
      expect(res.text).toMatch(/FeedForward is registered/);
      expect(res.text).toContain(`<code>${registration.deploymentId}</code>`);
      expect(res.text).toContain("subject: 'org.imsglobal.lti.close'");
      const nonce = cspNonce(res);
      expect(nonce).toBeDefined();
      // Handlebars writes the base64 '=' as &#x3D;, which the browser decodes in the attribute.
      const scriptNonce = /<script nonce="([^"]*)">/.exec(res.text)?.[1]?.replace(/&#x3D;/g, '=');
      expect(scriptNonce).toBe(nonce);
      expect(res.headers['content-security-policy']).toContain(platform.origin);

      // What was stored.
      const row = await LtiPlatform.findOne({ where: { issuer: platform.issuer, clientId: registration.clientId } });
      expect(row).not.toBeNull();
      expect(row).toMatchObject({
        active: true,
        registeredVia: 'dynamic',
        authUrl: platform.authUrl,
        tokenUrl: platform.tokenUrl,
        jwksUrl: platform.jwksUrl,
        product: flavour,
        acceptNewDeployments: false,
        // Canvas announces an authorization_server (the client assertion aud); Moodle does not.
        authorizationServer: flavour === 'canvas' ? platform.authorizationServer : null,
      });
      const deployment = await Deployment.findOne({ where: { issuer: platform.issuer, clientId: registration.clientId, deploymentId: registration.deploymentId } });
      expect(deployment).toMatchObject({ active: true, registeredVia: 'dynamic', platformId: row!.id });
      expect(await ctx.app.lti.getPlatform(platform.issuer, registration.clientId)).toBeTruthy();

      // And the LMS can launch the tool with the new client id and deployment, no restart needed.
      const launch = await platform.launch(ctx.app, { fixture: `${flavour}-teacher`, deploymentId: registration.deploymentId, toolUrl });
      expect(launch.authError).toBeUndefined();
      expect(launch.authRequest?.client_id).toBe(registration.clientId);
      expect(launch.status).toBe(303);
      expect(launch.ltik).toBeDefined();
      const session = await me(ctx, launch.ltik);
      expect(session.status).toBe(200);
      expect(session.body.deployment).toMatchObject({ issuer: platform.issuer, clientId: registration.clientId, deploymentId: registration.deploymentId });
    });

    test('a deployment the LMS did not return stays refused', async () => {
      const registration = platform.dynreg.registrations.at(-1)!;
      const launch = await platform.launch(ctx.app, { fixture: `${flavour}-teacher`, deploymentId: 'some-other-deployment', toolUrl: ctx.config.publicUrl });
      expect(launch.status).toBe(403);
      expect(launch.ltik).toBeUndefined();
      expect(await Deployment.count({ where: { issuer: platform.issuer, clientId: registration.clientId, deploymentId: 'some-other-deployment' } })).toBe(0);
    });
  });

  describe('refusals store nothing', () => {
    let platform: TestPlatform;
    beforeAll(async () => {
      platform = await startPlatform('moodle');
    });
    afterEach(() => {
      platform.dynregFail = undefined;
      platform.dynregIssuerOverride = undefined;
    });

    async function expectRefused(fields: Record<string, string>, message: RegExp): Promise<request.Response> {
      const before = await storedRows();
      const res = await confirmRegistration(ctx, fields);
      expect(res.status).toBe(400);
      expect(res.text).toMatch(message);
      expect(res.text).not.toMatch(/FeedForward is registered/);
      expect(res.text).not.toContain('org.imsglobal.lti.close');
      expect(res.text).not.toMatch(/\n\s+at /); // no stack trace
      expect(await storedRows()).toEqual(before);
      expect(await LtiPlatform.count({ where: { issuer: platform.issuer } })).toBe(0);
      expect(await ctx.app.lti.getPlatform(platform.issuer, platform.clientId)).toBe(false);
      return res;
    }

    test('without openid_configuration', async () => {
      const { registration_token } = platform.dynreg.initiationQuery('moodle');
      await expectRefused({ registration_token }, /did not send openid_configuration/);
      await expectRefused({ openid_configuration: '', registration_token }, /openid_configuration URL is not a valid URL/);
    });

    test('an http URL that is not localhost', async () => {
      const { registration_token } = platform.dynreg.initiationQuery('moodle');
      await expectRefused({ openid_configuration: 'http://moodle.example.edu/mod/lti/openid-configuration.php', registration_token }, /must use https/);
    });

    test('a private-address URL', async () => {
      const { registration_token } = platform.dynreg.initiationQuery('moodle');
      await expectRefused({ openid_configuration: 'https://10.0.0.1/mod/lti/openid-configuration.php', registration_token }, /private, loopback or link-local/);
      await expectRefused({ openid_configuration: 'https://169.254.169.254/latest/meta-data', registration_token }, /private, loopback or link-local/);
    });

    test('an issuer that does not match the configuration URL, before anything is sent to the LMS', async () => {
      platform.dynregIssuerOverride = 'https://moodle.example.edu';
      const fields = platform.dynreg.initiationQuery('moodle');
      const sentBefore = platform.registrationRequests.length;
      await expectRefused(fields, /issuer in the LMS configuration does not match/);
      expect(platform.registrationRequests).toHaveLength(sentBefore);
      expect(await LtiPlatform.count({ where: { issuer: 'https://moodle.example.edu' } })).toBe(0);
      // The confirmation page is refused as well.
      const page = await openRegistration(ctx, platform.dynreg.initiationQuery('moodle'));
      expect(page.status).toBe(400);
      expect(page.text).not.toContain('<form');
    });

    test('the LMS failing the registration POST', async () => {
      platform.dynregFail = 500;
      const fields = platform.dynreg.initiationQuery('moodle');
      const sentBefore = platform.registrationRequests.length;
      await expectRefused(fields, /The LMS answered HTTP 500/);
      expect(platform.registrationRequests).toHaveLength(sentBefore + 1);
      expect(platform.dynreg.registrations).toHaveLength(0);
    });

    test('a registration response without client_id', async () => {
      // A deployment id but no client_id: the LMS has not created the tool.
      const lms = await startOddLms();
      try {
        const before = await storedRows();
        const res = await confirmRegistration(ctx, { openid_configuration: `${lms.origin}/openid-configuration`, registration_token: 'tok' });
        expect(res.status).toBe(400);
        expect(res.text).toMatch(/did not confirm the registration \(no client_id\)/);
        expect(lms.registrationPosts).toHaveLength(1);
        expect(await storedRows()).toEqual(before);
        expect(await LtiPlatform.count({ where: { issuer: lms.origin } })).toBe(0);
        expect(await Deployment.count({ where: { deploymentId: '7' } })).toBe(0);
      } finally {
        await lms.close();
      }
    });

    test('a deployment_id the tool cannot store is refused before anything is stored', async () => {
      const lms = await startOddLms({ client_id: 'odd-client', deployment_id: 'x'.repeat(300) });
      try {
        const before = await storedRows();
        const res = await confirmRegistration(ctx, { openid_configuration: `${lms.origin}/openid-configuration`, registration_token: 'tok' });
        expect(res.status).toBe(400);
        expect(res.text).toMatch(/deployment_id/);
        expect(res.text).not.toMatch(/FeedForward is registered/);
        expect(await storedRows()).toEqual(before);
        expect(await ctx.app.lti.getPlatform(lms.origin, 'odd-client')).toBe(false);
      } finally {
        await lms.close();
      }
    });

    test('an authorization_server URL the tool may not call is refused before the LMS is asked to register', async () => {
      const lms = await startOddLms({ client_id: 'odd-client', deployment_id: '1' }, { authorization_server: 'http://lms.example.edu/token' });
      try {
        const before = await storedRows();
        const res = await confirmRegistration(ctx, { openid_configuration: `${lms.origin}/openid-configuration`, registration_token: 'tok' });
        expect(res.status).toBe(400);
        expect(res.text).toMatch(/authorization_server must use https/);
        expect(lms.registrationPosts).toHaveLength(0);
        expect(await storedRows()).toEqual(before);
      } finally {
        await lms.close();
      }
    });

    test('a client_id the tool cannot store is refused with a page, not a server error', async () => {
      const lms = await startOddLms({ client_id: 'c'.repeat(300), deployment_id: '1' });
      try {
        const before = await storedRows();
        const res = await confirmRegistration(ctx, { openid_configuration: `${lms.origin}/openid-configuration`, registration_token: 'tok' });
        expect(res.status).toBe(400);
        expect(res.text).toMatch(/client id/);
        expect(await storedRows()).toEqual(before);
      } finally {
        await lms.close();
      }
    });
  });
});

describe('dynamic registration in production', () => {
  let ctx: TestContext;
  let platform: TestPlatform;
  beforeAll(async () => {
    ctx = await createTestContext(
      {
        NODE_ENV: 'production',
        PUBLIC_URL: 'https://ff.example.edu',
        SECRET_KEY: randomBytes(32).toString('hex'),
        LTI_KEY: randomBytes(32).toString('hex'),
        KDF_ITERATIONS: '600000',
      },
      await isolatedDatabaseUrl(),
    );
    platform = await TestPlatform.start({ flavour: 'moodle' });
  });
  afterAll(async () => {
    await platform.close();
    await ctx.close();
  });

  test('the configuration really is production (local URLs not allowed)', () => {
    expect(ctx.config.isProduction).toBe(true);
    expect(ctx.config.allowLocalUrls).toBe(false);
  });

  test('an http://127.0.0.1 configuration URL is refused without being fetched', async () => {
    const initiation = platform.dynreg.initiationQuery('moodle');
    expect(initiation.openid_configuration).toMatch(/^http:\/\/127\.0\.0\.1:/);

    const page = await request(ctx.app).get('/lti/register').query(initiation);
    expect(page.status).toBe(400);
    expect(page.text).toMatch(/openid_configuration URL must not point at localhost/);
    expect(page.text).not.toContain('<form');

    const res = await request(ctx.app).post('/lti/register').type('form').send(initiation);
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/must not point at localhost/);

    expect(platform.requestLog.filter((r) => r.url.startsWith('/dynreg/'))).toEqual([]);
    expect(await LtiPlatform.count()).toBe(0);
    expect(await Deployment.count()).toBe(0);
  });

  test('an https URL on a private address is refused too', async () => {
    const res = await request(ctx.app).post('/lti/register').type('form').send({ openid_configuration: 'https://192.168.1.10/mod/lti/openid-configuration.php', registration_token: 't' });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/private, loopback or link-local/);
    expect(await LtiPlatform.count()).toBe(0);
  });
});
