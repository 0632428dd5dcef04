import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { driverOf } from '../../src/db/driver';
import { claimRunWithinLimit } from '../../src/feedback/connectionSlots';
import { finishRun } from '../../src/feedback/leases';
import { loadRunContext } from '../../src/feedback/runContext';
import { Deployment, Run, Submission, UsageEntry } from '../../src/models';
import { callInsert } from '../../src/usage/ledger';
import { createTestContext, TestContext } from '../support/context';
import { isPostgres } from '../support/paths';
import { createAssignment, createDeployment, createProvider, createSubmission, createUser } from '../support/factories';

// Leases, claims and results of runs.
// - finishRun writes a run's result only while the caller's lease token holds. The last provider
//   call's ledger row is written with it (RunCharges holds it back when no budget reservation is
//   open), and is written whatever happened to the lease: the call was made and must be counted.
// - A refused claim says why: 'busy' (the run is still due, its connection was full) or 'gone' (no
//   longer due). A PostgreSQL worker drops a 'gone' run whose job it already completed, so a due run
//   must never be called 'gone', even when a slot frees between the claim and the check.

let ctx: TestContext;
let submission: Submission;

beforeAll(async () => {
  ctx = await createTestContext();
  const deployment = await createDeployment();
  const student = await createUser(deployment);
  const assignment = await createAssignment(deployment, student, { title: 'Leases' });
  submission = await createSubmission(assignment, student, 'Lease text.');
});
afterAll(async () => {
  await ctx.close();
});

/** A queued run of the test submission on connection `providerId` (which need not exist), with `fields` set. */
const newRun = (providerId: string, fields: Partial<Run> = {}) =>
  Run.create({
    deploymentId: submission.deploymentId, submissionId: submission.id, instanceId: randomUUID(), providerId, runIndex: 0,
    idempotencyKey: `lease:${randomUUID()}`, status: 'queued', instanceSnapshot: { name: 'I', providerId, model: 'm', params: {}, weight: 1 },
    ...fields,
  });

describe('finishing a run with its last ledger row', () => {
  async function claimedRun() {
    const run = await newRun(randomUUID());
    const claim = await claimRunWithinLimit(ctx.sequelize, run, 8, 60000);
    if (typeof claim !== 'object') throw new Error(`not claimed: ${claim}`);
    return { run, token: claim.token };
  }

  const ledgerRow = (runId: string) =>
    callInsert(
      'run_call',
      { deploymentId: submission.deploymentId, providerId: randomUUID(), providerKind: 'openai', ownerType: 'system', ownerUserId: null, runId, submissionId: submission.id, model: 'm' },
      { inputMicrosPerMTok: 1_000_000, outputMicrosPerMTok: 4_000_000 },
      { tokensIn: 1000, tokensOut: 200, latencyMs: 12, outcome: 'ok' },
    ).statement;

  test('with the lease: the result and the row are both written', async () => {
    const { run, token } = await claimedRun();
    expect(await finishRun(ctx.sequelize, run.id, token, { status: 'succeeded', tokensIn: 1000, tokensOut: 200, costMicros: 1800, finishedAt: new Date() }, ledgerRow(run.id))).toBe(true);
    expect(await Run.findByPk(run.id)).toMatchObject({ status: 'succeeded', leaseToken: null, costMicros: 1800 });
    expect(await UsageEntry.findAll({ where: { runId: run.id } })).toEqual([expect.objectContaining({ tokensIn: 1000, tokensOut: 200, costMicros: 1800, unpriced: false, outcome: 'ok' })]);
  });

  test('after the lease was lost: the result is not written, the call is still counted', async () => {
    const { run } = await claimedRun();
    expect(await finishRun(ctx.sequelize, run.id, randomUUID(), { status: 'succeeded', finishedAt: new Date() }, ledgerRow(run.id))).toBe(false);
    expect(await Run.findByPk(run.id)).toMatchObject({ status: 'running' });
    expect(await UsageEntry.count({ where: { runId: run.id } })).toBe(1);
  });
});

