import { randomUUID } from 'node:crypto';
import { startMockLlm } from '../../src/mockLlm/server';
import { Run } from '../../src/models';
import { acceptDataNotice, as } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { RUBRIC, settled } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { startToolProcess, ToolProcess } from '../support/processes';

// SIGTERM to a real process in the middle of a provider call: it exits 0 and nothing is stuck. A
// call that fits the grace period finishes; one that does not is aborted and its run goes back to
// the queue at once (no lease left behind) for another worker to complete.

describe('graceful shutdown on SIGTERM', () => {
  let h: LtiHarness;
  let databaseUrl: string;
  let admin: string;
  const processes: ToolProcess[] = [];
  const mocks: Array<Awaited<ReturnType<typeof startMockLlm>>> = [];

  beforeAll(async () => {
    databaseUrl = await isolatedDatabaseUrl(); // the processes run every due run they see
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl });
    admin = (await h.launch('moodle-admin')).ltik!;
  });
  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await Promise.all(mocks.map((m) => m.close()));
    await h.close();
  });

  const start = (entry: 'server' | 'workerProcess', env: Record<string, string>) => {
    const p = startToolProcess(entry, { DATABASE_URL: databaseUrl, RUN_LEASE_SECONDS: '60', ...env });
    processes.push(p);
    return p;
  };

  /** A connection to a mock LLM with this latency, an assignment of one run on it, and one submission. */
  async function oneRunOn(latencyMs: number) {
    const mock = await startMockLlm({ latencyMs });
    mocks.push(mock);
    const provider = await as(h, admin).post('/api/v1/providers', { kind: 'openai_compatible', label: `Mock ${randomUUID().slice(0, 6)}`, apiKey: `mock-${randomUUID()}`, baseUrl: mock.url, scope: 'system' });
    const instance = await as(h, admin).post('/api/v1/instances', { name: `Mock ${randomUUID().slice(0, 6)}`, providerId: provider.body.id, model: 'mock-feedback-1', scope: 'system' });
    const rl = { 'https://purl.imsglobal.org/spec/lti/claim/resource_link': { id: `rl-${randomUUID().slice(0, 8)}` } };
    const linkTeacher = (await h.launch('moodle-teacher', { claims: rl })).ltik!;
    const assignment = await as(h, linkTeacher).post('/api/v1/assignments', { title: 'Shutdown', instructions: 'Write.', rubric: RUBRIC, models: [{ instanceId: instance.body.id, runs: 1, weight: 1 }] });
    expect(assignment.status).toBe(201);
    const student = (await h.launch('moodle-student', { claims: rl })).ltik!;
    await acceptDataNotice(h, student);
    const submitted = await as(h, student).post(`/api/v1/assignments/${assignment.body.id}/submissions`, { text: `Shutdown essay ${randomUUID()}.` });
    expect(submitted.status).toBe(201);
    return { mock, providerId: provider.body.id as string, submissionId: submitted.body.id as string, linkTeacher };
  }

  async function untilInFlight(mock: { stats: { inFlight: number } }) {
    for (let i = 0; i < 600 && mock.stats.inFlight === 0; i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(mock.stats.inFlight).toBe(1);
  }

  test('web + worker process: stops listening at once, lets the call in flight finish within the grace period, exits 0', async () => {
    const { mock, submissionId, linkTeacher } = await oneRunOn(1500);
    const server = start('server', { PORT: '0', SHUTDOWN_GRACE_SECONDS: '30' });
    const listening = await server.waitFor((e) => e.msg === 'listening');
    const url = `http://127.0.0.1:${String(listening.port)}`;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    await untilInFlight(mock);

    server.child.kill('SIGTERM');
    await server.waitFor((e) => e.msg === 'shutting down');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    expect(await server.exited).toBe(0);

    const run = await Run.findOne({ where: { submissionId } });
    expect(run).toMatchObject({ status: 'succeeded', attempts: 1, leaseToken: null, leaseExpiresAt: null });
    expect(mock.stats.requests).toBe(1);
    expect((await settled(h, linkTeacher, submissionId, 1000)).status).toBe('ready');
  });

  test('worker process: a call longer than the grace period is released, and another worker (serving /healthz, /readyz, /metrics) completes it at once', async () => {
    const { mock: slow, providerId, submissionId, linkTeacher } = await oneRunOn(600_000);
    const first = start('workerProcess', { SHUTDOWN_GRACE_SECONDS: '1' });
    await untilInFlight(slow);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.entries.some((e) => e.msg === 'runs released for other workers' && e.released === 1)).toBe(true);
    // Back in the queue with no lease (60 s) left dangling; the interrupted attempt is not counted.
    const released = await Run.findOne({ where: { submissionId } });
    expect(released).toMatchObject({ status: 'queued', attempts: 0, leaseToken: null, leaseExpiresAt: null });
    expect(slow.stats.inFlight).toBe(0);

    // The provider recovers; another worker takes the run well before the 60 s lease would have expired.
    const fast = await startMockLlm({ latencyMs: 10 });
    mocks.push(fast);
    expect((await as(h, admin).patch(`/api/v1/providers/${providerId}`, { baseUrl: fast.url })).status).toBe(200);
    // This one also serves its health and metrics endpoints (WORKER_HTTP_PORT).
    const token = `metrics-${randomUUID()}`;
    const second = start('workerProcess', { SHUTDOWN_GRACE_SECONDS: '1', WORKER_HTTP_PORT: '0', METRICS_TOKEN: token });
    const ops = `http://127.0.0.1:${String((await second.waitFor((e) => e.msg === 'worker started')).httpPort)}`;
    await second.waitFor((e) => e.msg === 'run executed' && e.status === 'succeeded', 20000);
    expect((await fetch(`${ops}/healthz`)).status).toBe(200);
    expect((await fetch(`${ops}/readyz`)).status).toBe(200);
    expect((await fetch(`${ops}/metrics`)).status).toBe(401);
    expect((await fetch(`${ops}/lti/login`)).status).toBe(404);
    const metrics = await (await fetch(`${ops}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    // The interrupted call was counted by the first worker; this one made exactly one.
    expect(metrics).toContain('feedforward_provider_calls_total{kind="openai_compatible",operation="complete",outcome="ok"} 1');
    expect(await second.stop()).toBe(0);

    const done = await Run.findOne({ where: { submissionId } });
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, leaseToken: null, leaseExpiresAt: null });
    expect(fast.stats.requests).toBe(1);
    expect((await settled(h, linkTeacher, submissionId, 1000)).status).toBe('ready');
  });
});
