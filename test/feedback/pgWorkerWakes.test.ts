import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { driverOf } from '../../src/db/driver';
import { runJobsFor, WAKE_CHANNEL } from '../../src/feedback/runJobs';
import { runQueue } from '../../src/feedback/queue';
import { FeedbackWorker } from '../../src/feedback/worker';
import { Run } from '../../src/models';
import { as } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { isPostgres } from '../support/paths';
import { HeldLlm, setUpCourse, startHeldLlm, until } from '../budgets/support';

// PostgreSQL workers (src/feedback/worker.ts, takeJobs): a worker takes pg-boss jobs and holds their
// runs until their connection has a free slot. Held runs whose connection stays full elsewhere go
// back to pg-boss after HOLD_MS, so they never keep the worker from other connections' runs; stop()
// sends the held runs' jobs again; and a LISTEN/NOTIFY wake-up, sent with the submission's
// transaction, starts a worker at once, whatever its poll interval.

const describePostgres = isPostgres() ? describe : describe.skip;

jest.setTimeout(60_000);

describePostgres('PostgreSQL worker: held runs and wake-ups', () => {
  let h: LtiHarness;
  let llm: HeldLlm;
  let worker: FeedbackWorker | undefined;

  beforeAll(async () => {
    llm = await startHeldLlm();
    // Its own database: workers here take every job they find, and NOTIFY is per database.
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl: await isolatedDatabaseUrl() });
  });
  afterEach(async () => {
    await worker?.stop(1000);
    worker = undefined;
    // Leave nothing for the next test's worker to take.
    await h.ctx.sequelize.query(`UPDATE "runs" SET "status" = 'failed', "lease_token" = NULL, "lease_expires_at" = NULL WHERE "status" IN ('queued', 'running')`);
    await h.ctx.sequelize.query(`DELETE FROM pgboss.job WHERE name = 'feedback-runs' AND state = 'created'`);
  });
  afterAll(async () => {
    llm.release();
    await llm.close();
    await h.close();
  });

  function startWorker(opts: { pollMs: number; concurrencyPerConnection: number }): FeedbackWorker {
    worker = new FeedbackWorker({ sequelize: h.ctx.sequelize, keyring: h.ctx.keyring, logger: h.ctx.logger, lti: h.ctx.app.lti, retryBaseMs: 20, ...opts });
    worker.start();
    return worker;
  }

  const jobStates = async (runIds: string[]) =>
    h.ctx.sequelize.query<{ runId: string; state: string }>(`SELECT data->>'runId' AS "runId", state FROM pgboss.job WHERE name = 'feedback-runs' AND data->>'runId' IN (:ids)`, {
      replacements: { ids: runIds },
      type: QueryTypes.SELECT,
    });

  /** A submission's runs on a fresh connection; the first one "running in another process" (unexpired lease, its job taken), so a limit of 1 is full. */
  async function fullConnection(runs: number) {
    const course = await setUpCourse(h, llm.url, { runs, maxDrafts: 5 });
    const sub = await as(h, await course.student()).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: `Held ${randomUUID()}` });
    expect(sub.status).toBe(201);
    const [elsewhere, ...waiting] = await Run.findAll({ where: { submissionId: sub.body.id }, order: [['runIndex', 'ASC']] });
    await elsewhere!.update({ status: 'running', leaseToken: randomUUID(), leaseExpiresAt: new Date(Date.now() + 600_000), attempts: 1 });
    await h.ctx.sequelize.query(`DELETE FROM pgboss.job WHERE name = 'feedback-runs' AND data->>'runId' = :id`, { replacements: { id: elsewhere!.id } });
    return { course, waiting: waiting.map((r) => r.id) };
  }

  /** Waits until the worker took the jobs of all these runs (and holds them: they are still queued). */
  async function heldByWorker(runIds: string[]) {
    await until('the worker took their jobs', async () => new Set((await jobStates(runIds)).filter((j) => j.state === 'completed').map((j) => j.runId)).size === runIds.length, 15000);
    expect(await Run.count({ where: { id: runIds, status: 'queued' } })).toBe(runIds.length);
  }

  test("runs held for a connection that is full elsewhere do not keep the worker from another connection's runs", async () => {
    // Limit 1: the worker fetches at most 2 jobs while it holds 0 runs; connection A's two waiting runs fill that.
    const a = await fullConnection(3);
    startWorker({ pollMs: 50, concurrencyPerConnection: 1 });
    await heldByWorker(a.waiting);

    const b = await setUpCourse(h, llm.url, { runs: 1 });
    const sub = await as(h, await b.student()).post(`/api/v1/assignments/${b.assignmentId}/submissions`, { text: `Other connection ${randomUUID()}` });
    expect(sub.status).toBe(201);
    const [bRun] = await Run.findAll({ where: { submissionId: sub.body.id } });
    await until("connection B's run executed", async () => (await Run.findByPk(bRun!.id))!.status === 'succeeded', 20000);
    // A is still full: its runs wait, untouched.
    expect(await Run.count({ where: { id: a.waiting, status: 'queued', attempts: 0 } })).toBe(2);
  });

  test('a held run is taken when another process frees a slot of its connection and says so (poll interval 10 minutes)', async () => {
    const a = await fullConnection(2);
    const requestsAtStart = llm.requests;
    const w = startWorker({ pollMs: 600_000, concurrencyPerConnection: 1 });
    await heldByWorker(a.waiting);
    await w.idle(); // its claim was refused: the connection is full
    expect(llm.requests).toBe(requestsAtStart);
    // The run "in another process" ends; that process names the connection in its wake-up.
    const [elsewhere] = await Run.findAll({ where: { submissionId: (await Run.findByPk(a.waiting[0]!))!.submissionId, status: 'running' } });
    await elsewhere!.update({ status: 'succeeded', leaseToken: null, leaseExpiresAt: null });
    await runJobsFor(h.ctx.sequelize)!.notifySlotFreed(h.ctx.sequelize, a.course.providerId);
    await until('the held run executed', async () => (await Run.findByPk(a.waiting[0]!))!.status === 'succeeded', 15000);
  });

  test('stop() sends the jobs of the runs it held back to pg-boss', async () => {
    const a = await fullConnection(3);
    // No poll: the worker looks only at start and when woken, so nothing re-sends the held runs but stop().
    const w = startWorker({ pollMs: 600_000, concurrencyPerConnection: 1 });
    await heldByWorker(a.waiting);
    await w.idle();
    // The worker took (and completed) a job for each run it holds.
    expect(new Set((await jobStates(a.waiting)).filter((j) => j.state === 'completed').map((j) => j.runId))).toEqual(new Set(a.waiting));
    // The start-up sweep may have added duplicate jobs the worker had no room for: drop them.
    await h.ctx.sequelize.query(`DELETE FROM pgboss.job WHERE name = 'feedback-runs' AND state = 'created'`);

    await w.stop(1000);
    worker = undefined;
    const created = (await jobStates(a.waiting)).filter((j) => j.state === 'created').map((j) => j.runId);
    expect(created.sort()).toEqual([...a.waiting].sort());
    expect(await Run.count({ where: { id: a.waiting, status: 'queued', attempts: 0 } })).toBe(2);
  });

  test('a run queued after the worker started is executed on the NOTIFY alone (poll interval 10 minutes)', async () => {
    const course = await setUpCourse(h, llm.url, { runs: 1 });
    const student = await course.student();
    // The app's listener is connected (it LISTENs once its connection is up).
    await until('the wake-up listener', async () => {
      const rows = await h.ctx.sequelize.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN ${WAKE_CHANNEL}'`, { type: QueryTypes.SELECT });
      return Number(rows[0]!.n) >= 1;
    });
    // This process's own signal would wake the worker too: silence it, as for a worker in another process.
    const emit = jest.spyOn(runQueue, 'emit').mockReturnValue(false);
    try {
      const w = startWorker({ pollMs: 600_000, concurrencyPerConnection: 4 });
      await w.idle(); // the start-up look found nothing
      const requestsBefore = llm.requests;
      const sub = await as(h, student).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: `Notified ${randomUUID()}` });
      expect(sub.status).toBe(201);
      expect(emit).toHaveBeenCalledWith('queued'); // the in-process path was taken, and silenced
      const [run] = await Run.findAll({ where: { submissionId: sub.body.id } });
      await until('the run executed', async () => (await Run.findByPk(run!.id))!.status === 'succeeded', 15000);
      expect(llm.requests).toBe(requestsBefore + 1);
    } finally {
      emit.mockRestore();
    }
  });

  /** Counts the claims this process sends (the claim function's statements on the driver). */
  function countClaims(): { readonly count: number; restore(): void } {
    const driver = driverOf(h.ctx.sequelize);
    const all = driver.all;
    let count = 0;
    driver.all = (sql, params) => {
      if (sql.includes('feedforward_claim_run')) count += 1;
      return all(sql, params);
    };
    return {
      get count() {
        return count;
      },
      restore: () => {
        driver.all = all;
      },
    };
  }

  /** The worker's current look for work, settled. */
  const settled = (w: FeedbackWorker) => (w as unknown as { currentTick: Promise<void> }).currentTick;

  test("a worker that takes a connection's last slot does not try the connection's other held runs", async () => {
    const a = await fullConnection(4); // one run in flight elsewhere, three waiting
    llm.hold = true;
    const claims = countClaims();
    try {
      const w = startWorker({ pollMs: 600_000, concurrencyPerConnection: 2 });
      await until('one call at the provider', () => llm.inFlight === 1, 15000);
      await settled(w);
      // One claim, which took the last slot; the other two held runs were not tried (each try would be refused).
      expect(claims.count).toBe(1);
      expect(await Run.count({ where: { id: a.waiting, status: 'queued', attempts: 0 } })).toBe(2);
    } finally {
      claims.restore();
      llm.release();
    }
  });

  test('a held run takes a freed slot without a fetch from pg-boss; jobs are fetched in batches', async () => {
    const course = await setUpCourse(h, llm.url, { runs: 8 });
    llm.hold = true;
    const sub = await as(h, await course.student()).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: `Batches ${randomUUID()}` });
    expect(sub.status).toBe(201);
    const fetch = jest.spyOn(runJobsFor(h.ctx.sequelize)!, 'fetch');
    try {
      // Room for 8 jobs (twice the limit): four runs call, four are held.
      const w = startWorker({ pollMs: 600_000, concurrencyPerConnection: 4 });
      await until('four calls at the provider', () => llm.inFlight === 4, 15000);
      await new Promise((r) => setTimeout(r, 200)); // the start-up sweep's wake-up, if any, arrives
      await settled(w);
      // As after a fetch that took a full batch: nothing says that more runs wait (the start-up sweep's
      // wake-up says so until a fetch, and this worker has had no room since).
      (w as unknown as { jobsMayWait: boolean }).jobsMayWait = false;
      const fetchesBefore = fetch.mock.calls.length;
      const requestsBefore = llm.requests;

      llm.releaseOne(); // one run ends: a held run takes its slot
      await until('the held run calls', () => llm.requests === requestsBefore + 1, 15000);
      await settled(w);
      // Room for one more job only (under the batch of two): no fetch.
      expect(fetch.mock.calls.length).toBe(fetchesBefore);
    } finally {
      fetch.mockRestore();
      llm.release();
    }
  });

  test('a slot freed on a connection with no run held for it is filled from pg-boss at once, even below the batch', async () => {
    llm.hold = true;
    const y = await setUpCourse(h, llm.url, { runs: 1 });
    const x = await setUpCourse(h, llm.url, { runs: 7 });
    const submitTo = async (course: typeof x) => {
      const sub = await as(h, await course.student()).post(`/api/v1/assignments/${course.assignmentId}/submissions`, { text: `Unserved ${randomUUID()}` });
      expect(sub.status).toBe(201);
    };
    await submitTo(y);
    await submitTo(x);
    await submitTo(y); // its job is the ninth, past the first fetch
    try {
      // Room for 8 jobs, the oldest: Y's first run and X's seven. Y's run and four of X's call; three are held (X is full).
      const w = startWorker({ pollMs: 600_000, concurrencyPerConnection: 4 });
      await until('five calls at the provider', () => llm.inFlight === 5, 15000);
      await new Promise((r) => setTimeout(r, 200)); // the start-up sweep's wake-up arrives
      await settled(w);
      // As after a fetch that took a full batch: nothing says that more runs wait (the flag wake-ups set).
      (w as unknown as { jobsMayWait: boolean }).jobsMayWait = false;
      const requestsBefore = llm.requests;

      llm.releaseFor(y.apiKey); // Y's run ends: room for one job, under the batch of two, and no run of Y held
      await until("Y's second run calls", () => llm.requests === requestsBefore + 1, 15000);
    } finally {
      llm.release();
    }
  });
});
