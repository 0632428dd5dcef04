import fs from 'node:fs';
import path from 'node:path';
import { decodeJwt } from 'jose';
import request from 'supertest';
import { Assignment } from '../../src/models';
import { as, OPENAI_KEY } from '../support/api';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { FIXTURES } from '../support/paths';
import { CLAIM, extractAutoSubmitForm, type LaunchResult } from '../support/platform';

// An instructor adds FeedForward to a course through deep linking: the LMS launches the selection
// page, the instructor names the item, and the tool posts a signed LtiDeepLinkingResponse back.

const LEARNER = 'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner';
const captured = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'moodle-4.5/deep-linking-response.json'), 'utf8')) as {
  header: Record<string, unknown>;
  payload: Record<string, unknown> & { [CLAIM.deepLinkingContentItems]: Array<Record<string, unknown>> };
};

describe.each([
  ['moodle', 'moodle-deep-linking'],
  ['canvas', 'canvas-deep-linking'],
] as const)('deep linking from %s', (flavour, fixture) => {
  let h: LtiHarness;
  let instanceId: string;
  beforeAll(async () => {
    h = await startLtiHarness({ flavour });
    // The set-up form needs a model instance to choose: the admin's default.
    const admin = (await h.launch(`${flavour}-admin`)).ltik!;
    const provider = await as(h, admin).post('/api/v1/providers', { kind: 'openai', label: 'OpenAI', apiKey: OPENAI_KEY(), scope: 'system' });
    instanceId = (await as(h, admin).post('/api/v1/instances', { name: 'Default grader', providerId: provider.body.id, model: 'gpt-4o-mini', scope: 'system', isDefault: true })).body.id;
  });
  afterAll(() => h.close());

  /** The selection page's fields plus a complete assignment set-up with this title. */
  function setUp(fields: Record<string, string>, title: string, extra: Record<string, string> = {}): Record<string, string> {
    const modelIndex = Object.entries(fields).find(([k, v]) => /^models\.\d+\.instanceId$/.test(k) && v === instanceId)?.[0].split('.')[1] ?? '0';
    return {
      ...fields,
      title,
      instructions: 'Write an essay about homework.',
      'rubric.0.id': 'content',
      'rubric.0.name': 'Content',
      'rubric.0.description': 'A clear thesis with evidence.',
      'rubric.0.weight': '1',
      'rubric.0.maxScore': '10',
      [`models.${modelIndex}.instanceId`]: instanceId,
      [`models.${modelIndex}.use`]: '1',
      [`models.${modelIndex}.runs`]: '2',
      [`models.${modelIndex}.weight`]: '1',
      ...extra,
    };
  }

  /** Launches the deep-linking request and opens the selection page it redirects to. */
  async function openSelectionPage(opts: Parameters<LtiHarness['launch']>[1] = {}): Promise<{ launch: LaunchResult; page: { status: number; text: string } }> {
    const launch = await h.launch(fixture, opts);
    expect(launch.authError).toBeUndefined();
    expect(launch.status).toBe(303);
    const page = await h.platform.follow(h.ctx.app, launch);
    return { launch, page };
  }

  /** Submits the selection form as the browser would (same-origin), with this title. */
  function submit(fields: Record<string, string>, headers: Record<string, string> = { 'Sec-Fetch-Site': 'same-origin' }) {
    let req = request(h.ctx.app).post('/instructor/deep-link').type('form');
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
    return req.send(fields);
  }

  test('an instructor lands on the selection page, which has a labelled title field and carries the ltik', async () => {
    const { launch, page } = await openSelectionPage();
    expect(new URL(launch.location!, h.toolUrl).pathname).toBe('/instructor/deep-link');
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/Add FeedForward to your course/);
    const input = /<input\b[^>]*\bname="title"[^>]*>/.exec(page.text)?.[0];
    expect(input).toBeDefined();
    const id = /\bid="([^"]+)"/.exec(input!)?.[1];
    expect(id).toBeDefined();
    expect(page.text).toMatch(new RegExp(`<label for="${id}">[^<]+</label>`));
    const form = extractAutoSubmitForm(page.text);
    expect(form).toMatchObject({ action: '/instructor/deep-link', method: 'POST' });
    expect(form.fields.ltik).toBe(launch.ltik);
  });

  test('submitting returns an auto-posting form whose signed response the LMS accepts', async () => {
    const { launch, page } = await openSelectionPage();
    const form = extractAutoSubmitForm(page.text);
    const title = `Essay 1 feedback (${flavour})`;
    const res = await submit(setUp(form.fields, title));
    expect(res.status).toBe(200);

    const back = extractAutoSubmitForm(res.text);
    const settings = launch.payload![CLAIM.deepLinkingSettings] as { deep_link_return_url: string };
    expect(back.method).toBe('POST');
    expect(back.action).toBe(settings.deep_link_return_url);
    expect(Object.keys(back.fields)).toEqual(['JWT']);
    // The page submits itself with a script the CSP allows.
    const nonce = /'nonce-([^']+)'/.exec(String(res.headers['content-security-policy']))?.[1];
    expect(res.text).toMatch(/document\.getElementById\('deep-link-return'\)\.submit\(\)/);
    expect(/<script nonce="([^"]*)">/.exec(res.text)?.[1]?.replace(/&#x3D;/g, '=')).toBe(nonce);
    expect(res.headers['content-security-policy']).toMatch(/form-action [^;]*http:/);

    // The LMS verifies the JWT against the tool's keys and the request it answers.
    const payload = await h.platform.verifyDeepLinkingResponse(back.fields.JWT!);
    expect(payload).toMatchObject({
      iss: h.platform.clientId,
      aud: h.platform.issuer,
      [CLAIM.messageType]: 'LtiDeepLinkingResponse',
      [CLAIM.version]: '1.3.0',
      [CLAIM.deploymentId]: h.deploymentId,
    });
    const items = payload[CLAIM.deepLinkingContentItems] as Array<Record<string, unknown>>;
    // The link carries the assignment it creates, through a custom parameter bound at its first launch.
    const assignment = await Assignment.findOne({ where: { title }, order: [['createdAt', 'DESC']] });
    expect(assignment).not.toBeNull();
    expect(assignment!.resourceLinkId).toBeNull();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ type: 'ltiResourceLink', title, url: `${h.toolUrl}/lti/launch`, custom: { feedforward_assignment: assignment!.id } });
    // The form starts with grade passback on, so the link asks the LMS for a gradebook column.
    expect(assignment!.gradePassback).toBe(true);
    expect(items[0]!.lineItem).toEqual({ scoreMaximum: 10, label: title, resourceId: assignment!.id });

    // Same shape as the response Moodle 4.5 accepted from ltijs.
    const expectedClaims = Object.keys(captured.payload).filter((k) => k !== 'https://purl.imsglobal.org/spec/lti-dl/claim/msg');
    expect(Object.keys(payload)).toEqual(expect.arrayContaining(expectedClaims));
    const capturedItemFields = Object.keys(captured.payload[CLAIM.deepLinkingContentItems][0]!);
    for (const field of Object.keys(items[0]!)) expect(capturedItemFields).toContain(field);
    expect(typeof payload.nonce).toBe('string');
    expect(Number(payload.exp)).toBeGreaterThan(Number(payload.iat));
    expect(decodeJwt(back.fields.JWT!).iat).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));

    // And when the browser posts the form, the LMS adds the item.
    const before = h.platform.deepLinkResponses.length;
    const posted = await fetch(back.action, { method: 'POST', body: new URLSearchParams(back.fields) });
    expect(posted.status).toBe(200);
    expect(await posted.text()).toContain('Content added.');
    expect(h.platform.deepLinkResponses).toHaveLength(before + 1);
    expect(h.platform.deepLinkResponses.at(-1)!.payload[CLAIM.deepLinkingContentItems]).toEqual(items);
  });

  test('a hostile title is never written into the page raw, and reaches the LMS exactly as typed', async () => {
    const { page } = await openSelectionPage();
    const form = extractAutoSubmitForm(page.text);
    const title = `</script><script>alert("t")</script><img src=x onerror=alert(1)>"'&`;
    const res = await submit(setUp(form.fields, title));
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('<script>alert');
    expect(res.text).not.toContain('<img src=x');
    expect(res.text.match(/<script\b/g)).toHaveLength(2); // the layout's app.js and the auto-submit
    const back = extractAutoSubmitForm(res.text);
    const payload = await h.platform.verifyDeepLinkingResponse(back.fields.JWT!);
    expect((payload[CLAIM.deepLinkingContentItems] as Array<{ title: string }>)[0]!.title).toBe(title);
  });

  test('a hostile return URL is attribute-escaped in the form', async () => {
    const hostile = (launchPayload: Record<string, unknown>) => {
      const settings = launchPayload[CLAIM.deepLinkingSettings] as Record<string, unknown>;
      return { ...launchPayload, [CLAIM.deepLinkingSettings]: { ...settings, deep_link_return_url: `${String(settings.deep_link_return_url)}&x="><script>alert(1)</script>` } };
    };
    const { launch, page } = await openSelectionPage({ mutate: hostile });
    const form = extractAutoSubmitForm(page.text);
    const res = await submit(setUp(form.fields, 'x'));
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('<script>alert');
    const settings = launch.payload![CLAIM.deepLinkingSettings] as { deep_link_return_url: string };
    expect(extractAutoSubmitForm(res.text).action).toBe(settings.deep_link_return_url);
  });

  test('an empty title is refused next to the field, and nothing is signed', async () => {
    const { page } = await openSelectionPage();
    const form = extractAutoSubmitForm(page.text);
    const res = await submit(setUp(form.fields, '   '));
    expect(res.status).toBe(400);
    expect(res.text).not.toContain('name="JWT"');
    expect(res.text).toMatch(/f-title-error/);
  });

  test('with grade passback on, the link carries a line item scored out of the rubric total', async () => {
    const { page } = await openSelectionPage();
    const form = extractAutoSubmitForm(page.text);
    const res = await submit(setUp(form.fields, 'Graded essay', { gradePassback: '1' }));
    expect(res.status).toBe(200);
    const payload = await h.platform.verifyDeepLinkingResponse(extractAutoSubmitForm(res.text).fields.JWT!);
    const item = (payload[CLAIM.deepLinkingContentItems] as Array<Record<string, unknown>>)[0]!;
    expect(item.lineItem).toMatchObject({ scoreMaximum: 10, label: 'Graded essay' });
  });

  test('a student launching a deep-linking request gets 403, and cannot post the form either', async () => {
    const { launch, page } = await openSelectionPage({ claims: { [CLAIM.roles]: [LEARNER] } });
    expect(page.status).toBe(403);
    expect(page.text).not.toContain('name="title"');
    const res = await submit({ ltik: launch.ltik!, title: 'sneaky' });
    expect(res.status).toBe(403);
    expect(res.text).not.toContain('name="JWT"');
  });

  test('a cross-site POST is refused with 403 and nothing is signed', async () => {
    const { page } = await openSelectionPage();
    const form = extractAutoSubmitForm(page.text);
    const res = await submit(setUp(form.fields, 'from elsewhere'), { 'Sec-Fetch-Site': 'cross-site' });
    expect(res.status).toBe(403);
    expect(res.text).not.toContain('name="JWT"');
    expect(res.text).toMatch(/must be sent from FeedForward itself/);
  });

  test('a POST without a valid ltik is refused with 401', async () => {
    const res = await submit({ ltik: 'not-a-token', title: 'x' });
    expect(res.status).toBe(401);
    expect(res.text).not.toContain('name="JWT"');
  });

  test('a resource-link launch by an instructor cannot sign a deep-linking response', async () => {
    const launch = await h.launch(`${flavour}-teacher`);
    expect(launch.status).toBe(303);
    const res = await submit({ ltik: launch.ltik!, title: 'x' });
    expect(res.status).toBe(403);
    expect(res.text).not.toContain('name="JWT"');
  });
});
