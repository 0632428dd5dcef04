import { randomUUID } from 'node:crypto';
import nock from 'nock';
import request from 'supertest';
import { addDeployment } from '../../src/lti/platforms';
import { Submission } from '../../src/models';
import { acceptDataNotice, as, Cast, launchCast, OPENAI_KEY } from '../support/api';
import { RUBRIC } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { listRoutes, routeKey } from '../support/routes';
import { blockOutbound } from '../support/outbound';

// SECURITY.md T, "Authorization matrix": every route of the app × every actor × every owner of the
// object it names → one expected status, one generated test each. The routes come from the app
// itself (test/support/routes.ts), so a new route without a row fails the suite.
//
// The rules the table encodes:
//   - no ltik → 401 on everything behind the launch; public routes answer everyone alike;
//   - students → 403 on every configuration route (before any object is loaded);
//   - another tenant's or another instructor's object → 404, never 403 (it "does not exist");
//   - system objects: every instructor of the deployment reads them, only its admins change them
//     (an instructor gets 403 there: the object is visible, the change is not theirs);
//   - an admin of another deployment → 404 for this deployment's objects, and their own lists;
//   - assignments and submissions belong to a course: the course's instructors and admins (all
//     launched into it) may work on them; another course's are 404; a student sees only their own.
//
// Bodies are valid for the actor who sends them (their own connection, their own deployment's
// instance), so a status reflects authorization, not validation. Routes that consume their object
// (delete, disable, release) get a fresh one per case. Beyond the status, every case checks that
// the response names no object the actor may not know of, and that a refused call made no provider
// call.

const ACTORS = ['admin', 'instructor', 'otherInstructor', 'student', 'foreignAdmin', 'none'] as const;
type Actor = (typeof ACTORS)[number];
type Expected = number | readonly number[];
type ByActor = Record<Actor, Expected>;

/** Who owns the object a `:id` names. */
type Owner =
  | 'system' // an institution connection or instance (made by the admin)
  | 'instructor' // the instructor's own connection or instance
  | 'catalogue' // a model of this deployment's catalogue
  | 'course' // the assignment of the cast's course (made by the instructor)
  | 'otherCourse' // an assignment or submission of another course of the same deployment
  | 'own' // the cast student's own submission
  | 'classmate' // another student's submission in the cast's course
  | 'member'; // a user (a student) of this deployment

type Kind = 'connection' | 'instance' | 'model' | 'assignment' | 'submission' | 'user';
const OWNERS: Record<Kind, readonly Owner[]> = {
  connection: ['system', 'instructor'],
  instance: ['system', 'instructor'],
  model: ['catalogue'],
  assignment: ['course', 'otherCourse'],
  submission: ['own', 'classmate', 'otherCourse'],
  user: ['member'],
};

function kindOf(path: string): Kind {
  if (/\/(providers|connections)\/:id/.test(path)) return 'connection';
  if (/\/instances\/:id/.test(path)) return 'instance';
  if (/\/(models|catalogue)\/:id/.test(path)) return 'model';
  if (/\/assignments\/:id/.test(path)) return 'assignment';
  if (/\/submissions\/:id/.test(path)) return 'submission';
  if (/\/users\/:id/.test(path)) return 'user';
  throw new Error(`no object kind for ${path}: teach kindOf() about it`);
}

interface Obj {
  id: string;
  /** A unique text the object shows (label, name, title): the leak checks look for it. */
  label: string;
  providerId?: string;
  assignmentId?: string;
}

interface Case {
  actor: Actor;
  owner?: Owner;
  obj?: Obj;
}

type Body = Record<string, unknown>;

interface Row {
  /** Routes without `:id`: the status per actor. */
  expect?: ByActor;
  /** Routes with `:id`: the status per actor for each owner of the object (one run per owner). */
  owners?: Partial<Record<Owner, ByActor>>;
  /** A body valid for this actor (JSON under /api, a form elsewhere). */
  body?: (c: Case) => Body | Promise<Body>;
  query?: (c: Case) => Record<string, string>;
  /** The route consumes its object: make a fresh one for every case. */
  fresh?: boolean;
  /** Put the submission in this state first (a worker would have). */
  state?: 'released';
  /** For `ALL` routes and `*` paths: what to actually send. */
  method?: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path?: string;
}

/** Expected statuses in the column order: admin, instructor, otherInstructor, student, foreignAdmin, none. */
function s(admin: Expected, instructor: Expected, otherInstructor: Expected, student: Expected, foreignAdmin: Expected, none: Expected): ByActor {
  return { admin, instructor, otherInstructor, student, foreignAdmin, none };
}
const everyone = (status: Expected) => s(status, status, status, status, status, status);

