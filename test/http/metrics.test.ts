import { randomUUID } from 'node:crypto';
import http from 'node:http';
import request from 'supertest';
import { startMockLlm } from '../../src/mockLlm/server';
import { acceptDataNotice, as } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { RUBRIC, settled, startWorker } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';

// GET /metrics: off unless METRICS_TOKEN is set, then only with that token; counts launches by
// outcome and provider calls by kind and outcome, as Prometheus text.

const TOKEN = `metrics-${randomUUID()}`;

/** The value of one sample in Prometheus text (0 when the series does not exist yet). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return 0;
}

describe('GET /metrics when METRICS_TOKEN is not set', () => {
  let h: LtiHarness;
  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
  });
  afterAll(() => h.close());

  test('answers 404, with or without a token', async () => {
    expect((await request(h.ctx.app).get('/metrics')).status).toBe(404);
    expect((await request(h.ctx.app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`)).status).toBe(404);
  });
});

describe('GET /metrics with METRICS_TOKEN set', () => {
  let h: LtiHarness;
  let mock: Awaited<ReturnType<typeof startMockLlm>>;
  const scrape = async () => {
    const res = await request(h.ctx.app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    return res.text;
  };

  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle', env: { METRICS_TOKEN: TOKEN }, databaseUrl: await isolatedDatabaseUrl() });
    mock = await startMockLlm({ latencyMs: 20 });
  });
  afterAll(async () => {
    await mock.close();
    await h.close();
  });

  test('needs its token: none or a wrong one is 401, the right one is 200 in the Prometheus format', async () => {
    expect((await request(h.ctx.app).get('/metrics')).status).toBe(401);
    expect((await request(h.ctx.app).get('/metrics').set('Authorization', `Bearer ${TOKEN}x`)).status).toBe(401);
    expect((await request(h.ctx.app).get('/metrics').set('Authorization', `Bearer ${TOKEN.slice(0, -1)}`)).status).toBe(401);
    const res = await request(h.ctx.app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain;/);
    expect(res.headers['content-type']).toContain('version=0.0.4');
    for (const name of ['feedforward_launches_total', 'feedforward_provider_calls_total', 'feedforward_provider_call_duration_seconds', 'feedforward_queue_depth', 'feedforward_runs', 'feedforward_budget_reservations_total', 'feedforward_http_request_duration_seconds']) {
      expect(res.text).toContain(`# TYPE ${name} `);
    }
  });

  test('counts launches by outcome', async () => {
    const before = await scrape();
    expect((await h.launch('moodle-student')).ltik).toBeTruthy();
    expect((await h.launch('moodle-teacher')).ltik).toBeTruthy();
    const forged = await h.launch('moodle-student', { signOptions: { key: 'other' } });
    expect(forged.ltik).toBeUndefined();
    const after = await scrape();
    expect(sample(after, 'feedforward_launches_total', { outcome: 'success' }) - sample(before, 'feedforward_launches_total', { outcome: 'success' })).toBe(2);
    const refusals = (text: string) => text.split('\n').filter((l) => l.startsWith('feedforward_launches_total{') && !l.includes('outcome="success"')).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    expect(refusals(after) - refusals(before)).toBe(1);
  });

  test('counts provider calls by kind and outcome, with their latency, and runs by status', async () => {
    const admin = (await h.launch('moodle-admin')).ltik!;
    const good = await as(h, admin).post('/api/v1/providers', { kind: 'openai_compatible', label: 'Mock', apiKey: `mock-${randomUUID()}`, baseUrl: mock.url, scope: 'system' });
    expect(good.status).toBe(201);
    // A port that refuses connections: the provider is unavailable.
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const dead = await as(h, admin).post('/api/v1/providers', { kind: 'openai_compatible', label: 'Dead', apiKey: `mock-${randomUUID()}`, baseUrl: `http://127.0.0.1:${deadPort}/v1`, scope: 'system' });
    expect(dead.status).toBe(201);

    const before = await scrape();
    expect((await as(h, admin).post(`/api/v1/providers/${good.body.id}/verify`)).body.status).toBe('valid');
    expect((await as(h, admin).post(`/api/v1/providers/${dead.body.id}/verify`)).body.status).toBe('unreachable');

    const instance = await as(h, admin).post('/api/v1/instances', { name: 'Mock', providerId: good.body.id, model: 'mock-feedback-1', scope: 'system' });
    const teacher = (await h.launch('moodle-teacher')).ltik!;
    const assignment = await as(h, teacher).post('/api/v1/assignments', { title: 'Metrics', instructions: 'Write.', rubric: RUBRIC, models: [{ instanceId: instance.body.id, runs: 3, weight: 1 }] });
    expect(assignment.status).toBe(201);
    const student = (await h.launch('moodle-student')).ltik!;
    await acceptDataNotice(h, student);
    const submission = await as(h, student).post(`/api/v1/assignments/${assignment.body.id}/submissions`, { text: 'Counted text.' });
    expect(submission.status).toBe(201);
    expect(sample(await scrape(), 'feedforward_queue_depth')).toBe(3);
    const worker = startWorker(h);
    try {
      expect((await settled(h, teacher, submission.body.id)).status).toBe('ready');
    } finally {
      await worker.stop(1000);
    }
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    const kind = 'openai_compatible';
    expect(delta('feedforward_provider_calls_total', { kind, operation: 'verify', outcome: 'ok' })).toBe(1);
    expect(delta('feedforward_provider_calls_total', { kind, operation: 'verify', outcome: 'unavailable' })).toBe(1);
    expect(delta('feedforward_provider_calls_total', { kind, operation: 'complete', outcome: 'ok' })).toBe(3);
    expect(delta('feedforward_provider_call_duration_seconds_count', { kind, operation: 'complete', outcome: 'ok' })).toBe(3);
    // No budget applies in this deployment: each run's reservation step says so once.
    expect(delta('feedforward_budget_reservations_total', { outcome: 'no_budget' })).toBe(3);
    expect(mock.stats.requests).toBe(4); // the 3 completions and the one verify counted above
    expect(sample(after, 'feedforward_runs', { status: 'succeeded' })).toBe(3);
    expect(sample(after, 'feedforward_queue_depth')).toBe(0);
    expect(sample(after, 'feedforward_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/assignments/:id/submissions', status: '201' })).toBeGreaterThanOrEqual(1);
  });
});
