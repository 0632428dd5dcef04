import { ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { Run, Submission } from '../../src/models';
import { acceptDataNotice, as } from '../support/api';
import { isolatedDatabaseUrl } from '../support/db';
import { feedbackJson, openaiReply, RUBRIC, settled, startWorker } from '../support/feedback';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { REPO_ROOT } from '../support/paths';

// A worker process killed with SIGKILL in the middle of a provider call: after its lease expires
// another worker completes the run exactly once.

describe('crash recovery', () => {
  let h: LtiHarness;
  let databaseUrl: string;
  let server: http.Server;
  let requests = 0;
  let firstArrived: () => void;
  const firstRequest = new Promise<void>((resolve) => (firstArrived = resolve));

  beforeAll(async () => {
    // A local OpenAI-compatible endpoint: the first call never answers (the worker dies during it).
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += String(d)));
      req.on('end', () => {
        requests += 1;
        if (requests === 1) {
          firstArrived();
          return;
        }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(openaiReply(feedbackJson(4, 8, 'recovered'))));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    databaseUrl = await isolatedDatabaseUrl();
    h = await startLtiHarness({ flavour: 'moodle', databaseUrl });
  });
  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await h.close();
  });

  function spawnWorker(): ChildProcess {
    return spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/workerProcess.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, RUN_LEASE_SECONDS: '2', LOG_LEVEL: 'silent' },
      stdio: 'ignore',
    });
  }

  test('a run left running by a killed worker is completed exactly once after restart', async () => {
    const port = (server.address() as { port: number }).port;
    const admin = (await h.launch('moodle-admin')).ltik!;
    const provider = await as(h, admin).post('/api/v1/providers', { kind: 'openai_compatible', label: 'Local', apiKey: 'local-key', baseUrl: `http://127.0.0.1:${port}/v1`, scope: 'system' });
    expect(provider.status).toBe(201);
    const instance = await as(h, admin).post('/api/v1/instances', { name: 'Local model', providerId: provider.body.id, model: 'local-model', scope: 'system' });
    const teacher = (await h.launch('moodle-teacher')).ltik!;
    const assignment = await as(h, teacher).post('/api/v1/assignments', {
      title: 'Crash',
      instructions: 'Write.',
      rubric: RUBRIC,
      models: [{ instanceId: instance.body.id, runs: 1, weight: 1 }],
    });
    const student = (await h.launch('moodle-student')).ltik!;
    await acceptDataNotice(h, student);
    const submitted = await as(h, student).post(`/api/v1/assignments/${assignment.body.id}/submissions`, { text: 'Survive the crash.' });
    expect(submitted.status).toBe(201);

    const child = spawnWorker();
    const exited = new Promise((r) => child.once('exit', r));
    await firstRequest;
    const running = await Run.findOne({ where: { submissionId: submitted.body.id } });
    expect(running).toMatchObject({ status: 'running', attempts: 1 });
    child.kill('SIGKILL');
    await exited;

    // A new worker (here in-process) finds the expired lease and completes the run.
    const worker = startWorker(h);
    try {
      const view = await settled(h, teacher, submitted.body.id, 20000);
      expect(view.status).toBe('ready');
    } finally {
      await worker.stop(1000);
    }
    const runs = await Run.findAll({ where: { submissionId: submitted.body.id } });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(requests).toBe(2);
    const submission = await Submission.findByPk(submitted.body.id);
    expect(submission!.aggregate!.criteria.find((c) => c.criterionId === 'content')!.score).toBe(4);
  });
});
