import { randomUUID } from 'node:crypto';
import nock from 'nock';
import { addDeployment } from '../../src/lti/platforms';
import type { FeedbackWorker } from '../../src/feedback/worker';
import { Deployment } from '../../src/models';
import { providerUserId, PROVIDER_USER_ID } from '../../src/privacy/pseudonym';
import { acceptDataNotice, as, OPENAI_KEY } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { anthropicReply, feedbackJson, openaiReply, RUBRIC, settled, startWorker } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { CLAIM } from '../support/platform';
import { dumpAllTables } from '../support/tables';
import { blockOutbound, restoreOutbound } from '../support/outbound';

// Provider requests carry no student identifier. Providers that accept an end-user field get a
// per-deployment salted hash of the user (OpenAI `user`, Anthropic `metadata.user_id`), which only
// this deployment's admins can map back to the person.

describe('pseudonyms in provider requests', () => {
  let h: LtiHarness;
  let worker: FeedbackWorker;
  let admin: string;

  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl: await isolatedDatabaseUrl() }); // a worker runs every due run it sees
    blockOutbound();
    admin = (await h.launch('moodle-admin')).ltik!;
    worker = startWorker(h);
  });
  afterAll(async () => {
    await worker.stop(1000);
    restoreOutbound();
    await h.close();
  });

  test('OpenAI gets the hash as `user` and Anthropic as `metadata.user_id`; neither body holds the sub, name, email or user id', async () => {
    const openai = await as(h, admin).post('/api/v1/providers', { kind: 'openai', label: 'OpenAI', apiKey: OPENAI_KEY(), scope: 'system' });
    const anthropic = await as(h, admin).post('/api/v1/providers', { kind: 'anthropic', label: 'Claude', apiKey: `sk-ant-${randomUUID()}`, scope: 'system' });
    const gpt = (await as(h, admin).post('/api/v1/instances', { name: 'GPT', providerId: openai.body.id, model: 'gpt-4o-mini', scope: 'system', params: { maxTokens: 1000 } })).body.id;
    const claude = (await as(h, admin).post('/api/v1/instances', { name: 'Haiku', providerId: anthropic.body.id, model: 'claude-haiku-4-5', scope: 'system', params: { maxTokens: 1000 } })).body.id;
    const link = { [CLAIM.resourceLink]: { id: `rl-${randomUUID().slice(0, 8)}`, title: 'Essay' } };
    const teacher = (await h.launch('moodle-teacher', { claims: link })).ltik!;
    const assignment = await as(h, teacher).post('/api/v1/assignments', { title: 'Essay', instructions: 'Write.', rubric: RUBRIC, models: [{ instanceId: gpt, runs: 1, weight: 1 }, { instanceId: claude, runs: 1, weight: 1 }] });
    expect(assignment.status).toBe(201);

    const identity = { sub: `sub-${randomUUID()}`, name: `Pia Pseudonym ${randomUUID().slice(0, 6)}`, email: `pia.${randomUUID().slice(0, 6)}@example.edu` };
    const student = (await h.launch('moodle-student', { claims: { ...link, ...identity } })).ltik!;
    await acceptDataNotice(h, student);
    const me = (await as(h, student).get('/api/v1/me')).body;

    const bodies: Record<string, Record<string, any>> = {};
    nock('https://api.openai.com').post('/v1/chat/completions', (b) => ((bodies.openai = b), true)).reply(200, openaiReply(feedbackJson(3, 7)));
    nock('https://api.anthropic.com').post('/v1/messages', (b) => ((bodies.anthropic = b), true)).reply(200, anthropicReply(feedbackJson(4, 8)));
    const submitted = await as(h, student).post(`/api/v1/assignments/${assignment.body.id}/submissions`, { text: 'My essay on homework.' });
    expect(submitted.status).toBe(201);
    expect((await settled(h, teacher, submitted.body.id)).status).toBe('ready');

    const expected = await providerUserId(me.deployment.id, me.user.id);
    expect(expected).toMatch(PROVIDER_USER_ID);
    expect(bodies.openai!.user).toBe(expected);
    expect(bodies.anthropic!.metadata).toEqual({ user_id: expected });
    for (const [provider, body] of Object.entries(bodies)) {
      const text = JSON.stringify(body);
      expect(text).toContain('My essay on homework.'); // the body really is the feedback request
      for (const value of [identity.sub, identity.name, identity.email, me.user.id]) expect({ provider, leaks: text.includes(value) }).toEqual({ provider, leaks: false });
    }

    // Only this deployment's admins map the hash back to the person.
    const found = await as(h, admin).get('/api/v1/privacy/users').query({ pseudonym: expected });
    expect(found.status).toBe(200);
    expect(found.body.users).toEqual([expect.objectContaining({ id: me.user.id, sub: identity.sub, name: identity.name, email: identity.email })]);
    expect((await as(h, admin).get('/api/v1/privacy/users').query({ pseudonym: `ffu-${'0'.repeat(32)}` })).body.users).toEqual([]);
    expect((await as(h, teacher).get('/api/v1/privacy/users').query({ pseudonym: expected })).status).toBe(403);
    const otherDeployment = `dep-${randomUUID().slice(0, 8)}`;
    await addDeployment(h.registration, otherDeployment, 'cli');
    const foreignAdmin = (await h.launch('moodle-admin', { deploymentId: otherDeployment })).ltik!;
    expect((await as(h, foreignAdmin).get('/api/v1/privacy/users').query({ pseudonym: expected })).body.users).toEqual([]);
  });

  test('the salt is per deployment, random, stored once, and never in an answer', async () => {
    const otherDeployment = `dep-${randomUUID().slice(0, 8)}`;
    await addDeployment(h.registration, otherDeployment, 'cli');
    const here = (await as(h, admin).get('/api/v1/me')).body;
    const there = (await Deployment.findOne({ where: { deploymentId: otherDeployment } }))!;
    // The same user (one user row per LMS client) has a different pseudonym in each deployment.
    const [a, b] = await Promise.all([providerUserId(here.deployment.id, here.user.id), providerUserId(there.id, here.user.id)]);
    expect(a).not.toBe(b);
    // Concurrent first uses agree on one salt.
    const fresh = await Deployment.create({ issuer: 'https://salt.example.edu', clientId: 'c', deploymentId: `d-${randomUUID()}` });
    const many = await Promise.all(Array.from({ length: 5 }, () => providerUserId(fresh.id, here.user.id)));
    expect(new Set(many).size).toBe(1);
    const salt = (await Deployment.findByPk(fresh.id))!.pseudonymSalt!;
    expect(salt).toMatch(/^[0-9a-f]{64}$/);
    expect(salt).not.toBe((await Deployment.findByPk(here.deployment.id))!.pseudonymSalt);

    const hereSalt = (await Deployment.findByPk(here.deployment.id))!.pseudonymSalt!;
    for (const url of ['/api/v1/me', '/api/v1/settings', '/api/v1/audit', '/admin/settings', '/admin/privacy?q=a']) {
      const res = await as(h, admin).get(url);
      expect({ url, leaks: res.text.includes(hereSalt) }).toEqual({ url, leaks: false });
    }
    // Stored in exactly one place.
    const tables = await dumpAllTables(h.ctx.sequelize);
    expect(Object.entries(tables).filter(([, rows]) => rows.includes(hereSalt)).map(([t]) => t)).toEqual(['deployments']);
  });
});
