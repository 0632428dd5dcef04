import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createApp, type ToolApp } from '../src/app';
import { loadConfig } from '../src/config';
import { FeedbackWorker } from '../src/feedback/worker';
import { createLogger, type Logger } from '../src/logger';
import { addDeployment, registerPlatform } from '../src/lti/platforms';
import { startMockLlm, type RunningMockLlm } from '../src/mockLlm/server';
import { openRuntime, type Runtime } from '../src/runtime';
import { assertNotProduction, DEMO_CLIENT_ID, DEMO_DEPLOYMENT_ID, DemoLms } from './lms/DemoLms';

// The three parts of `npm run demo`, in one process: the tool on SQLite (the real createApp() and
// worker, on its own data directory), the mock LLM, and the demo LMS, registered with the tool.
// The LMS is on 127.0.0.1 and the tool on localhost: two sites, so the tool's frame is cross-site
// as in a real LMS, and its SameSite=None cookies and frame-ancestors are really exercised.

export interface DemoStackOptions {
  /** Holds the tool's SQLite database and development keys, and the LMS's course. */
  dataDir: string;
  /** 0 picks free ports (tests). */
  toolPort?: number;
  lmsPort?: number;
  mockLlmPort?: number;
  mockLatencyMs?: number;
  /** Default true; tests start it when they have seen the queued state (startWorker()). */
  runWorker?: boolean;
  logLevel?: string;
  /** Where the tool's JSON logs go; default stderr. */
  logDestination?: { write(line: string): void };
}

export interface DemoStack {
  /** The page to open: the demo LMS's course. */
  lmsUrl: string;
  toolUrl: string;
  /** The mock LLM's OpenAI-compatible base URL. */
  mockLlmUrl: string;
  lms: DemoLms;
  tool: ToolApp;
  mockLlm: RunningMockLlm;
  runtime: Runtime;
  startWorker(): void;
  close(): Promise<void>;
}

async function listen(server: http.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function startDemoStack(opts: DemoStackOptions): Promise<DemoStack> {
  assertNotProduction();
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const mockLlm = await startMockLlm({ port: opts.mockLlmPort ?? 0, latencyMs: opts.mockLatencyMs ?? 300 });

  // Listen first, so the tool's PUBLIC_URL carries the real port even when it was 0.
  const toolServer = http.createServer();
  const toolPort = await listen(toolServer, opts.toolPort ?? 0, '127.0.0.1');
  const toolUrl = `http://localhost:${toolPort}`;
  const lms = await DemoLms.start({ toolUrl, port: opts.lmsPort ?? 0, stateFile: path.join(opts.dataDir, 'demo-lms.json') });

  // Only these variables: the demo is always development mode on SQLite, whatever the shell has set.
  const config = loadConfig(
    {
      NODE_ENV: 'development',
      PORT: String(toolPort),
      PUBLIC_URL: toolUrl,
      DATABASE_URL: `sqlite:${path.join(opts.dataDir, 'feedforward.sqlite')}`,
      LOG_LEVEL: opts.logLevel ?? 'warn',
    },
    { dataDir: opts.dataDir },
  );
  const logger: Logger = createLogger({ level: config.logLevel, destination: opts.logDestination ?? process.stderr });
  const runtime = await openRuntime({ config, logger });
  const tool = await createApp(runtime);
  toolServer.on('request', tool);

  const platform = await registerPlatform(
    tool.lti,
    { issuer: lms.issuer, clientId: DEMO_CLIENT_ID, name: 'Demo LMS', authUrl: lms.authUrl, tokenUrl: lms.tokenUrl, jwksUrl: lms.jwksUrl, registeredVia: 'cli', product: 'feedforward-demo-lms' },
    { allowLocalUrls: config.allowLocalUrls },
  );
  await addDeployment(platform, DEMO_DEPLOYMENT_ID, 'cli');

  const worker = new FeedbackWorker({
    sequelize: runtime.sequelize,
    keyring: runtime.keyring,
    logger,
    lti: tool.lti,
    concurrencyPerConnection: config.providerConcurrency,
    ratePerMinute: config.providerRatePerMinute,
    leaseMs: config.runLeaseMs,
  });
  let workerStarted = false;
  const startWorker = (): void => {
    if (workerStarted) return;
    workerStarted = true;
    worker.start();
  };
  if (opts.runWorker ?? true) startWorker();

  return {
    lmsUrl: `${lms.origin}/`,
    toolUrl,
    mockLlmUrl: mockLlm.url,
    lms,
    tool,
    mockLlm,
    runtime,
    startWorker,
    async close() {
      if (workerStarted) await worker.stop(5000);
      toolServer.closeAllConnections();
      await new Promise<void>((resolve) => toolServer.close(() => resolve()));
      await lms.close();
      await tool.close();
      await runtime.close();
      await mockLlm.close();
    },
  };
}
