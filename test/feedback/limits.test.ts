import { randomUUID } from 'node:crypto';
import { startMockLlm } from '../../src/mockLlm/server';
import { FeedbackWorker } from '../../src/feedback/worker';
import { Run } from '../../src/models';
import { acceptDataNotice, as } from '../support/api';
import { RUBRIC, settled } from '../support/feedback';
import { isolatedDatabaseUrl } from '../support/db';
import { LtiHarness, startLtiHarness } from '../support/lti';

// Per-connection limits, observed from the provider's side (the local mock counts calls in flight).

describe('provider limits', () => {
  let h: LtiHarness;
  let mock: Awaited<ReturnType<typeof startMockLlm>>;
  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl: await isolatedDatabaseUrl() }); // a worker runs every due run it sees
    mock = await startMockLlm({ latencyMs: 150 });
  });
  afterAll(async () => {
    await mock.close();
    await h.close();
  });

  async function classOf(runs: number) {
    const admin = (await h.launch('moodle-admin')).ltik!;
    const provider = await as(h, admin).post('/api/v1/providers', { kind: 'openai_compatible', label: `Mock ${randomUUID().slice(0, 4)}`, apiKey: `mock-${randomUUID()}`, baseUrl: mock.url, scope: 'system' });
    const instance = await as(h, admin).post('/api/v1/instances', { name: 'Mock', providerId: provider.body.id, model: 'mock-feedback-1', scope: 'system' });
    const rl = { 'https://purl.imsglobal.org/spec/lti/claim/resource_link': { id: `rl-${randomUUID().slice(0, 8)}` } };
    const teacher = (await h.launch('moodle-teacher', { claims: rl })).ltik!;
    const assignment = await as(h, teacher).post('/api/v1/assignments', { title: 'Limits', instructions: 'Write.', rubric: RUBRIC, models: [{ instanceId: instance.body.id, runs, weight: 1 }], quorum: 1 });
    const student = (await h.launch('moodle-student', { claims: rl })).ltik!;
    await acceptDataNotice(h, student);
    const submission = await as(h, student).post(`/api/v1/assignments/${assignment.body.id}/submissions`, { text: 'Limits text.' });
    expect(submission.status).toBe(201);
    return { teacher, submissionId: submission.body.id as string };
  }

  const worker = (opts: { concurrencyPerConnection?: number; ratePerMinute?: number }) => {
    const w = new FeedbackWorker({ sequelize: h.ctx.sequelize, keyring: h.ctx.keyring, logger: h.ctx.logger, lti: h.ctx.app.lti, pollMs: 50, ...opts });
    w.start();
    return w;
  };

  test('no more than the concurrency limit of calls is ever in flight for one connection', async () => {
    await fetch(mock.url.replace(/\/v1$/, '/_stats/reset'), { method: 'POST' });
    const { teacher, submissionId } = await classOf(8);
    const w = worker({ concurrencyPerConnection: 2 });
    try {
      const view = await settled(h, teacher, submissionId, 20000);
      expect(view.status).toBe('ready');
    } finally {
      await w.stop(1000);
    }
    expect(mock.stats.requests).toBe(8);
    expect(mock.stats.inFlightMax).toBe(2);
  });

  test('a per-minute rate holds the calls beyond it until the window moves', async () => {
    const { submissionId } = await classOf(5);
    const w = worker({ concurrencyPerConnection: 10, ratePerMinute: 3 });
    try {
      // Wait until the first three have finished; the other two must still be queued.
      for (let i = 0; i < 200; i += 1) {
        if ((await Run.count({ where: { submissionId, status: 'succeeded' } })) >= 3) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      await new Promise((r) => setTimeout(r, 300));
      const statuses = (await Run.findAll({ where: { submissionId } })).map((r) => r.status).sort();
      expect(statuses).toEqual(['queued', 'queued', 'succeeded', 'succeeded', 'succeeded']);
    } finally {
      await w.stop(1000);
    }
  });
});
