import type { Server } from 'node:http';
import type { Logger } from '../logger';

// Graceful shutdown for every process kind: on SIGTERM (or SIGINT) stop taking requests and work,
// give work in flight the grace period, release what is left, close the pools, exit 0. A process
// that cannot finish within grace + a margin exits 1 rather than hang its orchestrator.

const CLOSE_MARGIN_MS = 15000;

/** Runs `shutdown` once on the first SIGTERM or SIGINT, then exits 0 (1 if it failed or overran). */
export function exitGracefullyOnSignals(logger: Logger, graceMs: number, shutdown: () => Promise<void>): void {
  let started = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (started) return; // a second signal changes nothing: the deadline below still holds
    started = true;
    logger.info({ signal, graceSeconds: graceMs / 1000 }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, graceMs + CLOSE_MARGIN_MS).unref();
    shutdown().then(
      () => {
        logger.info('shut down cleanly');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Stops accepting connections and waits up to graceMs for requests in flight; then drops what is left. */
export async function closeServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); })]);
  if (timer) clearTimeout(timer);
  server.closeAllConnections();
}
