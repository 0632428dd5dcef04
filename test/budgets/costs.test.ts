import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { buildPrompt, outputJsonSchema } from '../../src/feedback/prompt';
import { AuditEvent, Run, UsageEntry } from '../../src/models';
import { callRow, recordCall } from '../../src/usage/ledger';
import { as } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { RUBRIC, settled, startWorker } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { CALL_MICROS, HeldLlm, setUpCourse, startHeldLlm, until, USAGE } from './support';

// The usage ledger, unpriced models, the 80% warning and the 100% stop, who may read usage, and
// the estimate, through the real app, worker and database.

// Worker processes boot tsx and the CPU is shared: these tests get more than the default 30 s.
jest.setTimeout(90_000);

describe('costs', () => {
  let h: LtiHarness;
  let llm: HeldLlm;
  beforeAll(async () => {
    llm = await startHeldLlm();
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl: await isolatedDatabaseUrl() });
  });
  afterAll(async () => {
    await llm.close();
    await h.close();
  });

  async function submitAndSettle(course: Awaited<ReturnType<typeof setUpCourse>>, text = `Essay ${randomUUID()}`) {
    const student = await course.student();
    const sub = await as(h, student).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text });
    expect(sub.status).toBe(201);
    const worker = startWorker(h);
    try {
      return { id: sub.body.id as string, view: await settled(h, course.teacher, sub.body.id, 30000) };
    } finally {
      await worker.stop(1000);
    }
  }

  test('10 000 ledger rows of known tokens × price sum to the exact integer micro-dollars', async () => {
    const course = await setUpCourse(h, llm.url, { runs: 1 });
    const deploymentId = (await as(h, course.admin).get('/api/v1/me')).body.deployment.id;
    // $0.15 in and $0.60 out per 1M tokens; tokens vary per row so rounding happens on most rows.
    const price = { inputMicrosPerMTok: 150_000, outputMicrosPerMTok: 600_000 };
    const ctx = { deploymentId, providerId: course.providerId, providerKind: 'openai_compatible', ownerType: 'system', ownerUserId: null, instructorUserId: course.teacherId, assignmentId: course.assignmentId, model: 'ledger-model' };
    let expected = 0;
    const rows = [];
    for (let i = 0; i < 10_000; i += 1) {
      const tokensIn = 1000 + i;
      const tokensOut = 137 + (i % 50);
      // By hand: 0.15 µ$ per input token and 0.60 µ$ per output token, rounded half up per call.
      expected += Math.floor((tokensIn * 15 + tokensOut * 60 + 50) / 100);
      rows.push(callRow('run_call', ctx, price, { tokensIn, tokensOut, latencyMs: 10, outcome: 'ok' }));
    }
    for (let i = 0; i < rows.length; i += 2000) await UsageEntry.bulkCreate(rows.slice(i, i + 2000));
    const [sum] = await h.ctx.sequelize.query<{ total: string | number }>('SELECT SUM(cost_micros) AS total FROM usage_entries WHERE assignment_id = :id', { replacements: { id: course.assignmentId }, type: QueryTypes.SELECT });
    expect(Number(sum!.total)).toBe(expected);
    const usage = await as(h, course.admin).get(`/api/v1/usage?assignment=${course.assignmentId}`);
    expect(usage.status).toBe(200);
    expect(usage.body.totals).toMatchObject({ costMicros: expected, calls: 10_000, unpricedCalls: 0 });
    // Every stored cost is a whole number of micro-dollars, so sums never drift.
    expect(Number.isInteger(usage.body.totals.costMicros)).toBe(true);
  });

  test('every provider call is a ledger row: run calls with their repair retry, and "Test connection"', async () => {
    const course = await setUpCourse(h, llm.url, { runs: 1 });
    llm.nextTexts.push('this is not JSON');
    const { id, view } = await submitAndSettle(course);
    expect(view.status).toBe('ready');
    const run = (await Run.findOne({ where: { submissionId: id } }))!;
    const entries = await UsageEntry.findAll({ where: { runId: run.id }, order: [['createdAt', 'ASC']] });
    expect(entries.map((e) => [e.entryType, e.tokensIn, e.tokensOut, e.costMicros, e.unpriced, e.outcome])).toEqual([
      ['run_call', USAGE.prompt_tokens, USAGE.completion_tokens, CALL_MICROS, false, 'ok'],
      ['run_call', USAGE.prompt_tokens, USAGE.completion_tokens, CALL_MICROS, false, 'ok'],
    ]);
    expect(entries[0]).toMatchObject({ priceInputMicros: 1_000_000, priceOutputMicros: 4_000_000, providerId: course.providerId, instanceId: course.instanceId, instructorUserId: course.teacherId, assignmentId: course.assignmentId, ownerType: 'system' });
    expect(run.costMicros).toBe(2 * CALL_MICROS);

    const verify = await as(h, course.admin).post(`/api/v1/providers/${course.providerId}/verify`);
    expect(verify.status).toBe(200);
    const checks = await UsageEntry.findAll({ where: { providerId: course.providerId, entryType: 'verify' } });
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ tokensIn: 0, tokensOut: 0, costMicros: 0, unpriced: false });
    // Append-only: the model refuses to change or remove a row.
    await expect(entries[0]!.update({ costMicros: 0 })).rejects.toThrow(/append-only/);
    await expect(entries[0]!.destroy()).rejects.toThrow(/append-only/);
    await expect(UsageEntry.update({ costMicros: 0 }, { where: { id: entries[0]!.id } })).rejects.toThrow(/append-only/);
    await expect(UsageEntry.update({ costMicros: 0, instructorUserId: null }, { where: { id: entries[0]!.id } })).rejects.toThrow(/append-only/);
  });

  test('a call is in the ledger before the next call starts: the repair retry never holds the first call\'s row', async () => {
    const course = await setUpCourse(h, llm.url, { runs: 1 });
    llm.nextTexts.push('this is not JSON');
    llm.holdAfter = llm.requests + 1; // the first call answers (invalid), the repair retry waits
    const student = await course.student();
    const sub = await as(h, student).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: `Essay ${randomUUID()}` });
    expect(sub.status).toBe(201);
    const worker = startWorker(h);
    try {
      await until('the repair retry is in flight', () => llm.inFlight === 1 && llm.requests === llm.holdAfter! + 1);
      const run = (await Run.findOne({ where: { submissionId: sub.body.id } }))!;
      expect(await UsageEntry.count({ where: { runId: run.id } })).toBe(1);
      llm.release();
      await settled(h, course.teacher, sub.body.id, 30000);
      // The retry's row committed with the run's result.
      expect(await UsageEntry.count({ where: { runId: run.id } })).toBe(2);
      expect((await Run.findByPk(run.id))!.costMicros).toBe(2 * CALL_MICROS);
    } finally {
      llm.release();
      await worker.stop(1000);
    }
  });

  test('an unpriced model is recorded with its tokens and never as $0; a budget that forbids it fails the run with the reason', async () => {
    const course = await setUpCourse(h, llm.url, { runs: 1, priced: false });
    const { id } = await submitAndSettle(course);
    const run = (await Run.findOne({ where: { submissionId: id } }))!;
    expect(run.costMicros).toBeNull();
    const [entry] = await UsageEntry.findAll({ where: { runId: run.id } });
    expect(entry).toMatchObject({ tokensIn: USAGE.prompt_tokens, tokensOut: USAGE.completion_tokens, costMicros: null, unpriced: true });
    const usage = await as(h, course.teacher).get(`/api/v1/usage?assignment=${course.assignmentId}`);
    expect(usage.body.totals).toMatchObject({ calls: 1, unpricedCalls: 1, costMicros: 0 });
    const estimate = await as(h, course.teacher).get(`/api/v1/assignments/${course.assignmentId}/estimate`);
    expect(estimate.body).toMatchObject({ priceUnknown: true, lowMicros: null, highMicros: null, low: null, high: null });
    expect(estimate.body.instances[0]).toMatchObject({ priceUnknown: true, perDraftMicros: null });
    const setUp = await as(h, course.teacher).get(`/instructor/assignments/${course.assignmentId}/edit`);
    expect(setUp.text).toContain('Estimated cost');
    expect(setUp.text).toContain('Price unknown');

    const forbid = await as(h, course.admin).put('/api/v1/budgets', { scope: 'connection', scopeId: course.providerId, period: 'month', limitMicros: 1_000_000_000, forbidUnpriced: true });
    expect(forbid.status).toBe(200);
    const before = llm.requests;
    const blocked = await submitAndSettle(course);
    expect(blocked.view.status).toBe('failed');
    const blockedRun = (await Run.findOne({ where: { submissionId: blocked.id } }))!;
    expect(blockedRun).toMatchObject({ status: 'failed', errorCode: 'budget_forbids_unpriced' });
    expect(llm.requests).toBe(before);
    const review = await as(h, course.teacher).get(`/instructor/submissions/${blocked.id}`);
    expect(review.text).toContain('This model has no known price, and a budget that applies forbids models with no known price.');
    await as(h, course.admin).put('/api/v1/budgets', { scope: 'connection', scopeId: course.providerId, period: 'month', limitMicros: null });
  });

  test('the 80% warning and the 100% stop are recorded once and shown to the admin and the instructor', async () => {
    const course = await setUpCourse(h, llm.url, { runs: 2 });
    await submitAndSettle(course);
    const spent = 2 * CALL_MICROS;
    const cap = (limitMicros: number) => as(h, course.teacher).put(`/api/v1/assignments/${course.assignmentId}/budget`, { period: 'total', limitMicros });
    const events = async (action: string, budgetId: string) => AuditEvent.count({ where: { action, targetId: budgetId } });

    const warned = await cap(Math.ceil(spent / 0.9)); // 90% spent
    expect(warned.body.budget).toMatchObject({ spentMicros: spent, spentPercent: 90 });
    const budgetId = warned.body.budget.id;
    expect(await events('budget.warning', budgetId)).toBe(1);
    expect(await events('budget.exhausted', budgetId)).toBe(0);
    const adminPage = await as(h, course.admin).get('/admin/usage');
    expect(adminPage.status).toBe(200);
    expect(adminPage.text).toMatch(/The budget “Budget essay [^”]+” is 90% spent\./);
    const teacherPage = await as(h, course.teacher).get(`/instructor/assignments/${course.assignmentId}`);
    expect(teacherPage.text).toMatch(/is 90% spent\./);

    await cap(spent); // 100%: new runs stop
    await cap(spent);
    expect(await events('budget.warning', budgetId)).toBe(1);
    expect(await events('budget.exhausted', budgetId)).toBe(1);
    const student = await course.student();
    const sub = await as(h, student).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: 'Over budget.' });
    const before = llm.requests;
    const worker = startWorker(h);
    try {
      await until('both runs wait for budget', async () => (await Run.count({ where: { submissionId: sub.body.id, status: 'budget_wait' } })) === 2);
    } finally {
      await worker.stop(1000);
    }
    expect(llm.requests).toBe(before);
    const progress = await as(h, course.teacher).get(`/api/v1/assignments/${course.assignmentId}/progress`);
    expect(progress.body).toMatchObject({ waitingForBudget: 2 });
    const page = await as(h, course.teacher).get(`/instructor/assignments/${course.assignmentId}`);
    expect(page.text).toContain('is used up (100% spent)');
    expect(page.text).toContain('model runs are waiting because a spending budget');

    // Raising the cap lets them run: nothing was dropped.
    await cap(spent * 10);
    const worker2 = startWorker(h);
    try {
      expect((await settled(h, course.teacher, sub.body.id, 30000)).status).toBe('ready');
    } finally {
      await worker2.stop(1000);
    }
  });

  test('an instructor reads only their own usage; another instructor\u2019s is 404; a student reaches nothing', async () => {
    const mine = await setUpCourse(h, llm.url, { runs: 1 });
    const theirs = await setUpCourse(h, llm.url, { runs: 1 });
    await submitAndSettle(mine);
    await submitAndSettle(theirs);
    const own = await as(h, mine.teacher).get('/api/v1/usage');
    expect(own.status).toBe(200);
    expect(own.body.byAssignment.map((g: { key: string }) => g.key)).toEqual([mine.assignmentId]);
    expect(JSON.stringify(own.body)).not.toContain(theirs.assignmentId);
    expect((await as(h, mine.teacher).get(`/api/v1/usage?instructor=${theirs.teacherId}`)).status).toBe(404);
    expect((await as(h, mine.teacher).get(`/api/v1/usage?assignment=${theirs.assignmentId}`)).status).toBe(404);
    expect((await as(h, mine.teacher).get('/api/v1/budgets')).status).toBe(403);
    expect((await as(h, mine.teacher).put('/api/v1/budgets', { scope: 'deployment', limitMicros: 1 })).status).toBe(403);
    // The admin sees the deployment, both instructors included.
    const all = await as(h, mine.admin).get('/api/v1/usage');
    const keys = all.body.byInstructor.map((g: { key: string }) => g.key);
    expect(keys).toEqual(expect.arrayContaining([mine.teacherId, theirs.teacherId]));

    const student = await mine.student();
    for (const url of ['/api/v1/usage', '/api/v1/budgets', `/api/v1/assignments/${mine.assignmentId}/estimate`, `/api/v1/assignments/${mine.assignmentId}/budget`, '/admin/usage', '/admin/usage.csv', '/instructor/usage']) {
      expect([url, (await as(h, student).get(url)).status]).toEqual([url, 403]);
    }
    const csv = await as(h, mine.admin).get('/admin/usage.csv');
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.text.split('\n')[0]).toBe('time,type,connection,connection_owner,instructor,assignment,model,tokens_in,tokens_out,cost_usd,unpriced,outcome,latency_ms');
    expect(csv.text).toContain('0.001800');
    expect(csv.text).not.toMatch(/local-[0-9a-f-]{36}|127\.0\.0\.1/);
  });

  test('the estimate matches a hand-computed example, with the class size typed or from the roster', async () => {
    // $1.00 in, $4.00 out per 1M tokens: a call costs tokens in + 4 × tokens out micro-dollars.
    const course = await setUpCourse(h, llm.url, { runs: 2, maxTokens: 1000, maxDrafts: 3 });
    const noRoster = { ...course.resourceLink, 'https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice': undefined };
    const teacher = (await h.launch('moodle-teacher', { claims: { ...noRoster, sub: `t-${randomUUID()}`, name: 'No Roster' } })).ltik!;
    const put = await as(h, teacher).put(`/api/v1/assignments/${course.assignmentId}`, { expectedStudents: 30 });
    expect(put.status).toBe(200);
    const prompt = buildPrompt({ assignmentTitle: put.body.title, instructions: 'Argue for or against homework.', rubric: RUBRIC, draftNumber: 1, maxDrafts: 3, submissionText: '' });
    const overhead = prompt.messages.reduce((n, m) => n + m.content.length, 0) + JSON.stringify(outputJsonSchema(RUBRIC)).length;
    const inLow = Math.ceil((overhead + 3000) / 4);
    const inHigh = Math.ceil((overhead + 50000) / 4);
    // low: 30 students × 1 draft × 2 runs × (inLow + 4 × 500); high: 30 × 3 drafts × 2 runs × (inHigh + 4 × 1000)
    const low = 30 * 1 * 2 * (inLow + 4 * 500);
    const high = 30 * 3 * 2 * (inHigh + 4 * 1000);

    const res = await as(h, teacher).get(`/api/v1/assignments/${course.assignmentId}/estimate`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ students: 30, studentsSource: 'instructor', drafts: { low: 1, high: 3 }, lowMicros: low, highMicros: high, priceUnknown: false });
    expect(res.body.instances[0]).toMatchObject({ runs: 2, inputTokens: { low: inLow, high: inHigh }, outputTokens: { low: 500, high: 1000 } });

    // The launch with the roster claim: the class size is the number of learners NRPS lists.
    const learners = h.platform.roster.members().filter((m) => m.roles.some((r) => /Learner$/.test(r))).length;
    expect(learners).toBeGreaterThan(0);
    const fromRoster = await as(h, course.teacher).get(`/api/v1/assignments/${course.assignmentId}/estimate`);
    expect(fromRoster.body).toMatchObject({ students: learners, studentsSource: 'nrps', lowMicros: learners * 2 * (inLow + 2000), highMicros: learners * 3 * 2 * (inHigh + 4000) });
    const page = await as(h, course.teacher).get(`/instructor/assignments/${course.assignmentId}`);
    expect(page.text).toContain('Estimated cost');
  });
});
