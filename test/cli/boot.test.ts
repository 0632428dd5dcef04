import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../support/paths';
import { isolatedDatabaseUrl } from '../support/db';

// The real process entry, run as a child: what an operator sees when start fails.

function runServer(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/server.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += String(d);
      if (stdout.includes('FeedForward LTI is running')) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

describe('starting the server', () => {
  let databaseUrl: string;
  beforeAll(async () => {
    databaseUrl = await isolatedDatabaseUrl();
  });

  test('starts, prints the URLs an admin needs, and exits 0 on SIGTERM', async () => {
    const run = await runServer({ DATABASE_URL: databaseUrl });
    expect(run.stdout).toContain('Dynamic registration URL');
    expect(run.stdout).toContain('/lti/config.json');
    expect(run.code).toBe(0);
  });

  test('a wrong SECRET_KEY for an existing database refuses to start with a clear message', async () => {
    const run = await runServer({ DATABASE_URL: databaseUrl, SECRET_KEY: 'another-key-4b8e1d7a2c9f6e3b0a5d8c1f7e4b2a9d' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/SECRET_KEY does not match this database/);
    expect(run.stderr).not.toContain('another-key');
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  test('invalid configuration lists every problem and exits 1', async () => {
    const run = await runServer({ DATABASE_URL: 'mysql://nope', PORT: 'abc' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/PORT: /);
    expect(run.stderr).toMatch(/DATABASE_URL: /);
  });

  test('an unreachable PostgreSQL names the host, with no stack trace', async () => {
    const run = await runServer({ DATABASE_URL: 'postgres://postgres:hunter2secret@127.0.0.1:1/nothing' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Cannot reach PostgreSQL at 127\.0\.0\.1:1 \(database "nothing"\): connection refused/);
    expect(run.stderr).not.toContain('hunter2secret');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  test('production refuses a SECRET_KEY that is too short', async () => {
    const run = await runServer({ NODE_ENV: 'production', SECRET_KEY: 'short-key', LTI_KEY: 'x', PUBLIC_URL: 'https://ff.example.edu', DATABASE_URL: databaseUrl });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/SECRET_KEY: .*32 characters/);
  });
});
