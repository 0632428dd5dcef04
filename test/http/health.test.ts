import request from 'supertest';
import { createTestContext, TestContext } from '../support/context';

describe('GET /healthz', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx.app.close());

  test('answers 200 while the database is reachable', async () => {
    const res = await request(ctx.app).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: 'ok' });
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

  test('answers 503 once the database is gone', async () => {
    await ctx.sequelize.close();
    const res = await request(ctx.app).get('/healthz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'unavailable', database: 'unreachable' });
  });
});
