import { randomUUID } from 'node:crypto';
import nock from 'nock';
import { FeedbackWorker } from '../../src/feedback/worker';
import { Run, Submission } from '../../src/models';
import { acceptDataNotice, as, OPENAI_KEY } from '../support/api';
import { anthropicReply, feedbackJson, openaiReply, RUBRIC, settled, startWorker } from '../support/feedback';

/** Blocks real outbound HTTP except the local test platform. */
import { isolatedDatabaseUrl } from '../support/db';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { blockOutbound, restoreOutbound } from '../support/outbound';
import { isPostgres } from '../support/paths';

// The whole pipeline through real launches, the real API and the real worker; only the LLM
// providers are mocked (nock), at their HTTP wire format.

describe('feedback pipeline', () => {
  let h: LtiHarness;
  let admin: string;
  let teacher: string;
  let worker: FeedbackWorker;
  const keys = { openai: OPENAI_KEY(), anthropic: `sk-ant-${randomUUID()}` };
  const instances: Record<string, string> = {};

  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl: await isolatedDatabaseUrl() }); // a worker runs every due run it sees
    blockOutbound();
    admin = (await h.launch('moodle-admin')).ltik!;
    teacher = (await h.launch('moodle-teacher')).ltik!;
    const openai = await as(h, admin).post('/api/v1/providers', { kind: 'openai', label: 'OpenAI', apiKey: keys.openai, scope: 'system' });
    const anthropic = await as(h, admin).post('/api/v1/providers', { kind: 'anthropic', label: 'Claude', apiKey: keys.anthropic, scope: 'system' });
    instances.gpt = (await as(h, admin).post('/api/v1/instances', { name: 'GPT mini', providerId: openai.body.id, model: 'gpt-4o-mini', scope: 'system', params: { temperature: 0.2, maxTokens: 1000 } })).body.id;
    instances.claude = (await as(h, admin).post('/api/v1/instances', { name: 'Haiku', providerId: anthropic.body.id, model: 'claude-haiku-4-5', scope: 'system', params: { temperature: 0.2, maxTokens: 1000 } })).body.id;
    worker = startWorker(h);
  });
  afterAll(async () => {
    await worker.stop(1000);
    restoreOutbound();
    await h.close();
  });
  afterEach(() => nock.cleanAll());

  /** An assignment on a fresh resource link, and a student launch of that link. */
  async function setUp(config: Record<string, unknown>) {
    const link = { id: `rl-${randomUUID().slice(0, 8)}`, title: 'Essay 1' };
    const rl = { 'https://purl.imsglobal.org/spec/lti/claim/resource_link': link };
    const teacherHere = (await h.launch('moodle-teacher', { claims: rl })).ltik!;
    const created = await as(h, teacherHere).post('/api/v1/assignments', {
      title: 'Essay 1',
      instructions: 'Argue for or against homework.',
      rubric: RUBRIC,
      models: [{ instanceId: instances.gpt, runs: 3, weight: 1 }, { instanceId: instances.claude, runs: 3, weight: 2 }],
      releaseMode: 'review',
      gradePassback: true,
      ...config,
    });
    expect(created.status).toBe(201);
    const studentSub = `student-${randomUUID().slice(0, 8)}`;
    const student = await h.launch('moodle-student', { claims: { ...rl, sub: studentSub, name: 'Stu Canary', email: 'stu.canary@example.edu' } });
    h.platform.setLearner(studentSub, true);
    await acceptDataNotice(h, student.ltik!);
    return { assignmentId: created.body.id as string, teacher: teacherHere, student: student.ltik!, studentSub };
  }

  test('2 instances × 3 runs make exactly 6 calls with the right key, host and model; aggregate and release work end to end', async () => {
    const bodies: Array<Record<string, unknown>> = [];
    const capture = (body: Record<string, unknown>) => {
      bodies.push(body);
      return true;
    };
    // OpenAI runs score content 2, 3, 5 and style 6, 7, 8; Anthropic runs content 4, 4, 4 and style 9, 9, 9.
    const openai = nock('https://api.openai.com').matchHeader('authorization', `Bearer ${keys.openai}`);
    for (const [c, s] of [[2, 6], [3, 7], [5, 8]]) openai.post('/v1/chat/completions', capture).reply(200, openaiReply(feedbackJson(c!, s!, 'gpt')));
    const anthropic = nock('https://api.anthropic.com');
    for (let i = 0; i < 3; i += 1) anthropic.post('/v1/messages', capture).reply(200, anthropicReply(feedbackJson(4, 9, 'claude')));

    const { assignmentId, teacher: t, student, studentSub } = await setUp({ aggregation: 'weighted' });
    const submitted = await as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: 'Homework builds habits. 📚 مرحبا' });
    expect(submitted.status).toBe(201);
    expect(submitted.body).toEqual({ id: expect.any(String), status: 'queued' });

    const view = await settled(h, t, submitted.body.id);
    expect(openai.isDone()).toBe(true);
    expect(anthropic.isDone()).toBe(true);
    expect(bodies).toHaveLength(6);
    expect(bodies.filter((b) => b.model === 'gpt-4o-mini')).toHaveLength(3);
    expect(bodies.filter((b) => b.model === 'claude-haiku-4-5')).toHaveLength(3);

    // Weighted by instance weight (gpt 1, claude 2):
    //   content = (2+3+5)·1 + (4+4+4)·2 = 10 + 24 = 34 over weight 3+6 = 9 → 3.78
    //   style   = (6+7+8)·1 + (9+9+9)·2 = 21 + 54 = 75 / 9 → 8.33
    // overall on the Σmax = 15 scale, rubric weights content 2, style 1:
    //   15 × (2·(34/9)/5 + 1·(75/9)/10) / 3 = 15 × (1.5111 + 0.8333) / 3 = 11.72
    const aggregate = view.aggregate as { criteria: Array<{ criterionId: string; score: number; successfulRuns: number }>; overallScore: number };
    expect(aggregate.criteria.find((c) => c.criterionId === 'content')).toMatchObject({ score: 3.78, successfulRuns: 6 });
    expect(aggregate.criteria.find((c) => c.criterionId === 'style')).toMatchObject({ score: 8.33, successfulRuns: 6 });
    expect(aggregate.overallScore).toBeCloseTo(11.72, 2);

    // Privacy: no student name, email or LMS id reaches a provider.
    const sent = JSON.stringify(bodies);
    for (const secret of ['Stu Canary', 'stu.canary@example.edu', studentSub]) expect(sent).not.toContain(secret);
    expect(sent).toContain('Homework builds habits.');

    // The student sees nothing before release.
    const before = await as(h, student).get(`/api/v1/submissions/${submitted.body.id}`);
    expect(before.body.feedback).toBeNull();

    // The instructor edits a score and releases; the grade reaches the gradebook.
    const reviewed = await as(h, t).post(`/api/v1/submissions/${submitted.body.id}/review`, { criteria: [{ criterionId: 'content', score: 4 }], release: true });
    expect(reviewed.status).toBe(200);
    expect(reviewed.body.status).toBe('released');
    expect(reviewed.body.gradebook.status).toBe('sent');
    const score = h.platform.scores.at(-1)!.body as Record<string, unknown>;
    // 15 × (2·4/5 + 8.33/10)/3 → with the stored feedback style score 8.33: 15 × (1.6 + 0.8333)/3 = 12.17
    expect(score).toMatchObject({ userId: studentSub, scoreGiven: 12.17, scoreMaximum: 15, activityProgress: 'Completed', gradingProgress: 'FullyGraded' });
    expect(String(score.comment)).toMatch(/AI-assisted/);

    const after = await as(h, student).get(`/api/v1/submissions/${submitted.body.id}`);
    expect(after.body.feedback).toMatchObject({ label: 'AI-generated feedback', overallScore: 12.17 });
    expect(after.body.feedback.criteria.find((c: { criterionId: string }) => c.criterionId === 'content').score).toBe(4);
    expect(after.body).not.toHaveProperty('aggregate');
  });

  test('a double submit and a duplicated run add no provider call', async () => {
    const openai = nock('https://api.openai.com').post('/v1/chat/completions').times(1).reply(200, openaiReply(feedbackJson(3, 7)));
    const { assignmentId, teacher: t, student } = await setUp({ models: [{ instanceId: instances.gpt, runs: 1, weight: 1 }] });
    const [a, b] = await Promise.all([
      as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: 'Same text twice.' }),
      as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: 'Same text twice.' }),
    ]);
    expect(a.body.id).toBe(b.body.id);
    const view = await settled(h, t, a.body.id);
    expect(view.status).toBe('ready');
    expect(openai.isDone()).toBe(true);
    expect(await Run.count({ where: { submissionId: a.body.id } })).toBe(1);
    // Re-queue the finished run as a duplicate job would: the claim refuses it, no second call.
    const run = await Run.findOne({ where: { submissionId: a.body.id } });
    const { claimRunWithinLimit } = await import('../../src/feedback/connectionSlots');
    expect(await claimRunWithinLimit(h.ctx.sequelize, run!, 8, 60000)).toBe('gone');
  });

  // PostgreSQL only: on SQLite the request waits for the open transaction before it reads the drafts
  // (one writer per process, src/db/connection.ts writeGate), so it never loses this way there; the
  // driver test checks that SQLite's duplicate-key error is recognised too.
  (isPostgres() ? test : test.skip)('a submission that loses the race for its draft number answers with the draft that won (200), never a second one or a 500', async () => {
    nock('https://api.openai.com').persist().post('/v1/chat/completions').reply(200, openaiReply(feedbackJson(3, 7)));
    const { assignmentId, student } = await setUp({ models: [{ instanceId: instances.gpt, runs: 1, weight: 1 }], maxDrafts: 3 });
    const first = await as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: 'First draft.' });
    expect(first.status).toBe(201);
    const draft1 = (await Submission.findByPk(first.body.id))!;
    let racing: Promise<{ status: number; body: { id: string } }> | undefined;
    // Draft 2 is written but not committed while the student submits again: that request counts one
    // draft, so it writes draft 2 as well, and the unique index refuses it once the first commits.
    const winner = await h.ctx.sequelize.transaction(async (transaction) => {
      const row = await Submission.create({ deploymentId: draft1.deploymentId, assignmentId, userId: draft1.userId, draftNumber: 2, text: 'The winner.', textSha256: 'f'.repeat(64), status: 'queued' }, { transaction });
      racing = as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: 'The loser.' }).then((res) => res);
      await new Promise((resolve) => setTimeout(resolve, 300));
      return row;
    });
    const lost = await racing!;
    expect(lost.status).toBe(200);
    expect(lost.body.id).toBe(winner.id);
    expect(await Submission.count({ where: { assignmentId, userId: draft1.userId } })).toBe(2);
    expect(await Run.count({ where: { submissionId: winner.id } })).toBe(0); // the loser's runs went with its transaction
    nock.cleanAll();
  });

  test('a 429 with retry-after is retried after the wait and then succeeds', async () => {
    const scope = nock('https://api.openai.com')
      .post('/v1/chat/completions').reply(429, { error: { message: 'slow down', type: 'rate_limit' } }, { 'retry-after': '1' })
      .post('/v1/chat/completions').reply(200, openaiReply(feedbackJson(3, 7)));
    const { assignmentId, teacher: t, student } = await setUp({ models: [{ instanceId: instances.gpt, runs: 1, weight: 1 }] });
    const started = Date.now();
    const sub = await as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: 'Rate limited text.' });
    const view = await settled(h, t, sub.body.id);
    expect(view.status).toBe('ready');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(scope.isDone()).toBe(true);
    const run = await Run.findOne({ where: { submissionId: sub.body.id } });
    expect(run).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  test('500s are retried up to the limit, then the run fails with its reason', async () => {
    const scope = nock('https://api.openai.com').post('/v1/chat/completions').times(4).reply(500, { error: { message: 'boom' } });
    const { assignmentId, teacher: t, student } = await setUp({ models: [{ instanceId: instances.gpt, runs: 1, weight: 1 }] });
    const sub = await as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: 'Server errors.' });
    const view = await settled(h, t, sub.body.id);
    expect(view.status).toBe('failed');
    expect(scope.isDone()).toBe(true);
    const run = await Run.findOne({ where: { submissionId: sub.body.id } });
    expect(run).toMatchObject({ status: 'failed', errorCode: 'unavailable', attempts: 4 });
    const progress = await as(h, t).get(`/api/v1/assignments/${assignmentId}/progress`);
    expect(progress.body.failures).toEqual({ unavailable: 1 });
  });

  test('a 401 fails at once with auth and is not retried', async () => {
    const scope = nock('https://api.openai.com').post('/v1/chat/completions').once().reply(401, { error: { message: `Incorrect API key provided: ${keys.openai}` } });
    const { assignmentId, teacher: t, student } = await setUp({ models: [{ instanceId: instances.gpt, runs: 1, weight: 1 }] });
    const sub = await as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: 'Bad key.' });
    const view = await settled(h, t, sub.body.id);
    expect(view.status).toBe('failed');
    expect(scope.isDone()).toBe(true);
    expect(await Run.findOne({ where: { submissionId: sub.body.id } })).toMatchObject({ errorCode: 'auth', attempts: 1 });
    expect(JSON.stringify(view)).not.toContain(keys.openai);
  });

  test('invalid JSON then valid JSON on the repair passes; two invalid answers fail with invalid_output', async () => {
    nock('https://api.openai.com')
      .post('/v1/chat/completions').reply(200, openaiReply('Here is my feedback: great job!'))
      .post('/v1/chat/completions').reply(200, openaiReply(feedbackJson(4, 8)))
      .post('/v1/chat/completions').reply(200, openaiReply('{"criteria": [{"criterionId": "content", "score": 9'))
      .post('/v1/chat/completions').reply(200, openaiReply(feedbackJson(7, 8))); // content 7 > max 5
    const { assignmentId, teacher: t, student } = await setUp({ models: [{ instanceId: instances.gpt, runs: 2, weight: 1 }], quorum: 1 });
    const sub = await as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: 'Repair me.' });
    await settled(h, t, sub.body.id);
    const runs = await Run.findAll({ where: { submissionId: sub.body.id } });
    expect(runs.map((r) => r.status).sort()).toEqual(['invalid_output', 'succeeded']);
    expect(runs.find((r) => r.status === 'invalid_output')!.output).toBeNull();
  });

  test('below the quorum the result needs review and is never auto-released', async () => {
    nock('https://api.openai.com')
      .post('/v1/chat/completions').reply(200, openaiReply(feedbackJson(3, 7)))
      .post('/v1/chat/completions').reply(401, { error: { message: 'no' } });
    const { assignmentId, teacher: t, student } = await setUp({ models: [{ instanceId: instances.gpt, runs: 2, weight: 1 }], releaseMode: 'auto' });
    const sub = await as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: 'Quorum.' });
    const view = await settled(h, t, sub.body.id);
    expect(view.status).toBe('needs_review');
    const aggregate = view.aggregate as { criteria: Array<{ flags: string[]; score: number | null }> };
    expect(aggregate.criteria.every((c) => c.flags.includes('below_quorum') && c.score === null)).toBe(true);
    expect((await Submission.findByPk(sub.body.id))!.releasedAt).toBeNull();
    // Releasing without setting the missing scores is refused.
    const release = await as(h, t).post(`/api/v1/submissions/${sub.body.id}/release`);
    expect(release.status).toBe(409);
  });

  test('a Moodle 400 for a non-student is shown to the instructor and does not block the release', async () => {
    nock('https://api.openai.com').post('/v1/chat/completions').reply(200, openaiReply(feedbackJson(3, 7)));
    const { assignmentId, teacher: t, student, studentSub } = await setUp({ models: [{ instanceId: instances.gpt, runs: 1, weight: 1 }] });
    h.platform.setLearner(studentSub, false);
    const sub = await as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: 'Not a learner.' });
    await settled(h, t, sub.body.id);
    const released = await as(h, t).post(`/api/v1/submissions/${sub.body.id}/release`);
    expect(released.body.status).toBe('released');
    expect(released.body.gradebook).toMatchObject({ status: 'failed', error: expect.stringMatching(/students/) });
    h.platform.setLearner(studentSub, true);
    const retried = await as(h, t).post(`/api/v1/submissions/${sub.body.id}/gradebook`);
    expect(retried.body.gradebook.status).toBe('sent');
  });

  test('students cannot see or use configuration, another student\u2019s submission, or submit beyond the draft limit', async () => {
    nock('https://api.openai.com').post('/v1/chat/completions').times(2).reply(200, openaiReply(feedbackJson(3, 7)));
    const { assignmentId, student } = await setUp({ models: [{ instanceId: instances.gpt, runs: 1, weight: 1 }], maxDrafts: 1 });
    const first = await as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: 'Draft one.' });
    expect(first.status).toBe(201);
    const second = await as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: 'Draft two.' });
    expect(second.status).toBe(409);
    expect(second.body.error.message).toMatch(/all 1 drafts/);
    const other = (await h.launch('moodle-student', { claims: { sub: `s-${randomUUID()}` } })).ltik!;
    expect((await as(h, other).get(`/api/v1/submissions/${first.body.id}`)).status).toBe(404);
    expect((await as(h, student).get(`/api/v1/assignments/${assignmentId}`)).status).toBe(403);
    expect((await as(h, teacher).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: 'x' })).status).toBe(403);
    const tooLong = await as(h, student).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: 'x'.repeat(50001) });
    expect(tooLong.status).toBe(413);
  });
});