// Shorthands for the recurring shapes (columns as in s()).
/** Any launched user. */
const session = (ok: Expected) => s(ok, ok, ok, ok, ok, 401);
/** Instructors and admins (of any deployment: they see their own). */
const configure = (ok: Expected) => s(ok, ok, ok, 403, ok, 401);
/** Admins only (of any deployment: they see their own). */
const administer = (ok: Expected) => s(ok, 403, 403, 403, ok, 401);
/** Reading an institution object: every instructor of this deployment. */
const readSystem = (ok: Expected) => s(ok, ok, ok, 403, 404, 401);
/** Changing an institution object: this deployment's admins; instructors see it but may not. */
const manageSystem = (ok: Expected) => s(ok, 403, 403, 403, 404, 401);
/** The instructor's own object: nobody else knows it exists, not even an admin. */
const instructorOwn = (ok: Expected) => s(404, ok, 404, 403, 404, 401);
/** The instructor's own object on an admin-only screen: the role guard answers first. */
const instructorOwnOnAdminScreen = s(404, 403, 403, 403, 404, 401);
/** An object of the cast's course: its instructors and admins. */
const courseStaff = (ok: Expected) => s(ok, ok, ok, 403, 404, 401);
/** An object of another course: 404 for everyone here; students stop at the role guard. */
const otherCourseStaff = s(404, 404, 404, 403, 404, 401);
/**
 * Only students submit. The role guard comes before the object, so the 403 (also to the foreign
 * admin) is the same for any id and says nothing about the object; a student gets 404 for an
 * assignment that is not their link's.
 */
const studentOnly = (ok: Expected) => s(403, 403, 403, ok, 403, 401);

const REDIRECT = 303;
/** A deep-linking page needs a deep-linking launch; the cast came from resource links. */
const deepLinkOnly = s(403, 403, 403, 403, 403, 401);

// ---------------------------------------------------------------------------------------------
// Fixtures, filled in beforeAll.

let h: LtiHarness;
let cast: Cast;
const ltiks = {} as Record<Actor, string | undefined>;
let providerCalls = 0;
let loginQuery: Record<string, string>;
let foreignLabel: string;

const fx = {} as {
  connection: Record<'system' | 'instructor', Obj>;
  instance: Record<'system' | 'instructor', Obj>;
  model: Record<'catalogue', Obj>;
  assignment: Record<'course' | 'otherCourse', Obj>;
  submission: Record<'own' | 'classmate' | 'otherCourse', Obj>;
  user: Record<'member', Obj>;
  /** Per actor, the connection and institution-usable instance their own bodies name. */
  own: Record<'admin' | 'instructor' | 'otherInstructor' | 'foreignAdmin', { connectionId: string; instanceId: string }>;
};

/** Texts each actor must never receive: labels of objects they may not know of. */
const hiddenFrom = new Map<string, readonly Actor[]>();
const HIDDEN = {
  system: ['student', 'foreignAdmin', 'none'],
  instructor: ['otherInstructor', 'student', 'foreignAdmin', 'none'],
  otherInstructor: ['instructor', 'student', 'foreignAdmin', 'none'],
  deployment: ['foreignAdmin', 'none'],
  otherCourse: ['admin', 'instructor', 'otherInstructor', 'student', 'foreignAdmin', 'none'],
  foreign: ['admin', 'instructor', 'otherInstructor', 'student', 'none'],
} as const satisfies Record<string, readonly Actor[]>;

const token = () => randomUUID().slice(0, 8);
const ownOf = (actor: Actor) => fx.own[actor === 'student' || actor === 'none' ? 'instructor' : actor];
const isAdmin = (actor: Actor) => actor === 'admin' || actor === 'foreignAdmin';

async function expectCreated(res: request.Response, what: string): Promise<Record<string, unknown>> {
  if (res.status !== 201) throw new Error(`fixture ${what}: ${res.status} ${res.text.slice(0, 300)}`);
  return res.body as Record<string, unknown>;
}

async function makeConnection(ltik: string, scope: 'system' | 'instructor', hidden: readonly Actor[]): Promise<Obj> {
  const label = `Matrix connection ${token()}`;
  const body = await expectCreated(await as(h, ltik).post('/api/v1/providers', { kind: 'openai', label, apiKey: OPENAI_KEY(), scope }), `connection ${label}`);
  hiddenFrom.set(label, hidden);
  return { id: body.id as string, label };
}

async function makeInstance(ltik: string, providerId: string, scope: 'system' | 'instructor', hidden: readonly Actor[]): Promise<Obj> {
  const label = `Matrix instance ${token()}`;
  const body = await expectCreated(await as(h, ltik).post('/api/v1/instances', { name: label, providerId, model: 'gpt-4o-mini', scope, params: { temperature: 0.2 } }), `instance ${label}`);
  hiddenFrom.set(label, hidden);
  return { id: body.id as string, label, providerId };
}

async function makeModel(): Promise<Obj> {
  const label = `Matrix model ${token()}`;
  const body = await expectCreated(
    await as(h, cast.admin).post('/api/v1/models', { providerKind: 'openai', model: `matrix-${token()}`, displayName: label, contextWindow: 128000, maxOutput: 4096 }),
    `model ${label}`,
  );
  hiddenFrom.set(label, HIDDEN.deployment);
  return { id: body.id as string, label };
}