describe('the outcome of a refused claim', () => {
  test('a due run refused because its connection was full is busy, even if the slot frees right after', async () => {
    const providerId = randomUUID();
    const elsewhere = await newRun(providerId, { status: 'running', leaseToken: randomUUID(), leaseExpiresAt: new Date(Date.now() + 600_000), attempts: 1 });
    const waiting = await newRun(providerId);

    // The run "elsewhere" finishes just after the claim statement, before the refusal is explained.
    const driver = driverOf(ctx.sequelize);
    const { all, run, returning } = driver;
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
    driver.returning = async (sql, params) => {
      const rows = await returning(sql, params);
      await freeAfterClaim(sql);
      return rows as never;
    };
    try {
      expect(await claimRunWithinLimit(ctx.sequelize, waiting, 1, 60_000)).toBe('busy');
    } finally {
      driver.all = all;
      driver.run = run;
      driver.returning = returning;
    }
    expect(freed).toBe(true);
    // Still queued, and the freed slot is now its.
    expect((await Run.findByPk(waiting.id))!.status).toBe('queued');
    expect(await claimRunWithinLimit(ctx.sequelize, waiting, 1, 60_000)).toMatchObject({ token: expect.any(String) });
  });

  test('a run that is no longer due is gone', async () => {
    const done = await newRun(randomUUID(), { status: 'succeeded' });
    expect(await claimRunWithinLimit(ctx.sequelize, done, 1, 60_000)).toBe('gone');
    const later = await newRun(randomUUID(), { nextAttemptAt: new Date(Date.now() + 600_000) });
    expect(await claimRunWithinLimit(ctx.sequelize, later, 1, 60_000)).toBe('gone');
  });
});

// PostgreSQL (the claim function, migration 20261126110000): a successful claim says how many slots
// it left, so a worker does not try a connection it has just filled; a claim on a connection that is
// already full is refused without the provider row's lock, so it never waits behind other claims.
(isPostgres() ? describe : describe.skip)('PostgreSQL claims and the slots they leave', () => {
  const running = { status: 'running' as const, leaseToken: randomUUID(), leaseExpiresAt: new Date(Date.now() + 600_000), attempts: 1 };

  test('a claim says how many slots are left after it', async () => {
    const providerId = randomUUID();
    await newRun(providerId, running);
    const [first, second, third] = [await newRun(providerId), await newRun(providerId), await newRun(providerId)];
    expect(await claimRunWithinLimit(ctx.sequelize, first!, 3, 60_000)).toMatchObject({ token: expect.any(String), slotsLeft: 1 });
    expect(await claimRunWithinLimit(ctx.sequelize, second!, 3, 60_000)).toMatchObject({ token: expect.any(String), slotsLeft: 0 });
    expect(await claimRunWithinLimit(ctx.sequelize, third!, 3, 60_000)).toBe('busy');
    expect((await Run.findByPk(third!.id))!.status).toBe('queued');
  });

  test('a claim on a full connection is refused while another transaction holds the provider row', async () => {
    const { provider } = await createProvider(ctx.keyring);
    await newRun(provider.id, running);
    const waiting = await newRun(provider.id);
    let refusedAt = 0;
    let claim: Promise<unknown> = Promise.resolve();
    const releasedAt = await ctx.sequelize.transaction(async (transaction) => {
      await ctx.sequelize.query('SELECT 1 FROM "providers" WHERE "id" = :id FOR UPDATE', { replacements: { id: provider.id }, transaction });
      claim = claimRunWithinLimit(ctx.sequelize, waiting, 1, 60_000).then((outcome) => {
        refusedAt = performance.now();
        return outcome;
      });
      // The lock is held until the claim answers, or for 3 s (a claim that waits for the lock answers only after).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([claim, new Promise((resolve) => (timer = setTimeout(resolve, 3000)))]);
      clearTimeout(timer);
      return performance.now();
    });
    expect(await claim).toBe('busy');
    expect(refusedAt).toBeLessThanOrEqual(releasedAt);
  });

  test("a claim's commit does not wait for the WAL flush; a refused claim changes nothing", async () => {
    const providerId = randomUUID();
    const [free, full] = [await newRun(providerId), await newRun(randomUUID())];
    await newRun(full.providerId, running);
    const claimThenSetting = (run: Run, slots: number) =>
      ctx.sequelize.transaction(async (transaction) => {
        const now = new Date();
        const [claimed] = await ctx.sequelize.query<{ slots: number }>('SELECT feedforward_claim_run_slots(:run, :provider, :slots, :token, :now, :until) AS "slots"', {
          replacements: { run: run.id, provider: run.providerId, slots, token: randomUUID(), now, until: new Date(now.getTime() + 60_000) },
          type: QueryTypes.SELECT,
          transaction,
        });
        const [setting] = await ctx.sequelize.query<{ value: string }>(`SELECT current_setting('synchronous_commit') AS "value"`, { type: QueryTypes.SELECT, transaction });
        return { slots: claimed!.slots, synchronousCommit: setting!.value };
      });
    expect(await claimThenSetting(free, 1)).toEqual({ slots: 0, synchronousCommit: 'off' });
    expect(await claimThenSetting(full, 1)).toEqual({ slots: -2, synchronousCommit: 'on' });
    // Only that transaction: the next one on the pool commits as usual.
    const [after] = await ctx.sequelize.query<{ value: string }>(`SELECT current_setting('synchronous_commit') AS "value"`, { type: QueryTypes.SELECT });
    expect(after!.value).toBe('on');
  });

});

