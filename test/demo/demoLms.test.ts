import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { assertNotProduction, DemoLms } from '../../demo/lms/DemoLms';
import { filesUnder, REPO_ROOT } from '../support/paths';

// The demo path (demo LMS, `npm run demo`) is for trying the tool on one's own computer: it signs a
// launch for anyone who clicks, so it refuses production and nothing in src/ may reach it.
// The browser tests (`npm run test:e2e`) drive it end to end.

describe('the demo LMS', () => {
  test('refuses to start when NODE_ENV=production', async () => {
    expect(() => assertNotProduction({ NODE_ENV: 'production' })).toThrow(/refuses to start when NODE_ENV=production/);
    const before = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await expect(DemoLms.start({ toolUrl: 'http://localhost:1' })).rejects.toThrow(/NODE_ENV=production/);
    } finally {
      process.env.NODE_ENV = before;
    }
  });

  test('`npm run demo` exits at once with a clear message under NODE_ENV=production', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'demo/main.ts'], { cwd: REPO_ROOT, env: { ...process.env, NODE_ENV: 'production' }, encoding: 'utf8', timeout: 60000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('refuses to start with NODE_ENV=production');
    expect(run.stdout).not.toContain('Open this page');
  });

  test('nothing in src/ imports the demo or the test platform', () => {
    const sources = filesUnder('src', /\.ts$/);
    expect(sources.length).toBeGreaterThan(50);
    const offenders = sources.filter((file) => /from '[^']*\/(demo|test)\//.test(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8')));
    expect(offenders).toEqual([]);
    expect(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'tsconfig.build.json'), 'utf8')).include).not.toContain('demo');
  });

  test('answers an authentication request only for a launch it issued', async () => {
    const lms = await DemoLms.start({ toolUrl: 'http://localhost:1' });
    try {
      const auth = new URL(lms.authUrl);
      const query = { response_type: 'id_token', response_mode: 'form_post', scope: 'openid', prompt: 'none', client_id: lms.clientId, redirect_uri: 'http://localhost:1/lti/launch', nonce: 'n-1', state: 's-1', login_hint: 'demo-student', lti_message_hint: 'forged' };
      for (const [k, v] of Object.entries(query)) auth.searchParams.set(k, v);
      const res = await fetch(auth);
      expect(res.status).toBe(400);
      const page = await res.text();
      expect(page).toContain('lti_message_hint is not one this LMS issued');
      expect(page).not.toContain('id_token');
    } finally {
      await lms.close();
    }
  });
});