async function makeAssignment(ltik: string, instanceId: string, hidden: readonly Actor[]): Promise<Obj> {
  const label = `Matrix essay ${token()}`;
  const body = await expectCreated(
    await as(h, ltik).post('/api/v1/assignments', {
      title: label,
      instructions: 'Argue for or against homework.',
      rubric: RUBRIC,
      models: [{ instanceId, runs: 1, weight: 1 }],
      releaseMode: 'review',
      maxDrafts: 20,
      gradePassback: false,
    }),
    `assignment ${label}`,
  );
  hiddenFrom.set(label, hidden);
  return { id: body.id as string, label };
}

const COURSE_2 = {
  'https://purl.imsglobal.org/spec/lti/claim/context': { id: 'matrix-course-2', label: 'C2', title: 'Course Two', type: ['http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering'] },
  'https://purl.imsglobal.org/spec/lti/claim/resource_link': { id: 'matrix-link-2', title: 'Essay in course two' },
};

async function launchLtik(fixture: 'moodle-teacher' | 'moodle-student', claims: Record<string, unknown>): Promise<string> {
  const result = await h.launch(fixture, { claims });
  if (!result.ltik) throw new Error(`launch of ${fixture} failed: ${result.status} ${result.body.slice(0, 200)}`);
  return result.ltik;
}

/** A student's draft, then the state a finished worker leaves: ready, with feedback to review. */
async function makeSubmission(studentLtik: string, assignmentId: string): Promise<Obj> {
  const label = `Matrix draft ${token()}`;
  const body = await expectCreated(await as(h, studentLtik).post(`/api/v1/assignments/${assignmentId}/submissions`, { text: `${label}: homework builds habits.` }), `submission ${label}`);
  const feedback = {
    summary: 'Solid work.',
    criteria: [
      { criterionId: 'content', score: 4, strengths: ['Clear thesis'], improvements: ['More sources'], comment: 'Good.' },
      { criterionId: 'style', score: 8, strengths: ['Readable'], improvements: ['Commas'], comment: 'Fine.' },
    ],
  };
  await Submission.update({ status: 'ready', feedback }, { where: { id: body.id as string } });
  return { id: body.id as string, label, assignmentId };
}

/** A student who has accepted the data-use notice, as every submitting student has. */
async function launchStudent(claims: Record<string, unknown>): Promise<string> {
  const ltik = await launchLtik('moodle-student', claims);
  await acceptDataNotice(h, ltik);
  return ltik;
}
const newClassmate = () => launchStudent({ sub: `classmate-${randomUUID()}`, name: 'Class Mate' });
const newOtherCourseStudent = () => launchStudent({ ...COURSE_2, sub: `c2-student-${randomUUID()}`, name: 'Other Student' });

/** A student of this deployment, for the admin's export and erasure. */
async function makeMember(): Promise<Obj> {
  const label = `Matrix Member ${token()}`;
  const ltik = await launchStudent({ sub: `member-${randomUUID()}`, name: label });
  const me = await as(h, ltik).get('/api/v1/me');
  hiddenFrom.set(label, HIDDEN.deployment);
  return { id: me.body.user.id as string, label };
}
/** The body of an acceptance of the notice the actor is shown (none without a session). */
const noticeVersion = async (c: Case): Promise<Body> => ({ version: ltiks[c.actor] ? (await as(h, ltiks[c.actor]).get('/api/v1/notice')).body.version : 'none' });

/** Fresh objects for routes that consume theirs. */
const FRESH: Record<Kind, Partial<Record<Owner, () => Promise<Obj>>>> = {
  connection: {
    system: () => makeConnection(cast.admin, 'system', HIDDEN.system),
    instructor: () => makeConnection(cast.instructor, 'instructor', HIDDEN.instructor),
  },
  instance: {
    system: () => makeInstance(cast.admin, fx.connection.system.id, 'system', HIDDEN.system),
    instructor: () => makeInstance(cast.instructor, fx.connection.instructor.id, 'instructor', HIDDEN.instructor),
  },
  model: { catalogue: () => makeModel() },
  assignment: {},
  user: { member: () => makeMember() },
  submission: {
    own: async () => makeSubmission(cast.student, fx.assignment.course.id),
    classmate: async () => makeSubmission(await newClassmate(), fx.assignment.course.id),
    otherCourse: async () => makeSubmission(await newOtherCourseStudent(), fx.assignment.otherCourse.id),
  },
};

// ---------------------------------------------------------------------------------------------
// The table: every route listRoutes() prints, keyed exactly as it prints them.

