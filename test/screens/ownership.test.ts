import { CatalogueModel, Deployment, Provider } from '../../src/models';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { Actor, addConnection, getPage, instanceNamed, launchAs, postForm, rowContaining, uniqueLabel } from './screens';

// Who sees what: the institution's objects are "System" for everyone, an instructor's are "Mine"
// to that instructor and do not exist for anyone else (404, never 403).

describe('ownership on the instructor screens', () => {
  let h: LtiHarness;
  let admin: Actor;
  let teacher: Actor;
  let otherTeacher: Actor;

  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
    admin = await launchAs(h, 'moodle-admin');
    teacher = await launchAs(h, 'moodle-teacher');
    otherTeacher = await launchAs(h, 'moodle-teacher', 'other-teacher');
  });
  afterAll(() => h.close());

  test('an instructor sees "Mine" for their own and the institution\u2019s under "Available", never another instructor\u2019s', async () => {
    const system = await addConnection(h, '/admin', admin);
    // The scope field is ignored on the instructor form: whatever it says, the connection is theirs.
    const mine = await addConnection(h, '/instructor', teacher, { scope: 'system' });
    const theirs = await addConnection(h, '/instructor', otherTeacher);
    expect(mine.provider.ownerType).toBe('instructor');

    const myList = await getPage(h, '/instructor/connections', teacher);
    expect(myList.status).toBe(200);
    expect(rowContaining(myList.text, mine.label)).toContain('>Mine<');
    expect(rowContaining(myList.text, mine.label)).toContain(`\u2022\u2022\u2022\u2022${mine.apiKey.slice(-4)}`);
    expect(myList.text).not.toContain(system.label);
    expect(myList.text).not.toContain(theirs.label);

    const available = await getPage(h, '/instructor/available', teacher);
    expect(available.status).toBe(200);
    const systemRow = rowContaining(available.text, system.label);
    expect(systemRow).toContain('>System<');
    expect(systemRow).toContain(`\u2022\u2022\u2022\u2022${system.apiKey.slice(-4)}`);
    expect(systemRow).toContain('Not tested yet');
    expect(available.text).not.toContain(mine.label);
    expect(available.text).not.toContain(theirs.label);
    for (const page of [myList.text, available.text]) {
      for (const key of [system.apiKey, mine.apiKey, theirs.apiKey]) expect(page).not.toContain(key);
    }
  });

  test('another instructor\u2019s connection or instance answers 404 on every screen, and nothing changes', async () => {
    const theirs = await addConnection(h, '/instructor', otherTeacher);
    const instanceName = uniqueLabel('Their instance');
    expect((await postForm(h, '/instructor/instances', otherTeacher, { name: instanceName, providerId: theirs.provider.id, model: 'gpt-4o-mini' })).status).toBe(303);
    const instance = await instanceNamed(instanceName);

    for (const path of [`/instructor/connections/${theirs.provider.id}/edit`, `/instructor/connections/${theirs.provider.id}/delete`, `/instructor/instances/${instance.id}/edit`, `/instructor/instances/${instance.id}/delete`]) {
      const res = await getPage(h, path, teacher);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.text).not.toContain(theirs.label);
    }
    for (const path of [`/instructor/connections/${theirs.provider.id}`, `/instructor/connections/${theirs.provider.id}/test`, `/instructor/connections/${theirs.provider.id}/disable`, `/instructor/connections/${theirs.provider.id}/delete`, `/instructor/instances/${instance.id}/delete`]) {
      const res = await postForm(h, path, teacher, { label: 'taken over', apiKey: '' });
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    // Nor can an instance name it.
    const borrowed = await postForm(h, '/instructor/instances', teacher, { name: uniqueLabel('Borrowed'), providerId: theirs.provider.id, model: 'gpt-4o-mini' });
    expect(borrowed.status).toBe(400);
    await theirs.provider.reload();
    expect(theirs.provider.label).toBe(theirs.label);
    expect(theirs.provider.disabled).toBe(false);
    await expect(instance.reload()).resolves.toBeTruthy();
  });

  test('another deployment\u2019s admin gets 404 for this deployment\u2019s connections and catalogue entries', async () => {
    const system = await addConnection(h, '/admin', admin);
    const other = await h.addPlatform({ flavour: 'moodle' });
    const result = await other.platform.launch(h.ctx.app, { fixture: 'moodle-admin', deploymentId: other.deploymentId, toolUrl: h.toolUrl });
    const foreignAdmin: Actor = { ltik: result.ltik!, sub: 'foreign' };
    expect((await getPage(h, `/admin/connections/${system.provider.id}/edit`, foreignAdmin)).status).toBe(404);
    expect((await postForm(h, `/admin/connections/${system.provider.id}/delete`, foreignAdmin)).status).toBe(404);
    expect((await getPage(h, '/admin/connections', foreignAdmin)).text).not.toContain(system.label);
    expect(await Provider.findByPk(system.provider.id)).not.toBeNull();

    await getPage(h, '/admin/catalogue', admin);
    const deployment = await Deployment.findOne({ where: { deploymentId: h.deploymentId } });
    const entry = await CatalogueModel.findOne({ where: { deploymentId: deployment!.id, model: 'gpt-4o' } });
    expect((await getPage(h, `/admin/catalogue/${entry!.id}/price`, foreignAdmin)).status).toBe(404);
    expect((await postForm(h, `/admin/catalogue/${entry!.id}/hide`, foreignAdmin)).status).toBe(404);
    expect((await getPage(h, '/admin/connections/not-a-uuid/edit', foreignAdmin)).status).toBe(404);
  });

  test('an instructor cannot change the institution\u2019s connections', async () => {
    const system = await addConnection(h, '/admin', admin);
    expect((await getPage(h, `/instructor/connections/${system.provider.id}/edit`, teacher)).status).toBe(403);
    expect((await postForm(h, `/instructor/connections/${system.provider.id}/delete`, teacher)).status).toBe(403);
    expect((await getPage(h, '/admin/connections', teacher)).status).toBe(403);
    expect(await Provider.findByPk(system.provider.id)).not.toBeNull();
  });

  test('an instructor builds "My instances" on the institution\u2019s connection only while the settings allow it', async () => {
    const system = await addConnection(h, '/admin', admin);
    const name = uniqueLabel('On the institution key');
    const step1 = await getPage(h, '/instructor/instances/new', teacher);
    expect(step1.text).toContain(system.label);
    const step2 = await getPage(h, '/instructor/instances/new', teacher).query({ providerId: system.provider.id });
    expect(step2.status).toBe(200);
    expect(step2.text).toContain('GPT-4o mini');

    expect((await postForm(h, '/instructor/instances', teacher, { name, providerId: system.provider.id, model: 'gpt-4o-mini', temperature: '0.4' })).status).toBe(303);
    const list = await getPage(h, '/instructor/instances', teacher);
    const row = rowContaining(list.text, name);
    expect(row).toContain('>Mine<');
    expect(row).toContain(system.label);
    expect(row).toContain('Temperature 0.4');

    expect((await postForm(h, '/admin/settings', admin, { temperature: '0.2', maxTokens: '1500', topP: '1' })).status).toBe(303);
    try {
      const step1Now = await getPage(h, '/instructor/instances/new', teacher);
      expect(step1Now.text).not.toContain(system.label);
      const refused = await postForm(h, '/instructor/instances', teacher, { name: uniqueLabel('Refused'), providerId: system.provider.id, model: 'gpt-4o-mini' });
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('does not allow instances on its connections');
    } finally {
      await postForm(h, '/admin/settings', admin, { allowInstructorSystemConnections: '1', temperature: '0.2', maxTokens: '1500', topP: '1' });
    }
  });
});
