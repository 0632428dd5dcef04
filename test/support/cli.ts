import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './paths';

// Runs the administration CLI as operators do (`npm run cli -- ...`): the real entry point in its own
// process, against the given database.

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(databaseUrl: string, args: string[], opts: { killAfterMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/index.ts'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    // A hung CLI fails its test instead of hanging the run (the generous limit allows a loaded machine).
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 60000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
