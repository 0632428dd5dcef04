import { randomUUID } from 'node:crypto';
import type { TestPlatform } from '../test/support/platform';
import { createBenchDatabase } from './lib/databases';
import { freePort, startChild, type Child } from './lib/processes';
import { median, p95, round } from './lib/stats';
import { BENCH_ENV, linkClaims, pool, type BenchTool } from './lib/tool';

// 1. Launch throughput: full LTI launches (login, authentication request, id_token, launch, first
// page) from the test platform, whose JWKS answers after 20 ms, against our web process and a bare
// ltijs tool, in alternating rounds (A B B A …).

export interface LaunchSide {
  launchesPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  failures: number;
}

export interface LaunchResult {
  concurrency: number;
  launches: number;
  feedforward: LaunchSide;
  bareLtijs: LaunchSide;
  ratio: number;
}

const LINK = 'launch-bench-link';

async function oneLaunch(platform: TestPlatform, base: string, deploymentId: string): Promise<number> {
  const started = performance.now();
  const launch = await platform.launch(base, { fixture: 'moodle-student', deploymentId, toolUrl: base, claims: linkClaims(LINK, `student-${randomUUID()}`) });
  if (!launch.location || launch.status >= 400) throw new Error(`launch refused: ${launch.status} ${launch.body.slice(0, 200)}`);
  const page = await platform.follow(base, launch);
  if (page.status !== 200) throw new Error(`first page answered ${page.status}: ${page.text.slice(0, 200)}`);
  return performance.now() - started;
}

interface Side {
  name: 'feedforward' | 'bareLtijs';
  base: string;
  latencies: number[];
  elapsedMs: number;
  failures: number;
  lastError?: string;
}

async function round_(side: Side, platform: TestPlatform, deploymentId: string, n: number, concurrency: number): Promise<void> {
  const started = performance.now();
  await pool(n, concurrency, async () => {
    try {
      side.latencies.push(await oneLaunch(platform, side.base, deploymentId));
    } catch (err) {
      side.failures += 1;
      side.lastError = (err as Error).message;
    }
  });
  side.elapsedMs += performance.now() - started;
}

export async function launchBenchmark(tool: BenchTool, databaseUrl: string, opts: { launches: number; concurrencies: number[]; roundSize: number }): Promise<{ results: LaunchResult[]; webBootRssMb: number }> {
  const ourPort = await freePort();
  const ours: Child = await startChild('src/server.ts', { ...BENCH_ENV, LOG_LEVEL: 'info', DATABASE_URL: databaseUrl, PORT: String(ourPort), PUBLIC_URL: `http://127.0.0.1:${ourPort}`, RUN_WORKER: 'false' }, 'FeedForward LTI is running');
  const webBootRssMb = ours.memory().rssMb;
  const bareDb = await createBenchDatabase('bareltijs');
  const barePort = await freePort();
  const p = tool.platform;
  let bare: Child | undefined;
  try {
    bare = await startChild('bench/bareLtijs/server.ts', {
      BARE_PORT: String(barePort),
      BARE_DATABASE_URL: bareDb.url,
      BARE_KEY: BENCH_ENV.LTI_KEY,
      BARE_PLATFORM: JSON.stringify({ issuer: p.issuer, clientId: p.clientId, authUrl: p.authUrl, tokenUrl: p.tokenUrl, jwksUrl: p.jwksUrl }),
    }, 'bare-ltijs ready');
    const results: LaunchResult[] = [];
    for (const concurrency of opts.concurrencies) {
      const sides: Side[] = [
        { name: 'feedforward', base: `http://127.0.0.1:${ourPort}`, latencies: [], elapsedMs: 0, failures: 0 },
        { name: 'bareLtijs', base: `http://127.0.0.1:${barePort}`, latencies: [], elapsedMs: 0, failures: 0 },
      ];
      // Warm-up (JIT, pools, our JWKS cache), not measured.
      for (const side of sides) await round_({ ...side, latencies: [], elapsedMs: 0 }, p, tool.deploymentId, 20, concurrency);
      const rounds = Math.ceil(opts.launches / opts.roundSize);
      for (let r = 0; r < rounds; r += 1) {
        const order = r % 2 === 0 ? sides : [...sides].reverse();
        for (const side of order) await round_(side, p, tool.deploymentId, opts.roundSize, concurrency);
      }
      const summary = (side: Side): LaunchSide => {
        if (side.failures) process.stderr.write(`  ${side.name}: ${side.failures} failed launches, last: ${side.lastError}\n`);
        return { launchesPerSecond: round((side.latencies.length / side.elapsedMs) * 1000, 1), p50Ms: round(median(side.latencies), 1), p95Ms: round(p95(side.latencies), 1), failures: side.failures };
      };
      const ff = summary(sides[0]!);
      const bl = summary(sides[1]!);
      results.push({ concurrency, launches: rounds * opts.roundSize, feedforward: ff, bareLtijs: bl, ratio: round(ff.launchesPerSecond / bl.launchesPerSecond, 2) });
      process.stderr.write(`  launches at concurrency ${concurrency}: ${JSON.stringify(results.at(-1))}\n`);
    }
    return { results, webBootRssMb };
  } finally {
    await ours.stop();
    await bare?.stop();
    await bareDb.drop();
  }
}