const connectionForm = (): Body => ({ kind: 'openai', label: `Matrix form connection ${token()}`, apiKey: OPENAI_KEY(), scope: 'system' });
const connectionEditForm = (c: Case): Body => ({ label: c.obj!.label, baseUrl: '', organization: '', project: '' });
const instanceEditForm = (c: Case): Body => ({ name: c.obj!.label, providerId: c.obj!.providerId!, model: 'gpt-4o-mini', temperature: '0.2' });
/** The set-up form of an assignment (the RUBRIC of test/support/feedback.ts, one instance, one run). */
const assignmentForm = (instanceId: string): Body => ({
  title: `Matrix form essay ${token()}`,
  instructions: 'Argue for or against homework.',
  ...Object.fromEntries(
    RUBRIC.flatMap((c, i) => [
      [`rubric.${i}.id`, c.id],
      [`rubric.${i}.name`, c.name],
      [`rubric.${i}.description`, c.description],
      [`rubric.${i}.weight`, String(c.weight)],
      [`rubric.${i}.maxScore`, String(c.maxScore)],
    ]),
  ),
  'models.0.instanceId': instanceId,
  'models.0.use': '1',
  'models.0.runs': '1',
  'models.0.weight': '1',
  aggregation: 'mean',
  releaseMode: 'review',
  maxDrafts: '20',
  maxChars: '50000',
});
const settingsForm = (): Body => ({ allowInstructorSystemConnections: '1', temperature: '0.5', maxTokens: '1000', topP: '1', allowedLocalHosts: '' });

/** The connection and instance rows of one configuration area (/admin or /instructor). */
function configurationScreens(base: '/admin' | '/instructor'): Record<string, Row> {
  const guard = base === '/admin' ? administer : configure;
  // On the admin screens the role guard answers before the object is loaded.
  const onInstructorOwn = (ok: Expected) => (base === '/admin' ? instructorOwnOnAdminScreen : instructorOwn(ok));
  const manage = (ok: Expected) => ({ system: manageSystem(ok), instructor: onInstructorOwn(ok) });
  return {
    [`GET ${base}/connections`]: { expect: guard(200) },
    [`GET ${base}/connections/new`]: { expect: guard(200) },
    [`POST ${base}/connections`]: { expect: guard(REDIRECT), body: connectionForm },
    [`GET ${base}/connections/:id/edit`]: { owners: manage(200) },
    [`POST ${base}/connections/:id`]: { owners: manage(REDIRECT), body: connectionEditForm },
    [`POST ${base}/connections/:id/test`]: { owners: manage(REDIRECT) },
    [`POST ${base}/connections/:id/disable`]: { owners: manage(REDIRECT), fresh: true },
    [`POST ${base}/connections/:id/enable`]: { owners: manage(REDIRECT) },
    [`GET ${base}/connections/:id/delete`]: { owners: manage(200) },
    [`POST ${base}/connections/:id/delete`]: { owners: manage(REDIRECT), fresh: true },

    [`GET ${base}/instances`]: { expect: guard(200) },
    [`GET ${base}/instances/new`]: { expect: guard(200) },
    [`POST ${base}/instances`]: {
      expect: guard(REDIRECT),
      body: (c) => ({ name: `Matrix form instance ${token()}`, providerId: ownOf(c.actor).connectionId, model: 'gpt-4o-mini', ...(base === '/admin' ? { scope: 'system' } : {}) }),
    },
    [`GET ${base}/instances/:id/edit`]: { owners: manage(200) },
    [`POST ${base}/instances/:id`]: { owners: manage(REDIRECT), body: instanceEditForm },
    [`POST ${base}/instances/:id/default`]: { owners: manage(REDIRECT) },
    [`GET ${base}/instances/:id/delete`]: { owners: manage(200) },
    [`POST ${base}/instances/:id/delete`]: { owners: manage(REDIRECT), fresh: true },
  };
}

