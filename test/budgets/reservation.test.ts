import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { BudgetReservation, Run } from '../../src/models';
import { releaseStaleReservations } from '../../src/budgets/waiters';
import { as } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { settled, startWorker } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { REPO_ROOT } from '../support/paths';
import { CALL_MICROS, HeldLlm, neededMicros, setUpCourse, startHeldLlm, until } from './support';

// Budgets hold across processes: a run reserves its maximum cost before calling the provider, in a
// transaction that locks the budget rows, so with room for 5 runs exactly 5 calls start even when
// two worker processes race for 20 runs. Settlement frees what was not used; a killed worker's
// reservation is released by the recovery sweep.

// Worker processes boot tsx and the CPU is shared: these tests get more than the default 30 s.
jest.setTimeout(120_000);

describe('budget reservation', () => {
  let h: LtiHarness;
  let databaseUrl: string;
  let llm: HeldLlm;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    llm = await startHeldLlm();
    databaseUrl = await isolatedDatabaseUrl(); // worker processes run every due run of their database
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl });
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    llm.release();
    await llm.close();
    await h.close();
  });

  function spawnWorker(env: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/workerProcess.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: process.env.DEBUG_WORKERS ? 'info' : 'silent', PROVIDER_CONCURRENCY: '20', ...env },
      stdio: process.env.DEBUG_WORKERS ? 'inherit' : 'ignore',
    });
    children.push(child);
    return child;
  }
  async function stopChild(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Sets the assignment's cap, as its instructor does. */
  async function cap(teacher: string, assignmentId: string, limitMicros: number | null) {
    const res = await as(h, teacher).put(`/api/v1/assignments/${assignmentId}/budget`, { period: 'total', limitMicros });
    expect(res.status).toBe(200);
    return res.body.budget as { id: string; reservedMicros: number; spentMicros: number } | null;
  }

  /** A cap of one micro-dollar makes a first run wait and say how much one run reserves. */
  async function probeReservation(course: Awaited<ReturnType<typeof setUpCourse>>, submissionId: string): Promise<number> {
    const budget = await cap(course.teacher, course.assignmentId, 1);
    const worker = startWorker(h);
    try {
      await until('a run waits for budget', async () => (await Run.count({ where: { submissionId, status: 'budget_wait' } })) > 0);
    } finally {
      await worker.stop(1000);
    }
    return neededMicros(budget!.id);
  }

  test('20 runs racing in two worker processes against room for 5 start exactly 5 provider calls', async () => {
    const course = await setUpCourse(h, llm.url, { runs: 10, instances: 2 });
    const student = await course.student();
    const sub = await as(h, student).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: 'Homework builds habits.' });
    expect(sub.status).toBe(201);
    const perRun = await probeReservation(course, sub.body.id);
    expect(llm.requests).toBe(0);

    llm.hold = true;
    await cap(course.teacher, course.assignmentId, perRun * 5 + Math.floor(perRun / 2));
    await Run.update({ status: 'queued' }, { where: { submissionId: sub.body.id, status: 'budget_wait' } });
    const workers = [spawnWorker({ RUN_LEASE_SECONDS: '60' }), spawnWorker({ RUN_LEASE_SECONDS: '60' })];
    try {
      await until('5 calls in flight and 15 runs waiting for budget', async () => llm.requests >= 5 && (await Run.count({ where: { submissionId: sub.body.id, status: 'budget_wait' } })) === 15, 40000);
      // The waiting runs keep trying (each process re-queues them); none gets through while 5 hold the room.
      const waitingAgain = await Run.count({ where: { submissionId: sub.body.id, status: 'budget_wait' } });
      expect(waitingAgain).toBe(15);
      expect(llm.requests).toBe(5);
      expect(llm.inFlight).toBe(5);
      const open = await BudgetReservation.findAll({ where: { state: 'reserved' } });
      expect(open).toHaveLength(5);
      expect(open.every((r) => r.amountMicros === perRun)).toBe(true);

      // The instructor sees why. (Each process's housekeeping re-queues the waiting runs now and then,
      // and they wait again a moment later: read the progress while they wait.)
      const seen = async () => ({
        progress: await as(h, course.teacher).get(`/api/v1/assignments/${course.assignmentId}/progress`),
        page: await as(h, course.teacher).get(`/instructor/assignments/${course.assignmentId}`),
      });
      let view = await seen();
      await until('the progress and its page show the waiting runs', async () => {
        view = await seen();
        return view.progress.body.runs.budget_wait === 15 && view.page.text.includes('Waiting for budget');
      }, 15000);
      expect(view.progress.body.runs.budget_wait).toBe(15);
      expect(view.page.text).toContain('Waiting for budget');
    } finally {
      await Promise.all(workers.map(stopChild));
      llm.release();
    }
  });

  test('a settlement below the reservation frees the difference for a waiting run', async () => {
    const course = await setUpCourse(h, llm.url, { runs: 3, maxTokens: 4000 });
    const student = await course.student();
    const sub = await as(h, student).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: 'Settle me.' });
    const perRun = await probeReservation(course, sub.body.id);
    // Room for one reservation at a time, and for the real cost of all three runs.
    expect(perRun).toBeGreaterThan(3 * CALL_MICROS);
    const limit = perRun + 2 * CALL_MICROS + 1;
    await cap(course.teacher, course.assignmentId, limit);
    llm.inFlightMax = 0;
    const before = llm.requests;
    await Run.update({ status: 'queued' }, { where: { submissionId: sub.body.id, status: 'budget_wait' } });
    const worker = startWorker(h);
    try {
      const view = await settled(h, course.teacher, sub.body.id, 30000);
      expect(view.status).toBe('ready');
    } finally {
      await worker.stop(1000);
    }
    // Each run could start only once the previous one settled to its real cost.
    expect(llm.requests - before).toBe(3);
    expect(llm.inFlightMax).toBe(1);
    const reservations = await BudgetReservation.findAll({ where: { runId: (await Run.findAll({ where: { submissionId: sub.body.id } })).map((r) => r.id) } });
    expect(reservations.map((r) => [r.state, r.amountMicros, r.settledMicros])).toEqual([
      ['settled', perRun, CALL_MICROS],
      ['settled', perRun, CALL_MICROS],
      ['settled', perRun, CALL_MICROS],
    ]);
    const budget = (await as(h, course.teacher).get(`/api/v1/assignments/${course.assignmentId}/budget`)).body.budget;
    expect(budget).toMatchObject({ spentMicros: 3 * CALL_MICROS, reservedMicros: 0, remainingMicros: limit - 3 * CALL_MICROS });
  });

  test('the recovery sweep releases the reservation of a run whose worker was killed mid-call', async () => {
    const course = await setUpCourse(h, llm.url, { runs: 1 });
    await cap(course.teacher, course.assignmentId, 10_000_000);
    const student = await course.student();
    const sub = await as(h, student).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: 'Crash with a reservation.' });
    const run = (await Run.findOne({ where: { submissionId: sub.body.id } }))!;
    llm.hold = true;
    const before = llm.requests;
    const child = spawnWorker({ RUN_LEASE_SECONDS: '60' });
    await until('the call arrives', () => llm.requests > before, 40000);
    const held = await BudgetReservation.findAll({ where: { runId: run.id } });
    expect(held.map((r) => r.state)).toEqual(['reserved']);
    await stopChild(child);
    // The answer to the dead worker's call goes nowhere.
    llm.release();

    // While the lease runs, the reservation stands; once it has expired, the sweep releases it.
    // (The lease is 60 s; instead of waiting, the test moves its end into the past.)
    expect(await releaseStaleReservations()).toBe(0);
    await Run.update({ leaseExpiresAt: new Date(Date.now() - 1000) }, { where: { id: run.id } });
    expect(await releaseStaleReservations()).toBe(1);
    expect((await BudgetReservation.findByPk(held[0]!.id))!.state).toBe('released');

    // The run is then completed once, with a new reservation settled to its real cost.
    const worker = startWorker(h);
    try {
      expect((await settled(h, course.teacher, sub.body.id, 30000)).status).toBe('ready');
    } finally {
      await worker.stop(1000);
    }
    const all = await BudgetReservation.findAll({ where: { runId: run.id }, order: [['createdAt', 'ASC']] });
    expect(all.map((r) => r.state)).toEqual(['released', 'settled']);
    const budget = (await as(h, course.teacher).get(`/api/v1/assignments/${course.assignmentId}/budget`)).body.budget;
    expect(budget.reservedMicros).toBe(0);
  });
});
