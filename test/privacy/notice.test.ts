import { randomUUID } from 'node:crypto';
import { NoticeAcceptance, Submission } from '../../src/models';
import { as } from '../support/api';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { follow, getPage, postForm } from '../screens/screens';
import { Course, courseWithAssignment, launchStudent } from './support';

// The data-use notice: shown to a student before their first submission (the admin words it, with
// a default), accepted once per version, recorded, and required by the API and the screen.

describe('data-use notice', () => {
  let h: LtiHarness;
  let course: Course;

  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
    course = await courseWithAssignment(h);
  });
  afterAll(async () => h.close());

  const newStudent = (sub = `student-${randomUUID().slice(0, 8)}`) => launchStudent(h, course, { sub, name: 'Noa Notice' }, false).then((ltik) => ({ ltik, sub }));
  const submit = (ltik: string, text: string) => as(h, ltik).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text });

  test('the API refuses a submission until the student accepts the current notice, and records the acceptance with its version', async () => {
    const { ltik } = await newStudent();
    const notice = await as(h, ltik).get('/api/v1/notice');
    expect(notice.status).toBe(200);
    expect(notice.body).toMatchObject({ accepted: false, acceptedAt: null, version: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // The built-in text, with the deployment's retention in words.
    expect(notice.body.text).toContain('without your name, email or LMS id');
    expect(notice.body.text).toContain('kept for 180 days after your feedback is released');

    const refused = await submit(ltik, 'Before accepting.');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'notice_not_accepted', message: expect.stringContaining('data-use notice') });
    expect(await Submission.count({ where: { text: 'Before accepting.' } })).toBe(0);

    // Only the version shown is accepted; nonsense is a 400.
    expect((await as(h, ltik).post('/api/v1/notice/accept', { version: 'a'.repeat(64) })).status).toBe(409);
    expect((await as(h, ltik).post('/api/v1/notice/accept', { version: 'yes' })).status).toBe(400);
    expect((await as(h, ltik).post('/api/v1/notice/accept', {})).status).toBe(400);

    const before = Date.now();
    const accepted = await as(h, ltik).post('/api/v1/notice/accept', { version: notice.body.version });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ accepted: true, version: notice.body.version });
    const me = (await as(h, ltik).get('/api/v1/me')).body;
    const rows = await NoticeAcceptance.findAll({ where: { userId: me.user.id } });
    expect(rows.map((r) => ({ deploymentId: r.deploymentId, version: r.noticeVersion }))).toEqual([{ deploymentId: me.deployment.id, version: notice.body.version }]);
    expect(rows[0]!.acceptedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    // Accepting again changes nothing.
    expect((await as(h, ltik).post('/api/v1/notice/accept', { version: notice.body.version })).status).toBe(200);
    expect(await NoticeAcceptance.count({ where: { userId: me.user.id } })).toBe(1);

    expect((await submit(ltik, 'After accepting.')).status).toBe(201);
    expect((await as(h, ltik).get('/api/v1/notice')).body).toMatchObject({ accepted: true });
  });

  test('the admin words the notice; a reworded notice is accepted again before the next submission', async () => {
    const { ltik } = await newStudent();
    const first = (await as(h, ltik).get('/api/v1/notice')).body;
    await as(h, ltik).post('/api/v1/notice/accept', { version: first.version });
    expect((await submit(ltik, 'Draft under the first notice.')).status).toBe(201);

    const wording = `Our own notice ${randomUUID().slice(0, 6)}. Texts are kept {retention}.`;
    const saved = await as(h, course.admin).put('/api/v1/settings', { dataNotice: wording, retention: { mode: 'until_release' } });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ dataNotice: wording, retention: { mode: 'until_release' } });
    try {
      const second = (await as(h, ltik).get('/api/v1/notice')).body;
      expect(second.text).toBe(wording.replace('{retention}', 'until your feedback is released'));
      expect(second.version).not.toBe(first.version);
      expect(second.accepted).toBe(false);
      expect((await submit(ltik, 'Draft under the second notice.')).status).toBe(409);
      // The old version is no longer accepted.
      expect((await as(h, ltik).post('/api/v1/notice/accept', { version: first.version })).status).toBe(409);
      expect((await as(h, ltik).post('/api/v1/notice/accept', { version: second.version })).status).toBe(200);
      expect((await submit(ltik, 'Draft under the second notice.')).status).toBe(201);
    } finally {
      // An emptied notice returns to the built-in one.
      const reset = await as(h, course.admin).put('/api/v1/settings', { dataNotice: '', retention: { mode: 'days_after_release', days: 180 } });
      expect(reset.body.dataNotice).toBeNull();
    }
    expect((await as(h, ltik).get('/api/v1/notice')).body.version).toBe(first.version);
  });

  test('instructors neither need nor accept the notice; retention settings are range-checked', async () => {
    expect((await as(h, course.teacher).get('/api/v1/notice')).status).toBe(200);
    const version = (await as(h, course.teacher).get('/api/v1/notice')).body.version;
    expect((await as(h, course.teacher).post('/api/v1/notice/accept', { version })).status).toBe(403);
    for (const retention of [{ mode: 'days_after_release', days: 0 }, { mode: 'days_after_release', days: 1.5 }, { mode: 'days_after_release' }, { mode: 'forever' }]) {
      const res = await as(h, course.admin).put('/api/v1/settings', { retention });
      expect({ retention, status: res.status }).toEqual({ retention, status: 400 });
    }
  });

  test('the student screen shows the notice with an accept button first, and the submit form only after accepting', async () => {
    const student = await newStudent();
    const page = await getPage(h, '/student', student);
    expect(page.status).toBe(200);
    expect(page.text).toContain('How your work is used');
    expect(page.text).toContain('without your name, email or LMS id');
    expect(page.text).toContain('action="/student/notice"');
    expect(page.text).not.toContain('<label for="f-text">');

    // Posting the form anyway is refused, and nothing is stored.
    const early = await postForm(h, '/student/submissions', student, { text: 'Sneaky early draft.' });
    expect(early.status).toBe(409);
    expect(early.text).toContain('data-use notice');
    expect(await Submission.count({ where: { text: 'Sneaky early draft.' } })).toBe(0);

    const version = /name="version" value="([0-9a-f]{64})"/.exec(page.text)![1]!;
    const accepted = await postForm(h, '/student/notice', student, { version });
    expect(accepted.status).toBe(303);
    const after = await follow(h, accepted.headers.location);
    expect(after).toContain('Thank you. You can now submit your draft.');
    expect(after).not.toContain('action="/student/notice"');
    expect(after).toContain('<label for="f-text">Your text for draft 1</label>');
    expect((await postForm(h, '/student/submissions', student, { text: 'A draft after the notice.' })).status).toBe(303);
  });

  test('the admin settings screen words the notice and sets the retention', async () => {
    const form = { allowInstructorSystemConnections: '1', temperature: '0.2', maxTokens: '1500', topP: '1', allowedLocalHosts: '', retentionMode: 'days_after_release', retentionDays: '30', dataNotice: 'Screen notice: kept {retention}.' };
    const admin = { ltik: course.admin, sub: 'admin' };
    const saved = await postForm(h, '/admin/settings', admin, form);
    expect(saved.status).toBe(303);
    try {
      const page = await getPage(h, '/admin/settings', admin);
      expect(page.text).toContain('Screen notice: kept {retention}.</textarea>');
      expect(page.text).toMatch(/name="retentionDays" type="text" value="30"/);
      const student = await newStudent();
      expect((await getPage(h, '/student', student)).text).toContain('Screen notice: kept for 30 days after your feedback is released.');
      const bad = await postForm(h, '/admin/settings', admin, { ...form, retentionDays: '0' });
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('Days to keep submission text must be at least 1');
    } finally {
      await postForm(h, '/admin/settings', admin, { ...form, retentionDays: '180', dataNotice: '' });
    }
  });
});
