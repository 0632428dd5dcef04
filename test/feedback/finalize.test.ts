import { randomUUID } from 'node:crypto';
import { driverOf } from '../../src/db/driver';
import { finalizeIfComplete } from '../../src/feedback/finalize';
import { Assignment, Deployment, Run, Submission, User } from '../../src/models';
import type { RunStatus } from '../../src/models/Run';
import { createTestContext, TestContext } from '../support/context';
import { createAssignment, createDeployment, createUser } from '../support/factories';
import { feedbackJson } from '../support/feedback';
import { countStatements } from '../support/queryCounter';

// finalizeIfComplete runs after every run: it counts the submission's open runs first (one driver
// statement) and loads the runs only once all are final. Meanwhile it marks the submission running
// once a run is. When several runs end together, each worker calls it; exactly one finalises.

describe('finalizing a submission', () => {
  let ctx: TestContext;
  let deployment: Deployment;
  let student: User;
  let assignment: Assignment;

  beforeAll(async () => {
    ctx = await createTestContext();
    deployment = await createDeployment();
    student = await createUser(deployment);
    assignment = await createAssignment(deployment, student, { title: 'Finalize', quorum: 1, maxDrafts: 50 });
  });
  afterAll(async () => {
    await ctx.close();
  });

  let draft = 0;
  /** A queued submission with runs in these states (succeeded ones carry a valid answer). */
  async function submissionWith(statuses: RunStatus[]): Promise<Submission> {
    draft += 1;
    const submission = await Submission.create({
      deploymentId: deployment.id, assignmentId: assignment.id, userId: student.id, draftNumber: draft, text: `Finalize ${randomUUID()}`, textSha256: 'x'.repeat(64), status: 'queued',
    });
    for (const [runIndex, status] of statuses.entries()) {
      await Run.create({
        deploymentId: deployment.id, submissionId: submission.id, instanceId: randomUUID(), providerId: randomUUID(), runIndex,
        idempotencyKey: `${submission.id}:${runIndex}`, status, instanceSnapshot: { name: 'I', providerId: randomUUID(), model: 'm', params: {}, weight: 1 },
        output: status === 'succeeded' ? feedbackJson(4, 8, `run ${runIndex}`) : null,
      });
    }
    return submission;
  }

  test('while runs are open and none runs yet: one count on the driver, no model query, still queued', async () => {
    const submission = await submissionWith(['succeeded', 'queued', 'budget_wait']);
    const driver = driverOf(ctx.sequelize);
    const before = driver.executed;
    const { result, statements } = await countStatements(ctx.sequelize, () => finalizeIfComplete(submission.id));
    expect(result).toEqual({ finalized: false });
    expect(statements).toEqual([]);
    expect(driver.executed - before).toBe(1);
    expect((await submission.reload()).status).toBe('queued');
  });

  test('a running run moves the submission from queued to running, once', async () => {
    const submission = await submissionWith(['succeeded', 'running', 'queued']);
    expect(await finalizeIfComplete(submission.id)).toEqual({ finalized: false });
    expect((await submission.reload()).status).toBe('running');
    // Already running: nothing more is written.
    const { statements } = await countStatements(ctx.sequelize, () => finalizeIfComplete(submission.id));
    expect(statements).toEqual([]);
    expect((await submission.reload()).status).toBe('running');
  });

  test('runs ending together: every finisher calls it, exactly one finalises', async () => {
    const submission = await submissionWith(['succeeded', 'succeeded', 'failed']);
    await submission.update({ status: 'running' });
    const outcomes = await Promise.all([1, 2, 3, 4].map(() => finalizeIfComplete(submission.id)));
    expect(outcomes.filter((o) => o.finalized)).toHaveLength(1);
    const view = await submission.reload();
    expect(view.status).toBe('ready');
    expect(view.aggregate).toMatchObject({ criteria: expect.arrayContaining([expect.objectContaining({ criterionId: 'content', score: 4, successfulRuns: 2 })]) });
    // Later calls (a re-delivered job) change nothing.
    expect(await finalizeIfComplete(submission.id)).toEqual({ finalized: false });
  });

  test('when every run failed, the submission fails exactly once', async () => {
    const submission = await submissionWith(['failed', 'invalid_output']);
    const outcomes = await Promise.all([1, 2, 3].map(() => finalizeIfComplete(submission.id)));
    expect(outcomes.filter((o) => o.finalized)).toHaveLength(1);
    expect((await submission.reload()).status).toBe('failed');
  });

  test('the finisher reads and writes on the driver (no model query) and returns the submission as stored', async () => {
    const submission = await submissionWith(['succeeded', 'succeeded', 'invalid_output']);
    await submission.update({ status: 'running' });
    const { result, statements } = await countStatements(ctx.sequelize, () => finalizeIfComplete(submission.id));
    expect(statements).toEqual([]);
    if (!result.finalized) throw new Error('not finalised');
    expect(result.submission.get({ plain: true })).toEqual((await Submission.findByPk(submission.id))!.get({ plain: true }));
    expect(result.submission.status).toBe('ready');
    expect(result.assignment.get({ plain: true })).toEqual((await Assignment.findByPk(assignment.id))!.get({ plain: true }));
  });
});