const TABLE: Record<string, Row> = {
  // Public: the same answer for everyone, with or without an ltik.
  'GET /static/*': { expect: everyone(200), path: '/static/app.css' },
  'GET /healthz': { expect: everyone(200) },
  'GET /readyz': { expect: everyone(200) },
  // Off unless METRICS_TOKEN is set (test/http/metrics.test.ts covers the token); an ltik never opens it.
  'GET /metrics': { expect: everyone(404) },
  'GET /': { expect: everyone(200) },
  'GET /lti/login': { expect: everyone(302), query: () => loginQuery },
  'POST /lti/login': { expect: everyone(302), body: () => loginQuery },
  'ALL /lti/login': { expect: everyone(405), method: 'put' },
  'GET /lti/config.json': { expect: everyone(200) },
  // Without an openid_configuration the registration page has nothing to show.
  'GET /lti/register': { expect: everyone(400) },
  'POST /lti/register': { expect: everyone(400) },
  // Without an id_token a launch is refused the same for everyone.
  'POST /lti/launch': { expect: everyone(400) },
  // ltijs's own app, opaque: the tool's public keys.
  'GET /lti/keys': { expect: everyone(200) },

  // The JSON API.
  'GET /api/v1/me': { expect: session(200) },

  'GET /api/v1/providers': { expect: configure(200) },
  'POST /api/v1/providers': {
    expect: configure(201),
    body: (c) => ({ kind: 'openai', label: `Matrix API connection ${token()}`, apiKey: OPENAI_KEY(), scope: isAdmin(c.actor) ? 'system' : 'instructor' }),
  },
  'GET /api/v1/providers/:id': { owners: { system: readSystem(200), instructor: instructorOwn(200) } },
  'PATCH /api/v1/providers/:id': { owners: { system: manageSystem(200), instructor: instructorOwn(200) }, body: () => ({ disabled: false }) },
  'DELETE /api/v1/providers/:id': { owners: { system: manageSystem(204), instructor: instructorOwn(204) }, fresh: true },
  'POST /api/v1/providers/:id/verify': { owners: { system: manageSystem(200), instructor: instructorOwn(200) } },

  'GET /api/v1/instances': { expect: configure(200) },
  'POST /api/v1/instances': {
    expect: configure(201),
    body: (c) => ({ name: `Matrix API instance ${token()}`, providerId: ownOf(c.actor).connectionId, model: 'gpt-4o-mini', scope: isAdmin(c.actor) ? 'system' : 'instructor' }),
  },
  'GET /api/v1/instances/:id': { owners: { system: readSystem(200), instructor: instructorOwn(200) } },
  'PATCH /api/v1/instances/:id': { owners: { system: manageSystem(200), instructor: instructorOwn(200) }, body: () => ({ params: { temperature: 0.2 } }) },
  'DELETE /api/v1/instances/:id': { owners: { system: manageSystem(204), instructor: instructorOwn(204) }, fresh: true },

  'GET /api/v1/models': { expect: configure(200) },
  'POST /api/v1/models': { expect: administer(201), body: () => ({ providerKind: 'openai', model: `matrix-api-${token()}`, displayName: `Matrix API model ${token()}` }) },
  'PATCH /api/v1/models/:id': { owners: { catalogue: manageSystem(200) }, body: () => ({ maxOutput: 4096 }) },

  'GET /api/v1/settings': { expect: administer(200) },
  'PUT /api/v1/settings': { expect: administer(200), body: () => ({ allowInstructorSystemConnections: true, defaultParams: { temperature: 0.5 } }) },
  'GET /api/v1/audit': { expect: administer(200) },

  // Cost control. Budgets: admins of the deployment (each admin their own deployment's).
  'GET /api/v1/budgets': { expect: administer(200) },
  'PUT /api/v1/budgets': { expect: administer(200), body: () => ({ scope: 'deployment', period: 'month', limitMicros: 1_000_000_000 }) },
  // Usage: instructors read their own, admins the deployment's; students nothing.
  'GET /api/v1/usage': { expect: configure(200) },
  'GET /api/v1/assignments/:id/estimate': { owners: { course: courseStaff(200), otherCourse: otherCourseStaff } },
  'GET /api/v1/assignments/:id/budget': { owners: { course: courseStaff(200), otherCourse: otherCourseStaff } },
  'PUT /api/v1/assignments/:id/budget': { owners: { course: courseStaff(200), otherCourse: otherCourseStaff }, body: () => ({ period: 'total', limitMicros: 1_000_000_000 }) },

  // Every launch of the cast is on a link that already has its assignment: 409 is "allowed, but
  // edit the existing one" (a 201 needs a fresh link; test/feedback covers it).
  'POST /api/v1/assignments': {
    expect: configure(409),
    body: (c) => ({ title: 'Another essay', instructions: 'Write.', rubric: RUBRIC, models: [{ instanceId: ownOf(c.actor).instanceId, runs: 1, weight: 1 }] }),
  },
  'GET /api/v1/assignments/defaults': { expect: configure(200) },
  // The assignment of the launch's own link (the foreign admin's deployment has its own).
  'GET /api/v1/assignments/current': { expect: session(200) },
  'GET /api/v1/assignments/:id': { owners: { course: courseStaff(200), otherCourse: otherCourseStaff } },
  'PUT /api/v1/assignments/:id': { owners: { course: courseStaff(200), otherCourse: otherCourseStaff }, body: () => ({ maxDrafts: 20 }) },
  'POST /api/v1/assignments/:id/submissions': {
    owners: { course: studentOnly(201), otherCourse: studentOnly(404) },
    body: () => ({ text: `Matrix submitted draft ${token()}.` }),
  },
  'GET /api/v1/assignments/:id/submissions': { owners: { course: courseStaff(200), otherCourse: otherCourseStaff } },
  'GET /api/v1/assignments/:id/progress': { owners: { course: courseStaff(200), otherCourse: otherCourseStaff } },
  'POST /api/v1/assignments/:id/release': {
    owners: { course: courseStaff(200), otherCourse: otherCourseStaff },
    // A fresh ready draft of that assignment: the one thing a successful call could release.
    body: async (c) => ({ submissionIds: [(await (c.owner === 'course' ? FRESH.submission.classmate! : FRESH.submission.otherCourse!)()).id] }),
  },

  'GET /api/v1/submissions/mine': { expect: session(200) },

  // Student data: every launched user reads the notice, students accept it; admins find, export
  // and erase this deployment's users (another deployment's admin: 404).
  'GET /api/v1/notice': { expect: session(200) },
  'POST /api/v1/notice/accept': { expect: studentOnly(200), body: noticeVersion },
  'GET /api/v1/privacy/users': { expect: administer(200), query: () => ({ q: 'matrix' }) },
  'GET /api/v1/privacy/users/:id/export': { owners: { member: manageSystem(200) } },
  'POST /api/v1/privacy/users/:id/erase': { owners: { member: manageSystem(200) }, fresh: true },
  'GET /api/v1/submissions/:id': {
    owners: {
      own: s(200, 200, 200, 200, 404, 401),
      classmate: s(200, 200, 200, 404, 404, 401),
      otherCourse: s(404, 404, 404, 404, 404, 401),
    },
  },
  'POST /api/v1/submissions/:id/review': {
    owners: { own: courseStaff(200), classmate: courseStaff(200), otherCourse: otherCourseStaff },
    body: () => ({ summary: 'Reviewed by the matrix.' }),
  },
  // Consuming routes take a fresh draft of a fresh classmate (the student's own drafts are limited;
  // a student stops at the role guard on these anyway).
  'POST /api/v1/submissions/:id/release': { owners: { classmate: courseStaff(200), otherCourse: otherCourseStaff }, fresh: true },
  'POST /api/v1/submissions/:id/gradebook': { owners: { classmate: courseStaff(200), otherCourse: otherCourseStaff }, fresh: true, state: 'released' },
  'POST /api/v1/submissions/:id/retry': { owners: { own: courseStaff(200), classmate: courseStaff(200), otherCourse: otherCourseStaff } },

  // Pages: the same ltik, as `Authorization: Bearer` (readLtik takes it there too).
  'GET /admin': { expect: administer(200) },
  // The launched link's assignment (progress), for the foreign admin their own deployment's.
  'GET /instructor': { expect: configure(200) },
  'GET /instructor/deep-link': { expect: deepLinkOnly },
  'POST /instructor/deep-link': { expect: deepLinkOnly, body: (c) => assignmentForm(ownOf(c.actor).instanceId) },

  // The instructor's feedback screens. As in the API, every cast launch's link already has its
  // assignment, so creating one is "allowed, but this link has one" (409, the form again).
  'POST /instructor/assignments': { expect: configure(409), body: (c) => assignmentForm(ownOf(c.actor).instanceId) },
  'GET /instructor/assignments/:id': { owners: { course: courseStaff(200), otherCourse: otherCourseStaff } },
  'GET /instructor/assignments/:id/edit': { owners: { course: courseStaff(200), otherCourse: otherCourseStaff } },
  'POST /instructor/assignments/:id': { owners: { course: courseStaff(REDIRECT), otherCourse: otherCourseStaff }, body: () => assignmentForm(fx.instance.system.id) },
  'POST /instructor/assignments/:id/release': {
    owners: { course: courseStaff(REDIRECT), otherCourse: otherCourseStaff },
    body: async (c) => ({ submissionIds: (await (c.owner === 'course' ? FRESH.submission.classmate! : FRESH.submission.otherCourse!)()).id }),
  },
  'GET /instructor/submissions/:id': { owners: { own: courseStaff(200), classmate: courseStaff(200), otherCourse: otherCourseStaff } },
  'POST /instructor/submissions/:id/review': {
    owners: { own: courseStaff(REDIRECT), classmate: courseStaff(REDIRECT), otherCourse: otherCourseStaff },
    body: () => ({ summary: 'Reviewed on the page by the matrix.' }),
  },
  'POST /instructor/submissions/:id/gradebook': { owners: { classmate: courseStaff(REDIRECT), otherCourse: otherCourseStaff }, fresh: true, state: 'released' },
  'POST /instructor/submissions/:id/retry': { owners: { own: courseStaff(REDIRECT), classmate: courseStaff(REDIRECT), otherCourse: otherCourseStaff } },

  // The student's page: their link's assignment and their own drafts (anyone launched may look).
  'GET /student': { expect: session(200) },
  'POST /student/submissions': { expect: studentOnly(REDIRECT), body: () => ({ text: `Matrix page draft ${token()}.` }) },

  ...configurationScreens('/admin'),
  ...configurationScreens('/instructor'),

  'GET /admin/catalogue': { expect: administer(200) },
  'GET /admin/catalogue/new': { expect: administer(200) },
  'POST /admin/catalogue': { expect: administer(REDIRECT), body: () => ({ providerKind: 'openai', model: `matrix-form-${token()}`, displayName: `Matrix form model ${token()}` }) },
  'GET /admin/catalogue/:id/price': { owners: { catalogue: manageSystem(200) } },
  'POST /admin/catalogue/:id/price': { owners: { catalogue: manageSystem(REDIRECT) }, body: () => ({ inputPricePerMTok: '1.50', outputPricePerMTok: '3.00' }) },
  'POST /admin/catalogue/:id/hide': { owners: { catalogue: manageSystem(REDIRECT) }, fresh: true },
  'POST /admin/catalogue/:id/unhide': { owners: { catalogue: manageSystem(REDIRECT) } },

  'GET /admin/settings': { expect: administer(200) },
  'POST /admin/settings': { expect: administer(REDIRECT), body: settingsForm },
  'GET /admin/audit': { expect: administer(200) },
  'GET /admin/privacy': { expect: administer(200), query: () => ({ q: 'matrix' }) },
  'POST /admin/privacy/users/:id/erase': { owners: { member: manageSystem(REDIRECT) }, fresh: true, body: () => ({ confirm: '1' }) },
  'POST /student/notice': { expect: studentOnly(REDIRECT), body: noticeVersion },
  'GET /admin/usage': { expect: administer(200) },
  'GET /admin/usage.csv': { expect: administer(200) },
  'POST /admin/budgets': { expect: administer(REDIRECT), body: () => ({ scope: 'deployment', limit: '1000', period: 'month' }) },
  'GET /instructor/usage': { expect: configure(200) },
  // The cap of the cast's course assignment: its course staff; the foreign admin cannot see it (404).
  'POST /instructor/budgets': { expect: s(REDIRECT, REDIRECT, REDIRECT, 403, 404, 401), body: () => ({ assignmentId: fx.assignment.course.id, limit: '1000', period: 'total' }) },
  'GET /instructor/available': { expect: configure(200) },
};

