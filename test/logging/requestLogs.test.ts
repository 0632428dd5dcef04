import { randomUUID } from 'node:crypto';
import { startMockLlm } from '../../src/mockLlm/server';
import { Run, User } from '../../src/models';
import { acceptDataNotice, as } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { RUBRIC, settled, startWorker } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';

// The application's log output over a whole flow (launches, a key saved, a submission, its runs
// against a provider) at trace level, SQL included: JSON lines that name the request, the
// deployment and the user, and never the provider key, SECRET_KEY or the submission text.

describe('request logs', () => {
  let h: LtiHarness;
  let mock: Awaited<ReturnType<typeof startMockLlm>>;
  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl: await isolatedDatabaseUrl() });
    mock = await startMockLlm({ latencyMs: 10 });
  });
  afterAll(async () => {
    await mock.close();
    await h.close();
  });

  test('a launch, a submission and its runs log ids and never a secret or the submission text', async () => {
    // No shape the pattern scrubber knows: only structural redaction can keep it out.
    const providerKey = `canary${randomUUID().replace(/-/g, '')}`;
    const submissionText = `Canary essay ${randomUUID()} about the water cycle.`;
    const admin = (await h.launch('moodle-admin')).ltik!;
    const provider = await as(h, admin).post('/api/v1/providers', { kind: 'openai_compatible', label: 'Mock', apiKey: providerKey, baseUrl: mock.url, scope: 'system' });
    expect(provider.status).toBe(201);
    expect((await as(h, admin).post(`/api/v1/providers/${provider.body.id}/verify`)).body.status).toBe('valid');
    const instance = await as(h, admin).post('/api/v1/instances', { name: 'Mock', providerId: provider.body.id, model: 'mock-feedback-1', scope: 'system' });
    const teacher = (await h.launch('moodle-teacher')).ltik!;
    const assignment = await as(h, teacher).post('/api/v1/assignments', { title: 'Logs', instructions: 'Write.', rubric: RUBRIC, models: [{ instanceId: instance.body.id, runs: 2, weight: 1 }] });
    expect(assignment.status).toBe(201);
    const studentLaunch = await h.launch('moodle-student');
    const student = studentLaunch.ltik!;
    await acceptDataNotice(h, student);
    const submitted = await as(h, student).post(`/api/v1/assignments/${assignment.body.id}/submissions`, { text: submissionText });
    expect(submitted.status).toBe(201);
    const worker = startWorker(h);
    try {
      expect((await settled(h, teacher, submitted.body.id)).status).toBe('ready');
    } finally {
      await worker.stop(1000);
    }
    expect(await Run.count({ where: { submissionId: submitted.body.id, status: 'succeeded' } })).toBe(2);
    expect(mock.stats.requests).toBe(3);

    const out = h.ctx.logs.join('');
    expect(out.length).toBeGreaterThan(0);
    expect(out).not.toContain(providerKey);
    expect(out).not.toContain(process.env.SECRET_KEY!);
    expect(out).not.toContain(process.env.LTI_KEY!);
    expect(out).not.toContain(submissionText);
    expect(out).not.toContain('Canary essay');

    const entries = h.ctx.logs.flatMap((chunk) => chunk.split('\n').filter(Boolean)).map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = entries.filter((e) => e.msg === 'request');
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((e) => typeof e.requestId === 'string' && e.requestId.length >= 8)).toBe(true);
    // The submission request names the deployment and the student (our ids, not the LMS's).
    const studentRow = await User.findOne({ where: { sub: String(studentLaunch.payload!.sub) } });
    const me = await as(h, student).get('/api/v1/me');
    const submitLine = requests.find((e) => e.method === 'POST' && e.path === `/api/v1/assignments/${assignment.body.id}/submissions`);
    expect(submitLine).toMatchObject({ status: 201, userId: studentRow!.id, deploymentId: me.body.deployment.id });
    // So does the launch itself.
    const launchLines = requests.filter((e) => e.path === '/lti/launch');
    expect(launchLines.length).toBeGreaterThanOrEqual(3);
    expect(launchLines.every((e) => typeof e.userId === 'string' && typeof e.deploymentId === 'string')).toBe(true);
    // The worker says which run it executed.
    expect(entries.filter((e) => e.msg === 'run executed' && e.status === 'succeeded')).toHaveLength(2);
  });
});