describe('timeouts', () => {
  let h: LtiHarness;
  let worker: FeedbackWorker;
  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl: await isolatedDatabaseUrl() }); // a worker runs every due run it sees
    blockOutbound();
    worker = new FeedbackWorker({ sequelize: h.ctx.sequelize, keyring: h.ctx.keyring, logger: h.ctx.logger, lti: h.ctx.app.lti, pollMs: 50, retryBaseMs: 20, maxAttempts: 1, callTimeoutMs: 300 });
    worker.start();
  });
  afterAll(async () => {
    await worker.stop(1000);
    restoreOutbound();
    await h.close();
  });

  test('a provider that does not answer in time is aborted and the run fails with timeout', async () => {
    const admin = (await h.launch('moodle-admin')).ltik!;
    const provider = await as(h, admin).post('/api/v1/providers', { kind: 'openai', label: 'Slow', apiKey: OPENAI_KEY(), scope: 'system' });
    const instance = await as(h, admin).post('/api/v1/instances', { name: 'Slow', providerId: provider.body.id, model: 'gpt-4o-mini', scope: 'system' });
    const teacher = (await h.launch('moodle-teacher')).ltik!;
    const assignment = await as(h, teacher).post('/api/v1/assignments', { title: 'T', instructions: 'I', rubric: RUBRIC, models: [{ instanceId: instance.body.id, runs: 1, weight: 1 }] });
    const student = (await h.launch('moodle-student')).ltik!;
    await acceptDataNotice(h, student);
    nock('https://api.openai.com').post('/v1/chat/completions').delay(3000).reply(200, openaiReply(feedbackJson(3, 7)));
    const sub = await as(h, student).post(`/api/v1/assignments/${assignment.body.id}/submissions`, { text: 'Too slow.' });
    const view = await settled(h, teacher, sub.body.id);
    expect(view.status).toBe('failed');
    expect(await Run.findOne({ where: { submissionId: sub.body.id } })).toMatchObject({ status: 'failed', errorCode: 'timeout' });
  });
});
