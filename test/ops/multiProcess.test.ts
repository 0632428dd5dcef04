import { randomUUID } from 'node:crypto';
import { Op } from 'sequelize';
import { startMockLlm } from '../../src/mockLlm/server';
import { Run } from '../../src/models';
import { isolatedDatabaseUrl } from '../support/db';
import { RUBRIC } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { isPostgres } from '../support/paths';
import { startToolProcess, ToolProcess } from '../support/processes';

// Scale-out on PostgreSQL: two web processes (RUN_WORKER=false) and two worker processes, all real
// child processes on one database. Nothing one process holds is needed by another: a launch on one
// web process is used on the other, runs spread over both workers, and no run executes twice.

const describePostgres = isPostgres() ? describe : describe.skip;

describePostgres('two web processes and two workers on one PostgreSQL', () => {
  let h: LtiHarness;
  let mock: Awaited<ReturnType<typeof startMockLlm>>;
  let webs: ToolProcess[] = [];
  let workers: ToolProcess[] = [];
  const urls: string[] = [];

  beforeAll(async () => {
    const databaseUrl = await isolatedDatabaseUrl();
    // In-process only to register the test platform and to read the database; it serves no request here.
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl });
    mock = await startMockLlm({ latencyMs: 300 });
    const env = { DATABASE_URL: databaseUrl, PROVIDER_CONCURRENCY: '2', SHUTDOWN_GRACE_SECONDS: '5' };
    webs = [0, 1].map(() => startToolProcess('server', { ...env, PORT: '0', RUN_WORKER: 'false' }));
    workers = [0, 1].map(() => startToolProcess('workerProcess', env));
    for (const web of webs) urls.push(`http://127.0.0.1:${String((await web.waitFor((e) => e.msg === 'listening', 110_000)).port)}`);
    for (const worker of workers) await worker.waitFor((e) => e.msg === 'worker started', 110_000);
  }, 120_000);
  afterAll(async () => {
    for (const p of [...webs, ...workers]) p.child.kill('SIGKILL');
    await mock?.close();
    await h?.close();
  });

  /** A launch through the real OIDC round trip against one web process. */
  async function launchOn(url: string, fixture: 'moodle-admin' | 'moodle-teacher' | 'moodle-student', claims: Record<string, unknown> = {}): Promise<string> {
    const result = await h.platform.launch(url, { fixture, deploymentId: h.deploymentId, toolUrl: h.toolUrl, claims });
    if (!result.ltik) throw new Error(`launch on ${url} failed: ${result.status} ${result.body.slice(0, 200)}`);
    return result.ltik;
  }

  async function api(url: string, ltik: string, method: string, path: string, body?: unknown) {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ltik}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  test('launches on one web process work on the other; runs spread over both workers and each executes once', async () => {
    const [a, b] = urls as [string, string];
    expect((await fetch(`${a}/readyz`)).status).toBe(200);
    expect((await fetch(`${b}/readyz`)).status).toBe(200);

    // Admin: launch on A, configure through B.
    const admin = await launchOn(a, 'moodle-admin');
    const provider = await api(b, admin, 'POST', '/api/v1/providers', { kind: 'openai_compatible', label: 'Mock', apiKey: `mock-${randomUUID()}`, baseUrl: mock.url, scope: 'system' });
    expect(provider.status).toBe(201);
    const instance = await api(b, admin, 'POST', '/api/v1/instances', { name: 'Mock', providerId: provider.body.id, model: 'mock-feedback-1', scope: 'system' });
    expect(instance.status).toBe(201);

    // Teacher: launch on B, create the assignment through A.
    const teacher = await launchOn(b, 'moodle-teacher');
    const assignment = await api(a, teacher, 'POST', '/api/v1/assignments', { title: 'Scale', instructions: 'Write.', rubric: RUBRIC, models: [{ instanceId: instance.body.id, runs: 5, weight: 1 }] });
    expect(assignment.status).toBe(201);

    const settle = async (submissionIds: string[]) => {
      const ids = (await Run.findAll({ where: { submissionId: submissionIds }, attributes: ['id'] })).map((r) => r.id);
      for (let i = 0; i < 1200; i += 1) {
        if ((await Run.count({ where: { id: ids, status: { [Op.in]: ['queued', 'running'] } } })) === 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    // Both workers take work from the one shared queue. Which one wins a job is a race, so the test
    // decides it: worker B is paused (SIGSTOP) while the first draft's runs go, then A is paused (idle,
    // holding nothing) while the other drafts' runs go, then both run again.
    const [workerA, workerB] = workers as [ToolProcess, ToolProcess];
    workerB.child.kill('SIGSTOP');

    // Three students, each launched on one web process and submitting through the other.
    const submissionIds: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const [launchUrl, apiUrl] = i % 2 === 0 ? [a, b] : [b, a];
      const student = await launchOn(launchUrl, 'moodle-student', { sub: `student-${randomUUID()}`, name: `Student ${i}` });
      const notice = await api(apiUrl, student, 'GET', '/api/v1/notice');
      expect((await api(apiUrl, student, 'POST', '/api/v1/notice/accept', { version: notice.body.version })).status).toBe(200);
      const submitted = await api(apiUrl, student, 'POST', `/api/v1/assignments/${assignment.body.id}/submissions`, { text: `Essay number ${i}: ${randomUUID()}` });
      expect(submitted.status).toBe(201);
      submissionIds.push(submitted.body.id);
      // And reads it back through the process it launched on.
      expect((await api(launchUrl, student, 'GET', `/api/v1/submissions/${submitted.body.id}`)).status).toBe(200);
      if (i === 0) {
        await settle(submissionIds);
        workerA.child.kill('SIGSTOP');
        workerB.child.kill('SIGCONT');
      }
    }
    await settle(submissionIds);
    workerA.child.kill('SIGCONT');

    const runIds = (await Run.findAll({ where: { submissionId: submissionIds }, attributes: ['id'] })).map((r) => r.id);
    expect(runIds).toHaveLength(15);
    for (let i = 0; i < 1200; i += 1) {
      if ((await Run.count({ where: { id: runIds, status: { [Op.in]: ['queued', 'running'] } } })) === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const runs = await Run.findAll({ where: { id: runIds } });
    expect(runs.map((r) => r.status)).toEqual(Array(15).fill('succeeded'));
    expect(runs.every((r) => r.attempts === 1)).toBe(true);
    // Exactly one provider call per run, whichever worker made it.
    expect(mock.stats.requests).toBe(15);

    // Each worker reports the runs it executed: together all of them, none twice, both busy.
    const executedBy = workers.map((w) => w.entries.filter((e) => e.msg === 'run executed').map((e) => String(e.runId)));
    expect([...executedBy[0]!, ...executedBy[1]!].sort()).toEqual([...runIds].sort());
    expect(executedBy[0]!.length).toBeGreaterThan(0);
    expect(executedBy[1]!.length).toBeGreaterThan(0);

    // The teacher sees every draft ready, through either web process.
    for (const url of [a, b]) {
      const list = await api(url, teacher, 'GET', `/api/v1/assignments/${assignment.body.id}/submissions`);
      expect(list.status).toBe(200);
    }
    for (const id of submissionIds) expect((await api(b, teacher, 'GET', `/api/v1/submissions/${id}`)).body.status).toBe('ready');

    // And every process stops cleanly.
    expect(await Promise.all([...webs, ...workers].map((p) => p.stop()))).toEqual([0, 0, 0, 0]);
  }, 120_000);
});
