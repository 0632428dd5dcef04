import { randomUUID } from 'node:crypto';
import { Assignment, AuditEvent, Budget, ModelInstance, Run, Submission, UsageEntry, User } from '../../src/models';
import { setUpCourse, type Course } from '../budgets/support';
import { as } from '../support/api';
import { createProvider } from '../support/factories';
import { feedbackJson, RUBRIC } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { countStatements } from '../support/queryCounter';

// List screens and list APIs run the same number of SQL statements for 2 rows as for 20: every
// row's related data is loaded in one query for the whole list (no query per row, "N+1"). Each
// test counts the statements of one real request, adds rows, and counts again. Rows are written
// straight to the tables (what the app would have written); the requests are real launches.

jest.setTimeout(120_000);

const NO_LLM = 'http://127.0.0.1:9/v1'; // nothing here calls a provider

describe('list screens: statements per request do not grow with rows', () => {
  let h: LtiHarness;
  let course: Course;
  let deploymentId: string;

  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
    course = await setUpCourse(h, NO_LLM, { runs: 2, instances: 2 });
    deploymentId = (await Assignment.findByPk(course.assignmentId))!.deploymentId;
  });
  afterAll(() => h.close());

  /** The statements one GET as this ltik runs (it must answer 200). */
  async function statementsOf(ltik: string, url: string): Promise<string[]> {
    const { result, statements } = await countStatements(h.ctx.sequelize, () => as(h, ltik).get(url));
    expect({ url, status: result.status }).toEqual({ url, status: 200 });
    return statements;
  }

  /** Counts `url` with the rows there are, adds rows with `grow`, counts again: both the same. */
  async function expectFlat(ltik: string, url: string, grow: () => Promise<void>): Promise<number> {
    await statementsOf(ltik, url); // one-time work (catalogue seeding, a salt) happens on a first visit
    const few = await statementsOf(ltik, url);
    await grow();
    const many = await statementsOf(ltik, url);
    // On failure the lists show which statements were added.
    expect({ url, count: many.length, statements: many }).toEqual({ url, count: few.length, statements: expect.any(Array) });
    return few.length;
  }

  const student = async (name: string) =>
    User.create({ issuer: 'https://lms.example.edu', clientId: 'list-test', sub: `student-${randomUUID()}`, name });

  /** A student's draft with feedback and its runs (one failed, so the row offers a retry). */
  async function addSubmission(assignmentId: string, opts: { userId?: string; draftNumber?: number; status?: Submission['status'] } = {}): Promise<void> {
    const userId = opts.userId ?? (await student(`Student ${randomUUID().slice(0, 4)}`)).id;
    const instance = await ModelInstance.findByPk(course.instanceId);
    const submission = await Submission.create({
      deploymentId, assignmentId, userId, draftNumber: opts.draftNumber ?? 1,
      text: 'An essay.', textSha256: randomUUID().replace(/-/g, ''), status: opts.status ?? 'ready',
      feedback: feedbackJson(4, 8), overallScore: null,
    });
    await Run.bulkCreate([0, 1].map((runIndex) => ({
      deploymentId, submissionId: submission.id, instanceId: instance!.id, providerId: instance!.providerId, runIndex,
      idempotencyKey: `${submission.id}:${instance!.id}:${runIndex}`,
      instanceSnapshot: { name: instance!.name, providerId: instance!.providerId, model: instance!.model, params: instance!.params, weight: 1 },
      status: runIndex === 0 ? 'succeeded' as const : 'failed' as const,
      errorCode: runIndex === 0 ? null : 'provider_error',
      output: runIndex === 0 ? feedbackJson(4, 8) : null,
      costMicros: runIndex === 0 ? 1800 : null,
      startedAt: new Date(Date.now() - 2000), finishedAt: new Date(),
    })));
  }

  const times = async (n: number, fn: (i: number) => Promise<void>) => {
    for (let i = 0; i < n; i += 1) await fn(i);
  };

  test('progress page, its submissions and progress APIs: 2 submissions and 20', async () => {
    await times(2, () => addSubmission(course.assignmentId));
    // Each URL is measured at the same sizes: the rows are added once, after the first counts.
    const urls = [`/instructor/assignments/${course.assignmentId}`, `/api/v1/assignments/${course.assignmentId}/submissions`, `/api/v1/assignments/${course.assignmentId}/progress`];
    const few: number[] = [];
    for (const url of urls) {
      await statementsOf(course.teacher, url);
      few.push((await statementsOf(course.teacher, url)).length);
    }
    await times(18, () => addSubmission(course.assignmentId));
    const many: number[] = [];
    for (const url of urls) many.push((await statementsOf(course.teacher, url)).length);
    expect(urls.map((url, i) => `${url}: ${many[i]}`)).toEqual(urls.map((url, i) => `${url}: ${few[i]}`));
    const page = await as(h, course.teacher).get(urls[0]!);
    expect(page.text.match(/name="submissionIds"/g)).toHaveLength(20);
  });

  test('progress page and estimate: 1 model of the assignment and 4', async () => {
    const providers = await Promise.all([0, 1, 2].map(() => createProvider(h.ctx.keyring, { deployment: { id: deploymentId } as never, kind: 'openai_compatible' })));
    const first = await ModelInstance.findByPk(course.instanceId);
    const assignment = await Assignment.create({
      deploymentId, title: 'Models essay', instructions: 'Write.', rubric: RUBRIC, models: [{ instanceId: first!.id, runs: 1, weight: 1 }],
      aggregation: 'mean', releaseMode: 'review', maxDrafts: 3, maxChars: 5000, gradePassback: false, createdByUserId: course.teacherId,
      contextId: (await Assignment.findByPk(course.assignmentId))!.contextId, expectedStudents: 30,
    });
    // The page and the estimate it loads, counted with 1 model and again with 4.
    const estimateUrl = `/api/v1/assignments/${assignment.id}/estimate`;
    await statementsOf(course.teacher, estimateUrl);
    const estimateFew = (await statementsOf(course.teacher, estimateUrl)).length;
    await expectFlat(course.teacher, `/instructor/assignments/${assignment.id}`, async () => {
      const more = await Promise.all(providers.map(({ provider }, i) =>
        ModelInstance.create({ deploymentId, ownerType: 'system', ownerUserId: null, providerId: provider.id, model: first!.model, name: `Extra ${i}`, params: { maxTokens: 500 } })));
      await assignment.update({ models: [...assignment.models, ...more.map((m) => ({ instanceId: m.id, runs: 1, weight: 1 }))] });
    });
    expect((await Assignment.findByPk(assignment.id))!.models).toHaveLength(4);
    expect({ url: estimateUrl, count: (await statementsOf(course.teacher, estimateUrl)).length }).toEqual({ url: estimateUrl, count: estimateFew });
  });

  test('student page and their drafts API: 1 draft and 3', async () => {
    const ltik = await course.student();
    const me = await as(h, ltik).get('/api/v1/me');
    await addSubmission(course.assignmentId, { userId: me.body.user.id, draftNumber: 1, status: 'released' });
    // One request at a time: the counter counts every statement of the process.
    const urls = ['/student', '/api/v1/submissions/mine'];
    const counts = async () => {
      const out: string[] = [];
      for (const url of urls) out.push(`${url}: ${(await statementsOf(ltik, url)).length}`);
      return out;
    };
    await counts();
    const before = await counts();
    await addSubmission(course.assignmentId, { userId: me.body.user.id, draftNumber: 2, status: 'released' });
    await addSubmission(course.assignmentId, { userId: me.body.user.id, draftNumber: 3, status: 'released' });
    expect(await counts()).toEqual(before);
    expect((await as(h, ltik).get('/api/v1/submissions/mine')).body.submissions).toHaveLength(3);
  });

  test('usage screens, budgets API and the budget banner: 2 budgets and 20', async () => {
    const makeAssignments = async (n: number) => {
      for (let i = 0; i < n; i += 1) {
        const a = await Assignment.create({
          deploymentId, title: `Capped ${i} ${randomUUID().slice(0, 4)}`, instructions: 'Write.', rubric: RUBRIC, models: [{ instanceId: course.instanceId, runs: 1, weight: 1 }],
          aggregation: 'mean', releaseMode: 'review', maxDrafts: 3, maxChars: 5000, gradePassback: false, createdByUserId: course.teacherId,
        });
        // A cap nearly spent (so the banner names it), and a ledger row against it.
        await Budget.create({ deploymentId, scope: 'assignment', scopeId: a.id, period: 'month', limitMicros: 2000, forbidUnpriced: false, createdByUserId: course.teacherId, updatedByUserId: course.teacherId });
        await UsageEntry.create({
          deploymentId, entryType: 'run_call', providerId: course.providerId, providerKind: 'openai_compatible', instanceId: course.instanceId, model: 'm',
          ownerType: 'system', ownerUserId: null, instructorUserId: course.teacherId, assignmentId: a.id, tokensIn: 1000, tokensOut: 200, costMicros: 1800, unpriced: false, outcome: 'succeeded',
        });
      }
    };
    await makeAssignments(2);
    const urls: Array<[string, string]> = [
      [course.teacher, '/instructor/usage'],
      [course.admin, '/admin/usage'],
      [course.admin, '/api/v1/budgets'],
      // Any admin or instructor screen carries the banner.
      [course.admin, '/admin/audit'],
      [course.teacher, '/instructor/connections'],
    ];
    const few: number[] = [];
    for (const [ltik, url] of urls) {
      await statementsOf(ltik, url);
      few.push((await statementsOf(ltik, url)).length);
    }
    await makeAssignments(18);
    const many: number[] = [];
    for (const [ltik, url] of urls) many.push((await statementsOf(ltik, url)).length);
    expect(urls.map(([, url], i) => `${url}: ${many[i]}`)).toEqual(urls.map(([, url], i) => `${url}: ${few[i]}`));
    // The banner names each nearly spent cap (on a page that lists no assignments, so only the banner can).
    expect((await as(h, course.teacher).get('/instructor/connections')).text.match(/Capped \d+ /g)?.length).toBeGreaterThanOrEqual(20);
  });

  test('audit list: 2 events and 20', async () => {
    const add = (n: number) => times(n, (i) => AuditEvent.create({ deploymentId, actorUserId: null, actorLabel: 'Someone', action: 'provider.update', targetType: 'provider', targetId: randomUUID(), details: { label: `L${i}` } }).then(() => undefined));
    await add(2);
    await expectFlat(course.admin, '/admin/audit', () => add(18));
  });

  test('connection and instance lists: 2 rows and 20', async () => {
    const addConnections = (n: number) => times(n, async (i) => {
      const { provider } = await createProvider(h.ctx.keyring, { deployment: { id: deploymentId } as never, kind: 'openai', label: `Listed ${i}` });
      await ModelInstance.create({ deploymentId, ownerType: 'system', ownerUserId: null, providerId: provider.id, model: 'gpt-4o-mini', name: `Listed instance ${i}`, params: {} });
    });
    await addConnections(2);
    for (const url of ['/admin/connections', '/admin/instances', '/api/v1/providers', '/api/v1/instances']) {
      await expectFlat(course.admin, url, () => addConnections(9));
    }
  });
});
