import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from './config';
import { DatabaseUnreachableError } from './db/connection';
import { startRunJobs, stopRunJobs } from './feedback/runJobs';
import { FeedbackWorker } from './feedback/worker';
import { closeServer, exitGracefullyOnSignals } from './lifecycle/shutdown';
import { createOpsApp } from './observability/opsApp';
import { createLogger, scrubText } from './logger';
import { createLtijs } from './lti/ltijs';
import { openRuntime } from './runtime';
import { WrongSecretKeyError } from './secrets/bootCheck';

// `npm run worker`: a process that only executes feedback runs (no pages; /healthz, /readyz and
// /metrics on WORKER_HTTP_PORT if set). Start as many as the providers' limits allow; they share the
// work through the database.

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  const runtime = await openRuntime({ config, logger }).catch((err: unknown) => {
    if (err instanceof DatabaseUnreachableError || err instanceof WrongSecretKeyError) {
      process.stderr.write(`FeedForward worker cannot start.\n${err.message}\n`);
      process.exit(1);
    }
    throw err;
  });
  // ltijs is needed for grade passback after an automatic release.
  const lti = await createLtijs({ ltiKey: config.ltiKey, database: config.database });
  await startRunJobs(runtime.sequelize, config.database, { supervise: true });
  const worker = new FeedbackWorker({ sequelize: runtime.sequelize, keyring: runtime.keyring, logger, lti, concurrencyPerConnection: config.providerConcurrency, ratePerMinute: config.providerRatePerMinute, leaseMs: config.runLeaseMs });
  // Optional: liveness, readiness and this worker's metrics for an orchestrator and Prometheus.
  let draining = false;
  const ops = config.workerHttpPort === undefined
    ? undefined
    : await listen(createOpsApp({ sequelize: runtime.sequelize, keyring: runtime.keyring, logger, metricsToken: config.metricsToken, draining: () => draining }), config.workerHttpPort);
  worker.start();
  logger.info({ pid: process.pid, ...(ops ? { httpPort: (ops.address() as AddressInfo).port } : {}) }, 'worker started');
  // Let calls in flight finish within the grace period, release the rest to other workers, close every pool.
  exitGracefullyOnSignals(logger, config.shutdownGraceMs, async () => {
    draining = true;
    await worker.stop(config.shutdownGraceMs);
    if (ops) await closeServer(ops, 1000);
    await stopRunJobs(runtime.sequelize);
    await lti.close({ silent: true });
    await runtime.close();
  });
}

function listen(app: ReturnType<typeof createOpsApp>, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, () => resolve(server));
    server.once('error', reject);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`FeedForward worker stopped: ${scrubText(err instanceof Error ? err.message : String(err))}\n`);
  process.exit(1);
});
