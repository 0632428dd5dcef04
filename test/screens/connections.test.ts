import nock from 'nock';
import { Provider } from '../../src/models';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { Actor, addConnection, follow, getPage, inputTag, instanceNamed, launchAs, openAiKey, postForm, rowContaining, uniqueLabel } from './screens';
import { blockOutbound } from '../support/outbound';

// The admin's connection screens: add, edit with the key left blank, test, delete. A key goes in
// once and never comes back out in any page.

describe('admin connection screens', () => {
  let h: LtiHarness;
  let admin: Actor;

  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
    admin = await launchAs(h, 'moodle-admin');
  });
  afterAll(async () => {
    // nock patches Node's http for the whole worker: undo it, or the next test file in this worker breaks.
    nock.restore();
    await h.close();
  });

  beforeEach(() => {
    blockOutbound();
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  test('an admin adds a system connection and sees it with the "System" badge and masked hint; the key is in no page', async () => {
    const pages: string[] = [];
    const form = await getPage(h, '/admin/connections/new', admin);
    expect(form.status).toBe(200);
    expect(inputTag(form.text, 'apiKey')).toMatch(/type="password"/);
    expect(inputTag(form.text, 'apiKey')).toMatch(/autocomplete="off"/);
    expect(inputTag(form.text, 'apiKey')).not.toMatch(/value=/);

    const apiKey = openAiKey();
    const label = uniqueLabel('Faculty of Arts');
    const saved = await postForm(h, '/admin/connections', admin, { kind: 'openai', label, apiKey, baseUrl: '', organization: 'org-arts', project: '', scope: 'system' });
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toMatch(/^\/admin\/connections\?ltik=[^&]+&created=1$/);
    pages.push(saved.text, JSON.stringify(saved.headers));

    const list = await getPage(h, '/admin/connections', admin).query({ created: '1' });
    pages.push(list.text);
    expect(list.status).toBe(200);
    expect(list.text).toContain('The connection was saved');
    const row = rowContaining(list.text, label);
    expect(row).toContain('>System<');
    expect(row).toContain(`\u2022\u2022\u2022\u2022${apiKey.slice(-4)}`);
    const provider = await Provider.findOne({ where: { label } });
    expect(provider?.ownerType).toBe('system');
    expect(row).toContain(provider!.keyFingerprint);

    const teacher = await launchAs(h, 'moodle-teacher');
    for (const path of [`/admin/connections/${provider!.id}/edit`, `/admin/connections/${provider!.id}/delete`, '/admin/instances/new', '/admin/audit']) {
      pages.push((await getPage(h, path, admin)).text);
    }
    pages.push((await getPage(h, '/instructor/available', teacher)).text);
    expect(pages.at(-1)).toContain(label);
    for (const page of pages) expect(page).not.toContain(apiKey);
  });

  test('a refused save shows the message beside the field, keeps the other values and never the key', async () => {
    const label = uniqueLabel('Typed label "quoted"');
    const wrongKey = 'sk-ant-api03-this-is-an-anthropic-key-000000';
    const badKey = await postForm(h, '/admin/connections', admin, { kind: 'openai', label, apiKey: wrongKey, baseUrl: '', organization: 'org-typed', scope: 'system' });
    expect(badKey.status).toBe(400);
    expect(badKey.text).not.toContain(wrongKey);
    expect(badKey.text).toMatch(/id="f-apiKey-error"[^>]*>.*looks like an? Anthropic key/);
    expect(inputTag(badKey.text, 'apiKey')).toMatch(/aria-describedby="f-apiKey-hint f-apiKey-error"/);
    expect(inputTag(badKey.text, 'apiKey')).not.toMatch(/value=/);
    expect(inputTag(badKey.text, 'label')).toContain(`value="${label.replace(/"/g, '&quot;')}"`);
    expect(inputTag(badKey.text, 'organization')).toContain('value="org-typed"');

    const apiKey = openAiKey();
    const badUrl = await postForm(h, '/admin/connections', admin, { kind: 'openai', label, apiKey, baseUrl: 'http://api.example.com/v1', scope: 'system' });
    expect(badUrl.status).toBe(400);
    expect(badUrl.text).toMatch(/id="f-baseUrl-error"[^>]*>.*Base URL must use https\./);
    expect(inputTag(badUrl.text, 'baseUrl')).toMatch(/aria-invalid="true"/);
    expect(inputTag(badUrl.text, 'baseUrl')).toContain('value="http://api.example.com/v1"');
    expect(inputTag(badUrl.text, 'label')).toContain('value="');
    expect(inputTag(badUrl.text, 'apiKey')).not.toMatch(/value=/);
    expect(badUrl.text).not.toContain(apiKey);
    expect(await Provider.count({ where: { label } })).toBe(0);
  });

  test('editing without a key keeps the stored key: Test connection still sends the original one', async () => {
    const { provider, apiKey } = await addConnection(h, '/admin', admin);
    const edit = await getPage(h, `/admin/connections/${provider.id}/edit`, admin);
    expect(edit.text).toContain('Leave blank to keep the stored key');
    expect(inputTag(edit.text, 'apiKey')).not.toMatch(/value=/);

    const renamed = uniqueLabel('Renamed');
    const saved = await postForm(h, `/admin/connections/${provider.id}`, admin, { label: renamed, apiKey: '', baseUrl: '', organization: '', project: '' });
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toMatch(/saved=1$/);
    await provider.reload();
    expect(provider.label).toBe(renamed);
    expect(provider.keyHint).toBe(apiKey.slice(-4));

    let authorization = '';
    const openai = nock('https://api.openai.com')
      .get('/v1/models')
      .matchHeader('authorization', (value: string) => ((authorization = value), true))
      .reply(200, { object: 'list', data: [{ id: 'gpt-4o', object: 'model', created: 1, owned_by: 'openai' }] });
    const tested = await postForm(h, `/admin/connections/${provider.id}/test`, admin);
    expect(tested.status).toBe(303);
    expect(openai.isDone()).toBe(true);
    expect(authorization).toBe(`Bearer ${apiKey}`);

    const list = await follow(h, tested.headers.location);
    expect(list).toMatch(/Tested “[^”]+”: <strong>Valid<\/strong>/);
    const row = rowContaining(list, renamed);
    expect(row).toContain('Valid');
    expect(row).toMatch(/checked \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    expect(list).not.toContain(apiKey);
  });

  test('Test connection shows "Invalid" and the reason in words when the provider answers 401', async () => {
    const { provider, apiKey, label } = await addConnection(h, '/admin', admin);
    nock('https://api.openai.com')
      .get('/v1/models')
      .reply(401, { error: { message: `Incorrect API key provided: ${apiKey}`, type: 'invalid_request_error', code: 'invalid_api_key' } });
    const tested = await postForm(h, `/admin/connections/${provider.id}/test`, admin);
    expect(tested.status).toBe(303);
    const list = await follow(h, tested.headers.location);
    const row = rowContaining(list, label);
    expect(row).toContain('Invalid');
    expect(row).toContain('The provider rejected the API key.');
    expect(list).not.toContain(apiKey);
    expect(list).not.toContain('Incorrect API key provided');
  });

  test('Test connection shows "Unreachable" when the provider cannot be reached', async () => {
    const { provider, label } = await addConnection(h, '/admin', admin);
    nock('https://api.openai.com').get('/v1/models').replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const tested = await postForm(h, `/admin/connections/${provider.id}/test`, admin);
    const row = rowContaining(await follow(h, tested.headers.location), label);
    expect(row).toContain('Unreachable');
    expect(row).toContain('could not be reached');
  });

  test('a new key replaces the old one and resets the status', async () => {
    const { provider } = await addConnection(h, '/admin', admin);
    const newKey = openAiKey();
    const saved = await postForm(h, `/admin/connections/${provider.id}`, admin, { label: provider.label, apiKey: newKey, baseUrl: '' });
    expect(saved.status).toBe(303);
    await provider.reload();
    expect(provider.keyHint).toBe(newKey.slice(-4));
    expect(provider.status).toBe('unverified');
  });

  test('disable and enable', async () => {
    const { provider, label } = await addConnection(h, '/admin', admin);
    const disabled = await postForm(h, `/admin/connections/${provider.id}/disable`, admin);
    expect(disabled.headers.location).toMatch(/disabled=1$/);
    const row = rowContaining(await follow(h, disabled.headers.location), label);
    expect(row).toContain('>Disabled<');
    expect(row).toContain('Enable');
    expect(row).not.toContain('Test connection');
    // Testing a disabled connection is refused in words, with no provider call.
    const refused = await postForm(h, `/admin/connections/${provider.id}/test`, admin);
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('enable it before testing it');
    await postForm(h, `/admin/connections/${provider.id}/enable`, admin);
    await provider.reload();
    expect(provider.disabled).toBe(false);
  });

  test('delete asks for confirmation; a connection used by instances is refused with their names', async () => {
    const { provider, label } = await addConnection(h, '/admin', admin);
    const confirm = await getPage(h, `/admin/connections/${provider.id}/delete`, admin);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Delete connection');
    expect(confirm.text).toContain('cannot be undone');
    expect(await Provider.findByPk(provider.id)).not.toBeNull();

    const instanceName = uniqueLabel('Essay marker');
    const created = await postForm(h, '/admin/instances', admin, { name: instanceName, providerId: provider.id, model: 'gpt-4o-mini', scope: 'system', temperature: '0.3' });
    expect(created.status).toBe(303);

    const refused = await postForm(h, `/admin/connections/${provider.id}/delete`, admin);
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('still in use');
    expect(refused.text).toMatch(new RegExp(`<li>${instanceName}</li>`));
    expect(refused.text).toContain('Disable it instead');
    expect(await Provider.findByPk(provider.id)).not.toBeNull();

    const instance = await instanceNamed(instanceName);
    expect((await postForm(h, `/admin/instances/${instance.id}/delete`, admin)).status).toBe(303);
    const deleted = await postForm(h, `/admin/connections/${provider.id}/delete`, admin);
    expect(deleted.status).toBe(303);
    expect(deleted.headers.location).toMatch(/deleted=1$/);
    expect(await Provider.findByPk(provider.id)).toBeNull();
    expect(await follow(h, deleted.headers.location)).not.toContain(label);
  });
});