// A successful claim brings the run's context from the same statement (PostgreSQL: the claim
// function with the context query; SQLite: the claim's UPDATE returning it as JSON), equal to what
// the context query reads once the claim is made, floating-point values to the last digit.
describe("a claim's run context", () => {
  test('a claim brings the run context, as it reads once the claim is made', async () => {
    const deployment = (await Deployment.findByPk(submission.deploymentId))!;
    const { provider } = await createProvider(ctx.keyring, { deployment });
    const assignment = await createAssignment(deployment, await createUser(deployment), { title: 'Context' });
    const scored = await createSubmission(assignment, await createUser(deployment), 'Scored text.');
    await scored.update({ overallScore: 1 / 3, feedback: { summary: 'S', criteria: [] } });
    const run = await newRun(provider.id, { attempts: 2, submissionId: scored.id });
    const claim = await claimRunWithinLimit(ctx.sequelize, run, 2, 60_000);
    if (typeof claim !== 'object') throw new Error(`not claimed: ${claim}`);
    expect(claim.context).toBeDefined();
    expect(claim.context!.run).toMatchObject({ status: 'running', leaseToken: claim.token, attempts: 3 });
    expect(claim.context!.provider).toMatchObject({ id: provider.id });
    expect(claim.context!.submission).toMatchObject({ id: scored.id, overallScore: 1 / 3, feedback: { summary: 'S', criteria: [] } });
    expect(claim.context!.assignment).toMatchObject({ id: assignment.id, title: 'Context' });
    expect(claim.context).toEqual(await loadRunContext(ctx.sequelize, run.id));
  });

  test('a refused claim changes nothing and brings no context', async () => {
    const providerId = randomUUID();
    await newRun(providerId, { status: 'running', leaseToken: randomUUID(), leaseExpiresAt: new Date(Date.now() + 600_000), attempts: 1 });
    const waiting = await newRun(providerId);
    expect(await claimRunWithinLimit(ctx.sequelize, waiting, 1, 60_000)).toBe('busy');
    expect((await Run.findByPk(waiting.id))!.toJSON()).toMatchObject({ status: 'queued', attempts: 0, leaseToken: null });
  });
});
