import { randomUUID } from 'node:crypto';
import nock from 'nock';
import request from 'supertest';
import { FeedbackWorker } from '../../src/feedback/worker';
import { Provider } from '../../src/models';
import { acceptDataNotice } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { feedbackJson, openaiReply, RUBRIC, settled, startWorker } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { dumpAllTables } from '../support/tables';
import { blockOutbound, restoreOutbound } from '../support/outbound';

// The canary key: run every path a key can take, then count it everywhere a person or an attacker
// could look. Responses, headers, every log line (at trace level) and every column of every table
// must hold it zero times; the only copy is inside the Fernet token, where it is encrypted.

const CANARY = `sk-canary${randomUUID().replace(/-/g, '')}`;
const CANARY_TAIL = CANARY.slice(12); // also catch partial leaks (everything but a 4-char hint)

describe('secret canary sweep', () => {
  let h: LtiHarness;
  let worker: FeedbackWorker;
  const seen: string[] = [];

  /** A call through the real app whose whole response (status line, headers, body) is kept for the sweep. */
  async function hit(ltik: string, method: 'get' | 'post' | 'patch' | 'delete', url: string, body?: object) {
    let req = request(h.ctx.app)[method](url).set('Authorization', `Bearer ${ltik}`);
    if (body) req = req.send(body);
    const res = await req;
    seen.push(`${res.status} ${JSON.stringify(res.headers)}\n${res.text}`);
    return res;
  }

  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl: await isolatedDatabaseUrl() });
    blockOutbound();
    worker = startWorker(h, { maxAttempts: 1 });
  });
  afterAll(async () => {
    await worker.stop(1000);
    restoreOutbound();
    await h.close();
  });

  test('the canary key appears nowhere after every path a key can take', async () => {
    const admin = (await h.launch('moodle-admin')).ltik!;
    const teacher = (await h.launch('moodle-teacher')).ltik!;

    // A validation error on save (bad base URL) and a key in the wrong format: refused, key not echoed.
    await hit(admin, 'post', '/api/v1/providers', { kind: 'openai', label: 'x', apiKey: CANARY, baseUrl: 'http://not-https.example', scope: 'system' });
    await hit(admin, 'post', '/api/v1/providers', { kind: 'anthropic', label: 'x', apiKey: CANARY, scope: 'system' });

    // A database error on save: a hook breaks the insert the way a failing database would.
    const breakInsert = (p: Provider) => {
      p.set('label', null as unknown as string);
    };
    Provider.addHook('beforeCreate', 'canary-break', breakInsert);
    const dbError = await hit(admin, 'post', '/api/v1/providers', { kind: 'openai', label: 'db error', apiKey: CANARY, scope: 'system' });
    Provider.removeHook('beforeCreate', 'canary-break');
    expect(dbError.status).toBe(500);

    // Save, list, read, update (without and with the key), verify against a provider that echoes it.
    const created = await hit(admin, 'post', '/api/v1/providers', { kind: 'openai', label: 'Canary', apiKey: CANARY, scope: 'system' });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await hit(admin, 'get', '/api/v1/providers');
    await hit(teacher, 'get', '/api/v1/providers');
    await hit(admin, 'get', `/api/v1/providers/${id}`);
    await hit(admin, 'patch', `/api/v1/providers/${id}`, { label: 'Canary renamed' });
    await hit(admin, 'patch', `/api/v1/providers/${id}`, { apiKey: CANARY });

    const api = nock('https://api.openai.com');
    api.get('/v1/models').reply(200, { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model' }] });
    api.get('/v1/models').reply(401, { error: { message: `Incorrect API key provided: ${CANARY}. You can find your API key at ...`, code: 'invalid_api_key' } }, { 'www-authenticate': `Bearer ${CANARY}` });
    api.get('/v1/models').reply(500, { error: { message: `internal error for key ${CANARY}` } });
    api.get('/v1/models').replyWithError(Object.assign(new Error(`socket hang up ${CANARY}`), { code: 'ECONNRESET' }));
    api.get('/v1/models').replyWithError(Object.assign(new Error(`timeout for ${CANARY}`), { code: 'ETIMEDOUT' }));
    for (let i = 0; i < 5; i += 1) await hit(admin, 'post', `/api/v1/providers/${id}/verify`);
    expect(api.isDone()).toBe(true);

    // A feedback run that gets a provider 200, and one whose 401 echoes the key.
    const instance = await hit(admin, 'post', '/api/v1/instances', { name: 'Canary grader', providerId: id, model: 'gpt-4o-mini', scope: 'system' });
    const created2 = await hit(teacher, 'post', '/api/v1/assignments', { title: 'Canary', instructions: 'Write.', rubric: RUBRIC, models: [{ instanceId: instance.body.id, runs: 1, weight: 1 }] });
    expect(created2.status).toBe(201);
    const student = (await h.launch('moodle-student')).ltik!;
    await acceptDataNotice(h, student);
    nock('https://api.openai.com').post('/v1/chat/completions').reply(200, openaiReply(feedbackJson(3, 7)));
    const ok = await hit(student, 'post', `/api/v1/assignments/${created2.body.id}/submissions`, { text: 'First draft.' });
    await settled(h, teacher, ok.body.id);
    nock('https://api.openai.com').post('/v1/chat/completions').reply(401, { error: { message: `Incorrect API key provided: ${CANARY}` } });
    const bad = await hit(student, 'post', `/api/v1/assignments/${created2.body.id}/submissions`, { text: 'Second draft.' });
    await settled(h, teacher, bad.body.id);
    await hit(teacher, 'get', `/api/v1/submissions/${ok.body.id}`);
    await hit(teacher, 'get', `/api/v1/submissions/${bad.body.id}`);
    await hit(teacher, 'get', `/api/v1/assignments/${created2.body.id}/progress`);
    await hit(admin, 'get', '/api/v1/audit');
    // The export of the student's data (SECURITY.md: exports are swept too).
    const studentId = (await hit(student, 'get', '/api/v1/me')).body.user.id as string;
    expect((await hit(admin, 'get', `/api/v1/privacy/users/${studentId}/export`)).status).toBe(200);

    // Delete a second connection holding the canary.
    const second = await hit(teacher, 'post', '/api/v1/providers', { kind: 'openai', label: 'Mine', apiKey: CANARY });
    await hit(teacher, 'delete', `/api/v1/providers/${second.body.id}`);

    // The sweep.
    const responses = seen.join('\n');
    expect(responses).toContain('Canary renamed'); // the sweep really saw the responses
    expect(responses).not.toContain(CANARY_TAIL);

    const logs = h.ctx.logs.join('');
    expect(logs.length).toBeGreaterThan(1000);
    expect(logs).not.toContain(CANARY_TAIL);

    const tables = await dumpAllTables(h.ctx.sequelize);
    expect(Object.keys(tables)).toEqual(expect.arrayContaining(['providers', 'audit_events', 'runs', 'idtokens']));
    for (const [table, rows] of Object.entries(tables)) {
      expect({ table, leaked: rows.includes(CANARY_TAIL) }).toEqual({ table, leaked: false });
    }
    // The key is really stored (encrypted): the connection still works after all of this.
    expect(JSON.parse(tables.providers!).length).toBeGreaterThan(0);
  });
});
