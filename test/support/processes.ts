import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './paths';

// Real FeedForward processes (src/server.ts, src/workerProcess.ts) as child processes, for tests of
// several processes on one database and of signals. Their JSON log lines are collected as they come.

export interface ToolProcess {
  child: ChildProcess;
  /** Every JSON log line so far, parsed. */
  entries: Array<Record<string, unknown>>;
  /** Resolves with the first log entry that matches (rejects on exit or after timeoutMs). */
  waitFor(match: (entry: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `src/<entry>.ts` with the test environment plus `env`, logging JSON at info level. */
export function startToolProcess(entry: 'server' | 'workerProcess', env: Record<string, string>): ToolProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, `src/${entry}.ts`)], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const entries: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return; // the banner
    try {
      entries.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      return;
    }
    for (const wake of waiters) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor: ToolProcess['waitFor'] = (match, timeoutMs = 30000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = entries.find(match);
        if (!found) return;
        done();
        resolve(found);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${entry}: no matching log line within ${timeoutMs} ms; stderr: ${stderr.slice(0, 500)}`));
      }, timeoutMs);
      const onExit = (code: number | null) => {
        done();
        reject(new Error(`${entry} exited with ${code} before the expected log line; stderr: ${stderr.slice(0, 500)}`));
      };
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
        child.off('exit', onExit);
      };
      waiters.add(check);
      child.once('exit', onExit);
      check();
    });
  return {
    child,
    entries,
    waitFor,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
