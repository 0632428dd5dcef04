import { randomUUID } from 'node:crypto';
import { standingOf, standingsOf } from '../../src/budgets/standing';
import { Budget, BudgetReservation, UsageEntry } from '../../src/models';
import type { BudgetPeriod, BudgetScope } from '../../src/models/Budget';
import { createTestContext, TestContext } from '../support/context';
import { createDeployment } from '../support/factories';

// standingsOf (many budgets in a fixed number of statements, for lists and the banner) gives the
// figures standingOf gives one budget at a time: every scope, both periods, unpriced calls, open
// reservations only, and nothing from another deployment.

describe('standingsOf', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx.close());

  test('equals standingOf for every budget, this month and next', async () => {
    const [deployment, other] = [await createDeployment(), await createDeployment()];
    const ids = { connection: randomUUID(), instructor: randomUUID(), assignment: randomUUID(), assignment2: randomUUID() };
    const entry = (deploymentId: string, over: Partial<UsageEntry>) =>
      UsageEntry.create({
        deploymentId, entryType: 'run_call', providerId: ids.connection, instructorUserId: ids.instructor, assignmentId: ids.assignment,
        tokensIn: 10, tokensOut: 5, costMicros: 1000, unpriced: false, outcome: 'succeeded', ...over,
      } as never);
    await entry(deployment.id, {});
    await entry(deployment.id, { costMicros: 2500, assignmentId: ids.assignment2 });
    await entry(deployment.id, { costMicros: null, unpriced: true });
    await entry(deployment.id, { costMicros: 700, providerId: null, instructorUserId: null, assignmentId: null });
    await entry(other.id, { costMicros: 99999 }); // another tenant's spend never counts

    const budget = (scope: BudgetScope, scopeId: string, period: BudgetPeriod) =>
      Budget.create({ deploymentId: deployment.id, scope, scopeId, period, limitMicros: 5000, forbidUnpriced: false });
    const budgets = [
      await budget('deployment', deployment.id, 'month'),
      await budget('connection', ids.connection, 'total'),
      await budget('instructor', ids.instructor, 'month'),
      await budget('assignment', ids.assignment, 'month'),
      await budget('assignment', ids.assignment2, 'total'),
      await budget('assignment', randomUUID(), 'month'), // nothing spent
    ];
    const runId = randomUUID();
    await BudgetReservation.create({ deploymentId: deployment.id, budgetId: budgets[3]!.id, runId, amountMicros: 400, state: 'reserved' });
    await BudgetReservation.create({ deploymentId: deployment.id, budgetId: budgets[3]!.id, runId: randomUUID(), amountMicros: 300, state: 'reserved' });
    await BudgetReservation.create({ deploymentId: deployment.id, budgetId: budgets[3]!.id, runId: randomUUID(), amountMicros: 900, state: 'settled', settledMicros: 800 });
    await BudgetReservation.create({ deploymentId: deployment.id, budgetId: budgets[1]!.id, runId, amountMicros: 4800, state: 'reserved' });

    const now = new Date();
    const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 2));
    for (const at of [now, nextMonth]) {
      const one = await Promise.all(budgets.map((b) => standingOf(b, undefined, at)));
      const many = await standingsOf(budgets, at);
      const figures = (s: typeof one) => s.map(({ budget, ...rest }) => ({ id: budget.id, ...rest }));
      expect(figures(many)).toEqual(figures(one));
    }
    // The figures themselves, so that both being wrong the same way cannot pass.
    const [dep, conn, , asg, asg2, empty] = await standingsOf(budgets, now);
    expect([dep!.spentMicros, dep!.unpricedCalls]).toEqual([4200, 1]);
    expect([conn!.spentMicros, conn!.reservedMicros, conn!.remainingMicros]).toEqual([3500, 4800, 0]);
    expect([asg!.spentMicros, asg!.reservedMicros, asg!.remainingMicros, asg!.unpricedCalls]).toEqual([1000, 700, 3300, 1]);
    expect(asg2!.spentMicros).toBe(2500);
    expect([empty!.spentMicros, empty!.reservedMicros, empty!.remainingMicros]).toEqual([0, 0, 5000]);
    // Next month the monthly budgets start afresh; the total ones keep their spend.
    const [depNext, connNext] = await standingsOf(budgets, nextMonth);
    expect([depNext!.spentMicros, connNext!.spentMicros]).toEqual([0, 3500]);
    expect(await standingsOf([])).toEqual([]);
  });
});
