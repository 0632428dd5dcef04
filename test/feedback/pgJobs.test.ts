import { randomUUID } from 'node:crypto';
import type nockType from 'nock';
import { QueryTypes } from 'sequelize';
import PgBoss from 'pg-boss';
import { parseDatabaseUrl } from '../../src/config';
import { RunJobs, runJobsFor } from '../../src/feedback/runJobs';
import { FeedbackWorker } from '../../src/feedback/worker';
import { Run, Submission } from '../../src/models';
import { acceptDataNotice, as, OPENAI_KEY } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { feedbackJson, openaiReply, RUBRIC, settled, startWorker } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { isPostgres, REPO_ROOT } from '../support/paths';

// PostgreSQL only: runs travel as pg-boss jobs, written in the submission's transaction.
const describePostgres = isPostgres() ? describe : describe.skip;

// nock is loaded only when the suite runs: importing it activates it, and a skipped suite's hooks
// never run to hand the shared http module back.
let nock: typeof nockType;

describePostgres('pg-boss jobs on PostgreSQL', () => {
  let h: LtiHarness;
  let teacher: string;
  let student: string;
  let assignmentId: string;

  const jobsFor = async (runIds: string[]) =>
    h.ctx.sequelize.query<{ state: string }>("SELECT state FROM pgboss.job WHERE name = 'feedback-runs' AND data->>'runId' IN (:ids)", {
      replacements: { ids: runIds.length ? runIds : ['none'] },
      type: QueryTypes.SELECT,
    });

  beforeAll(async () => {
    nock = (await import('nock')).default;
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl: await isolatedDatabaseUrl() });
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1|localhost/);
    const admin = (await h.launch('moodle-admin')).ltik!;
    const provider = await as(h, admin).post('/api/v1/providers', { kind: 'openai', label: 'OpenAI', apiKey: OPENAI_KEY(), scope: 'system' });
    const instance = await as(h, admin).post('/api/v1/instances', { name: 'GPT', providerId: provider.body.id, model: 'gpt-4o-mini', scope: 'system' });
    teacher = (await h.launch('moodle-teacher')).ltik!;
    const assignment = await as(h, teacher).post('/api/v1/assignments', { title: 'Jobs', instructions: 'Write.', rubric: RUBRIC, models: [{ instanceId: instance.body.id, runs: 2, weight: 1 }], maxDrafts: 10 });
    assignmentId = assignment.body.id;
    student = (await h.launch('moodle-student')).ltik!;
    await acceptDataNotice(h, student);
  });
  afterAll(async () => {
    nock.cleanAll();
    nock.enableNetConnect();
    nock.restore();
    await h.close();
  });

  test('a submission writes one job per run in its own transaction', async () => {
    const sub = await as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: `Jobs ${randomUUID()}` });
    expect(sub.status).toBe(201);
    const runs = await Run.findAll({ where: { submissionId: sub.body.id } });
    expect(runs).toHaveLength(2);
    expect(await jobsFor(runs.map((r) => r.id))).toEqual([{ state: 'created' }, { state: 'created' }]);
  });

  test('sending a waiting run again adds no second job (the sweep re-sends every due run)', async () => {
    const sub = await as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: `Sent twice ${randomUUID()}` });
    expect(sub.status).toBe(201);
    const runIds = (await Run.findAll({ where: { submissionId: sub.body.id } })).map((r) => r.id);
    await runJobsFor(h.ctx.sequelize)!.enqueue(h.ctx.sequelize, runIds);
    await runJobsFor(h.ctx.sequelize)!.enqueue(h.ctx.sequelize, [runIds[0]!]);
    expect(await jobsFor(runIds)).toEqual([{ state: 'created' }, { state: 'created' }]);
  });

  test('processes starting together on a new database all start, with one run queue (pg-boss deadlocked creating it)', async () => {
    // The deadlock is a race: three new databases, four processes each.
    for (let round = 0; round < 3; round += 1) {
      const url = await isolatedDatabaseUrl();
      const settings = parseDatabaseUrl(url, REPO_ROOT);
      if (typeof settings === 'string' || settings.dialect !== 'postgres') throw new Error(`not a PostgreSQL URL: ${settings}`);
      const started = await Promise.allSettled(Array.from({ length: 4 }, () => RunJobs.start(settings, { supervise: false })));
      const check = new PgBoss({ connectionString: url, schema: 'pgboss', supervise: false, schedule: false });
      try {
        expect(started.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
        await check.start();
        expect((await check.getQueues()).map((q) => [q.name, q.policy])).toEqual([['feedback-runs', 'short']]);
      } finally {
        await check.stop({ graceful: false, wait: true });
        await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
      }
    }
  });

  test('a failure after the jobs were written rolls back the submission, its runs and its jobs', async () => {
    const jobs = runJobsFor(h.ctx.sequelize)!;
    const original = jobs.enqueue.bind(jobs);
    let enqueued: string[] = [];
    const spy = jest.spyOn(jobs, 'enqueue').mockImplementationOnce(async (sequelize, runIds, transaction) => {
      await original(sequelize, runIds, transaction);
      enqueued = runIds;
      throw new Error('crash after the jobs were written');
    });
    const before = await Submission.count();
    const res = await as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: `Rollback ${randomUUID()}` });
    spy.mockRestore();
    expect(res.status).toBe(500);
    expect(enqueued).toHaveLength(2);
    expect(await Submission.count()).toBe(before);
    expect(await Run.count({ where: { id: enqueued } })).toBe(0);
    expect(await jobsFor(enqueued)).toEqual([]);
  });

  test('workers take the jobs; a duplicated job for a finished run makes no second provider call', async () => {
    const openai = nock('https://api.openai.com').post('/v1/chat/completions').times(2).reply(200, openaiReply(feedbackJson(3, 7)));
    const worker: FeedbackWorker = startWorker(h);
    try {
      const pending = await Submission.findAll({ where: { assignmentId }, attributes: ['id'] });
      for (const s of pending) await settled(h, teacher, s.id, 15000);
      expect(openai.isDone()).toBe(true);
      const done = await Run.findAll({ where: { status: 'succeeded' } });
      expect(done.length).toBeGreaterThanOrEqual(2);
      expect((await jobsFor(done.map((r) => r.id))).every((j) => j.state === 'completed')).toBe(true);

      // Re-deliver a job for a finished run: the claim refuses it, nothing is called.
      await runJobsFor(h.ctx.sequelize)!.enqueue(h.ctx.sequelize, [done[0]!.id]);
      const extra = nock('https://api.openai.com').post('/v1/chat/completions').reply(200, openaiReply(feedbackJson(1, 1)));
      for (let i = 0; i < 40 && (await jobsFor([done[0]!.id])).some((j) => j.state !== 'completed'); i += 1) await new Promise((r) => setTimeout(r, 50));
      expect((await jobsFor([done[0]!.id])).every((j) => j.state === 'completed')).toBe(true);
      expect(extra.isDone()).toBe(false);
      expect(await Run.findByPk(done[0]!.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    } finally {
      await worker.stop(1000);
    }
  });
});