// ---------------------------------------------------------------------------------------------
// One case per (route × actor × owner).

interface MatrixCase {
  key: string;
  actor: Actor;
  owner?: Owner;
  /** For the test name. */
  on: string;
  expected: readonly number[];
}

function casesOf(table: Record<string, Row>): MatrixCase[] {
  const cases: MatrixCase[] = [];
  for (const [key, row] of Object.entries(table)) {
    const path = key.split(' ')[1]!;
    const statuses = (e: Expected) => (typeof e === 'number' ? [e] : [...e]);
    if (path.includes(':id')) {
      if (row.expect || !row.owners) throw new Error(`${key}: a route with :id lists its expectations per owner`);
      const kind = kindOf(path);
      for (const [owner, byActor] of Object.entries(row.owners) as Array<[Owner, ByActor]>) {
        if (!OWNERS[kind].includes(owner)) throw new Error(`${key}: ${owner} is not an owner of a ${kind}`);
        if (row.fresh && !FRESH[kind][owner]) throw new Error(`${key}: no fresh ${kind} for ${owner}`);
        for (const actor of ACTORS) cases.push({ key, actor, owner, on: ` on the ${owner} ${kind}`, expected: statuses(byActor[actor]) });
      }
    } else {
      if (!row.expect || row.owners) throw new Error(`${key}: a route without :id lists one expectation per actor`);
      for (const actor of ACTORS) cases.push({ key, actor, on: '', expected: statuses(row.expect[actor]) });
    }
  }
  return cases;
}

