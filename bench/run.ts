import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchDialect, createBenchDatabase } from './lib/databases';
import { REPO_ROOT } from './lib/processes';
import { table, type Row } from './lib/stats';
import { openBenchTool } from './lib/tool';
import { launchBenchmark } from './launch';

// `npm run bench`: launch throughput against bare ltijs, per-call overhead, class fan-out and memory,
// on SQLite (default) or on PostgreSQL when DATABASE_URL is set. Prints a table and writes the same
// results as JSON under bench/results/. `-- --only launch,overhead,fanout` runs a subset; `--quick`
// runs smaller loads (for trying the harness, not for reporting).

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const onlyArg = args.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? args[args.indexOf('--only') + 1];
  const only = new Set((args.includes('--only') || args.some((a) => a.startsWith('--only=')) ? onlyArg ?? '' : 'launch,overhead,fanout').split(','));
  const dialect = benchDialect();
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  const started = new Date();
  process.stderr.write(`FeedForward benchmarks on ${dialect}${quick ? ' (quick)' : ''}\n`);

  if (only.has('launch')) {
    const db = await createBenchDatabase('launch');
    const tool = await openBenchTool(db.url, { jwksDelayMs: 20 });
    try {
      const { setupLaunchAssignment } = await import('./lib/setup');
      await setupLaunchAssignment(tool);
      const launch = await launchBenchmark(tool, db.url, { launches: quick ? 100 : 500, concurrencies: [1, 16], roundSize: quick ? 25 : 50 });
      results.launch = launch.results;
      results.webBootRssMb = launch.webBootRssMb;
      for (const r of launch.results) {
        rows.push({ benchmark: `launch c=${r.concurrency}`, metric: 'FeedForward launches/s (p50 / p95 ms)', value: `${r.feedforward.launchesPerSecond} (${r.feedforward.p50Ms} / ${r.feedforward.p95Ms})` });
        rows.push({ benchmark: `launch c=${r.concurrency}`, metric: 'bare ltijs launches/s (p50 / p95 ms)', value: `${r.bareLtijs.launchesPerSecond} (${r.bareLtijs.p50Ms} / ${r.bareLtijs.p95Ms})` });
        rows.push({ benchmark: `launch c=${r.concurrency}`, metric: 'throughput ratio FeedForward / ltijs', value: `${r.ratio}×`, target: '≥ 1.2×', ok: r.ratio >= 1.2 });
      }
      rows.push({ benchmark: 'memory', metric: 'web process RSS after boot', value: `${launch.webBootRssMb} MB`, target: '< 250 MB', ok: launch.webBootRssMb < 250 });
    } finally {
      await tool.close();
      await db.drop();
    }
  }

  if (only.has('overhead')) {
    const { overheadBenchmark } = await import('./overhead');
    const overhead = await overheadBenchmark({ calls: quick ? 300 : 2000 });
    results.overhead = overhead;
    rows.push(...overhead.rows);
  }

  if (only.has('fanout')) {
    const { fanoutBenchmark } = await import('./fanout');
    const fanout = await fanoutBenchmark({ submissions: quick ? 30 : 100, dialect });
    results.fanout = fanout;
    rows.push(...fanout.rows);
  }

  const printed = table(rows);
  process.stdout.write(`\nFeedForward benchmarks — ${dialect}, ${os.cpus().length} CPUs, Node ${process.version}, ${started.toISOString()}\n\n${printed}\n`);
  const dir = path.join(REPO_ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${started.toISOString().replace(/[:.]/g, '-')}-${dialect}${quick ? '-quick' : ''}.json`);
  fs.writeFileSync(file, `${JSON.stringify({ dialect, quick, node: process.version, cpus: os.cpus().length, startedAt: started.toISOString(), results, table: rows }, null, 2)}\n`);
  process.stdout.write(`\nJSON: ${path.relative(REPO_ROOT, file)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
