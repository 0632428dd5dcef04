import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import nock from 'nock';
import request from 'supertest';
import type { FeedbackWorker } from '../../src/feedback/worker';
import { Assignment, Run, Submission } from '../../src/models';
import { acceptDataNotice, as, OPENAI_KEY } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { feedbackJson, openaiReply, settled, startWorker } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { CLAIM } from '../support/platform';
import { Actor, follow, getPage, postForm, rowContaining, textOf } from './screens';
import { blockOutbound, restoreOutbound } from '../support/outbound';
import { filesUnder, REPO_ROOT } from '../support/paths';
import { helpers } from '../../src/views/helpers';

// The feedback screens with the real worker: a student submits through the form, the runs are
// answered by a mocked provider (nock, at the OpenAI wire format), the instructor follows progress,
// reviews, edits a score, releases one or many, re-runs failures and re-sends a refused grade.

describe('feedback screens with the worker', () => {
  let h: LtiHarness;
  let worker: FeedbackWorker | undefined;
  let instanceId: string;
  const key = OPENAI_KEY();

  beforeAll(async () => {
    // Its own database on PostgreSQL: this worker must take only this file's runs, and no other file's worker these.
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl: await isolatedDatabaseUrl() });
    blockOutbound();
    const admin = (await h.launch('moodle-admin')).ltik!;
    const provider = await as(h, admin).post('/api/v1/providers', { kind: 'openai', label: 'OpenAI', apiKey: key, scope: 'system' });
    instanceId = (await as(h, admin).post('/api/v1/instances', { name: 'GPT mini', providerId: provider.body.id, model: 'gpt-4o-mini', scope: 'system', isDefault: true, params: { maxTokens: 1000 } })).body.id;
  });
  afterAll(async () => {
    await worker?.stop(1000);
    restoreOutbound();
    await h.close();
  });
  afterEach(() => nock.cleanAll());

  /** The worker starts only when a test has checked what the student sees before it runs. */
  const ensureWorker = () => (worker ??= startWorker(h));

  async function launch(fixture: 'moodle-teacher' | 'moodle-student', claims: Record<string, unknown>, sub: string): Promise<Actor> {
    const result = await h.launch(fixture, { claims: { ...claims, sub } });
    if (!result.ltik) throw new Error(`launch of ${fixture} gave no ltik (${result.status})`);
    if (fixture === 'moodle-student') await acceptDataNotice(h, result.ltik);
    return { ltik: result.ltik, sub };
  }

  /** An assignment on a fresh link, made through the set-up form (one run, grade passback on). */
  async function setUp(extra: Record<string, string> = {}) {
    const link = { [CLAIM.resourceLink]: { id: `rl-${randomUUID().slice(0, 8)}`, title: 'Essay' } };
    const teacher = await launch('moodle-teacher', link, 'teacher-1');
    const res = await postForm(h, '/instructor/assignments', teacher, {
      title: 'Essay 1',
      instructions: 'Argue for or against homework.',
      'rubric.0.id': 'content', 'rubric.0.name': 'Content', 'rubric.0.description': 'A clear thesis.', 'rubric.0.weight': '2', 'rubric.0.maxScore': '5',
      'rubric.1.id': 'style', 'rubric.1.name': 'Style', 'rubric.1.description': 'Readable prose.', 'rubric.1.weight': '1', 'rubric.1.maxScore': '10',
      'models.0.instanceId': instanceId, 'models.0.use': '1', 'models.0.runs': '1', 'models.0.weight': '1',
      aggregation: 'mean', quorum: '', releaseMode: 'review', maxDrafts: '3', maxChars: '50000', gradePassback: '1',
      ...extra,
    });
    expect(res.status).toBe(303);
    const assignment = (await Assignment.findOne({ where: { resourceLinkId: link[CLAIM.resourceLink].id } }))!;
    const student = async (name = 'Stu Dent') => {
      const sub = `student-${randomUUID().slice(0, 8)}`;
      h.platform.setLearner(sub, true);
      return launch('moodle-student', { ...link, name }, sub);
    };
    return { teacher, assignment, student };
  }

  /** The ids of visible form controls that no <label for> names. */
  function unlabelled(html: string): string[] {
    const labels = new Set([...html.matchAll(/<label[^>]*\bfor="([^"]+)"/g)].map((m) => m[1]));
    return [...html.matchAll(/<(input|select|textarea)\b([^>]*)>/g)]
      .filter((m) => !/type="hidden"/.test(m[2]!))
      .map((m) => /\bid="([^"]+)"/.exec(m[2]!)?.[1] ?? `(no id) ${m[0]}`)
      .filter((id) => !labels.has(id));
  }

  async function submit(student: Actor, text: string): Promise<Submission> {
    const res = await postForm(h, '/student/submissions', student, { text });
    expect(res.status).toBe(303);
    return (await Submission.findOne({ where: { text } }))!;
  }

  test('HTML in the model\'s output renders as text on the review page and in the released feedback', async () => {
    const hostile = `<script>alert(1)</script><img src=x onerror=alert(2)>`;
    const escaped = '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src&#x3D;x onerror&#x3D;alert(2)&gt;'; // Handlebars escapes = too
    const { teacher, student: newStudent } = await setUp();
    const student = await newStudent();
    // The model's comment, strengths, improvements and summary all carry markup (feedbackJson puts the tag in each).
    nock('https://api.openai.com').post('/v1/chat/completions').reply(200, openaiReply(feedbackJson(3, 7, hostile)));
    const submission = await submit(student, `Model markup ${randomUUID()}`);
    ensureWorker();
    expect((await settled(h, teacher.ltik, submission.id)).status).toBe('ready');

    const review = await getPage(h, `/instructor/submissions/${submission.id}`, teacher);
    expect(review.status).toBe(200);
    expect(review.text).toContain(escaped);
    expect(review.text).not.toContain(hostile);
    expect(review.text).not.toContain('<img src=x');

    // Released as the model wrote it (the review form sends the model's comments back unchanged).
    const released = await postForm(h, `/instructor/submissions/${submission.id}/review`, teacher, {
      'criteria.0.criterionId': 'content', 'criteria.0.score': '3', 'criteria.0.comment': `Content 3 (${hostile})`,
      'criteria.1.criterionId': 'style', 'criteria.1.score': '7', 'criteria.1.comment': `Style 7 (${hostile})`,
      summary: `Summary from ${hostile}`, release: '1',
    });
    expect(released.status).toBe(303);
    const mine = await getPage(h, '/student', student);
    expect(mine.text).toContain('AI-generated feedback');
    expect(mine.text).toContain(`Thesis is clear (${escaped})`);
    expect(mine.text).toContain(`Summary from ${escaped}`);
    expect(mine.text).not.toContain(hostile);
    expect(mine.text.match(/<script\b/g)).toHaveLength(1); // the layout's app.js only
  });

  test('the layout\'s rendered page body is the only unescaped output in the templates', async () => {
    // {{{body}}} is the view express-handlebars has already rendered, escaped; any other triple-stash
    // would print a value raw.
    const templates = filesUnder('views', /\.hbs$/);
    expect(templates).toContain('views/layouts/main.hbs');
    const raw = templates.flatMap((file) => [...fs.readFileSync(path.join(REPO_ROOT, file), 'utf8').matchAll(/\{\{\{[^}]*\}\}\}|\{\{&[^}]*\}\}/g)].map((m) => `${file}: ${m[0]}`));
    expect(raw).toEqual(['views/layouts/main.hbs: {{{body}}}']);
    // The rendered view is escaped only if no helper hands back a SafeString (printed raw) and the
    // engine escapes at all.
    const markup = '<img src=x onerror=alert(1)>';
    for (const [name, helper] of Object.entries(helpers)) {
      const result: unknown = (helper as (...a: unknown[]) => unknown)(markup, markup, markup, {});
      // A SafeString is an object (with toHTML); escaped output is a plain string or boolean.
      expect([name, typeof result]).toEqual([name, expect.stringMatching(/^(string|boolean)$/)]);
    }
    const engineSetup = fs.readFileSync(path.join(REPO_ROOT, 'src', 'app.ts'), 'utf8');
    expect(engineSetup).toMatch(/engine\(\{[^)]*helpers \}\)/);
    expect(filesUnder('src', /\.ts$/).filter((file) => /noEscape|SafeString\(/.test(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8')))).toEqual([]);
    // And {{{body}}} is always the rendered view: a route's data named `body` (a request body, a
    // model's text) cannot take its place, because the engine sets it after the view's data.
    const page = await new Promise<string>((resolve, reject) =>
      h.ctx.app.render('home', { title: markup, publicUrl: 'https://tool.example', body: markup }, (err, html) => (err ? reject(err) : resolve(html))),
    );
    expect(page).toContain('&lt;img src&#x3D;x'); // the title, escaped
    expect(page).not.toContain(markup);
  });

  test('a student submits, sees "being generated", and after review with an edited score sees the released AI-generated feedback', async () => {
    const { teacher, assignment, student: newStudent } = await setUp();
    const student = await newStudent();
    // The provider answers only once the student has seen the waiting page (a worker started by an
    // earlier test may take the run at once).
    let answer: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    nock('https://api.openai.com').matchHeader('authorization', `Bearer ${key}`).post('/v1/chat/completions').reply(async () => {
      await answered;
      return [200, openaiReply(feedbackJson(3, 7, 'gpt'))];
    });

    const form = await getPage(h, '/student', student);
    expect(form.text).toContain('<label for="f-text">Your text for draft 1</label>');
    const submission = await submit(student, 'Homework builds habits.\nIt also builds stress.');
    const waiting = await getPage(h, '/student', student);
    expect(waiting.text).toContain('Feedback is being generated…');
    expect(waiting.text).not.toContain('AI-generated feedback');

    answer();
    ensureWorker();
    expect((await settled(h, teacher.ltik, submission.id)).status).toBe('ready');
    const ready = await getPage(h, '/student', student);
    expect(ready.text).toContain('Waiting for your instructor’s review');
    // Students never see runs, aggregates or unreleased scores.
    expect(ready.text).not.toContain('AI-generated feedback');
    expect(ready.text).not.toContain('Content 3 (gpt)');
    expect(ready.text).not.toContain('Summary from gpt');

    // The progress page counts it and links to the review.
    const progress = await getPage(h, `/instructor/assignments/${assignment.id}`, teacher);
    expect(textOf(progress.text)).toMatch(/Ready for review 1 /);
    const row = rowContaining(progress.text, 'Stu Dent');
    expect(textOf(row)).toMatch(/Draft 1 .*Ready for review .*9\.5 \/ 15 .*Sent on release/);
    expect(row).toContain(`name="submissionIds" value="${submission.id}"`);
    expect(unlabelled(progress.text)).toEqual([]);

    const review = await getPage(h, `/instructor/submissions/${submission.id}`, teacher);
    expect(review.status).toBe(200);
    expect(review.text).toContain(`aria-label="The student's text">Homework builds habits.\nIt also builds stress.</div>`);
    expect(textOf(rowContaining(review.text, 'gpt-4o-mini'))).toMatch(/GPT mini .*1 .*Done .*Content: 3 \/ 5 .*Style: 7 \/ 10/);
    expect(textOf(rowContaining(review.text, '>Content<'))).toMatch(/Content 3 \/ 5 .*0 .*1 .*None/);
    expect(review.text).toContain('value="3"');
    expect(review.text).toContain('Content 3 (gpt)</textarea>');
    expect(review.text).not.toContain('Send grade again');
    expect(unlabelled(review.text)).toEqual([]);

    // "Save" keeps it unreleased; an out-of-range score is refused beside its input with the typed values kept.
    const body = (score: string, extra: Record<string, string> = {}) => ({
      'criteria.0.criterionId': 'content', 'criteria.0.score': score, 'criteria.0.comment': 'Clearer thesis than most.',
      'criteria.1.criterionId': 'style', 'criteria.1.score': '7', 'criteria.1.comment': 'Style 7 (gpt)',
      summary: 'Good work overall.', ...extra,
    });
    const bad = await postForm(h, `/instructor/submissions/${submission.id}/review`, teacher, body('9'));
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/id="f-criteria-0-score-error"[^>]*>.*Score for “Content” must be between 0 and 5/);
    expect(bad.text).toContain('name="criteria.0.score" type="text" inputmode="decimal" value="9"');
    expect(bad.text).toContain('Clearer thesis than most.</textarea>');
    const notANumber = await postForm(h, `/instructor/submissions/${submission.id}/review`, teacher, body('4abc'));
    expect(notANumber.status).toBe(400);
    expect(notANumber.text).toMatch(/id="f-criteria-0-score-error"[^>]*>.*Score for “Content” must be a number/);

    const saved = await postForm(h, `/instructor/submissions/${submission.id}/review`, teacher, body('4'));
    expect(saved.status).toBe(303);
    expect(await follow(h, saved.headers.location)).toContain('Your changes were saved.');
    expect((await submission.reload()).status).toBe('ready');
    expect((await getPage(h, '/student', student)).text).not.toContain('AI-generated feedback');

    const released = await postForm(h, `/instructor/submissions/${submission.id}/review`, teacher, body('4', { release: '1' }));
    expect(released.status).toBe(303);
    const after = await follow(h, released.headers.location);
    expect(after).toContain('The feedback was released to the student.');
    expect(textOf(after)).toMatch(/Status Released/);
    expect(textOf(after)).toMatch(/Gradebook Sent to the gradebook/);
    expect(after).not.toContain('name="criteria.0.score"');
    await submission.reload();
    expect(submission).toMatchObject({ status: 'released', agsStatus: 'sent' });
    // 15 × (2·4/5 + 1·7/10) / 3 = 11.5
    expect(submission.overallScore).toBe(11.5);
    expect(h.platform.scores.at(-1)!.body).toMatchObject({ userId: student.sub, scoreGiven: 11.5, scoreMaximum: 15 });

    const mine = await getPage(h, '/student', student);
    expect(mine.text).toContain('AI-generated feedback');
    expect(mine.text).toContain('Released');
    expect(textOf(mine.text)).toContain('Overall score: 11.5 out of 15');
    expect(textOf(mine.text)).toContain('Content: 4 out of 5');
    expect(textOf(mine.text)).toContain('Style: 7 out of 10');
    expect(mine.text).toContain('Clearer thesis than most.');
    expect(mine.text).toContain('Thesis is clear (gpt)');
    expect(mine.text).toContain('Fix comma splices (gpt)');
    expect(mine.text).toContain('Good work overall.');
    // Never the runs or the aggregate.
    expect(mine.text).not.toContain('gpt-4o-mini');
    expect(mine.text).not.toContain('Spread');
    expect(mine.text).toContain('<label for="f-text">Your text for draft 2</label>');
    expect(unlabelled(mine.text)).toEqual([]);

    // Another student of the same link sees none of it.
    const other = await newStudent('Other Student');
    const theirs = await getPage(h, '/student', other);
    expect(theirs.text).not.toContain('Clearer thesis than most.');
    expect(theirs.text).toContain('You have not submitted a draft yet.');
    expect((await getPage(h, `/instructor/submissions/${submission.id}`, other)).status).toBe(403);
  });

  test('bulk release releases exactly the selected submissions', async () => {
    ensureWorker();
    const { teacher, assignment, student: newStudent } = await setUp();
    nock('https://api.openai.com').post('/v1/chat/completions').times(3).reply(200, openaiReply(feedbackJson(4, 8)));
    // Everyone launches first: on SQLite a launch racing the worker's writes can hit SQLITE_BUSY (see the report).
    const students = [await newStudent('Ann'), await newStudent('Bob'), await newStudent('Cy')];
    const subs: Submission[] = [];
    for (const [i, name] of ['Ann', 'Bob', 'Cy'].entries()) subs.push(await submit(students[i]!, `Text by ${name}`));
    for (const s of subs) {
      const view = await settled(h, teacher.ltik, s.id);
      const runs = (await Run.findAll({ where: { submissionId: s.id } })).map((r) => `${r.status}:${r.errorCode}:${r.attempts}`);
      expect({ status: view.status, runs }).toEqual({ status: 'ready', runs: ['succeeded:null:1'] });
    }

    const page = await getPage(h, `/instructor/assignments/${assignment.id}`, teacher);
    expect(page.text).toContain('Release selected');
    expect(page.text).toContain(`<form id="bulk-release" method="post" action="/instructor/assignments/${assignment.id}/release">`);
    // Checkboxes share one name, as a browser sends them.
    const body = new URLSearchParams([['ltik', teacher.ltik], ['submissionIds', subs[0]!.id], ['submissionIds', subs[2]!.id]]).toString();
    const res = await request(h.ctx.app).post(`/instructor/assignments/${assignment.id}/release`).type('form').send(body);
    expect(res.status).toBe(303);
    const after = await follow(h, res.headers.location);
    expect(after).toContain('Released 2 submissions.');
    expect(textOf(after)).toMatch(/Released 2 /);
    expect((await Promise.all(subs.map((s) => s.reload()))).map((s) => s.status)).toEqual(['released', 'ready', 'released']);
    expect(textOf(rowContaining(after, 'Bob'))).toContain('Ready for review');
    expect(textOf(rowContaining(after, 'Ann'))).toContain('Sent to the gradebook');

    // Nothing ticked: refused on the page, nothing released; another assignment's id is not released either.
    const none = await postForm(h, `/instructor/assignments/${assignment.id}/release`, teacher);
    expect(none.status).toBe(400);
    expect(none.text).toContain('Nothing was released: tick at least one submission');
    const { teacher: otherTeacher, assignment: other } = await setUp();
    const foreign = await postForm(h, `/instructor/assignments/${other.id}/release`, otherTeacher, { submissionIds: subs[1]!.id });
    expect(foreign.status).toBe(303);
    expect(await follow(h, foreign.headers.location)).toContain('Released 0 submissions. 1 submission could not be released');
    expect((await subs[1]!.reload()).status).toBe('ready');
  });

  test('failures show their reason in words, and "Re-run failed" runs only the failed runs again', async () => {
    ensureWorker();
    const { teacher, assignment, student: newStudent } = await setUp({ 'models.0.runs': '2', quorum: '1' });
    nock('https://api.openai.com')
      .post('/v1/chat/completions').reply(200, openaiReply(feedbackJson(3, 7)))
      .post('/v1/chat/completions').reply(401, { error: { message: `Incorrect API key provided: ${key}` } });
    const submission = await submit(await newStudent('Failing Student'), 'A text whose second run fails.');
    expect((await settled(h, teacher.ltik, submission.id)).status).toBe('ready');

    const page = await getPage(h, `/instructor/assignments/${assignment.id}`, teacher);
    expect(textOf(page.text)).toContain('1 × The provider rejected the API key.');
    expect(page.text).not.toContain(key);
    const row = rowContaining(page.text, 'Failing Student');
    expect(textOf(row)).toContain('1 failed run');
    expect(row).toContain(`action="/instructor/submissions/${submission.id}/retry"`);
    const review = await getPage(h, `/instructor/submissions/${submission.id}`, teacher);
    expect(textOf(review.text)).toMatch(/Failed .*The provider rejected the API key\./);

    nock('https://api.openai.com').post('/v1/chat/completions').reply(200, openaiReply(feedbackJson(3, 7)));
    const retried = await postForm(h, `/instructor/submissions/${submission.id}/retry`, teacher, { from: 'review' });
    expect(retried.status).toBe(303);
    expect(new URL(retried.headers.location!, h.toolUrl).pathname).toBe(`/instructor/submissions/${submission.id}`);
    expect(await follow(h, retried.headers.location)).toContain('The failed runs were queued again.');
    expect((await settled(h, teacher.ltik, submission.id)).status).toBe('ready');
    const runs = await Run.findAll({ where: { submissionId: submission.id } });
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    const progress = await getPage(h, `/instructor/assignments/${assignment.id}`, teacher);
    expect(progress.text).toContain('No failed runs.');
  });

  test('a grade the gradebook refuses is shown with its reason and "Send grade again" sends it', async () => {
    ensureWorker();
    const { teacher, student: newStudent } = await setUp();
    nock('https://api.openai.com').post('/v1/chat/completions').reply(200, openaiReply(feedbackJson(5, 10)));
    const student = await newStudent('Not Enrolled');
    const submission = await submit(student, 'Graded text.');
    expect((await settled(h, teacher.ltik, submission.id)).status).toBe('ready');

    h.platform.setLearner(student.sub, false);
    const released = await postForm(h, `/instructor/submissions/${submission.id}/review`, teacher, { 'criteria.0.criterionId': 'content', 'criteria.0.score': '5', 'criteria.0.comment': 'c', 'criteria.1.criterionId': 'style', 'criteria.1.score': '10', 'criteria.1.comment': 's', summary: 'ok', release: '1' });
    expect(released.status).toBe(303);
    const page = await follow(h, released.headers.location);
    expect(textOf(page)).toContain('Gradebook refused the grade');
    expect(page).toContain('The LMS refused the grade (HTTP 400).');
    expect(page).toContain('Send grade again');
    expect((await submission.reload()).status).toBe('released');

    h.platform.setLearner(student.sub, true);
    const again = await postForm(h, `/instructor/submissions/${submission.id}/gradebook`, teacher);
    expect(again.status).toBe(303);
    const after = await follow(h, again.headers.location);
    expect(after).toContain('The grade was sent to the gradebook.');
    expect(after).not.toContain('Send grade again');
    expect((await submission.reload()).agsStatus).toBe('sent');
  });
});
