import http from 'node:http';
import { driverOf } from '../src/db/driver';
import { claimRunWithinLimit } from '../src/feedback/connectionSlots';
import { withProviderAdapter } from '../src/commands/providerCalls';
import { executeRun, type ExecuteDeps } from '../src/feedback/executeRun';
import { buildPrompt, outputJsonSchema } from '../src/feedback/prompt';
import { createLogger } from '../src/logger';
import { Provider, Run } from '../src/models';
import { createKeyring } from '../src/secrets/keyring';
import { providerBinding } from '../src/secrets/storedSecrets';
import { reveal } from '../src/secrets/vault';
import { createBenchDatabase } from './lib/databases';
import { freePort, startChild } from './lib/processes';
import { median, p95, round, type Row } from './lib/stats';
import { startProfileIfAsked } from './lib/profile';
import { connectionWithInstances, createAssignment, ESSAY, openBenchTool, RUBRIC, studentLtik } from './lib/tool';

// 2. Per-call overhead: the tool's own time around one provider call, through the real claim and
// executeRun (whatever they do: key reveal, adapter, result write, and budget reservation and ledger
// where present), against the mock provider answering at once in its own process. Each executeRun
// (B) alternates with a bare HTTP call carrying the same prompt to the same mock (A); the overhead
// of a call is B − A.

const RUNS_PER_SUBMISSION = 20; // 2 instances × 10 runs
const WARM_UP = 100;

