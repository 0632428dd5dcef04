import { randomUUID } from 'node:crypto';
import { driverOf } from '../../src/db/driver';
import { Run, Submission } from '../../src/models';
import { as } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { setUpCourse } from '../budgets/support';

// A class submitting at once (src/commands/submissions.ts): each process takes the submissions two at
// a time, so the first drafts are written at once rather than after the whole burst's statements
// interleaved; every draft is still written, each exactly once.

describe('a class submitting at once', () => {
  let h: LtiHarness;

  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl: await isolatedDatabaseUrl() });
  });
  afterAll(async () => {
    await h.close();
  });

  test('is taken two submissions at a time, and every draft is written once', async () => {
    const course = await setUpCourse(h, 'http://127.0.0.1:9/v1', { runs: 2 }); // no worker runs here: nothing is called
    const students = await Promise.all(Array.from({ length: 6 }, () => course.student()));

    // Each submission reads the student's drafts first; slowed down, the reads of submissions taken
    // together overlap, and the most seen at once is how many are taken at once.
    const driver = driverOf(h.ctx.sequelize);
    const all = driver.all;
    let reading = 0;
    let most = 0;
    driver.all = async (sql, params) => {
      if (!/FROM "submissions" WHERE "assignment_id" = \$1 AND "user_id" = \$2 ORDER BY/.test(sql)) return all(sql, params);
      reading += 1;
      most = Math.max(most, reading);
      try {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return await all(sql, params);
      } finally {
        reading -= 1;
      }
    };
    let responses;
    try {
      responses = await Promise.all(students.map((ltik, i) => as(h, ltik).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: `Essay ${i} ${randomUUID()}` })));
    } finally {
      driver.all = all;
    }
    expect(responses.map((r) => r.status)).toEqual(Array(6).fill(201));
    expect(most).toBe(2);
    const ids = responses.map((r) => r.body.id as string);
    expect(new Set(ids).size).toBe(6);
    expect(await Submission.count({ where: { assignmentId: course.assignmentId } })).toBe(6);
    expect(await Run.count({ where: { submissionId: ids } })).toBe(12);
  });
});