const CASES = casesOf(TABLE);

describe('authorization matrix', () => {
  let routes: string[];

  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
    blockOutbound();
    // "Test connection" lists the models; count every call a case makes.
    nock('https://api.openai.com')
      .persist()
      .get('/v1/models')
      .reply(() => {
        providerCalls += 1;
        return [200, { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model' }] }];
      });

    const otherDeployment = `dep-${token()}`;
    await addDeployment(h.registration, otherDeployment, 'cli');
    cast = await launchCast(h, otherDeployment);
    Object.assign(ltiks, cast, { none: undefined });
    await acceptDataNotice(h, cast.student);
    loginQuery = { iss: h.platform.issuer, client_id: h.platform.clientId, login_hint: 'matrix', target_link_uri: `${h.toolUrl}/lti/launch`, lti_deployment_id: h.deploymentId };

    // This deployment: institution objects (admin), the instructors' own, a catalogue model.
    const systemConnection = await makeConnection(cast.admin, 'system', HIDDEN.system);
    const instructorConnection = await makeConnection(cast.instructor, 'instructor', HIDDEN.instructor);
    const otherConnection = await makeConnection(cast.otherInstructor, 'instructor', HIDDEN.otherInstructor);
    const systemInstance = await makeInstance(cast.admin, systemConnection.id, 'system', HIDDEN.system);
    const instructorInstance = await makeInstance(cast.instructor, instructorConnection.id, 'instructor', HIDDEN.instructor);
    const otherInstance = await makeInstance(cast.otherInstructor, otherConnection.id, 'instructor', HIDDEN.otherInstructor);
    fx.connection = { system: systemConnection, instructor: instructorConnection };
    fx.instance = { system: systemInstance, instructor: instructorInstance };
    fx.model = { catalogue: await makeModel() };

    // The other deployment: the foreign admin's own connection, instance and assignment.
    const foreignConnection = await makeConnection(cast.foreignAdmin, 'system', HIDDEN.foreign);
    foreignLabel = foreignConnection.label;
    const foreignInstance = await makeInstance(cast.foreignAdmin, foreignConnection.id, 'system', HIDDEN.foreign);
    await makeAssignment(cast.foreignAdmin, foreignInstance.id, HIDDEN.foreign);

    fx.own = {
      admin: { connectionId: systemConnection.id, instanceId: systemInstance.id },
      instructor: { connectionId: instructorConnection.id, instanceId: systemInstance.id },
      otherInstructor: { connectionId: otherConnection.id, instanceId: systemInstance.id },
      foreignAdmin: { connectionId: foreignConnection.id, instanceId: foreignInstance.id },
    };

    // Assignments: the cast's course (the instructor, on the link every cast launch shares) and another course.
    const otherCourseTeacher = await launchLtik('moodle-teacher', { ...COURSE_2, sub: `c2-teacher-${randomUUID()}`, name: 'Other Course Teacher' });
    fx.assignment = {
      course: await makeAssignment(cast.instructor, systemInstance.id, HIDDEN.deployment),
      otherCourse: await makeAssignment(otherCourseTeacher, systemInstance.id, HIDDEN.otherCourse),
    };
    fx.submission = {
      own: await FRESH.submission.own!(),
      classmate: await FRESH.submission.classmate!(),
      otherCourse: await FRESH.submission.otherCourse!(),
    };
    fx.user = { member: await makeMember() };

    routes = listRoutes(h.ctx.app).map(routeKey);
  });

  afterAll(async () => {
    nock.cleanAll();
    nock.enableNetConnect();
    // nock patches the http module every test file of this worker shares.
    nock.restore();
    await h?.close();
  });

  test('every route of the app has a row, and every row is a route of the app', () => {
    const missing = routes.filter((r) => !(r in TABLE));
    const stale = Object.keys(TABLE).filter((k) => !routes.includes(k));
    if (missing.length || stale.length) {
      throw new Error(
        [
          missing.length ? `Routes without a row in the authorization matrix (add one per route to TABLE):\n  ${missing.join('\n  ')}` : '',
          stale.length ? `Rows for routes the app no longer has (remove or rename them):\n  ${stale.join('\n  ')}` : '',
        ].filter(Boolean).join('\n'),
      );
    }
    expect(CASES.length).toBeGreaterThan(routes.length * ACTORS.length - 1);
  });

  test.each(CASES)('$key as $actor$on', async ({ key, actor, owner, expected }) => {
    if (!routes.includes(key)) throw new Error(`${key} is in the table but not in the app`);
    const row = TABLE[key]!;
    const [method, path] = key.split(' ') as [string, string];
    const kind = owner ? kindOf(path) : undefined;
    let obj: Obj | undefined;
    if (kind && owner) {
      obj = row.fresh ? await FRESH[kind][owner]!() : (fx[kind] as Partial<Record<Owner, Obj>>)[owner];
      if (!obj) throw new Error(`no ${owner} ${kind} fixture`);
    }
    if (row.state === 'released' && obj) await Submission.update({ status: 'released', releasedAt: new Date(), overallScore: 10 }, { where: { id: obj.id } });
    const c: Case = { actor, owner, obj };

    const url = (row.path ?? path).replace(':id', obj?.id ?? ':id');
    const verb = row.method ?? (method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete');
    let req = request(h.ctx.app)[verb](url);
    const ltik = ltiks[actor];
    if (ltik) req = req.set('Authorization', `Bearer ${ltik}`);
    if (row.query) req = req.query(row.query(c));
    if (row.body) {
      const body = await row.body(c);
      req = url.startsWith('/api/') ? req.send(body) : req.type('form').send(body);
    }
    const callsBefore = providerCalls;
    const res = await req;

    const who = `${key} as ${actor}${owner ? ` on the ${owner} ${kind}` : ''}`;
    if (!expected.includes(res.status)) {
      throw new Error(`${who}: expected ${expected.join(' or ')}, got ${res.status}\n${res.text.slice(0, 400)}`);
    }
    // Nothing about an object the actor may not know of, in any answer.
    const text = `${res.text ?? ''}\n${res.get('location') ?? ''}`;
    const leaked = [...hiddenFrom].filter(([label, actors]) => actors.includes(actor) && text.includes(label)).map(([label]) => label);
    if (leaked.length) throw new Error(`${who}: the answer names ${leaked.join(', ')}`);
    // A refusal makes no provider call.
    if (res.status >= 400 && providerCalls !== callsBefore) throw new Error(`${who}: refused with ${res.status} after ${providerCalls - callsBefore} provider call(s)`);
  });

  test('the checks above can fail: labels reach those who may see them, and a permitted test reached the stubbed provider', async () => {
    const providers = async (ltik: string) => (await as(h, ltik).get('/api/v1/providers')).text;
    expect(await providers(cast.instructor)).toContain(fx.connection.system.label);
    expect(await providers(cast.instructor)).toContain(fx.connection.instructor.label);
    expect(await providers(cast.admin)).toContain(fx.connection.system.label);
    expect(await providers(cast.foreignAdmin)).toContain(foreignLabel);
    expect(providerCalls).toBeGreaterThan(0);
  });
});
