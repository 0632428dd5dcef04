import { randomUUID } from 'node:crypto';
import nock from 'nock';
import { addDeployment } from '../../src/lti/platforms';
import { AuditEvent, Provider } from '../../src/models';
import { as, Cast, launchCast, OPENAI_KEY } from '../support/api';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { blockOutbound } from '../support/outbound';

// The configuration API end to end: ownership, validation, write-only keys, audit.

describe('configuration API', () => {
  let h: LtiHarness;
  let cast: Cast;
  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
    const other = `dep-${randomUUID().slice(0, 8)}`;
    await addDeployment(h.registration, other, 'cli');
    cast = await launchCast(h, other);
    blockOutbound();
  });
  afterAll(async () => {
    nock.cleanAll();
    nock.enableNetConnect();
    // nock patches the http module every test file of this worker shares.
    nock.restore();
    await h.close();
  });

  const createSystem = async (label = 'Institution OpenAI', apiKey = OPENAI_KEY()) => {
    const res = await as(h, cast.admin).post('/api/v1/providers', { kind: 'openai', label, apiKey, scope: 'system' });
    expect(res.status).toBe(201);
    return { body: res.body, apiKey };
  };

  test('creating a connection returns the hint and owner, never the key', async () => {
    const { body, apiKey } = await createSystem();
    expect(body).toMatchObject({ kind: 'openai', label: 'Institution OpenAI', owner: { type: 'system' }, keyHint: apiKey.slice(-4), status: 'unverified' });
    expect(body.keyFingerprint).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(JSON.stringify(body)).not.toContain(apiKey);
    expect(body).not.toHaveProperty('apiKey');
    expect(body).not.toHaveProperty('apiConfig');
    const row = await Provider.findByPk(body.id);
    expect(JSON.stringify(row!.apiConfig)).not.toContain(apiKey);
  });

  test('system connections are visible to every instructor; instructor connections only to their owner', async () => {
    const sys = (await createSystem('Shared')).body;
    const mine = await as(h, cast.instructor).post('/api/v1/providers', { kind: 'openai', label: 'My key', apiKey: OPENAI_KEY() });
    expect(mine.status).toBe(201);
    expect(mine.body.owner).toEqual({ type: 'instructor', userId: expect.any(String) });

    const ids = async (ltik: string) => (await as(h, ltik).get('/api/v1/providers')).body.providers.map((p: { id: string }) => p.id);
    expect(await ids(cast.instructor)).toEqual(expect.arrayContaining([sys.id, mine.body.id]));
    expect(await ids(cast.otherInstructor)).toContain(sys.id);
    expect(await ids(cast.otherInstructor)).not.toContain(mine.body.id);
    expect(await ids(cast.admin)).not.toContain(mine.body.id);
    expect(await ids(cast.foreignAdmin)).not.toContain(sys.id);

    for (const ltik of [cast.otherInstructor, cast.admin, cast.foreignAdmin]) {
      expect((await as(h, ltik).get(`/api/v1/providers/${mine.body.id}`)).status).toBe(404);
      expect((await as(h, ltik).patch(`/api/v1/providers/${mine.body.id}`, { label: 'x' })).status).toBe(404);
      expect((await as(h, ltik).delete(`/api/v1/providers/${mine.body.id}`)).status).toBe(404);
    }
    // Instructors see the institution's connection but cannot change it.
    expect((await as(h, cast.instructor).patch(`/api/v1/providers/${sys.id}`, { label: 'mine now' })).status).toBe(403);
    expect((await as(h, cast.instructor).post('/api/v1/providers', { kind: 'openai', label: 'x', apiKey: OPENAI_KEY(), scope: 'system' })).status).toBe(403);
  });

  test('students reach no configuration', async () => {
    for (const [method, url] of [['get', '/api/v1/providers'], ['post', '/api/v1/providers'], ['get', '/api/v1/instances'], ['get', '/api/v1/models'], ['get', '/api/v1/settings']] as const) {
      const res = await as(h, cast.student)[method](url);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
  });

  test('saving without a new key keeps the stored one; a new key is sealed and resets the status', async () => {
    const { body, apiKey } = await createSystem('Keep key');
    const renamed = await as(h, cast.admin).patch(`/api/v1/providers/${body.id}`, { label: 'Renamed' });
    expect(renamed.body).toMatchObject({ label: 'Renamed', keyHint: apiKey.slice(-4) });
    const newKey = OPENAI_KEY();
    const rotated = await as(h, cast.admin).patch(`/api/v1/providers/${body.id}`, { apiKey: newKey });
    expect(rotated.body.keyHint).toBe(newKey.slice(-4));
    expect(rotated.body.keyFingerprint).not.toBe(body.keyFingerprint);
    const audit = await AuditEvent.findAll({ where: { targetId: body.id }, order: [['createdAt', 'ASC']] });
    expect(audit.map((e) => e.action)).toEqual(['provider.create', 'provider.update', 'provider.rotate_key']);
    expect(JSON.stringify(audit.map((e) => e.toJSON()))).not.toContain(newKey);
  });

  test('test connection records valid, then invalid on a 401, with the normalised reason', async () => {
    const { body, apiKey } = await createSystem('Verify me');
    const ok = nock('https://api.openai.com').get('/v1/models').matchHeader('authorization', `Bearer ${apiKey}`).reply(200, { object: 'list', data: [{ id: 'gpt-4o', object: 'model' }] });
    const valid = await as(h, cast.admin).post(`/api/v1/providers/${body.id}/verify`);
    expect(valid.body).toMatchObject({ status: 'valid', statusReason: null });
    expect(valid.body.verifiedAt).toBeTruthy();
    expect(ok.isDone()).toBe(true);
    nock('https://api.openai.com').get('/v1/models').reply(401, { error: { message: `Incorrect API key provided: ${apiKey}`, code: 'invalid_api_key' } });
    const invalid = await as(h, cast.admin).post(`/api/v1/providers/${body.id}/verify`);
    expect(invalid.body).toMatchObject({ status: 'invalid', statusReason: 'auth' });
    expect(JSON.stringify(invalid.body)).not.toContain(apiKey);
  });

  test('a connection used by an instance cannot be deleted, but can be disabled', async () => {
    const { body } = await createSystem('In use');
    const instance = await as(h, cast.admin).post('/api/v1/instances', { name: 'Grader', providerId: body.id, model: 'gpt-4o-mini', scope: 'system', params: { temperature: 0.2 } });
    expect(instance.status).toBe(201);
    const refused = await as(h, cast.admin).delete(`/api/v1/providers/${body.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.details.instances).toEqual([{ id: instance.body.id, name: 'Grader' }]);
    const disabled = await as(h, cast.admin).patch(`/api/v1/providers/${body.id}`, { disabled: true });
    expect(disabled.body.disabled).toBe(true);
    expect(await Provider.count({ where: { id: body.id } })).toBe(1);
  });

  describe('bad input gets a 4xx naming the field, and stores nothing', () => {
    const valid = () => ({ kind: 'openai', label: 'ok', apiKey: OPENAI_KEY() });
    test.each([
      ['an unknown kind', { kind: 'mistral' }, 'kind'],
      ['__proto__ as kind', { kind: '__proto__' }, 'kind'],
      ['constructor as kind', { kind: 'constructor' }, 'kind'],
      ['OpenAI with capitals', { kind: 'OpenAI' }, 'kind'],
      ['a kind with a space', { kind: ' openai' }, 'kind'],
      ['an empty key', { apiKey: '' }, 'apiKey'],
      ['a whitespace key', { apiKey: '    ' }, 'apiKey'],
      ['a key with a newline', { apiKey: 'sk-abcdefghijklmnopqrstuvwx\nyz' }, 'apiKey'],
      ['a key of the wrong format', { apiKey: 'hf_abcdefghijklmnopqrstuvwxyz' }, 'apiKey'],
      ['a label over 200 characters', { label: 'x'.repeat(201) }, 'label'],
      ['a non-https base URL', { baseUrl: 'http://api.example.com/v1' }, 'baseUrl'],
      ['a private base URL', { baseUrl: 'https://10.1.2.3/v1' }, 'baseUrl'],
      ['an OpenAI-compatible connection without a base URL', { kind: 'openai_compatible', apiKey: 'anything-goes' }, 'baseUrl'],
    ])('%s', async (_label, change, field) => {
      const before = await Provider.count();
      const res = await as(h, cast.instructor).post('/api/v1/providers', { ...valid(), ...change });
      expect(res.status).toBe(400);
      expect(res.body.error.fields.map((f: { field: string }) => f.field)).toContain(field);
      const key = (change as { apiKey?: string }).apiKey;
      if (key && key.trim()) expect(JSON.stringify(res.body)).not.toContain(key);
      expect(await Provider.count()).toBe(before);
    });

    test('__proto__ as a key name is ignored, and so are tenant, owner and ciphertext fields', async () => {
      const body = JSON.parse(`{"__proto__": {"polluted": true}, "kind": "openai", "label": "mass", "apiKey": "${OPENAI_KEY()}", "deploymentId": "${randomUUID()}", "ownerUserId": "${randomUUID()}", "ownerType": "system", "apiConfig": {"secret": "x"}, "keyHint": "zzzz"}`);
      const res = await as(h, cast.instructor).post('/api/v1/providers', body);
      expect(res.status).toBe(201);
      expect(res.body.owner.type).toBe('instructor');
      expect(res.body.keyHint).not.toBe('zzzz');
      const row = await Provider.findByPk(res.body.id);
      expect(row!.deploymentId).not.toBe(body.deploymentId);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  describe('instances', () => {
    let providerId: string;
    beforeAll(async () => {
      providerId = (await as(h, cast.instructor).post('/api/v1/providers', { kind: 'anthropic', label: 'Claude', apiKey: `sk-ant-${randomUUID()}` })).body.id;
    });

    test.each([
      ['temperature over Anthropic\u2019s range', { temperature: 1.5 }, 'params.temperature'],
      ['negative temperature', { temperature: -0.1 }, 'params.temperature'],
      ['temperature as a string', { temperature: '0.7abc' }, 'params.temperature'],
      ['maxTokens of 0', { maxTokens: 0 }, 'params.maxTokens'],
      ['maxTokens over the model maximum', { maxTokens: 64001 }, 'params.maxTokens'],
      ['a fractional maxTokens', { maxTokens: 10.5 }, 'params.maxTokens'],
    ])('%s → 400', async (_label, params, field) => {
      const res = await as(h, cast.instructor).post('/api/v1/instances', { name: 'x', providerId, model: 'claude-haiku-4-5', params });
      expect(res.status).toBe(400);
      expect(res.body.error.fields.map((f: { field: string }) => f.field)).toContain(field);
    });

    test('1e309 (Infinity) is refused', async () => {
      const res = await as(h, cast.instructor)
        .post('/api/v1/instances')
        .set('content-type', 'application/json')
        .send(`{"name":"x","providerId":"${providerId}","model":"claude-haiku-4-5","params":{"temperature":1e309}}`);
      expect(res.status).toBe(400);
    });

    test('an unknown or foreign providerId is refused naming the field', async () => {
      const foreign = (await as(h, cast.otherInstructor).post('/api/v1/providers', { kind: 'openai', label: 'theirs', apiKey: OPENAI_KEY() })).body.id;
      for (const id of [randomUUID(), foreign, 'not-a-uuid']) {
        const res = await as(h, cast.instructor).post('/api/v1/instances', { name: 'x', providerId: id, model: 'gpt-4o' });
        expect(res.status).toBe(400);
        expect(res.body.error.fields[0].field).toBe('providerId');
      }
    });

    test('a valid instance is created; a name over 200 characters is not', async () => {
      const ok = await as(h, cast.instructor).post('/api/v1/instances', { name: 'Haiku grader', providerId, model: 'claude-haiku-4-5', params: { temperature: 0.3, maxTokens: 2000 } });
      expect(ok.status).toBe(201);
      expect(ok.body).toMatchObject({ name: 'Haiku grader', owner: { type: 'instructor' }, isDefault: false });
      const long = await as(h, cast.instructor).post('/api/v1/instances', { name: 'n'.repeat(201), providerId, model: 'claude-haiku-4-5' });
      expect(long.status).toBe(400);
    });

    test('instructors may build on institution connections unless the admin forbids it', async () => {
      const sys = (await createSystem('Shared for instances')).body;
      const allowed = await as(h, cast.instructor).post('/api/v1/instances', { name: 'On shared', providerId: sys.id, model: 'gpt-4o-mini' });
      expect(allowed.status).toBe(201);
      expect((await as(h, cast.admin).put('/api/v1/settings', { allowInstructorSystemConnections: false })).status).toBe(200);
      const refused = await as(h, cast.instructor).post('/api/v1/instances', { name: 'On shared 2', providerId: sys.id, model: 'gpt-4o-mini' });
      expect(refused.status).toBe(400);
      await as(h, cast.admin).put('/api/v1/settings', { allowInstructorSystemConnections: true });
    });

    test('only admins mark institution instances as defaults', async () => {
      const sys = (await createSystem('Defaults')).body;
      const def = await as(h, cast.admin).post('/api/v1/instances', { name: 'Default grader', providerId: sys.id, model: 'gpt-4o-mini', scope: 'system', isDefault: true });
      expect(def.body.isDefault).toBe(true);
      const mine = await as(h, cast.instructor).post('/api/v1/instances', { name: 'mine', providerId, model: 'claude-haiku-4-5', isDefault: true });
      expect(mine.status).toBe(400);
      expect((await as(h, cast.instructor).patch(`/api/v1/instances/${def.body.id}`, { isDefault: false })).status).toBe(403);
    });
  });

  describe('catalogue and settings', () => {
    test('instructors see the catalogue; unpriced models say so; admins override prices and hide models', async () => {
      const list = (await as(h, cast.instructor).get('/api/v1/models')).body.models;
      const llama = list.find((m: { model: string }) => m.model === 'meta-llama/Llama-3.3-70B-Instruct');
      expect(llama).toMatchObject({ priceUnknown: true, inputPricePerMTok: null });
      const mini = list.find((m: { model: string }) => m.model === 'gpt-4o-mini');
      expect(mini).toMatchObject({ inputPricePerMTok: '0.15', outputPricePerMTok: '0.60', priceUnknown: false });

      const overridden = await as(h, cast.admin).patch(`/api/v1/models/${mini.id}`, { inputPricePerMTok: '0.10' });
      expect(overridden.body).toMatchObject({ inputPricePerMTok: '0.10', priceOverridden: true });
      await as(h, cast.admin).patch(`/api/v1/models/${mini.id}`, { hidden: true });
      const after = (await as(h, cast.instructor).get('/api/v1/models')).body.models.map((m: { id: string }) => m.id);
      expect(after).not.toContain(mini.id);
      expect((await as(h, cast.instructor).patch(`/api/v1/models/${mini.id}`, { hidden: false })).status).toBe(403);
      await as(h, cast.admin).patch(`/api/v1/models/${mini.id}`, { hidden: false, inputPricePerMTok: null });
      const restored = (await as(h, cast.admin).get('/api/v1/models')).body.models.find((m: { id: string }) => m.id === mini.id);
      expect(restored).toMatchObject({ inputPricePerMTok: '0.15', priceOverridden: false, hidden: false });
    });

    test('admins add models; a price that is not a price is refused', async () => {
      const added = await as(h, cast.admin).post('/api/v1/models', { providerKind: 'huggingface', model: 'mistralai/Mistral-7B-Instruct-v0.3', displayName: 'Mistral 7B', contextWindow: 32768, maxOutput: 4096, inputPricePerMTok: '0.20', outputPricePerMTok: '0.20' });
      expect(added.status).toBe(201);
      expect(added.body.source).toBe('admin');
      const bad = await as(h, cast.admin).post('/api/v1/models', { providerKind: 'openai', model: 'x', displayName: 'x', inputPricePerMTok: '1.2.3' });
      expect(bad.status).toBe(400);
    });

    test('settings are admin-only and every change is audited', async () => {
      expect((await as(h, cast.instructor).get('/api/v1/settings')).status).toBe(403);
      const res = await as(h, cast.admin).put('/api/v1/settings', { defaultParams: { temperature: 0.5 } });
      expect(res.body.defaultParams).toMatchObject({ temperature: 0.5, maxTokens: 1500 });
      const bad = await as(h, cast.admin).put('/api/v1/settings', { defaultParams: { temperature: 'hot' } });
      expect(bad.status).toBe(400);
      const events = (await as(h, cast.admin).get('/api/v1/audit')).body.events;
      expect(events[0]).toMatchObject({ action: 'settings.update' });
      // An admin of another deployment sees none of these events.
      const foreign = (await as(h, cast.foreignAdmin).get('/api/v1/audit')).body.events;
      expect(foreign.map((e: { id: string }) => e.id)).not.toContain(events[0].id);
    });
  });
});
