import { randomUUID } from 'node:crypto';
import { claimRun, finishRun } from '../../src/feedback/leases';
import { Run, Submission, UsageEntry } from '../../src/models';
import { callInsert } from '../../src/usage/ledger';
import { createTestContext, TestContext } from '../support/context';
import { createAssignment, createDeployment, createSubmission, createUser } from '../support/factories';

// finishRun writes a run's result only while the caller's lease token holds. The last provider
// call's ledger row is written with it (RunCharges holds it back when no budget reservation is open),
// and is written whatever happened to the lease: the call was made and must be counted.

describe('finishing a run with its last ledger row', () => {
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

  async function claimedRun() {
    const run = await Run.create({
      deploymentId: submission.deploymentId, submissionId: submission.id, instanceId: randomUUID(), providerId: randomUUID(), runIndex: 0,
      idempotencyKey: `lease:${randomUUID()}`, status: 'queued', instanceSnapshot: { name: 'I', providerId: randomUUID(), model: 'm', params: {}, weight: 1 },
    });
    const token = await claimRun(ctx.sequelize, run.id, 60000);
    expect(token).not.toBeNull();
    return { run, token: token! };
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
