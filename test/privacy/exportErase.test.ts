import { randomUUID } from 'node:crypto';
import { addDeployment } from '../../src/lti/platforms';
import { AuditEvent, Provider, Run, Submission, UsageEntry, User } from '../../src/models';
import { recordCall } from '../../src/usage/ledger';
import { as } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { me } from '../support/lti';
import { CLAIM } from '../support/platform';
import { dumpAllTables } from '../support/tables';
import { getPage, postForm } from '../screens/screens';
import { Course, courseWithAssignment, launchStudent, legacyLtijsCopies, releaseAsIfReviewed } from './support';

// An admin exports everything the tool holds about one user of the deployment and erases it.
// Completeness and erasure are checked against every table of the database (ours, ltijs's, the
// job queue's), not against a list the code under test also uses.

/** Where the export puts each table's rows about the user; a table that refers to a user and is missing here fails the test. */
const EXPORT_SECTIONS: Record<string, (e: Record<string, any>) => unknown[]> = {
  users: (e) => [e.user],
  lti_launches: (e) => e.launches,
  submissions: (e) => e.submissions,
  runs: (e) => e.runs,
  notice_acceptances: (e) => e.noticeAcceptances,
  audit_events: (e) => e.auditEvents,
  assignments: (e) => e.assignmentsCreated,
  providers: (e) => e.providerConnectionsOwned,
  model_instances: (e) => e.modelInstancesOwned,
  idtokens: (e) => e.ltijs.idtokens,
  contexttokens: (e) => e.ltijs.contexttokens,
  usage_entries: (e) => e.usageEntries,
  budgets: (e) => e.budgets,
};

type Identity = { sub: string; name: string; email: string };

const identity = (tag: string): Identity => ({ sub: `${tag}-sub-${randomUUID()}`, name: `${tag} Name ${randomUUID().slice(0, 8)}`, email: `${tag}.${randomUUID().slice(0, 8)}@example.edu` });

