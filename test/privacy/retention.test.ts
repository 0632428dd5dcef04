import { randomUUID } from 'node:crypto';
import { Deployment, Run, Submission } from '../../src/models';
import type { RunStatus } from '../../src/models/Run';
import { removeExpiredTexts } from '../../src/privacy/retention';
import { as } from '../support/api';
import { runCli } from '../support/cli';
import { isolatedDatabaseUrl } from '../support/db';
import { createAssignment, createDeployment, createUser } from '../support/factories';
import { startWorker } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { getPage } from '../screens/screens';
import { courseWithAssignment, launchStudent, releaseAsIfReviewed } from './support';

// Retention removes exactly the expired submission texts, by each deployment's own policy, and
// keeps everything else: feedback, scores, runs and their usage, unreleased drafts, drafts with a
// run still waiting. It is idempotent and safe to run from several workers at once.

const DAY = 24 * 60 * 60 * 1000;

describe('retention of submission text', () => {
  let h: LtiHarness;
  let databaseUrl: string;
  const now = new Date();

  beforeAll(async () => {
    // Its own database: the sweep covers every deployment, and counts are asserted.
    databaseUrl = await isolatedDatabaseUrl();
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl });
  });
  afterAll(async () => h.close());

  async function deploymentWith(retention?: unknown): Promise<Deployment> {
    const deployment = await createDeployment();
    if (retention) await deployment.update({ settings: { retention } });
    return deployment;
  }

  /** A draft of a fresh student: released `releasedDaysAgo` days ago (null: not released), with runs in these states. */
  async function draft(deployment: Deployment, releasedDaysAgo: number | null, runStatuses: RunStatus[] | string[] = ['succeeded']): Promise<Submission> {
    const student = await createUser(deployment);
    const assignment = await createAssignment(deployment, student, { title: 'Retention' });
    const text = `Retention text ${randomUUID()}`;
    const released = releasedDaysAgo !== null;
    const submission = await Submission.create({
      deploymentId: deployment.id, assignmentId: assignment.id, userId: student.id, draftNumber: 1, text, textSha256: 'x'.repeat(64),
      status: released ? 'released' : 'ready', feedback: { summary: 'Kept feedback.', criteria: [] }, overallScore: 7,
      releasedAt: released ? new Date(now.getTime() - releasedDaysAgo * DAY) : null,
    });
    for (const [runIndex, status] of runStatuses.entries()) {
      await Run.create({
        deploymentId: deployment.id, submissionId: submission.id, instanceId: randomUUID(), providerId: randomUUID(), runIndex,
        idempotencyKey: `${submission.id}:${runIndex}`, status: status as RunStatus,
        instanceSnapshot: { name: 'I', providerId: randomUUID(), model: 'm', params: {}, weight: 1 },
        tokensIn: 1000, tokensOut: 200, costMicros: 345, output: status === 'succeeded' ? { summary: 'Run output.', criteria: [] } : null,
      });
    }
    return submission;
  }

  test('removes exactly the expired texts of each deployment, and keeps feedback, scores, runs and usage', async () => {
    const byDefault = await deploymentWith(); // 180 days after release
    const untilRelease = await deploymentWith({ mode: 'until_release' });
    const thirtyDays = await deploymentWith({ mode: 'days_after_release', days: 30 });

    const expired = [
      await draft(byDefault, 200),
      await draft(byDefault, 181),
      await draft(untilRelease, 0.001),
      await draft(thirtyDays, 31, ['succeeded', 'failed', 'invalid_output']),
    ];
    const kept = [
      await draft(byDefault, 179), // released recently
      await draft(byDefault, null), // never released, however old
      await draft(byDefault, 400, ['succeeded', 'queued']), // a run still waiting
      await draft(byDefault, 400, ['succeeded', 'running']),
      await draft(byDefault, 400, ['succeeded', 'budget_wait']), // any status that is not final
      await draft(untilRelease, null),
      await draft(thirtyDays, 29), // expired under 180 days elsewhere, not under its own 30
      await draft(thirtyDays, null),
    ];
    const runsBefore = await Run.findAll({ order: [['id', 'ASC']] });

    const result = await removeExpiredTexts(h.ctx.sequelize, now);
    expect(result.removed).toBe(expired.length);
    expect(result.byDeployment).toEqual({ [byDefault.id]: 2, [untilRelease.id]: 1, [thirtyDays.id]: 1 });

    for (const s of expired) {
      const after = await Submission.findByPk(s.id);
      expect({ text: after!.text, removedAt: after!.textRemovedAt?.getTime() }).toEqual({ text: null, removedAt: now.getTime() });
      expect({ feedback: after!.feedback, score: after!.overallScore, status: after!.status, releasedAt: after!.releasedAt }).toEqual({ feedback: s.feedback, score: 7, status: 'released', releasedAt: s.releasedAt });
    }
    for (const s of kept) {
      const after = await Submission.findByPk(s.id);
      expect({ id: s.id, text: after!.text, removedAt: after!.textRemovedAt }).toEqual({ id: s.id, text: s.text, removedAt: null });
    }
    // Runs (status, output, tokens, cost) are untouched, waiting ones included.
    const strip = (r: Run) => ({ id: r.id, status: r.status, output: r.output, tokensIn: r.tokensIn, tokensOut: r.tokensOut, costMicros: r.costMicros });
    expect((await Run.findAll({ order: [['id', 'ASC']] })).map(strip)).toEqual(runsBefore.map(strip));

    // Idempotent: a second sweep finds nothing.
    expect((await removeExpiredTexts(h.ctx.sequelize, now)).removed).toBe(0);
  });

  test('several sweeps at once remove each expired text once', async () => {
    const untilRelease = await deploymentWith({ mode: 'until_release' });
    const drafts = await Promise.all(Array.from({ length: 6 }, (_, i) => draft(untilRelease, i % 2 ? null : 1)));
    const results = await Promise.all(Array.from({ length: 4 }, () => removeExpiredTexts(h.ctx.sequelize)));
    expect(results.reduce((n, r) => n + (r.byDeployment[untilRelease.id] ?? 0), 0)).toBe(3);
    const texts = await Promise.all(drafts.map(async (d) => (await Submission.findByPk(d.id))!.text));
    expect(texts.map((t) => t === null)).toEqual([true, false, true, false, true, false]);
  });

  test('the student and the instructor see "text removed on …" where the text was', async () => {
    const course = await courseWithAssignment(h);
    const sub = `student-${randomUUID().slice(0, 8)}`;
    const student = await launchStudent(h, course, { sub, name: 'Rita Retention' });
    const submitted = await as(h, student).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: 'Text that will expire.' });
    expect(submitted.status).toBe(201);
    await releaseAsIfReviewed(submitted.body.id, new Date(Date.now() - 181 * DAY));
    const review = await getPage(h, `/instructor/submissions/${submitted.body.id}`, { ltik: course.teacher, sub: 'teacher' });
    expect(review.text).toContain('Text that will expire.');

    const { removed } = await removeExpiredTexts(h.ctx.sequelize);
    expect(removed).toBeGreaterThanOrEqual(1);
    const submission = (await Submission.findByPk(submitted.body.id))!;
    expect(submission.text).toBeNull();
    const when = submission.textRemovedAt!.toISOString().slice(0, 16).replace('T', ' ');

    const studentPage = await getPage(h, '/student', { ltik: student, sub });
    expect(studentPage.text).toContain(`Your text was removed on ${when} UTC`);
    expect(studentPage.text).toContain('AI-generated feedback');
    const reviewAfter = await getPage(h, `/instructor/submissions/${submitted.body.id}`, { ltik: course.teacher, sub: 'teacher' });
    expect(reviewAfter.text).toContain(`Text removed on ${when} UTC`);
    expect(reviewAfter.text).not.toContain('Text that will expire.');
    // The feedback stays, for both.
    expect(reviewAfter.text).toContain('Content 4 (privacy)');
    const api = await as(h, student).get(`/api/v1/submissions/${submitted.body.id}`);
    expect(api.body).toMatchObject({ textRemovedAt: submission.textRemovedAt!.toISOString(), feedback: { summary: 'Summary from privacy' } });
  });

  test('a worker removes expired texts when it starts (and hourly after that)', async () => {
    const untilRelease = await deploymentWith({ mode: 'until_release' });
    const expired = await draft(untilRelease, 1);
    const worker = startWorker(h);
    try {
      const deadline = Date.now() + 10000;
      while ((await Submission.findByPk(expired.id))!.text !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await worker.stop(1000);
    }
    expect((await Submission.findByPk(expired.id))!.textRemovedAt).not.toBeNull();
  });

  test('`npm run cli -- privacy retention` removes expired texts now', async () => {
    const untilRelease = await deploymentWith({ mode: 'until_release' });
    const expired = await draft(untilRelease, 1);
    const run = await runCli(databaseUrl, ['privacy', 'retention']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`deployment ${untilRelease.id}: 1`);
    expect((await Submission.findByPk(expired.id))!.text).toBeNull();
  });
});
