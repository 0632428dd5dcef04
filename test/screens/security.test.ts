import request from 'supertest';
import { ModelInstance, Provider } from '../../src/models';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { Actor, addConnection, getPage, instanceNamed, launchAs, openAiKey, postForm, uniqueLabel } from './screens';

// Web rules every configuration screen keeps: escaped output, same-site forms, students kept out,
// strict numbers, and no key echoed by a refused request.

const HOSTILE = `<script>alert("x")</script> O'Brien`;
const ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; O&#x27;Brien';

describe('configuration screens: web rules', () => {
  let h: LtiHarness;
  let admin: Actor;
  let teacher: Actor;
  let student: Actor;

  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
    admin = await launchAs(h, 'moodle-admin');
    teacher = await launchAs(h, 'moodle-teacher');
    student = await launchAs(h, 'moodle-student');
  });
  afterAll(() => h.close());

  test('a hostile label renders as text on every list page, form and confirmation', async () => {
    const label = `${HOSTILE} ${uniqueLabel('c')}`;
    const system = await addConnection(h, '/admin', admin, { label });
    const mine = await addConnection(h, '/instructor', teacher, { label: `${label} mine` });
    expect((await postForm(h, '/admin/instances', admin, { name: label, providerId: system.provider.id, model: 'gpt-4o', scope: 'system' })).status).toBe(303);
    expect((await postForm(h, '/instructor/instances', teacher, { name: `${label} mine`, providerId: mine.provider.id, model: 'gpt-4o' })).status).toBe(303);
    const model = `m-${uniqueLabel('x').replace(/\s/g, '')}`;
    expect((await postForm(h, '/admin/catalogue', admin, { providerKind: 'openai', model, displayName: label })).status).toBe(303);
    const instance = await instanceNamed(label);

    const pages: Array<[Actor, string]> = [
      [admin, '/admin/connections'],
      [admin, '/admin/instances'],
      [admin, '/admin/catalogue'],
      [admin, '/admin/audit'],
      [admin, `/admin/connections/${system.provider.id}/edit`],
      [admin, `/admin/connections/${system.provider.id}/delete`],
      [admin, `/admin/instances/${instance.id}/edit`],
      [admin, `/admin/instances/${instance.id}/delete`],
      [admin, '/admin/instances/new'],
      [teacher, '/instructor/connections'],
      [teacher, '/instructor/instances'],
      [teacher, '/instructor/available'],
    ];
    for (const [actor, path] of pages) {
      const res = await getPage(h, path, actor);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect({ path, escaped: res.text.includes(ESCAPED) }).toEqual({ path, escaped: true });
      // The layout's own script tag is the only one.
      expect({ path, scripts: res.text.match(/<script/g)?.length }).toEqual({ path, scripts: 1 });
    }
    // A refused save shows the typed label again, escaped too.
    const refused = await postForm(h, '/admin/connections', admin, { kind: 'openai', label, apiKey: 'not a key', scope: 'system' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain(ESCAPED);
    expect(refused.text.match(/<script/g)?.length).toBe(1);
  });

  test('a cross-site form post is refused before anything is saved', async () => {
    const label = uniqueLabel('Cross-site');
    const res = await request(h.ctx.app)
      .post('/admin/connections')
      .set('Sec-Fetch-Site', 'cross-site')
      .type('form')
      .send({ ltik: admin.ltik, kind: 'openai', label, apiKey: openAiKey(), scope: 'system' });
    expect(res.status).toBe(403);
    expect(res.text).toContain('must be sent from FeedForward itself');
    expect(await Provider.count({ where: { label } })).toBe(0);

    const { provider } = await addConnection(h, '/admin', admin);
    const del = await request(h.ctx.app).post(`/admin/connections/${provider.id}/delete`).set('Sec-Fetch-Site', 'cross-site').type('form').send({ ltik: admin.ltik });
    expect(del.status).toBe(403);
    expect(await Provider.findByPk(provider.id)).not.toBeNull();

    const sameOrigin = await request(h.ctx.app).post('/admin/connections').set('Sec-Fetch-Site', 'same-origin').type('form').send({ ltik: admin.ltik, kind: 'openai', label, apiKey: openAiKey(), scope: 'system' });
    expect(sameOrigin.status).toBe(303);
  });

  test('a student gets 403 on every configuration screen and form, with no data', async () => {
    const { provider, label } = await addConnection(h, '/admin', admin);
    const name = uniqueLabel('Student cannot see');
    expect((await postForm(h, '/admin/instances', admin, { name, providerId: provider.id, model: 'gpt-4o', scope: 'system' })).status).toBe(303);
    const instance = await instanceNamed(name);
    const pages = [
      '/admin', '/admin/connections', '/admin/connections/new', `/admin/connections/${provider.id}/edit`, `/admin/connections/${provider.id}/delete`,
      '/admin/catalogue', '/admin/catalogue/new', '/admin/instances', '/admin/instances/new', `/admin/instances/${instance.id}/edit`,
      `/admin/instances/${instance.id}/delete`, '/admin/settings', '/admin/audit',
      '/instructor', '/instructor/connections', '/instructor/connections/new', '/instructor/instances', '/instructor/instances/new', '/instructor/available',
    ];
    for (const path of pages) {
      const res = await getPage(h, path, student);
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
      expect(res.text).not.toContain(label);
      expect(res.text).not.toContain(name);
    }
    const forms = [
      '/admin/connections', `/admin/connections/${provider.id}`, `/admin/connections/${provider.id}/test`, `/admin/connections/${provider.id}/disable`,
      `/admin/connections/${provider.id}/delete`, '/admin/catalogue', '/admin/instances', `/admin/instances/${instance.id}`, `/admin/instances/${instance.id}/default`,
      `/admin/instances/${instance.id}/delete`, '/admin/settings', '/instructor/connections', '/instructor/instances',
    ];
    for (const path of forms) {
      const res = await postForm(h, path, student, { kind: 'openai', label: 'student', apiKey: openAiKey(), name: 'student', providerId: provider.id, model: 'gpt-4o' });
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
    }
    expect(await Provider.count({ where: { label: 'student' } })).toBe(0);
    expect(await ModelInstance.count({ where: { name: 'student' } })).toBe(0);
    expect(await Provider.findByPk(provider.id)).not.toBeNull();
  });

  test.each(['0.7abc', 'NaN', 'Infinity', '1e309', '0x1', '1,5'])('the number "%s" is refused on its field, never passed on', async (value) => {
    const { provider } = await addConnection(h, '/admin', admin);
    const name = uniqueLabel('Strict');
    const res = await postForm(h, '/admin/instances', admin, { name, providerId: provider.id, model: 'gpt-4o', scope: 'system', temperature: value, maxTokens: value });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/id="f-temperature-error"[^>]*>.*Temperature must be a number/);
    expect(res.text).toMatch(/id="f-maxTokens-error"[^>]*>.*Max output tokens must be a number/);
    expect(res.text).toContain(`value="${value}"`);
    expect(await ModelInstance.count({ where: { name } })).toBe(0);

    const settings = await postForm(h, '/admin/settings', admin, { temperature: value, maxTokens: '1500', topP: '1' });
    expect(settings.status).toBe(400);
    expect(settings.text).toMatch(/id="f-temperature-error"[^>]*>.*Default temperature must be a number/);
  });

  test('out-of-range parameters are refused with the provider\u2019s range beside the field', async () => {
    const { provider } = await addConnection(h, '/admin', admin);
    const res = await postForm(h, '/admin/instances', admin, { name: uniqueLabel('Hot'), providerId: provider.id, model: 'gpt-4o', scope: 'system', temperature: '2.5' });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/id="f-temperature-error"[^>]*>.*Temperature must be between 0 and 2/);
    expect(res.text).toMatch(/aria-describedby="f-temperature-hint f-temperature-error"/);
  });

  test('a form post with a bad session is a 401 that does not echo the key', async () => {
    const apiKey = openAiKey();
    const res = await request(h.ctx.app).post('/admin/connections').type('form').send({ ltik: 'eyJhbGciOiJIUzI1NiJ9.e30.tampered', kind: 'openai', label: 'x', apiKey });
    expect(res.status).toBe(401);
    expect(res.text).not.toContain(apiKey);
  });
});
