import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { Op } from 'sequelize';
import { keyHash } from '../../src/mockLlm/app';
import { RunningMockLlm, startMockLlm } from '../../src/mockLlm/server';
import { Run } from '../../src/models';
import { acceptDataNotice, as } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { RUBRIC } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { REPO_ROOT } from '../support/paths';

// PROVIDER_CONCURRENCY is a limit per provider connection across every worker process: two worker
// processes sharing one database never have more calls in flight on a connection than the limit,
// as the provider (the mock LLM, counting per API key) sees it.

const LIMIT = 3;
const DRAFTS = 8;
const RUNS = DRAFTS * 2 * 3; // drafts × connections × runs per instance
const KEYS = ['slots-key-connection-a', 'slots-key-connection-b'];

describe('per-connection concurrency across worker processes', () => {
  let h: LtiHarness;
  let databaseUrl: string;
  let mock: RunningMockLlm;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    mock = await startMockLlm({ latencyMs: 500 }) // long enough that both processes' calls overlap;
    databaseUrl = await isolatedDatabaseUrl();
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl });
  });
  afterAll(async () => {
    await Promise.all(
      workers.map((w) => {
        if (w.exitCode !== null || w.signalCode !== null) return undefined;
        const exited = new Promise((r) => w.once('exit', r));
        w.kill('SIGKILL');
        return exited;
      }),
    );
    await mock.close();
    await h.close();
  });

  /** Starts a worker process and resolves once it takes work. */
  async function spawnWorker(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/workerProcess.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, PROVIDER_CONCURRENCY: String(LIMIT), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    workers.push(child);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk) => {
        out += String(chunk);
        if (out.includes('worker started')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    });
    return child;
  }

  test('two worker processes never exceed the limit of a connection at the provider', async () => {
    const admin = (await h.launch('moodle-admin')).ltik!;
    const models = [];
    for (const [i, apiKey] of KEYS.entries()) {
      const provider = await as(h, admin).post('/api/v1/providers', { kind: 'openai_compatible', label: `Mock ${i}`, apiKey, baseUrl: mock.url, scope: 'system' });
      expect(provider.status).toBe(201);
      const instance = await as(h, admin).post('/api/v1/instances', { name: `Mock model ${i}`, providerId: provider.body.id, model: 'mock-feedback-1', scope: 'system' });
      expect(instance.status).toBe(201);
      models.push({ instanceId: instance.body.id, runs: 3, weight: 1 });
    }
    const teacher = (await h.launch('moodle-teacher')).ltik!;
    const assignment = await as(h, teacher).post('/api/v1/assignments', { title: 'Slots', instructions: 'Write.', rubric: RUBRIC, models, maxDrafts: 10 });
    expect(assignment.status).toBe(201);
    const student = (await h.launch('moodle-student')).ltik!;
    await acceptDataNotice(h, student);

    await Promise.all([spawnWorker(), spawnWorker()]);
    for (let draft = 1; draft <= DRAFTS; draft += 1) {
      const submitted = await as(h, student).post(`/api/v1/assignments/${assignment.body.id}/submissions`, { text: `Draft ${draft} of an essay on limits.` });
      expect(submitted.status).toBe(201);
    }
    const deadline = Date.now() + 90000;
    while ((await Run.count({ where: { status: { [Op.in]: ['queued', 'running'] } } })) > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }

    expect(await Run.count({ where: { status: 'succeeded' } })).toBe(RUNS);
    expect(mock.stats.requests).toBe(RUNS);
    for (const key of KEYS) {
      const observed = mock.stats.inFlightMaxByKey[keyHash(key)];
      expect(observed).toBeGreaterThan(0);
      expect(observed).toBeLessThanOrEqual(LIMIT);
    }
  }, 120000);
});