export async function overheadBenchmark(opts: { calls: number }) {
  const db = await createBenchDatabase('overhead');
  const tool = await openBenchTool(db.url);
  const mockPort = await freePort();
  const mock = await startChild('src/mockLlm/server.ts', { MOCK_LLM_PORT: String(mockPort), MOCK_LLM_LATENCY_MS: '0', MOCK_LLM_QUIET: '1' }, 'listening on');
  const mockUrl = `http://127.0.0.1:${mockPort}/v1`;
  try {
    const admin = await tool.ltik('moodle-admin');
    const instances = await connectionWithInstances(tool, admin, 'Mock', 'bench-overhead-key', mockUrl, 2);
    const link = 'overhead-link';
    const assignmentId = await createAssignment(tool, link, instances, 10, 20);
    const submissions = Math.ceil((opts.calls + WARM_UP) / RUNS_PER_SUBMISSION);
    const students = new Map<string, string>();
    for (let s = 0; s < submissions; s += 1) {
      const sub = `overhead-student-${Math.floor(s / 20)}`;
      students.set(sub, students.get(sub) ?? (await studentLtik(tool, link, sub)));
      const student = students.get(sub)!;
      await tool.api(student, 'post', `/api/v1/assignments/${assignmentId}/submissions`, { text: `${ESSAY} (draft ${s})` });
    }
    const runs = await Run.findAll({ where: { status: 'queued' }, attributes: ['id', 'providerId'], order: [['createdAt', 'ASC'], ['id', 'ASC']] });
    const deps: ExecuteDeps = { sequelize: tool.runtime.sequelize, keyring: tool.runtime.keyring, logger: createLogger({ level: 'silent' }), leaseMs: 60000 };

    // The same prompt the runs send, as one bare HTTP call.
    const prompt = buildPrompt({ assignmentTitle: 'Essay', instructions: 'Argue for one change to your city. 500 words.', rubric: RUBRIC, draftNumber: 1, maxDrafts: 20, previousFeedback: null, submissionText: ESSAY, systemPrompt: undefined });
    const body = JSON.stringify({ model: 'mock-feedback-1', messages: prompt.messages, response_format: { type: 'json_object' }, max_tokens: 1024, schema_hint: outputJsonSchema(RUBRIC) });
    // Node's own HTTP client on a keep-alive agent, the body parsed: the cheapest call Node makes, so
    // the difference is all the tool's (global fetch would cost ~0.4 ms more and flatter the tool).
    const agent = new http.Agent({ keepAlive: true });
    const bare = () =>
      new Promise<void>((resolve, reject) => {
        const req = http.request(`${mockUrl}/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: 'Bearer bench-overhead-key' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            JSON.parse(Buffer.concat(chunks).toString('utf8'));
            resolve();
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    const viaTool = async (run: { id: string; providerId: string }) => {
      const claim = await claimRunWithinLimit(deps.sequelize, run, 1000, 60000);
      if (typeof claim !== 'object') throw new Error(`run ${run.id} could not be claimed: ${claim}`);
      const status = await executeRun(deps, run.id, claim.token, undefined, claim.context);
      if (status !== 'succeeded') throw new Error(`run ended ${status}`);
    };
    const measure = async (fn: () => Promise<void>) => {
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      const wall = performance.now() - t0;
      const used = process.cpuUsage(cpu);
      return { wall, cpu: (used.user + used.system) / 1000 };
    };
    type Sample = { wall: number; cpu: number };
    /** `n` pairs of A and B, A first in even pairs and B first in odd ones; the samples of each. */
    const alternate = async (n: number, measureA: () => Promise<Sample>, measureB: (i: number) => Promise<Sample>) => {
      const a: Sample[] = [];
      const b: Sample[] = [];
      for (let i = 0; i < n; i += 1) {
        if (i % 2 === 0) a.push(await measureA());
        b.push(await measureB(i));
        if (i % 2 === 1) a.push(await measureA());
      }
      return [a, b] as const;
    };

    for (const run of runs.slice(0, WARM_UP)) {
      await bare();
      await viaTool(run);
    }
    const profiler = await startProfileIfAsked();
    // SQL statements the tool sends per call (through Sequelize, whose own PRAGMAs are not included,
    // and straight on the driver), for the report.
    // Counted, not kept: keeping every statement's text promoted ~2.5 MB per scavenge and made each
    // scavenge pause 5–7 ms instead of ~1.3 ms, which the measured calls then paid.
    let sequelizeStatements = 0;
    const lastStatements: string[] = [];
    const driverBefore = driverOf(deps.sequelize).executed;
    const sequelizeOptions = (deps.sequelize as unknown as { options: { logging?: unknown } }).options;
    const logging = sequelizeOptions.logging;
    sequelizeOptions.logging = (sql: string) => {
      sequelizeStatements += 1;
      if (process.env.BENCH_SHOW_SQL && lastStatements.push(sql) > 40) lastStatements.shift();
    };
    // The wall time of the SQL statements within each measured call (the driver's; the per-call path
    // sends nothing through Sequelize), for the report's breakdown.
    const driver = driverOf(deps.sequelize) as unknown as Record<'all' | 'run' | 'runAfter' | 'returning', (...args: unknown[]) => Promise<unknown>>;
    const unwrapped = { all: driver.all, run: driver.run, runAfter: driver.runAfter, returning: driver.returning };
    let sqlMs = 0;
    for (const name of Object.keys(unwrapped) as Array<keyof typeof unwrapped>) {
      driver[name] = async (...args: unknown[]) => {
        const t0 = performance.now();
        try {
          return await unwrapped[name]!(...args);
        } finally {
          sqlMs += performance.now() - t0;
        }
      };
    }
    const measured = runs.slice(WARM_UP, WARM_UP + opts.calls);
    const sql: number[] = [];
    const [a, b] = await alternate(measured.length, () => measure(bare), async (i) => {
      sqlMs = 0;
      const sample = await measure(() => viaTool(measured[i]!));
      sql.push(sqlMs);
      return sample;
    });
    Object.assign(driver, unwrapped);
    await profiler?.stop();
    sequelizeOptions.logging = logging;
    if (process.env.BENCH_SHOW_SQL) process.stderr.write(`${lastStatements.join('\n')}\n`);
    const overhead = b.map((x, i) => x.wall - a[i]!.wall);
    const cpuOverhead = b.map((x, i) => x.cpu - a[i]!.cpu);

    // The provider SDK's share: the adapter alone (the openai SDK on the tool's HTTP transport, under
    // its deadline, as executeRun calls it) with the same prompt, alternating with the bare call.
    const provider = (await Provider.findOne())!;
    const structuredOutput = { name: 'rubric_feedback', schema: outputJsonSchema(RUBRIC) };
    const viaAdapter = async () => {
      await withProviderAdapter(deps.keyring, provider, (adapter) => adapter.complete({ model: 'mock-feedback-1', messages: prompt.messages, params: { maxTokens: 1024 }, structuredOutput }));
    };
    const [bareAgain, adapterCalls] = await alternate(Math.min(1000, opts.calls), () => measure(bare), () => measure(viaAdapter));
    const adapterOverhead = adapterCalls.map((x, i) => x.wall - bareAgain[i]!.wall);

    // One secret reveal (Fernet decrypt + binding check), against one key derivation (boot only).
    const binding = providerBinding(provider);
    const batches: number[] = [];
    for (let batch = 0; batch < 20; batch += 1) {
      const t0 = performance.now();
      for (let i = 0; i < 500; i += 1) reveal(tool.runtime.keyring, binding, provider.apiConfig.secret);
      batches.push(((performance.now() - t0) * 1000) / 500);
    }
    const derivations: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const t0 = performance.now();
      createKeyring(tool.runtime.config.keyMaterial);
      derivations.push(performance.now() - t0);
    }

    const result = {
      calls: b.length,
      overheadMs: { p50: round(median(overhead), 3), p95: round(p95(overhead), 3) },
      toolCallMs: { p50: round(median(b.map((x) => x.wall)), 3), p95: round(p95(b.map((x) => x.wall)), 3) },
      bareCallMs: { p50: round(median(a.map((x) => x.wall)), 3), p95: round(p95(a.map((x) => x.wall)), 3) },
      cpuPerCallMs: { p50: round(median(b.map((x) => x.cpu)), 3), overheadP50: round(median(cpuOverhead), 3) },
      sqlMs: { p50: round(median(sql), 3), p95: round(p95(sql), 3) },
      adapterOverheadMs: { p50: round(median(adapterOverhead), 3), p95: round(p95(adapterOverhead), 3) },
      revealMicros: { p50: round(median(batches), 1), p95: round(p95(batches), 1) },
      keyDerivationMs: round(median(derivations), 1),
      queriesPerCall: round((sequelizeStatements + driverOf(deps.sequelize).executed - driverBefore) / b.length, 1),
      mockRequests: ((await (await fetch(`http://127.0.0.1:${mockPort}/_stats`)).json()) as { requests: number }).requests,
    };
    const dialect = tool.runtime.config.database.dialect;
    const rows: Row[] = [
      { benchmark: `per-call ${dialect}`, metric: `overhead per call p50 / p95 (${result.calls} calls)`, value: `${result.overheadMs.p50} / ${result.overheadMs.p95} ms`, target: '≤ 1 / ≤ 3 ms', ok: result.overheadMs.p50 <= 1 && result.overheadMs.p95 <= 3 },
      { benchmark: `per-call ${dialect}`, metric: 'claim + executeRun p50 / p95', value: `${result.toolCallMs.p50} / ${result.toolCallMs.p95} ms` },
      { benchmark: `per-call ${dialect}`, metric: 'bare HTTP call to the mock p50 / p95', value: `${result.bareCallMs.p50} / ${result.bareCallMs.p95} ms` },
      { benchmark: `per-call ${dialect}`, metric: 'SQL statements per call, and their time p50 / p95', value: `${result.queriesPerCall}: ${result.sqlMs.p50} / ${result.sqlMs.p95} ms` },
      { benchmark: `per-call ${dialect}`, metric: 'the provider SDK adapter alone, above the bare call p50 / p95', value: `${result.adapterOverheadMs.p50} / ${result.adapterOverheadMs.p95} ms` },
      { benchmark: `per-call ${dialect}`, metric: 'CPU per call (total / above the bare call)', value: `${result.cpuPerCallMs.p50} / ${result.cpuPerCallMs.overheadP50} ms` },
      { benchmark: `per-call ${dialect}`, metric: 'one secret reveal p50 / p95', value: `${result.revealMicros.p50} / ${result.revealMicros.p95} µs` },
      { benchmark: `per-call ${dialect}`, metric: 'one key derivation (boot only, never per call)', value: `${result.keyDerivationMs} ms` },
    ];
    process.stderr.write(`  per-call: ${JSON.stringify(result)}\n`);
    return { ...result, rows };
  } finally {
    await mock.stop();
    await tool.close();
    await db.drop();
  }
}
