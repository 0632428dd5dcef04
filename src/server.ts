import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app';
import { FeedbackWorker } from './feedback/worker';
import { ConfigError, loadConfig } from './config';
import { DatabaseUnreachableError } from './db/connection';
import { closeServer, exitGracefullyOnSignals } from './lifecycle/shutdown';
import { createLogger, scrubText } from './logger';
import { openRuntime } from './runtime';
import { WrongSecretKeyError } from './secrets/bootCheck';

// Process entry: validate config, connect, migrate, prove the key, then listen. `npm start` runs the
// web server and a worker; `npm run web` (RUN_WORKER=false) the web server alone; `npm run worker`
// (workerProcess.ts) a worker alone.

function fail(message: string): never {
  process.stderr.write(`\nFeedForward LTI cannot start.\n${message}\n\n`);
  process.exit(1);
}

function banner(publicUrl: string): string {
  const lines = [
    `FeedForward LTI is running at ${publicUrl}`,
    '',
    'For LMS administrators:',
    `  Dynamic registration URL : ${publicUrl}/lti/register`,
    `  Canvas JSON config URL   : ${publicUrl}/lti/config.json`,
    `  OIDC login URL           : ${publicUrl}/lti/login`,
    `  Launch / redirect URL    : ${publicUrl}/lti/launch`,
    `  Public JWKS URL          : ${publicUrl}/lti/keys`,
    `  Health check             : ${publicUrl}/healthz`,
  ];
  return `\n${lines.join('\n')}\n\n`;
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(`${err.message}\n\nFix the variables above and start again.`);
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  for (const warning of config.warnings) logger.warn(warning);

  let runtime;
  try {
    runtime = await openRuntime({ config, logger });
  } catch (err) {
    if (err instanceof DatabaseUnreachableError || err instanceof WrongSecretKeyError) fail(err.message);
    throw err;
  }

  const app = await createApp(runtime);
  const worker = config.runWorker
    ? new FeedbackWorker({ sequelize: runtime.sequelize, keyring: runtime.keyring, logger, lti: app.lti, concurrencyPerConnection: config.providerConcurrency, ratePerMinute: config.providerRatePerMinute, leaseMs: config.runLeaseMs })
    : undefined;
  worker?.start();
  const server: Server = app.listen(config.port, () => {
    // The real port (PORT=0 picks a free one).
    logger.info({ port: (server.address() as AddressInfo).port, publicUrl: config.publicUrl, worker: Boolean(worker) }, 'listening');
    process.stdout.write(banner(config.publicUrl));
  });

  // Stop taking requests (and /readyz says so) and work; let calls in flight finish within the grace
  // period, release the rest to other workers; close every pool (pg-boss, ltijs, Sequelize).
  exitGracefullyOnSignals(logger, config.shutdownGraceMs, async () => {
    app.drain();
    await Promise.all([closeServer(server, config.shutdownGraceMs), worker?.stop(config.shutdownGraceMs)]);
    await app.close();
    await runtime.close();
  });
}

main().catch((err: unknown) => {
  // Last resort: a one-line reason, no stack trace (set LOG_LEVEL=debug to investigate).
  fail(scrubText(err instanceof Error ? `${err.name}: ${err.message}` : String(err)));
});
