import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Assignment, Submission } from '../../src/models';
import { acceptDataNotice, as, OPENAI_KEY } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { CLAIM, extractAutoSubmitForm } from '../support/platform';
import { Actor, follow, getPage, postForm, textOf } from './screens';
import { blockOutbound, restoreOutbound } from '../support/outbound';

// The assignment set-up screens (first launch of a link, deep linking, editing), the student's page
// without a worker (submitting, refusals), and the web rules every feedback screen keeps.

const HOSTILE = '<script>alert(1)</script>';
const ESCAPED = '&lt;script&gt;alert(1)&lt;/script&gt;';

describe('feedback screens: set-up, deep linking, student page, web rules', () => {
  let h: LtiHarness;
  let admin: string;
  const instances: { default: string; other: string } = { default: '', other: '' };

  beforeAll(async () => {
    // Its own database on PostgreSQL: submissions queued here must never reach another file's worker.
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl: await isolatedDatabaseUrl() });
    // No provider is ever called here: nothing may leave the machine.
    blockOutbound();
    admin = (await h.launch('moodle-admin')).ltik!;
    const provider = await as(h, admin).post('/api/v1/providers', { kind: 'openai', label: 'OpenAI', apiKey: OPENAI_KEY(), scope: 'system' });
    instances.default = (await as(h, admin).post('/api/v1/instances', { name: 'GPT mini (default)', providerId: provider.body.id, model: 'gpt-4o-mini', scope: 'system', isDefault: true, params: { maxTokens: 1000 } })).body.id;
    instances.other = (await as(h, admin).post('/api/v1/instances', { name: 'GPT 4o (not default)', providerId: provider.body.id, model: 'gpt-4o', scope: 'system', params: { maxTokens: 1000 } })).body.id;
    expect(instances.default).toMatch(/^[0-9a-f-]{36}$/);
    expect(instances.other).toMatch(/^[0-9a-f-]{36}$/);
  });
  afterAll(async () => {
    restoreOutbound();
    await h.close();
  });

  const newLink = () => ({ id: `rl-${randomUUID().slice(0, 8)}`, title: 'Essay on homework' });

  async function launch(fixture: 'moodle-teacher' | 'moodle-student', claims: Record<string, unknown>): Promise<Actor & { location?: string }> {
    const sub = typeof claims.sub === 'string' ? claims.sub : fixture === 'moodle-student' ? `student-${randomUUID().slice(0, 8)}` : 'teacher-1';
    const result = await h.launch(fixture, { claims: { ...claims, sub } });
    if (!result.ltik) throw new Error(`launch of ${fixture} gave no ltik (${result.status})`);
    // Students here have read the data-use notice (test/privacy covers the notice itself).
    if (fixture === 'moodle-student') await acceptDataNotice(h, result.ltik);
    return { ltik: result.ltik, sub, location: result.location };
  }
  const teacherOn = (link: { id: string }, extra: Record<string, unknown> = {}) => launch('moodle-teacher', { [CLAIM.resourceLink]: link, ...extra });
  const studentOn = (link: { id: string }, extra: Record<string, unknown> = {}) => launch('moodle-student', { [CLAIM.resourceLink]: link, ...extra });

  /** The set-up form as a browser sends it: filled rows, one empty row, ticked models only. */
  function setUpForm(models: Array<{ id: string; runs?: string; weight?: string }>, extra: Record<string, string | undefined> = {}): Record<string, string> {
    const body: Record<string, string | undefined> = {
      title: 'Essay 1',
      instructions: 'Argue for or against homework.',
      'rubric.0.id': 'content', 'rubric.0.name': 'Content', 'rubric.0.description': 'A clear thesis with evidence.', 'rubric.0.weight': '2', 'rubric.0.maxScore': '5',
      'rubric.1.id': 'style', 'rubric.1.name': 'Style', 'rubric.1.description': 'Readable prose.', 'rubric.1.weight': '1', 'rubric.1.maxScore': '10',
      'rubric.2.id': '', 'rubric.2.name': '', 'rubric.2.description': '', 'rubric.2.weight': '1', 'rubric.2.maxScore': '10',
      aggregation: 'mean', quorum: '', releaseMode: 'review', maxDrafts: '3', maxChars: '50000', gradePassback: '1',
    };
    models.forEach((m, i) => Object.assign(body, { [`models.${i}.instanceId`]: m.id, [`models.${i}.use`]: '1', [`models.${i}.runs`]: m.runs ?? '1', [`models.${i}.weight`]: m.weight ?? '1' }));
    Object.assign(body, extra);
    return Object.fromEntries(Object.entries(body).filter((e): e is [string, string] => e[1] !== undefined));
  }

  /** The index of the model row whose hidden instance id is `id`. */
  function modelRow(html: string, id: string): string {
    const index = new RegExp(`name="models\\.(\\d+)\\.instanceId" value="${id}"`).exec(html)?.[1];
    if (index === undefined) throw new Error(`no model row for ${id}`);
    return index;
  }

  /** The "use" checkbox of the model row whose hidden instance id is `id`. */
  function useCheckbox(html: string, id: string): string {
    const index = modelRow(html, id);
    const tag = new RegExp(`<input[^>]*name="models\\.${index}\\.use"[^>]*>`).exec(html)?.[0];
    if (!tag) throw new Error(`no checkbox for model row ${index}`);
    return tag;
  }

  /** The ids of visible form controls that no <label for> names. */
  function unlabelled(html: string): string[] {
    const labels = new Set([...html.matchAll(/<label[^>]*\bfor="([^"]+)"/g)].map((m) => m[1]));
    return [...html.matchAll(/<(input|select|textarea)\b([^>]*)>/g)]
      .filter((m) => !/type="hidden"/.test(m[2]!))
      .map((m) => /\bid="([^"]+)"/.exec(m[2]!)?.[1] ?? `(no id) ${m[0]}`)
      .filter((id) => !labels.has(id));
  }

  /** Creates an assignment on a fresh link through the set-up form; returns it and its teacher. */
  async function assignmentOnNewLink(extra: Record<string, string | undefined> = {}) {
    const link = newLink();
    const teacher = await teacherOn(link);
    const res = await postForm(h, '/instructor/assignments', teacher, setUpForm([{ id: instances.default }], extra));
    expect(res.status).toBe(303);
    const assignment = await Assignment.findOne({ where: { resourceLinkId: link.id } });
    if (!assignment) throw new Error('no assignment was created');
    return { link, teacher, assignment, location: res.headers.location as string };
  }

  test('the first instructor launch of an unconfigured link shows the set-up form with the default instance ticked', async () => {
    const link = newLink();
    const teacher = await teacherOn(link);
    expect(new URL(teacher.location!, h.toolUrl).pathname).toBe('/instructor');
    const page = await getPage(h, '/instructor', teacher);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Set up feedback for this assignment');
    // The link's own title is suggested.
    expect(page.text).toMatch(/<input id="f-title" name="title" type="text" value="Essay on homework"/);
    expect(useCheckbox(page.text, instances.default)).toContain('checked');
    expect(useCheckbox(page.text, instances.other)).not.toContain('checked');
    // Three criterion rows, each input labelled.
    for (const field of ['name', 'id', 'description', 'weight', 'maxScore']) {
      for (const i of [0, 1, 2]) expect(page.text).toContain(`<label for="f-rubric-${i}-${field}">`);
    }
    for (const name of ['f-instructions', 'f-aggregation', 'f-quorum', 'f-maxDrafts', 'f-gradePassback', 'f-releaseMode-review']) expect(page.text).toContain(`for="${name}"`);
    expect(page.text).toContain('name="addCriterion"');
    expect(unlabelled(page.text)).toEqual([]);
    expect(await Assignment.count({ where: { resourceLinkId: link.id } })).toBe(0);
  });

  test('submitting the set-up form creates the assignment bound to the link and shows its progress page', async () => {
    const link = newLink();
    const teacher = await teacherOn(link);
    const res = await postForm(h, '/instructor/assignments', teacher, setUpForm([{ id: instances.default, runs: '3' }], { quorum: '2', 'rubric.1.id': '' }));
    expect(res.status).toBe(303);
    const location = new URL(res.headers.location!, h.toolUrl);
    expect(location.pathname).toMatch(/^\/instructor\/assignments\/[0-9a-f-]{36}$/);
    expect(location.searchParams.get('ltik')).toBe(teacher.ltik);

    const assignment = await Assignment.findOne({ where: { resourceLinkId: link.id } });
    expect(assignment).toMatchObject({
      title: 'Essay 1',
      contextId: '2',
      quorum: 2,
      releaseMode: 'review',
      maxDrafts: 3,
      gradePassback: true,
      models: [{ instanceId: instances.default, runs: 3, weight: 1 }],
    });
    // The empty third row is skipped; an empty id is made from the name.
    expect(assignment!.rubric.map((c) => [c.id, c.name, c.weight, c.maxScore])).toEqual([['content', 'Content', 2, 5], ['style', 'Style', 1, 10]]);
    expect(location.pathname).toBe(`/instructor/assignments/${assignment!.id}`);

    const progress = await follow(h, res.headers.location);
    expect(progress).toContain('The assignment was created.');
    expect(progress).toContain('<h1>Essay 1</h1>');
    expect(textOf(progress)).toMatch(/Submissions 0 .*Released 0/);
    expect(progress).toContain('No student has submitted yet.');
    expect(progress).toContain(`data-ltik="${teacher.ltik}"`);
    expect(progress).toContain(`data-progress-url="/api/v1/assignments/${assignment!.id}/progress"`);
    expect(progress).toContain('<script src="/static/progress.js" defer></script>');
    expect(progress).toContain('Edit assignment');

    // The link's next launch opens its progress, not the set-up form; the API agrees.
    const again = await teacherOn(link);
    const home = await getPage(h, '/instructor', again);
    expect(home.status).toBe(200);
    expect(home.text).toContain('<h1>Essay 1</h1>');
    expect(home.text).not.toContain('Set up feedback');
    const current = await as(h, again.ltik).get('/api/v1/assignments/current');
    expect(current.body).toMatchObject({ id: assignment!.id, bound: true });
  });

  test('a refused set-up form shows each problem beside its row and keeps what was typed; "add another criterion" adds a row', async () => {
    const link = newLink();
    const teacher = await teacherOn(link);
    const typedInstructions = 'Keep these instructions, with <b>markup</b>.';
    const res = await postForm(h, '/instructor/assignments', teacher, setUpForm([{ id: instances.default, runs: '11' }], {
      title: '',
      instructions: typedInstructions,
      // Row 1 blank (skipped), row 2 filled with a bad weight: the message must land on row 2, not row 1.
      'rubric.1.id': '', 'rubric.1.name': '', 'rubric.1.description': '',
      'rubric.2.id': 'bad id!', 'rubric.2.name': 'Evidence', 'rubric.2.description': 'Uses sources.', 'rubric.2.weight': '2x', 'rubric.2.maxScore': '10',
    }));
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/id="f-title-error"[^>]*>.*Title is required/);
    expect(res.text).toMatch(/id="f-rubric-2-weight-error"[^>]*>.*Criterion 3 weight must be a number/);
    expect(res.text).toMatch(/id="f-rubric-2-id-error"[^>]*>.*Criterion 3 id must be 1-40 letters/);
    expect(res.text).not.toContain('id="f-rubric-1-weight-error"');
    const row = modelRow(res.text, instances.default);
    expect(res.text).toMatch(new RegExp(`id="f-models-${row}-runs-error"[^>]*>.*Model “GPT mini \\(default\\)” runs must be between 1 and 10`));
    expect(res.text).toContain('Nothing was saved');
    // Typed values come back, escaped.
    expect(res.text).toContain('Keep these instructions, with &lt;b&gt;markup&lt;/b&gt;.');
    expect(res.text).toContain('name="rubric.2.weight" type="text" inputmode="decimal" value="2x"');
    expect(res.text).toContain('value="Evidence"');
    expect(res.text).toContain(`name="models.${row}.runs" type="text" inputmode="numeric" value="11"`);
    expect(useCheckbox(res.text, instances.default)).toContain('checked');
    expect(await Assignment.count({ where: { resourceLinkId: link.id } })).toBe(0);

    // No instance ticked: the message is on the models group.
    const none = await postForm(h, '/instructor/assignments', teacher, { ...setUpForm([]), [`models.0.instanceId`]: instances.default });
    expect(none.status).toBe(400);
    expect(none.text).toMatch(/id="f-models-error"[^>]*>.*Models choose at least one model instance/);

    // "Add another criterion": the same values, one more empty row, nothing saved.
    const more = await postForm(h, '/instructor/assignments', teacher, setUpForm([{ id: instances.default }], { addCriterion: '1', title: 'Still typing' }));
    expect(more.status).toBe(200);
    expect(more.text).toContain('id="f-rubric-3-name"');
    expect(more.text).not.toContain('id="f-rubric-4-name"');
    expect(more.text).toMatch(/id="f-rubric-3-name"[^>]*autofocus/);
    expect(more.text).toContain('value="Still typing"');
    expect(more.text).not.toContain('Nothing was saved');
    expect(await Assignment.count({ where: { resourceLinkId: link.id } })).toBe(0);
  });

  test('the edit form shows the assignment and saves every field through the update command', async () => {
    const { assignment, teacher } = await assignmentOnNewLink();
    const edit = await getPage(h, `/instructor/assignments/${assignment.id}/edit`, teacher);
    expect(edit.status).toBe(200);
    expect(edit.text).toContain('value="Essay 1"');
    expect(edit.text).toContain('value="content"');
    expect(edit.text).toMatch(/id="f-gradePassback"[^>]*checked/);
    expect(useCheckbox(edit.text, instances.default)).toContain('checked');
    expect(unlabelled(edit.text)).toEqual([]);

    const saved = await postForm(h, `/instructor/assignments/${assignment.id}`, teacher, setUpForm([{ id: instances.default, runs: '2' }, { id: instances.other, runs: '1', weight: '2' }], {
      title: 'Essay 1 (revised)', maxDrafts: '2', releaseMode: 'auto', aggregation: 'weighted', gradePassback: undefined,
    }));
    expect(saved.status).toBe(303);
    expect(new URL(saved.headers.location!, h.toolUrl).pathname).toBe(`/instructor/assignments/${assignment.id}`);
    expect(await follow(h, saved.headers.location)).toContain('The assignment was saved.');
    await assignment.reload();
    expect(assignment).toMatchObject({ title: 'Essay 1 (revised)', maxDrafts: 2, releaseMode: 'auto', aggregation: 'weighted', gradePassback: false });
    expect(assignment.models).toEqual([{ instanceId: instances.default, runs: 2, weight: 1 }, { instanceId: instances.other, runs: 1, weight: 2 }]);

    const refused = await postForm(h, `/instructor/assignments/${assignment.id}`, teacher, setUpForm([{ id: instances.default }], { title: 'Nope', maxDrafts: '0' }));
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/id="f-maxDrafts-error"[^>]*>.*Drafts per student must be between 1 and 20/);
    expect((await assignment.reload()).title).toBe('Essay 1 (revised)');
  });

  test('deep linking: set-up, a signed response with the custom parameter and a line item, and the link found on a student launch', async () => {
    const launched = await h.launch('moodle-deep-linking');
    expect(launched.status).toBe(303);
    const page = await h.platform.follow(h.ctx.app, launched);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Add FeedForward to your course');
    expect(useCheckbox(page.text, instances.default)).toContain('checked');
    const form = extractAutoSubmitForm(page.text);
    expect(form).toMatchObject({ action: '/instructor/deep-link', method: 'POST' });
    expect(form.fields.ltik).toBe(launched.ltik);
    expect(unlabelled(page.text)).toEqual([]);

    const title = `Deep-linked essay ${randomUUID().slice(0, 6)}`;
    const res = await request(h.ctx.app).post('/instructor/deep-link').set('Sec-Fetch-Site', 'same-origin').type('form')
      .send({ ltik: launched.ltik!, ...setUpForm([{ id: instances.default }], { title }) });
    expect(res.status).toBe(200);
    const back = extractAutoSubmitForm(res.text);
    const settings = launched.payload![CLAIM.deepLinkingSettings] as { deep_link_return_url: string };
    expect(back).toMatchObject({ action: settings.deep_link_return_url, method: 'POST' });

    const assignment = await Assignment.findOne({ where: { title } });
    expect(assignment).toMatchObject({ resourceLinkId: null, contextId: '2', gradePassback: true });
    const payload = await h.platform.verifyDeepLinkingResponse(back.fields.JWT!);
    expect(payload[CLAIM.deepLinkingContentItems]).toEqual([{
      type: 'ltiResourceLink',
      title,
      url: `${h.toolUrl}/lti/launch`,
      custom: { feedforward_assignment: assignment!.id },
      lineItem: { scoreMaximum: 15, label: title, resourceId: assignment!.id },
    }]);

    // The LMS creates the link; its first student launch carries the custom parameter and binds it.
    const link = newLink();
    const student = await studentOn(link, { [CLAIM.custom]: { feedforward_assignment: assignment!.id } });
    const studentPage = await getPage(h, '/student', student);
    expect(studentPage.status).toBe(200);
    expect(studentPage.text).toContain(`<h1>${title}</h1>`);
    expect(studentPage.text).toContain('Argue for or against homework.');
    expect(studentPage.text).toContain('<label for="f-text">Your text for draft 1</label>');
    expect((await assignment!.reload()).resourceLinkId).toBe(link.id);

    // Without grade passback there is no line item.
    const again = await h.launch('moodle-deep-linking');
    const noGrades = await request(h.ctx.app).post('/instructor/deep-link').set('Sec-Fetch-Site', 'same-origin').type('form')
      .send({ ltik: again.ltik!, ...setUpForm([{ id: instances.default }], { title: `${title} no grades`, gradePassback: undefined }) });
    expect(noGrades.status).toBe(200);
    const items = (await h.platform.verifyDeepLinkingResponse(extractAutoSubmitForm(noGrades.text).fields.JWT!))[CLAIM.deepLinkingContentItems] as Array<Record<string, unknown>>;
    expect(items[0]).not.toHaveProperty('lineItem');
    expect(items[0]!.custom).toEqual({ feedforward_assignment: expect.stringMatching(/^[0-9a-f-]{36}$/) });

    // A hostile title is never written into the page raw, and reaches the LMS exactly as typed.
    const hostileTitle = `</script><script>alert("t")</script><img src=x onerror=alert(1)>"'&`;
    const fourth = await h.launch('moodle-deep-linking');
    const hostile = await request(h.ctx.app).post('/instructor/deep-link').set('Sec-Fetch-Site', 'same-origin').type('form')
      .send({ ltik: fourth.ltik!, ...setUpForm([{ id: instances.default }], { title: hostileTitle }) });
    expect(hostile.status).toBe(200);
    expect(hostile.text).not.toContain('<script>alert');
    expect(hostile.text).not.toContain('<img src=x');
    expect(hostile.text.match(/<script\b/g)).toHaveLength(2); // the layout's app.js and the auto-submit
    const hostileItems = (await h.platform.verifyDeepLinkingResponse(extractAutoSubmitForm(hostile.text).fields.JWT!))[CLAIM.deepLinkingContentItems] as Array<{ title: string; lineItem: { label: string } }>;
    expect(hostileItems[0]).toMatchObject({ title: hostileTitle, lineItem: { label: hostileTitle } });

    // A refused deep-linking form signs nothing and shows the problems.
    const third = await h.launch('moodle-deep-linking');
    const refused = await request(h.ctx.app).post('/instructor/deep-link').set('Sec-Fetch-Site', 'same-origin').type('form')
      .send({ ltik: third.ltik!, ...setUpForm([{ id: instances.default }], { title: '' }) });
    expect(refused.status).toBe(400);
    expect(refused.text).not.toContain('name="JWT"');
    expect(refused.text).toMatch(/id="f-title-error"[^>]*>.*Title is required/);
  });

  test('a student on a link without an assignment is told so', async () => {
    const student = await studentOn(newLink());
    const page = await getPage(h, '/student', student);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Your instructor has not set up this assignment yet.');
    expect(page.text).not.toContain('name="text"');
    const post = await postForm(h, '/student/submissions', student, { text: 'Too early' });
    expect(post.status).toBe(404);
    expect(post.text).toContain('Your instructor has not set up this assignment yet.');
  });

  test('a student submits through the form, sees it being generated, and is refused clearly when the text is too long or no drafts remain', async () => {
    const { link } = await assignmentOnNewLink({ maxDrafts: '1', maxChars: '100' });
    const student = await studentOn(link);
    const page = await getPage(h, '/student', student);
    expect(page.text).toContain('Up to 100 characters. You have 1 of 1 drafts left.');
    expect(unlabelled(page.text)).toEqual([]);

    const long = 'x'.repeat(150);
    const tooLong = await postForm(h, '/student/submissions', student, { text: long });
    expect(tooLong.status).toBe(413);
    expect(tooLong.text).toContain('Your draft was not submitted');
    expect(tooLong.text).toMatch(/id="f-text-error"[^>]*>.*Your text has 150 characters; this assignment accepts at most 100/);
    expect(tooLong.text).toContain(`>${long}</textarea>`);

    const empty = await postForm(h, '/student/submissions', student, { text: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('Write something before submitting.');

    const ok = await postForm(h, '/student/submissions', student, { text: 'My first draft.' });
    expect(ok.status).toBe(303);
    const after = await follow(h, ok.headers.location);
    expect(after).toContain('Your draft was submitted.');
    expect(after).toContain('Draft 1');
    expect(after).toContain('Feedback is being generated…');
    expect(after).not.toContain('AI-generated feedback');
    expect(after).toContain('You have used all 1 drafts for this assignment.');
    expect(after).not.toContain('Submit for feedback');

    const refused = await postForm(h, '/student/submissions', student, { text: 'A second draft I want to keep.' });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('You have used all 1 drafts for this assignment.');
    expect(refused.text).toContain('>A second draft I want to keep.</textarea>');
    expect(refused.text).not.toContain('Submit for feedback');
    expect(await Submission.count({ where: { userId: (await Submission.findOne({ where: { text: 'My first draft.' } }))!.userId } })).toBe(1);
  });

  test('hostile rubric names, titles and student text render escaped on every feedback screen', async () => {
    const { link, teacher, assignment } = await assignmentOnNewLink({ title: `Essay ${HOSTILE}`, 'rubric.0.name': HOSTILE, 'rubric.0.description': HOSTILE, instructions: HOSTILE });
    const student = await launch('moodle-student', { [CLAIM.resourceLink]: link, name: HOSTILE });
    expect((await postForm(h, '/student/submissions', student, { text: `${HOSTILE}\nsecond line` })).status).toBe(303);
    const submission = await Submission.findOne({ where: { assignmentId: assignment.id } });

    const pages: Array<[Actor, string, number]> = [
      [teacher, '/instructor', 3],
      [teacher, `/instructor/assignments/${assignment.id}`, 3],
      [teacher, `/instructor/assignments/${assignment.id}/edit`, 1],
      [teacher, `/instructor/submissions/${submission!.id}`, 1],
      [student, '/student', 1],
    ];
    for (const [actor, path, scripts] of pages) {
      const res = await getPage(h, path, actor);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect({ path, escaped: res.text.includes(ESCAPED) }).toEqual({ path, escaped: true });
      expect({ path, raw: res.text.includes(HOSTILE) }).toEqual({ path, raw: false });
      // Only our own scripts: app.js, and progress.js and bulk-release.js on the progress page.
      expect({ path, scripts: res.text.match(/<script/g)?.length }).toEqual({ path, scripts });
    }
    // A refused form shows the hostile values again, escaped.
    const refused = await postForm(h, `/instructor/assignments/${assignment.id}`, teacher, setUpForm([{ id: instances.default }], { 'rubric.0.name': HOSTILE, title: '' }));
    expect(refused.status).toBe(400);
    expect(refused.text).toContain(ESCAPED);
    expect(refused.text.match(/<script/g)?.length).toBe(1);
  });

  test('students get 403 on the instructor screens and forms; another course gets 404', async () => {
    const { link, assignment } = await assignmentOnNewLink();
    const student = await studentOn(link);
    expect((await postForm(h, '/student/submissions', student, { text: 'Mine.' })).status).toBe(303);
    const submission = await Submission.findOne({ where: { assignmentId: assignment.id } });
    for (const path of [`/instructor/assignments/${assignment.id}`, `/instructor/assignments/${assignment.id}/edit`, `/instructor/submissions/${submission!.id}`, '/instructor', '/instructor/deep-link']) {
      const res = await getPage(h, path, student);
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
      expect(res.text).not.toContain('Essay 1');
    }
    for (const path of ['/instructor/assignments', `/instructor/assignments/${assignment.id}`, `/instructor/assignments/${assignment.id}/release`, `/instructor/submissions/${submission!.id}/review`, `/instructor/submissions/${submission!.id}/retry`, `/instructor/submissions/${submission!.id}/gradebook`, '/instructor/deep-link']) {
      const res = await postForm(h, path, student, { ...setUpForm([{ id: instances.default }], { title: 'Student was here' }), submissionIds: submission!.id, release: '1' });
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
    }
    expect(await Assignment.count({ where: { title: 'Student was here' } })).toBe(0);
    expect((await submission!.reload()).status).toBe('queued');

    // An instructor of another course of the same deployment sees neither the assignment nor its drafts.
    const elsewhere = await teacherOn(newLink(), { [CLAIM.context]: { id: 'another-course', label: 'AC', title: 'Another course', type: ['CourseSection'] } });
    for (const path of [`/instructor/assignments/${assignment.id}`, `/instructor/assignments/${assignment.id}/edit`, `/instructor/submissions/${submission!.id}`]) {
      expect({ path, status: (await getPage(h, path, elsewhere)).status }).toEqual({ path, status: 404 });
    }
    expect((await postForm(h, `/instructor/submissions/${submission!.id}/retry`, elsewhere)).status).toBe(404);
    expect((await postForm(h, `/instructor/assignments/${assignment.id}`, elsewhere, setUpForm([{ id: instances.default }], { title: 'Hijacked' }))).status).toBe(404);
    expect((await assignment.reload()).title).toBe('Essay 1');
    // Ids that are not ids are 404 too.
    expect((await getPage(h, '/instructor/assignments/not-an-id', elsewhere)).status).toBe(404);
    expect((await getPage(h, '/instructor/submissions/1%20OR%201=1', elsewhere)).status).toBe(404);
  });

  test('cross-site form posts are refused before anything is saved', async () => {
    const link = newLink();
    const teacher = await teacherOn(link);
    const crossSite = (path: string, body: Record<string, string>) => request(h.ctx.app).post(path).set('Sec-Fetch-Site', 'cross-site').type('form').send(body);

    const setUp = await crossSite('/instructor/assignments', { ltik: teacher.ltik, ...setUpForm([{ id: instances.default }]) });
    expect(setUp.status).toBe(403);
    expect(setUp.text).toContain('must be sent from FeedForward itself');
    expect(await Assignment.count({ where: { resourceLinkId: link.id } })).toBe(0);

    const { link: ready, assignment } = await assignmentOnNewLink();
    const student = await studentOn(ready);
    const submit = await crossSite('/student/submissions', { ltik: student.ltik, text: 'From another site' });
    expect(submit.status).toBe(403);
    expect(await Submission.count({ where: { assignmentId: assignment.id } })).toBe(0);

    const deepLink = await h.launch('moodle-deep-linking');
    const dl = await crossSite('/instructor/deep-link', { ltik: deepLink.ltik!, ...setUpForm([{ id: instances.default }], { title: 'Cross-site deep link' }) });
    expect(dl.status).toBe(403);
    expect(dl.text).not.toContain('name="JWT"');
    expect(await Assignment.count({ where: { title: 'Cross-site deep link' } })).toBe(0);
  });
});
