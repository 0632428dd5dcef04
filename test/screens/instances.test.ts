import request from 'supertest';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { Actor, addConnection, follow, getPage, inputTag, instanceNamed, launchAs, postForm, rowContaining, textOf, uniqueLabel } from './screens';

// Institution instances and defaults, the deployment settings and the audit log, driven through
// the admin's forms and read back through the pages and the JSON API.

describe('admin instances, settings and audit', () => {
  let h: LtiHarness;
  let admin: Actor;

  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
    admin = await launchAs(h, 'moodle-admin');
  });
  afterAll(() => h.close());

  const api = (path: string, actor: Actor) => request(h.ctx.app).get(`/api/v1${path}`).set('Authorization', `Bearer ${actor.ltik}`);

  test('an admin adds a system instance in two steps, marks it default and unmarks it', async () => {
    const { provider, label } = await addConnection(h, '/admin', admin);
    const step1 = await getPage(h, '/admin/instances/new', admin);
    expect(step1.status).toBe(200);
    expect(step1.text).toContain(`<option value="${provider.id}">`);
    const step2 = await getPage(h, '/admin/instances/new', admin).query({ providerId: provider.id });
    expect(step2.text).toContain('<option value="gpt-4o"');
    expect(step2.text).toMatch(/id="f-scope-system"[^>]*checked/);
    expect(step2.text).toContain('0 to 2; blank uses the deployment default');

    const name = uniqueLabel('Careful marker');
    const created = await postForm(h, '/admin/instances', admin, { name, providerId: provider.id, model: 'gpt-4o', scope: 'system', isDefault: '1', temperature: '0.3', maxTokens: '800', topP: '', contextSize: '', systemPrompt: 'Be kind.' });
    expect(created.status).toBe(303);
    const row = rowContaining(await follow(h, created.headers.location), name);
    expect(row).toContain('>System<');
    expect(row).toContain('>Default<');
    expect(row).toContain('GPT-4o');
    expect(row).toContain(label);
    expect(textOf(row)).toContain('Temperature 0.3, Max tokens 800');

    // The API sees the same instance the form made.
    const instance = await instanceNamed(name);
    const fromApi = (await api('/instances', admin)).body.instances.find((i: { id: string }) => i.id === instance.id);
    expect(fromApi).toMatchObject({ name, model: 'gpt-4o', isDefault: true, owner: { type: 'system' }, params: { temperature: 0.3, maxTokens: 800, systemPrompt: 'Be kind.' } });

    const teacher = await launchAs(h, 'moodle-teacher');
    expect(rowContaining((await getPage(h, '/instructor/available', teacher)).text, name)).toContain('>Default<');

    const unmarked = await postForm(h, `/admin/instances/${instance.id}/default`, admin, { isDefault: '0' });
    expect(unmarked.status).toBe(303);
    expect(rowContaining(await follow(h, unmarked.headers.location), name)).not.toContain('>Default<');
  });

  test('editing an instance shows its values, keeps them after a refusal and saves the change', async () => {
    const { provider } = await addConnection(h, '/admin', admin);
    const name = uniqueLabel('Editable');
    await postForm(h, '/admin/instances', admin, { name, providerId: provider.id, model: 'gpt-4o-mini', scope: 'system', temperature: '0.5' });
    const instance = await instanceNamed(name);

    const edit = await getPage(h, `/admin/instances/${instance.id}/edit`, admin);
    expect(edit.status).toBe(200);
    expect(inputTag(edit.text, 'temperature')).toContain('value="0.5"');
    expect(edit.text).toMatch(/<option value="gpt-4o-mini" selected>/);

    const refused = await postForm(h, `/admin/instances/${instance.id}`, admin, { name: 'Renamed', providerId: provider.id, model: 'gpt-4o-mini', temperature: '0.9', maxTokens: '999999' });
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/id="f-maxTokens-error"[^>]*>.*Max output tokens must be between 1 and 16384/);
    expect(inputTag(refused.text, 'name')).toContain('value="Renamed"');
    expect(inputTag(refused.text, 'temperature')).toContain('value="0.9"');

    const saved = await postForm(h, `/admin/instances/${instance.id}`, admin, { name: `${name} v2`, providerId: provider.id, model: 'gpt-4o', temperature: '0.9', maxTokens: '' });
    expect(saved.status).toBe(303);
    await instance.reload();
    expect(instance.name).toBe(`${name} v2`);
    expect(instance.model).toBe('gpt-4o');
    expect(instance.params).toEqual({ temperature: 0.9 });

    const confirm = await getPage(h, `/admin/instances/${instance.id}/delete`, admin);
    expect(confirm.text).toContain('Delete instance');
    expect((await postForm(h, `/admin/instances/${instance.id}/delete`, admin)).headers.location).toMatch(/deleted=1$/);
    await expect(instanceNamed(`${name} v2`)).rejects.toThrow();
  });

  test('the settings form saves what the API then reports, and refuses bad values beside their fields', async () => {
    const page = await getPage(h, '/admin/settings', admin);
    expect(page.status).toBe(200);
    expect(inputTag(page.text, 'allowInstructorSystemConnections')).toMatch(/checked/);

    const saved = await postForm(h, '/admin/settings', admin, { temperature: '0.4', maxTokens: '2000', topP: '0.9', allowedLocalHosts: 'ollama.campus.internal\nvllm.campus.internal' });
    expect(saved.status).toBe(303);
    expect(await follow(h, saved.headers.location)).toContain('The settings were saved');
    expect((await api('/settings', admin)).body).toEqual({
      allowInstructorSystemConnections: false,
      defaultParams: { temperature: 0.4, maxTokens: 2000, topP: 0.9 },
      allowedLocalHosts: ['ollama.campus.internal', 'vllm.campus.internal'],
      // A form without the student-data fields keeps the built-in retention and notice.
      retention: { mode: 'days_after_release', days: 180 },
      dataNotice: null,
    });

    const refused = await postForm(h, '/admin/settings', admin, { allowInstructorSystemConnections: '1', temperature: '0.4', maxTokens: '2000', topP: '5', allowedLocalHosts: 'not a/host' });
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/id="f-topP-error"[^>]*>.*Default top-p must be at most 1/);
    expect(refused.text).toMatch(/id="f-allowedLocalHosts-error"[^>]*>.*Allowed local hosts must be a host name/);
    expect(inputTag(refused.text, 'allowInstructorSystemConnections')).toMatch(/checked/);

    const restored = await postForm(h, '/admin/settings', admin, { allowInstructorSystemConnections: '1', temperature: '', maxTokens: '', topP: '', allowedLocalHosts: '' });
    expect(restored.status).toBe(303);
    expect((await api('/settings', admin)).body).toMatchObject({ allowInstructorSystemConnections: true, defaultParams: { temperature: 0.2, maxTokens: 1500, topP: 1 }, allowedLocalHosts: [] });
  });

  test('the audit log lists each change with time, actor, action, target and details, and never a key', async () => {
    const { provider, label, apiKey } = await addConnection(h, '/admin', admin);
    await postForm(h, `/admin/connections/${provider.id}`, admin, { label: `${label} renamed`, apiKey: '', baseUrl: '' });
    const audit = await getPage(h, '/admin/audit', admin);
    expect(audit.status).toBe(200);
    const created = rowContaining(audit.text, '<code>provider.create</code>');
    expect(created).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    expect(textOf(audit.text)).toContain(`provider ${provider.id}`);
    expect(audit.text).toContain(label);
    expect(rowContaining(audit.text, '<code>provider.update</code>')).toContain('renamed');
    expect(audit.text).not.toContain(apiKey);
  });
});
