import { QueryTypes, Sequelize } from 'sequelize';
import request from 'supertest';
import { createApp, ToolApp } from '../../src/app';
import { createLogger } from '../../src/logger';
import { openRuntime, Runtime } from '../../src/runtime';
import { createTestContext, testConfig, TestContext } from '../support/context';
import { isolatedDatabaseUrl } from '../support/db';
import { isPostgres } from '../support/paths';

// /healthz is liveness (the process answers; no database), /readyz is readiness (database,
// migrations, key check). Each 503 names a fixed reason and nothing else.

describe('GET /healthz and /readyz', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx.app.close());

  test('/healthz and /readyz answer 200 on a healthy process', async () => {
    const live = await request(ctx.app).get('/healthz');
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: 'ok' });
    const ready = await request(ctx.app).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready' });
    expect(ready.headers['cache-control']).toBe('no-store');
  });

  test('unknown pages get a 404 page with a request id and no stack trace', async () => {
    const res = await request(ctx.app).get('/no-such-page');
    expect(res.status).toBe(404);
    expect(res.text).toContain(res.headers['x-request-id']);
    expect(res.text).not.toMatch(/at .*\.ts:\d+/);
  });

  test('malformed JSON gets a JSON 400 with the request id', async () => {
    const res = await request(ctx.app).post('/api/v1/nothing').set('content-type', 'application/json').send('{"a":');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  test('once the database is gone /readyz answers 503 and /healthz still 200', async () => {
    await ctx.sequelize.close();
    const ready = await request(ctx.app).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'unavailable', reason: 'database_unreachable' });
    const live = await request(ctx.app).get('/healthz');
    expect(live.status).toBe(200);
  });
});

describe('/readyz on a database that is not ready for this process', () => {
  const opened: Array<{ app: ToolApp; runtime: Runtime }> = [];
  afterAll(async () => {
    for (const { app, runtime } of opened) {
      await app.close();
      await runtime.close().catch(() => undefined);
    }
  });

  async function open(databaseUrl: string, overrides: Record<string, string> = {}, opts: { checkKey?: boolean } = {}) {
    const config = testConfig(overrides, databaseUrl);
    const runtime = await openRuntime({ config, logger: createLogger({ level: 'silent' }), checkKey: opts.checkKey });
    const app = await createApp(runtime);
    opened.push({ app, runtime });
    return { app, runtime };
  }

  test('503 migrations_pending while a migration is not applied, 200 again once it is', async () => {
    const { app, runtime } = await open(await isolatedDatabaseUrl());
    const [last] = await runtime.sequelize.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name DESC LIMIT 1', { type: QueryTypes.SELECT });
    await runtime.sequelize.query('DELETE FROM schema_migrations WHERE name = :name', { replacements: { name: last!.name } });
    const pending = await request(app).get('/readyz');
    expect(pending.status).toBe(503);
    expect(pending.body).toEqual({ status: 'unavailable', reason: 'migrations_pending' });
    await runtime.sequelize.query('INSERT INTO schema_migrations (name) VALUES (:name)', { replacements: { name: last!.name } });
    expect((await request(app).get('/readyz')).status).toBe(200);
  });

  test('503 secret_key_mismatch for a process whose SECRET_KEY cannot read the key check, without naming any key', async () => {
    const databaseUrl = await isolatedDatabaseUrl();
    await open(databaseUrl); // the right key writes the key check
    const wrongKey = 'a-different-secret-key-6b1f0c9e2d7a4b8e5c3f1a9d';
    const { app } = await open(databaseUrl, { SECRET_KEY: wrongKey }, { checkKey: false });
    const res = await request(app).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'unavailable', reason: 'secret_key_mismatch' });
    expect(res.text).not.toContain(wrongKey);
    expect(res.text).not.toContain(process.env.SECRET_KEY!);
  });

  (isPostgres() ? test : test.skip)('PostgreSQL: 503 database_unreachable while the database refuses connections, 200 once it is back', async () => {
    const databaseUrl = await isolatedDatabaseUrl();
    const name = new URL(databaseUrl).pathname.slice(1);
    const { app } = await open(databaseUrl);
    expect((await request(app).get('/readyz')).status).toBe(200);
    // An outage as a process sees it: its connections are killed and new ones are refused.
    const admin = new Sequelize(process.env.DATABASE_URL!, { logging: false });
    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()', { replacements: { name } });
    try {
      const res = await request(app).get('/readyz');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: 'unavailable', reason: 'database_unreachable' });
      expect((await request(app).get('/healthz')).status).toBe(200);
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await admin.close();
    }
    expect((await request(app).get('/readyz')).status).toBe(200);
  });

  test('503 shutting_down once the process drains', async () => {
    const { app } = await open(await isolatedDatabaseUrl());
    expect((await request(app).get('/readyz')).status).toBe(200);
    app.drain();
    const res = await request(app).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'unavailable', reason: 'shutting_down' });
    expect((await request(app).get('/healthz')).status).toBe(200);
  });
});
