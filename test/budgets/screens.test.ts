import { randomUUID } from 'node:crypto';
import { as } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { settled, startWorker } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { setUpCourse, startHeldLlm, type HeldLlm } from './support';

// The cost screens as people use them: the admin sets a budget with the form and reads spend and
// bars (in words, not colour alone); the instructor reads their spend per assignment and caps one.

jest.setTimeout(90_000);

describe('usage screens', () => {
  let h: LtiHarness;
  let llm: HeldLlm;
  beforeAll(async () => {
    llm = await startHeldLlm();
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl: await isolatedDatabaseUrl() }); // a worker runs every due run it sees
  });
  afterAll(async () => {
    await llm.close();
    await h.close();
  });

  test('admin: budget form, bars with words, spend chart and breakdowns; instructor: spend per assignment and a cap', async () => {
    const course = await setUpCourse(h, llm.url, { runs: 2 });
    const student = await course.student();
    const sub = await as(h, student).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: `Screens ${randomUUID()}` });
    const worker = startWorker(h);
    try {
      expect((await settled(h, course.teacher, sub.body.id, 30000)).status).toBe('ready');
    } finally {
      await worker.stop(1000);
    }

    const saved = await as(h, course.admin).post('/admin/budgets').type('form').send({ scope: `connection:${course.providerId}`, limit: '0.004', period: 'month' });
    expect(saved.status).toBe(303);
    const page = await as(h, course.admin).get('/admin/usage');
    expect(page.status).toBe(200);
    // 2 calls × $0.0018 = $0.0036 of $0.004: 90%, said in words and numbers.
    expect(page.text).toContain('Warning: 80% or more spent');
    expect(page.text).toContain('Spent $0.0036 (90%)');
    expect(page.text).toContain('remaining $0.0004 of $0.004');
    expect(page.text).toMatch(/<svg[^>]+role="img"[^>]+aria-labelledby="chart-heading chart-summary"/);
    expect(page.text).toContain('<rect');
    expect(page.text).toContain('<caption>Spend by connection</caption>');
    expect(page.text).toContain('<caption>Spend by instructor</caption>');
    expect(page.text).toContain('<caption>Spend by model</caption>');
    // Every control of the budget form has a label.
    for (const id of ['f-scope', 'f-limit', 'f-budget-period', 'f-forbid', 'f-period']) expect(page.text).toContain(`<label for="${id}"`);
    const bad = await as(h, course.admin).post('/admin/budgets').type('form').send({ scope: 'deployment', limit: 'lots', period: 'month' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('must be an amount in dollars');

    const mine = await as(h, course.teacher).get('/instructor/usage');
    expect(mine.status).toBe(200);
    expect(mine.text).toContain('<caption>Your spend by assignment</caption>');
    expect(mine.text).toContain('$0.0036');
    const capped = await as(h, course.teacher).post('/instructor/budgets').type('form').send({ assignmentId: course.assignmentId, limit: '5', period: 'total' });
    expect(capped.status).toBe(303);
    const after = await as(h, course.teacher).get('/instructor/usage');
    expect(after.text).toContain('Within budget');
    expect(after.text).toContain('remaining $4.9964 of $5.00');
  });
});
