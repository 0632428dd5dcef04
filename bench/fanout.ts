import { driverOf } from '../src/db/driver';
import { keyHash } from '../src/mockLlm/app';
import { Run } from '../src/models';
import { createBenchDatabase, type Dialect } from './lib/databases';
import { freePort, startChild, type Child } from './lib/processes';
import { round, type Row } from './lib/stats';
import { BENCH_ENV, connectionWithInstances, createAssignment, ESSAY, openBenchTool, pool, studentLtik } from './lib/tool';

// 3. Class fan-out (and 4. memory): a class of N students submits at once; each submission makes
// 3 instances × 3 runs against the mock provider answering in 200 ms, over two connections with a
// limit of 8 each. On SQLite the web process runs the in-process worker; on PostgreSQL the web
// process only takes the submissions and two worker processes share the pg-boss jobs.

const LATENCY_MS = 200;
const LIMIT = 8;
const KEYS = ['bench-fanout-key-a', 'bench-fanout-key-b'];

export async function fanoutBenchmark(opts: { submissions: number; dialect: Dialect }) {
  const db = await createBenchDatabase('fanout');
  const tool = await openBenchTool(db.url);
  const mockPort = await freePort();
  const children: Child[] = [];
  const mock = await startChild('src/mockLlm/server.ts', { MOCK_LLM_PORT: String(mockPort), MOCK_LLM_LATENCY_MS: String(LATENCY_MS), MOCK_LLM_QUIET: '1' }, 'listening on');
  const mockOrigin = `http://127.0.0.1:${mockPort}`;
  try {
    const admin = await tool.ltik('moodle-admin');
    const [a1, a2, a3] = await connectionWithInstances(tool, admin, 'Mock A', KEYS[0]!, `${mockOrigin}/v1`, 3);
    const [b1, b2, b3] = await connectionWithInstances(tool, admin, 'Mock B', KEYS[1]!, `${mockOrigin}/v1`, 3);
    // Two assignments mirror each other, so each connection carries half of the calls.
    const links = [
      { link: 'fanout-x', id: await createAssignment(tool, 'fanout-x', [a1!, a2!, b1!], 3) },
      { link: 'fanout-y', id: await createAssignment(tool, 'fanout-y', [b2!, b3!, a3!], 3) },
    ];
    const warmUp = { ltik: await studentLtik(tool, links[0]!.link, 'fanout-warm-up'), assignmentId: links[0]!.id };
    const students: Array<{ ltik: string; assignmentId: string }> = [];
    for (let s = 0; s < opts.submissions; s += 1) {
      const target = links[s % 2]!;
      students.push({ ltik: await studentLtik(tool, target.link, `fanout-student-${s}`), assignmentId: target.id });
    }

    const webPort = await freePort();
    const common = { ...BENCH_ENV, LOG_LEVEL: 'info', DATABASE_URL: db.url, PROVIDER_CONCURRENCY: String(LIMIT) };
    const web = await startChild('src/server.ts', { ...common, PORT: String(webPort), PUBLIC_URL: `http://127.0.0.1:${webPort}`, RUN_WORKER: opts.dialect === 'sqlite' ? 'true' : 'false' }, 'FeedForward LTI is running');
    children.push(web);
    const workers: Child[] = [];
    if (opts.dialect === 'postgres') {
      for (let i = 0; i < 2; i += 1) workers.push(await startChild('src/workerProcess.ts', common, 'worker started'));
      children.push(...workers);
    }
    const webBootRssMb = web.memory().rssMb;
    const submit = (s: { ltik: string; assignmentId: string }, text: string) =>
      fetch(`http://127.0.0.1:${webPort}/api/v1/assignments/${s.assignmentId}/submissions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.ltik}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
      });
    // Polled every 50 ms while the class runs: plain SQL on the driver, so that the load generator's own
    // polling (through Sequelize, ~1 ms of CPU each) takes as little as it can of the machine it measures.
    const driver = driverOf(Run.sequelize!);
    const unfinished = async () => Number((await driver.all<{ n: number | string }>(`SELECT count(*) AS "n" FROM "runs" WHERE "status" IN ('queued', 'running')`))[0]!.n);
    // One submission first, not measured: a server that has served a request before (its first one
    // pays for compiling code paths and preparing statements, ~0.2 s here).
    await (await submit(warmUp, `${ESSAY} (warm-up)`)).arrayBuffer();
    while ((await unfinished()) > 0) await new Promise((r) => setTimeout(r, 50));
    const warmUpRuns = await Run.count({ where: { status: 'succeeded' } });
    await fetch(`${mockOrigin}/_stats/reset`, { method: 'POST' });

    const started = performance.now();
    let failedSubmissions = 0;
    await pool(students.length, 16, async (i) => {
      const res = await submit(students[i]!, `${ESSAY} (student ${i})`);
      if (res.status !== 201) failedSubmissions += 1;
      await res.arrayBuffer();
    });
    const submittedMs = performance.now() - started;
    const calls = students.length * 9;
    const deadline = Date.now() + 10 * 60 * 1000;
    while ((await unfinished()) > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const makespanMs = performance.now() - started;
    const stats = (await (await fetch(`${mockOrigin}/_stats`)).json()) as { requests: number; inFlightMaxByKey: Record<string, number> };
    const succeeded = (await Run.count({ where: { status: 'succeeded' } })) - warmUpRuns;
    const idealMs = (calls * LATENCY_MS) / (LIMIT * KEYS.length);
    const maxByConnection = KEYS.map((k) => stats.inFlightMaxByKey[keyHash(k)] ?? 0);
    const result = {
      mode: opts.dialect === 'sqlite' ? 'in-process worker, SQLite' : 'pg-boss, 2 worker processes, PostgreSQL',
      calls,
      succeeded,
      failedSubmissions,
      providerRequests: stats.requests,
      submitMs: Math.round(submittedMs),
      makespanMs: Math.round(makespanMs),
      idealMs: Math.round(idealMs),
      efficiency: round(idealMs / makespanMs, 3),
      maxConcurrencyByConnection: maxByConnection,
      callsPerSecond: round(stats.requests / (makespanMs / 1000), 1),
      webBootRssMb,
      webPeakRssMb: web.memory().peakMb,
      workerPeakRssMb: workers.map((w) => w.memory().peakMb),
    };
    process.stderr.write(`  fan-out: ${JSON.stringify(result)}\n`);
    const label = `fan-out ${opts.dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL ×2 workers'}`;
    const rows: Row[] = [
      { benchmark: label, metric: `makespan for ${calls} calls (ideal ${round(idealMs / 1000, 2)} s)`, value: `${round(makespanMs / 1000, 2)} s` },
      { benchmark: label, metric: 'efficiency (ideal ÷ measured)', value: String(result.efficiency), target: '≥ 0.9', ok: result.efficiency >= 0.9 },
      { benchmark: label, metric: 'max concurrency seen per connection', value: maxByConnection.join(' / '), target: `≤ ${LIMIT}`, ok: maxByConnection.every((m) => m <= LIMIT) },
      { benchmark: label, metric: 'calls per second / succeeded runs', value: `${result.callsPerSecond} / ${succeeded} of ${calls}` },
      { benchmark: 'memory', metric: `web process RSS after boot / peak (${label})`, value: `${webBootRssMb} / ${result.webPeakRssMb} MB`, target: '< 250 MB', ok: result.webPeakRssMb < 250 },
    ];
    if (workers.length) rows.push({ benchmark: 'memory', metric: 'worker processes peak RSS', value: `${result.workerPeakRssMb.join(' / ')} MB` });
    return { ...result, rows };
  } finally {
    for (const child of children) await child.stop();
    await mock.stop();
    await tool.close();
    await db.drop();
  }
}
