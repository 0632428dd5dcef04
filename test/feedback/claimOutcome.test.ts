import { randomUUID } from 'node:crypto';
import { driverOf } from '../../src/db/driver';
import { claimRunWithinLimit } from '../../src/feedback/connectionSlots';
import { Run, Submission } from '../../src/models';
import { createTestContext, TestContext } from '../support/context';
import { createAssignment, createDeployment, createSubmission, createUser } from '../support/factories';

// A refused claim says why: 'busy' (the run is still due, its connection was full) or 'gone' (the
// run is no longer due). A PostgreSQL worker drops a 'gone' run whose job it already completed, so
// a due run must never be called 'gone', even when a slot frees between the claim and the check.

describe('the outcome of a refused claim', () => {
  let ctx: TestContext;
  let submission: Submission;

  beforeAll(async () => {
    ctx = await createTestContext();
    const deployment = await createDeployment();
    const student = await createUser(deployment);
    const assignment = await createAssignment(deployment, student, { title: 'Claims' });
    submission = await createSubmission(assignment, student, 'Claim text.');
  });
  afterAll(async () => {
    await ctx.close();
  });

  const newRun = (providerId: string, fields: Partial<Run> = {}) =>
    Run.create({
      deploymentId: submission.deploymentId, submissionId: submission.id, instanceId: randomUUID(), providerId, runIndex: 0,
      idempotencyKey: `claim:${randomUUID()}`, status: 'queued', instanceSnapshot: { name: 'I', providerId, model: 'm', params: {}, weight: 1 },
      ...fields,
    });

  test('a due run refused because its connection was full is busy, even if the slot frees right after', async () => {
    const providerId = randomUUID();
    const elsewhere = await newRun(providerId, { status: 'running', leaseToken: randomUUID(), leaseExpiresAt: new Date(Date.now() + 600_000), attempts: 1 });
    const waiting = await newRun(providerId);

    // The run "elsewhere" finishes just after the claim statement, before the refusal is explained.
    const driver = driverOf(ctx.sequelize);
    const { all, run } = driver;
    let freed = false;
    const freeAfterClaim = async (sql: string) => {
      if (freed || !(sql.includes('feedforward_claim_run') || sql.startsWith(`UPDATE "runs" SET "status" = 'running'`))) return;
      freed = true;
      await run(`UPDATE "runs" SET "status" = 'succeeded', "lease_token" = NULL, "lease_expires_at" = NULL WHERE "id" = $1`, [elsewhere.id]);
    };
    driver.all = async (sql, params) => {
      const rows = await all(sql, params);
      await freeAfterClaim(sql);
      return rows as never;
    };
    driver.run = async (sql, params) => {
      const changed = await run(sql, params);
      await freeAfterClaim(sql);
      return changed;
    };
    try {
      expect(await claimRunWithinLimit(ctx.sequelize, waiting, 1, 60_000)).toBe('busy');
    } finally {
      driver.all = all;
      driver.run = run;
    }
    expect(freed).toBe(true);
    // Still queued, and the freed slot is now its.
    expect((await Run.findByPk(waiting.id))!.status).toBe('queued');
    expect(await claimRunWithinLimit(ctx.sequelize, waiting, 1, 60_000)).toEqual({ token: expect.any(String) });
  });

  test('a run that is no longer due is gone', async () => {
    const done = await newRun(randomUUID(), { status: 'succeeded' });
    expect(await claimRunWithinLimit(ctx.sequelize, done, 1, 60_000)).toBe('gone');
    const later = await newRun(randomUUID(), { nextAttemptAt: new Date(Date.now() + 600_000) });
    expect(await claimRunWithinLimit(ctx.sequelize, later, 1, 60_000)).toBe('gone');
  });
});
