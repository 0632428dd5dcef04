import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { openRuntime, Runtime } from '../../src/runtime';
import { testConfig } from '../support/context';
import { isolatedDatabaseUrl } from '../support/db';
import { createDeployment, createProvider } from '../support/factories';
import { REPO_ROOT } from '../support/paths';

// `npm run cli -- secrets rotate` as an operator runs it: it says how many secrets it will
// re-encrypt, shows progress as it goes, and ends with the final count.

const KEY_A = 'key-A-5d1f8a2c7e9b3046f1a8c2e7d9b4f6a0';
const KEY_B = 'key-B-0a6f4b9d7e2c8a1f6403b9e7c2a8f1d5';

describe('secrets rotate on the command line', () => {
  let runtime: Runtime;
  let databaseUrl: string;
  const keys: string[] = [];

  beforeAll(async () => {
    databaseUrl = await isolatedDatabaseUrl();
    runtime = await openRuntime({ config: testConfig({ SECRET_KEY: KEY_A, KDF_ITERATIONS: '1000' }, databaseUrl) });
    const deployment = await createDeployment();
    for (let i = 0; i < 3; i += 1) keys.push((await createProvider(runtime.keyring, { deployment })).apiKey);
  });
  afterAll(() => runtime.close());

  test('shows progress and the final count, and never prints a key', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/index.ts'), 'secrets', 'rotate'], {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: databaseUrl, SECRET_KEY: KEY_B, SECRET_KEY_PREVIOUS: KEY_A, KDF_ITERATIONS: '1000', LTI_KEY: 'lti-key-for-the-rotate-test-3f9a1c7e', LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 60000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/Re-encrypting 3 of 3 stored secret\(s\) with key [0-9a-f]{16}…/);
    expect(run.stdout).toContain('1 of 3 re-encrypted (33%)…');
    expect(run.stdout).toContain('3 of 3 re-encrypted (100%)…');
    expect(run.stdout).toContain('Re-encrypted 3 secret(s).');
    expect(run.stdout).toContain('Every stored secret uses the current key');
    for (const key of keys) expect(run.stdout).not.toContain(key);
  });
});