describe('export and erasure of one user', () => {
  let h: LtiHarness;
  let course: Course;
  let issuer: string;
  let deployment: { id: string; clientId: string; deploymentId: string };

  beforeAll(async () => {
    // Its own database: every table is searched.
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl: await isolatedDatabaseUrl() });
    course = await courseWithAssignment(h);
    const who = (await me(h.ctx, course.admin)).body;
    deployment = who.deployment;
    issuer = who.deployment.issuer;
  });
  afterAll(async () => h.close());

  /** Rows of `table` (as dumped) about the user: naming their id or one of their submissions, or their sub within this deployment. */
  function rowsAbout(rowsJson: string, ids: string[], sub: string): unknown[] {
    const rows = JSON.parse(rowsJson) as Array<Record<string, unknown>>;
    const inDeployment = (text: string) => text.includes(JSON.stringify(issuer)) || text.includes(encodeURIComponent(issuer + deployment.clientId + deployment.deploymentId));
    return rows.filter((row) => {
      const text = JSON.stringify(row);
      return ids.some((id) => text.includes(id)) || (text.includes(sub) && inDeployment(text));
    });
  }

  test('the export holds every row of every table about the user; erasure leaves nothing identifying and keeps usage, pseudonymised audit, and other deployments', async () => {
    const who = identity('Sam');
    const student = await launchStudent(h, course, who);
    await launchStudent(h, course, who); // a second launch: two sessions
    const userId = (await me(h.ctx, student)).body.user.id as string;
    const first = await as(h, student).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: 'Sam first draft about homework.' });
    const second = await as(h, student).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: 'Sam second draft, still waiting.' });
    expect([first.status, second.status]).toEqual([201, 201]);
    await releaseAsIfReviewed(first.body.id, new Date());
    // The first draft's call in the usage ledger, as the worker appends it.
    const firstRun = (await Run.findOne({ where: { submissionId: first.body.id } }))!;
    const provider = (await Provider.findByPk(firstRun.providerId))!;
    await recordCall('run_call', { deploymentId: deployment.id, providerId: provider.id, providerKind: provider.kind, ownerType: 'system', ownerUserId: null, submissionId: first.body.id, runId: firstRun.id, assignmentId: course.assignmentId }, { inputMicrosPerMTok: 250_000, outputMicrosPerMTok: 1_000_000 }, { tokensIn: 1000, tokensOut: 200, latencyMs: 1200, outcome: 'ok' });

    // The same sub on another LMS (another platform and deployment) is another person.
    const other = await h.addPlatform({ flavour: 'moodle' });
    const otherWho = { ...identity('Olga'), sub: who.sub };
    const otherLaunch = await other.platform.launch(h.ctx.app, { fixture: 'moodle-student', deploymentId: other.deploymentId, toolUrl: h.toolUrl, claims: { ...course.link, ...otherWho } });
    const otherStudent = otherLaunch.ltik!;
    expect((await as(h, otherStudent).post('/api/v1/notice/accept', { version: (await as(h, otherStudent).get('/api/v1/notice')).body.version })).status).toBe(200);
    const otherUserId = (await me(h.ctx, otherStudent)).body.user.id as string;
    expect(otherUserId).not.toBe(userId);
    // What ltijs kept of earlier launches of both people, in a database from before the tool issued ltiks itself.
    const resourceId = (course.link[CLAIM.resourceLink] as { id: string }).id;
    await legacyLtijsCopies(h, { issuer, clientId: deployment.clientId, deploymentId: deployment.deploymentId, platformId: h.registration.id, ...who, courseId: 'course-1', resourceId });
    await legacyLtijsCopies(h, { issuer: other.platform.issuer, clientId: other.registration.clientId, deploymentId: other.deploymentId, platformId: other.registration.id, ...otherWho, courseId: 'course-1', resourceId });

    // --- Export: complete against every table.
    const submissionIds = [first.body.id as string, second.body.id as string];
    const before = await dumpAllTables(h.ctx.sequelize);
    const exported = await as(h, course.admin).get(`/api/v1/privacy/users/${userId}/export`);
    expect(exported.status).toBe(200);
    expect(exported.headers['content-disposition']).toContain('attachment');
    const data = exported.body as Record<string, any>;
    const covered: string[] = [];
    for (const [table, rowsJson] of Object.entries(before)) {
      const about = rowsAbout(rowsJson, [userId, ...submissionIds], who.sub);
      if (!about.length) continue;
      const section = EXPORT_SECTIONS[table];
      if (!section) throw new Error(`table ${table} holds ${about.length} row(s) about the user but the export has no section for it`);
      expect({ table, rows: section(data).length }).toEqual({ table, rows: about.length });
      covered.push(table);
    }
    // The tables this flow really touches, ours and ltijs's.
    expect(covered).toEqual(expect.arrayContaining(['users', 'lti_launches', 'submissions', 'runs', 'usage_entries', 'notice_acceptances', 'idtokens', 'contexttokens']));
    expect(data.user).toMatchObject({ id: userId, ...who });
    expect(data.submissions.map((s: any) => s.text)).toEqual(['Sam first draft about homework.', 'Sam second draft, still waiting.']);
    expect(data.submissions[0].feedback).toMatchObject({ summary: 'Summary from privacy' });
    expect(data.runs.find((r: any) => r.submissionId === first.body.id).output).toMatchObject({ summary: 'Summary from privacy' });
    expect(data.noticeAcceptances[0]).toMatchObject({ noticeVersion: expect.stringMatching(/^[0-9a-f]{64}$/), acceptedAt: expect.any(String) });
    expect(data.providerPseudonym).toMatch(/^ffu-/);
    // Nothing of the other person.
    expect(exported.text).not.toContain(otherWho.name);
    expect(exported.text).not.toContain(otherUserId);

    // --- Erasure.
    const erased = await as(h, course.admin).post(`/api/v1/privacy/users/${userId}/erase`);
    expect(erased.status).toBe(200);
    expect(erased.body).toMatchObject({ pseudonym: expect.stringMatching(/^erased-[0-9a-f]{16}$/), submissions: 2, launches: 2, userRowDeleted: true });
    expect(erased.body.ltijsRows).toBeGreaterThanOrEqual(2);

    const after = await dumpAllTables(h.ctx.sequelize);
    const otherMarks = [JSON.stringify(other.platform.issuer), encodeURIComponent(other.platform.issuer), otherUserId];
    for (const [table, rowsJson] of Object.entries(after)) {
      expect({ table, name: rowsJson.includes(who.name), email: rowsJson.includes(who.email) }).toEqual({ table, name: false, email: false });
      // The sub remains only in rows of the other LMS's person.
      const withSub = (JSON.parse(rowsJson) as unknown[]).map((r) => JSON.stringify(r)).filter((r) => r.includes(who.sub));
      const strays = withSub.filter((r) => !otherMarks.some((mark) => r.includes(mark)));
      expect({ table, strays }).toEqual({ table, strays: [] });
      for (const text of ['Sam first draft about homework.', 'Sam second draft, still waiting.', 'Content 4 (privacy)']) expect({ table, text, found: rowsJson.includes(text) }).toEqual({ table, text, found: false });
    }
    expect(await User.findByPk(userId)).toBeNull();

    // Usage stays: the submission and run rows, with tokens and cost, under the pseudonym.
    const placeholder = (await User.findOne({ where: { sub: erased.body.pseudonym } }))!;
    expect(placeholder).toMatchObject({ name: null, email: null });
    const submissions = await Submission.findAll({ where: { id: submissionIds }, order: [['draftNumber', 'ASC']] });
    expect(submissions.map((s) => ({ userId: s.userId, text: s.text, feedback: s.feedback, removed: s.textRemovedAt !== null }))).toEqual([
      { userId: placeholder.id, text: null, feedback: null, removed: true },
      { userId: placeholder.id, text: null, feedback: null, removed: true },
    ]);
    // The ledger keeps the call and its cost (250 + 200 micro-dollars).
    expect((await UsageEntry.findAll({ where: { submissionId: submissionIds } })).map((u) => ({ cost: u.costMicros, tokensIn: u.tokensIn }))).toEqual([{ cost: 450, tokensIn: 1000 }]);
    const runs = await Run.findAll({ where: { submissionId: submissionIds }, order: [['createdAt', 'ASC']] });
    expect(runs.map((r) => ({ status: r.status, error: r.errorCode, output: r.output, tokensIn: r.tokensIn, cost: r.costMicros }))).toEqual([
      { status: 'succeeded', error: null, output: null, tokensIn: 1000, cost: 345 },
      // The waiting run of the second draft ends; it never calls a provider for erased text.
      { status: 'failed', error: 'erased', output: null, tokensIn: null, cost: null },
    ]);

    // Both actions are audited, without the data: the rows name the pseudonym and counts.
    const audit = await AuditEvent.findAll({ where: { deploymentId: deployment.id, action: ['privacy.export', 'privacy.erase'] }, order: [['createdAt', 'ASC']] });
    expect(audit.map((a) => ({ action: a.action, target: a.targetId }))).toEqual([
      { action: 'privacy.export', target: placeholder.id },
      { action: 'privacy.erase', target: placeholder.id },
    ]);
    expect(audit[1]!.details).toMatchObject({ pseudonym: erased.body.pseudonym, submissions: 2 });

    // The erased sessions end; the other LMS's person is untouched.
    expect((await me(h.ctx, student)).status).toBe(401);
    expect((await me(h.ctx, otherStudent)).status).toBe(200);
    expect(await User.findByPk(otherUserId)).toMatchObject(otherWho);
    expect((await as(h, otherStudent).get('/api/v1/notice')).body.accepted).toBe(true);
    for (const table of ['lti_launches', 'idtokens', 'users', 'notice_acceptances']) {
      expect({ table, kept: rowsAbout(after[table]!, [otherUserId], '\u0000').length }).toEqual({ table, kept: rowsAbout(before[table]!, [otherUserId], '\u0000').length });
    }
    expect(after.idtokens).toContain(otherWho.email);

    // The admin finds the erased person only by pseudonym now, marked as erased.
    expect((await as(h, course.admin).get('/api/v1/privacy/users').query({ q: who.sub })).body.users).toEqual([]);
    expect((await as(h, course.admin).get('/api/v1/privacy/users').query({ q: 'erased-' })).body.users).toEqual([expect.objectContaining({ id: placeholder.id, erased: true })]);
  });

  test('an instructor is erased too: their assignments, releases and audit lines stay under the pseudonym; owned keys must go first', async () => {
    const who = identity('Tess');
    const teacher = (await h.launch('moodle-teacher', { claims: { ...course.link, ...who } })).ltik!;
    const teacherId = (await me(h.ctx, teacher)).body.user.id as string;
    // An audit line they made, a connection they own.
    const own = await as(h, teacher).post('/api/v1/providers', { kind: 'openai', label: 'Tess key', apiKey: `sk-test${randomUUID().replace(/-/g, '')}` });
    expect(own.status).toBe(201);
    // A draft they released.
    const student = await launchStudent(h, course, identity('Uma'));
    const draft = await as(h, student).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: 'Uma draft.' });
    await releaseAsIfReviewed(draft.body.id, new Date());
    await Submission.update({ releasedByUserId: teacherId }, { where: { id: draft.body.id } });
    // A ledger row for a call of an assignment they configured.
    const draftRun = (await Run.findOne({ where: { submissionId: draft.body.id } }))!;
    await recordCall('run_call', { deploymentId: deployment.id, providerId: draftRun.providerId, providerKind: 'openai', ownerType: 'system', ownerUserId: null, instructorUserId: teacherId, submissionId: draft.body.id, runId: draftRun.id }, { inputMicrosPerMTok: 1_000_000, outputMicrosPerMTok: 1_000_000 }, { tokensIn: 10, tokensOut: 5, latencyMs: 5, outcome: 'ok' });

    const refused = await as(h, course.admin).post(`/api/v1/privacy/users/${teacherId}/erase`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('owns 1 provider connection');
    expect(await User.findByPk(teacherId)).not.toBeNull();

    expect((await as(h, teacher).delete(`/api/v1/providers/${own.body.id}`)).status).toBe(204);
    const erased = await as(h, course.admin).post(`/api/v1/privacy/users/${teacherId}/erase`);
    expect(erased.status).toBe(200);
    const placeholder = (await User.findOne({ where: { sub: erased.body.pseudonym } }))!;
    expect((await Submission.findByPk(draft.body.id))!.releasedByUserId).toBe(placeholder.id);
    // Usage stays, counted under the pseudonym; the amounts are untouched.
    expect((await UsageEntry.findAll({ where: { runId: draftRun.id } })).map((u) => ({ instructor: u.instructorUserId, cost: u.costMicros }))).toEqual([{ instructor: placeholder.id, cost: 15 }]);
    const lines = await AuditEvent.findAll({ where: { deploymentId: deployment.id, action: ['provider.create', 'provider.delete'], targetId: own.body.id } });
    expect(lines.map((l) => ({ actor: l.actorUserId, label: l.actorLabel }))).toEqual([
      { actor: placeholder.id, label: erased.body.pseudonym },
      { actor: placeholder.id, label: erased.body.pseudonym },
    ]);
    const tables = await dumpAllTables(h.ctx.sequelize);
    for (const [table, rows] of Object.entries(tables)) {
      expect({ table, found: [who.sub, who.name, who.email].filter((v) => rows.includes(v)) }).toEqual({ table, found: [] });
    }
    // The student's draft is theirs, untouched.
    expect((await Submission.findByPk(draft.body.id))!.text).toBe('Uma draft.');
  });

  test('a person known to another deployment of the same LMS keeps their user row there; nothing of this deployment points to it any more', async () => {
    const who = identity('Wes');
    const student = await launchStudent(h, course, who);
    const userId = (await me(h.ctx, student)).body.user.id as string;
    expect((await as(h, student).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: 'Wes draft.' })).status).toBe(201);
    const elsewhere = `dep-${randomUUID().slice(0, 8)}`;
    await addDeployment(h.registration, elsewhere, 'cli');
    const there = (await h.launch('moodle-student', { deploymentId: elsewhere, claims: who })).ltik!;
    const thereDeployment = (await me(h.ctx, there)).body.deployment.id as string;
    expect((await me(h.ctx, there)).body.user.id).toBe(userId); // one user row per LMS client

    const erased = await as(h, course.admin).post(`/api/v1/privacy/users/${userId}/erase`);
    expect(erased.status).toBe(200);
    expect(erased.body.userRowDeleted).toBe(false);
    expect(await User.findByPk(userId)).toMatchObject(who);
    expect((await me(h.ctx, there)).status).toBe(200);
    expect((await me(h.ctx, student)).status).toBe(401);
    // Every row still naming the user belongs to the other deployment (or is the user row itself).
    const tables = await dumpAllTables(h.ctx.sequelize);
    for (const [table, rowsJson] of Object.entries(tables)) {
      const naming = (JSON.parse(rowsJson) as unknown[]).map((r) => JSON.stringify(r)).filter((r) => r.includes(userId) || r.includes(who.sub));
      const strays = naming.filter((r) => !(table === 'users' || r.includes(thereDeployment) || r.includes(JSON.stringify(elsewhere)) || r.includes(encodeURIComponent(elsewhere))));
      expect({ table, strays }).toEqual({ table, strays: [] });
    }
    expect(await Submission.count({ where: { text: 'Wes draft.' } })).toBe(0);
  });

  test('an admin cannot erase themselves; the admin screen finds, downloads and erases', async () => {
    const adminId = (await me(h.ctx, course.admin)).body.user.id as string;
    const self = await as(h, course.admin).post(`/api/v1/privacy/users/${adminId}/erase`);
    expect(self.status).toBe(409);

    const who = identity('Vic');
    await launchStudent(h, course, who);
    const admin = { ltik: course.admin, sub: 'admin' };
    const page = await getPage(h, `/admin/privacy?q=${encodeURIComponent(who.email)}`, admin);
    expect(page.status).toBe(200);
    expect(page.text).toContain(who.name);
    const userId = /\/api\/v1\/privacy\/users\/([0-9a-f-]{36})\/export/.exec(page.text)![1]!;
    const download = /href="(\/api\/v1\/privacy\/users\/[^"]+\/export[^"]*)"/.exec(page.text)![1]!.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');
    const file = await (await import('supertest')).default(h.ctx.app).get(download);
    expect(file.status).toBe(200);
    expect(file.body.user).toMatchObject({ id: userId, email: who.email });

    // Erasure asks for confirmation.
    const unconfirmed = await postForm(h, `/admin/privacy/users/${userId}/erase`, admin);
    expect(unconfirmed.status).toBe(400);
    expect(await User.findByPk(userId)).not.toBeNull();
    const done = await postForm(h, `/admin/privacy/users/${userId}/erase`, admin, { confirm: '1' });
    expect(done.status).toBe(303);
    expect(await User.findByPk(userId)).toBeNull();
    const after = await getPage(h, `/admin/privacy?q=${encodeURIComponent(who.email)}`, admin);
    expect(after.text).toContain('Nobody of this deployment matches.');
  });
});
