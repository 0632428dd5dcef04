import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { AgsError, postScore } from '../../src/lti/ags';
import { LtiLaunch } from '../../src/models';
import { LtiHarness, me, startLtiHarness } from '../support/lti';
import { FIXTURES } from '../support/paths';
import { SCOPES, type LaunchResult } from '../support/platform';

// Grade passback: the released score and comment go to the LMS gradebook through AGS, and the ways
// it can fail become an AgsError an instructor can act on.

const accepted = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'moodle-4.5/ags-score-post-accepted.json'), 'utf8')) as {
  request: { url: string; headers: Record<string, string>; body: Record<string, unknown> };
};

/** The stored launch behind a launch result (its id is the OIDC state). */
async function storedLaunch(result: LaunchResult): Promise<LtiLaunch> {
  expect(result.status).toBe(303);
  const launch = await LtiLaunch.findByPk(result.authRequest!.state!);
  expect(launch).not.toBeNull();
  return launch!;
}

/** Runs postScore and returns the AgsError it rejected with (fails the test if it resolved). */
async function agsFailure(run: Promise<void>): Promise<AgsError> {
  const error = await run.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(AgsError);
  return error as AgsError;
}

describe('AGS score passback (Moodle 4.5)', () => {
  let h: LtiHarness;
  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
  });
  afterAll(() => h.close());

  test('the platform announces an authorization server different from its token URL (the workaround is exercised)', async () => {
    expect(h.platform.authorizationServer).not.toBe(h.platform.tokenUrl);
    expect(h.registration.authorizationServer).toBe(h.platform.authorizationServer);
    // ltijs-sequelize's model drops the column unless fixAuthorizationServerColumn taught it.
    const ltijsPlatform = await h.ctx.app.lti.getPlatform(h.platform.issuer, h.platform.clientId);
    expect(ltijsPlatform).toBeTruthy();
    expect(await (ltijsPlatform as unknown as { platformAuthorizationServer(): Promise<string> }).platformAuthorizationServer()).toBe(h.platform.authorizationServer);
  });

  test("a student's score reaches the gradebook in the shape Moodle accepted", async () => {
    const launch = await storedLaunch(await h.launch('moodle-student'));
    const scoresBefore = h.platform.scores.length;
    const tokensBefore = h.platform.tokenRequests.length;
    const started = Date.now();

    await postScore(h.ctx.app.lti, launch.claims, { userSub: launch.claims.sub, scoreGiven: 7, scoreMaximum: 10, comment: 'Good work' });

    expect(h.platform.scores).toHaveLength(scoresBefore + 1);
    const { body, lineItemId } = h.platform.scores.at(-1)!;
    expect(Object.keys(body).sort()).toEqual(Object.keys(accepted.request.body).sort());
    expect(body).toMatchObject({
      userId: launch.claims.sub,
      scoreGiven: 7,
      scoreMaximum: 10,
      comment: 'Good work',
      activityProgress: 'Completed',
      gradingProgress: 'FullyGraded',
    });
    expect(body.userId).toBe(accepted.request.body.userId); // Moodle's student is user 4 in the capture
    const timestamp = Date.parse(String(body.timestamp));
    expect(timestamp).toBeGreaterThanOrEqual(started - 1000);
    expect(timestamp).toBeLessThanOrEqual(Date.now());
    // The line item of the launch's resource link (the score URL keeps Moodle's ?type_id query).
    expect(launch.claims.ags?.lineitem).toBe(h.platform.gradebook.itemUrl(lineItemId));

    // The client assertion's aud is the registered authorization server, not the token URL.
    const tokenRequest = h.platform.tokenRequests.at(-1)!;
    expect(h.platform.tokenRequests.length).toBeGreaterThan(tokensBefore);
    expect(tokenRequest.status).toBe(200);
    expect(tokenRequest.scope).toContain(SCOPES.score);
    expect((tokenRequest.assertion!.payload as { aud: unknown }).aud).toBe(h.platform.authorizationServer);
    expect((tokenRequest.assertion!.payload as { aud: unknown }).aud).not.toBe(h.platform.tokenUrl);
    expect(tokenRequest.form.client_assertion_type).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  });

  test('scoring the teacher: Moodle answers 400, reported as "rejected" with a sentence about students, and the tool keeps serving', async () => {
    const teacher = await h.launch('moodle-teacher');
    const launch = await storedLaunch(teacher);
    const rejectedBefore = h.platform.rejectedScores.length;
    const scoresBefore = h.platform.scores.length;

    const error = await agsFailure(postScore(h.ctx.app.lti, launch.claims, { userSub: launch.claims.sub, scoreGiven: 7, scoreMaximum: 10, comment: 'Good work' }));
    expect(error.reason).toBe('rejected');
    expect(error.httpStatus).toBe(400);
    expect(error.message).toMatch(/students/);
    expect(error.message).toMatch(/HTTP 400/);
    // Moodle's reason phrase echoes the posted JSON: none of it ends up in our message.
    expect(error.message).not.toContain('Incorrect score received');
    expect(error.message).not.toContain('Good work');

    expect(h.platform.rejectedScores).toHaveLength(rejectedBefore + 1);
    expect(h.platform.rejectedScores.at(-1)!.reason).toBe('user is not a gradable student');
    expect(h.platform.scores).toHaveLength(scoresBefore);

    // The process is fine: health, the teacher's own session, and a student's grade still work.
    expect((await request(h.ctx.app).get('/healthz')).status).toBe(200);
    expect((await me(h.ctx, teacher.ltik)).status).toBe(200);
    const student = await storedLaunch(await h.launch('moodle-student'));
    await postScore(h.ctx.app.lti, student.claims, { userSub: student.claims.sub, scoreGiven: 9, scoreMaximum: 10 });
    expect(h.platform.scores).toHaveLength(scoresBefore + 1);
    expect(h.platform.scores.at(-1)!.body).toMatchObject({ userId: student.claims.sub, scoreGiven: 9 });
  });

  test('a user the LMS does not treat as a student is rejected even on a student launch', async () => {
    const launch = await storedLaunch(await h.launch('moodle-student'));
    h.platform.setLearner(launch.claims.sub, false);
    try {
      const error = await agsFailure(postScore(h.ctx.app.lti, launch.claims, { userSub: launch.claims.sub, scoreGiven: 1, scoreMaximum: 10 }));
      expect(error.reason).toBe('rejected');
    } finally {
      h.platform.setLearner(launch.claims.sub, true);
    }
  });

  test('a launch without AGS (Canvas with LTI Advantage services off) is "not_available", with no call to the LMS', async () => {
    const canvas = await h.addPlatform({ flavour: 'canvas' });
    const result = await canvas.platform.launch(h.ctx.app, { fixture: 'canvas-student-no-services', deploymentId: canvas.deploymentId, toolUrl: h.toolUrl });
    const launch = await storedLaunch(result);
    expect(launch.claims.ags).toBeUndefined();

    const error = await agsFailure(postScore(h.ctx.app.lti, launch.claims, { userSub: launch.claims.sub, scoreGiven: 5, scoreMaximum: 10 }));
    expect(error.reason).toBe('not_available');
    expect(error.message).toMatch(/no gradebook column/);
    expect(canvas.platform.tokenRequests).toHaveLength(0);
    expect(canvas.platform.requestLog.filter((r) => r.url.startsWith('/ags') || r.url.startsWith('/token'))).toEqual([]);
  });

  test('an LMS that is down is "unavailable"', async () => {
    const other = await h.addPlatform({ flavour: 'moodle' });
    const launch = await storedLaunch(await other.platform.launch(h.ctx.app, { fixture: 'moodle-student', deploymentId: other.deploymentId, toolUrl: h.toolUrl }));
    await other.platform.close();

    const started = Date.now();
    const error = await agsFailure(postScore(h.ctx.app.lti, launch.claims, { userSub: launch.claims.sub, scoreGiven: 5, scoreMaximum: 10 }));
    expect(error.reason).toBe('unavailable');
    expect(error.httpStatus).toBeUndefined();
    expect(error.message).toMatch(/could not be reached/);
    expect(Date.now() - started).toBeLessThan(10000);
    expect((await request(h.ctx.app).get('/healthz')).status).toBe(200);
  });

  test('a gradebook answering another HTTP error is "unavailable" with the status', async () => {
    // The token is cached from the earlier scores; point the line item at a path the LMS does not serve.
    const launch = await storedLaunch(await h.launch('moodle-student'));
    const claims = { ...launch.claims, ags: { ...launch.claims.ags, lineitem: `${h.platform.origin}/ags/lineitems/999?type_id=1` } };
    const error = await agsFailure(postScore(h.ctx.app.lti, claims, { userSub: launch.claims.sub, scoreGiven: 5, scoreMaximum: 10 }));
    expect(error.reason).toBe('unavailable');
    expect(error.httpStatus).toBe(404);
  });
});
