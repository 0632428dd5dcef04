import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

const strong = 'b7e1c9d24f6a8035e2c7b9d1f4a6c8e0';
const strong2 = '9f2d4b6a8c0e1f3a5b7c9d2e4f6a8b1c';
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ff-config-'));

function problemsOf(env: NodeJS.ProcessEnv, dataDir = tmpDir()): string[] {
  try {
    loadConfig(env, { dataDir });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration', () => {
  test('defaults give SQLite under ./data, port 3000 and a localhost public URL', () => {
    const dataDir = tmpDir();
    const config = loadConfig({ NODE_ENV: 'development' }, { dataDir });
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.database).toMatchObject({ dialect: 'sqlite', storage: path.join(dataDir, 'feedforward.sqlite') });
  });

  test('PUBLIC_URL defaults to the configured PORT', () => {
    expect(loadConfig({ PORT: '4100' }, { dataDir: tmpDir() }).publicUrl).toBe('http://localhost:4100');
  });

  test('in development missing keys are generated once, stored 0600 and announced', () => {
    const dataDir = tmpDir();
    const first = loadConfig({ NODE_ENV: 'development' }, { dataDir });
    expect(first.warnings.join('\n')).toMatch(/SECRET_KEY was not set/);
    expect(first.warnings.join('\n')).toMatch(/LTI_KEY was not set/);
    for (const file of ['secret_key', 'lti_key']) {
      expect(fs.statSync(path.join(dataDir, file)).mode & 0o777).toBe(0o600);
    }
    const second = loadConfig({ NODE_ENV: 'development' }, { dataDir });
    expect(second.warnings).toEqual([]);
    expect(second.ltiKey).toBe(first.ltiKey);
  });

  test('bad variables are all reported at once, each with how to fix it', () => {
    const problems = problemsOf({ NODE_ENV: 'production', PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', SECRET_KEY: 'tooShortSecret9', KDF_ITERATIONS: '10' });
    const text = problems.join('\n');
    expect(text).toMatch(/^PORT: /m);
    expect(text).toMatch(/^DATABASE_URL: must start with sqlite: or postgres:\/\//m);
    expect(text).toMatch(/^LOG_LEVEL: must be one of/m);
    expect(text).toMatch(/^SECRET_KEY: .*openssl rand -hex 32/m);
    expect(text).toMatch(/^KDF_ITERATIONS: must be at least 600000 in production/m);
    expect(text).toMatch(/^LTI_KEY: is required in production/m);
    expect(text).toMatch(/^PUBLIC_URL: /m);
    expect(text).not.toContain('tooShortSecret9'); // never echoes a secret value
  });

  test('operations settings: a 30 s shutdown grace, metrics off and no worker port by default; bad values are explained without echoing a token', () => {
    const defaults = loadConfig({}, { dataDir: tmpDir() });
    expect(defaults).toMatchObject({ shutdownGraceMs: 30000, metricsToken: undefined, workerHttpPort: undefined });
    const set = loadConfig({ SHUTDOWN_GRACE_SECONDS: '5', METRICS_TOKEN: strong, WORKER_HTTP_PORT: '9100' }, { dataDir: tmpDir() });
    expect(set).toMatchObject({ shutdownGraceMs: 5000, metricsToken: strong, workerHttpPort: 9100 });
    const problems = problemsOf({ SHUTDOWN_GRACE_SECONDS: '-1', METRICS_TOKEN: 'short token', WORKER_HTTP_PORT: 'ninety' }).join('\n');
    expect(problems).toMatch(/^SHUTDOWN_GRACE_SECONDS: must be between 0 and 600/m);
    expect(problems).toMatch(/^METRICS_TOKEN: .*openssl rand -hex 32/m);
    expect(problems).toMatch(/^WORKER_HTTP_PORT: /m);
    expect(problems).not.toContain('short token');
  });

  test('an unparseable DATABASE_URL is a clear message', () => {
    expect(problemsOf({ DATABASE_URL: 'postgres://' })).toEqual([expect.stringMatching(/^DATABASE_URL: /)]);
    expect(problemsOf({ DATABASE_URL: 'sqlite:' })).toEqual([expect.stringMatching(/^DATABASE_URL: use sqlite:<path>/)]);
  });

  test('production requires strong SECRET_KEY and LTI_KEY and an https PUBLIC_URL', () => {
    expect(problemsOf({ NODE_ENV: 'production', SECRET_KEY: 'a'.repeat(40), LTI_KEY: strong, PUBLIC_URL: 'https://ff.example.edu' })).toEqual([
      expect.stringMatching(/^SECRET_KEY: /),
    ]);
    expect(problemsOf({ NODE_ENV: 'production', SECRET_KEY: strong, LTI_KEY: strong2, PUBLIC_URL: 'https://ff.example.edu' })).toEqual([]);
  });

  test('LTI_KEY must differ from SECRET_KEY', () => {
    expect(problemsOf({ SECRET_KEY: strong, LTI_KEY: strong })).toEqual([expect.stringMatching(/^LTI_KEY: must differ from SECRET_KEY/)]);
  });

  test('the config object never shows the secret key when serialised', () => {
    const config = loadConfig({ SECRET_KEY: strong, LTI_KEY: strong2 }, { dataDir: tmpDir() });
    expect(JSON.stringify(config)).not.toContain(strong);
  });
});
