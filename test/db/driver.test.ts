import { randomUUID } from 'node:crypto';
import type { Sequelize } from 'sequelize';
import { parseDatabaseUrl } from '../../src/config';
import { createSequelize } from '../../src/db/connection';
import { driverOf, isUniqueViolation } from '../../src/db/driver';
import { Deployment, Run, Submission } from '../../src/models';
import { createTestContext, TestContext } from '../support/context';
import { testDatabaseUrl } from '../support/db';
import { createAssignment, createDeployment, createSubmission, createUser } from '../support/factories';
import { isPostgres } from '../support/paths';

// The driver (src/db/driver.ts) writes and reads the same rows as the Sequelize models, in plain SQL
// on Sequelize's own connections. What it writes must read back through the models unchanged, and
// what the models wrote must compare correctly in its SQL (on SQLite dates are text: a different text
// form would compare wrongly). On SQLite its statements are prepared once per connection and must be
// finalised before the connection closes, or closing fails.

const describeSqlite = isPostgres() ? describe.skip : describe;
/** A read that fails at run time on a bad value (not at prepare time). */
const BAD_JSON_READ = isPostgres() ? `SELECT ($1::json)->>'a' AS "v"` : `SELECT json_extract($1, '$.a') AS "v"`;

describe('plain SQL driver', () => {
  let ctx: TestContext;
  let deployment: Deployment;
  let submission: Submission;

  beforeAll(async () => {
    ctx = await createTestContext();
    deployment = await createDeployment();
    const student = await createUser(deployment);
    const assignment = await createAssignment(deployment, student, { title: 'Driver' });
    submission = await createSubmission(assignment, student, 'Driver text.');
  });
  afterAll(async () => {
    await ctx.close();
  });

  const newRun = () =>
    Run.create({
      deploymentId: deployment.id, submissionId: submission.id, instanceId: randomUUID(), providerId: randomUUID(), runIndex: 0,
      idempotencyKey: `driver:${randomUUID()}`, status: 'queued', instanceSnapshot: { name: 'I', providerId: randomUUID(), model: 'm', params: {}, weight: 1 },
    });

  test('dates and JSON written by the driver read back through the model unchanged', async () => {
    const driver = driverOf(ctx.sequelize);
    const run = await newRun();
    const lease = new Date('2026-11-26T07:06:04.691Z');
    const output = { summary: 'Résumé 📚 "quoted"', criteria: [{ criterionId: 'content', score: 4.5, strengths: ['a'], improvements: [], comment: 'ok' }] };
    const changed = await driver.run('UPDATE "runs" SET "lease_expires_at" = $2, "output" = $3, "next_attempt_at" = $4 WHERE "id" = $1', [run.id, driver.date(lease), driver.json(output), driver.date(null)]);
    expect(changed).toBe(1);
    const read = await Run.findByPk(run.id);
    expect(read!.leaseExpiresAt).toEqual(lease);
    expect(read!.output).toEqual(output);
    expect(read!.nextAttemptAt).toBeNull();
  });

  test('dates written by the model compare correctly in driver SQL (same text form on SQLite)', async () => {
    const driver = driverOf(ctx.sequelize);
    const run = await newRun();
    const lease = new Date('2026-11-26T07:06:04.691Z');
    await run.update({ leaseExpiresAt: lease });
    const matches = async (op: string, at: Date) =>
      (await driver.all<{ id: string }>(`SELECT "id" FROM "runs" WHERE "id" = $1 AND "lease_expires_at" ${op} $2`, [run.id, driver.date(at)])).length;
    expect(await matches('=', lease)).toBe(1);
    expect(await matches('>', new Date(lease.getTime() - 1))).toBe(1);
    expect(await matches('>', lease)).toBe(0);
    expect(await matches('<', new Date(lease.getTime() + 1))).toBe(1);
    // A day boundary: text comparison must still order by time.
    expect(await matches('<', new Date('2026-11-27T00:00:00.000Z'))).toBe(1);
    expect(await matches('>', new Date('2026-11-25T23:59:59.999Z'))).toBe(1);
  });

  test('JSON written by the model and booleans both ways agree with the driver', async () => {
    const driver = driverOf(ctx.sequelize);
    const run = await newRun();
    const output = { summary: 'From the model ✓', criteria: [] };
    await run.update({ output });
    const [row] = await driver.all<{ output: unknown }>('SELECT "output" FROM "runs" WHERE "id" = $1', [run.id]);
    expect(typeof row!.output === 'string' ? JSON.parse(row!.output) : row!.output).toEqual(output);

    const other = await createDeployment();
    expect(await driver.run('UPDATE "deployments" SET "active" = $2 WHERE "id" = $1', [other.id, driver.bool(false)])).toBe(1);
    expect((await Deployment.findByPk(other.id))!.active).toBe(false);
    await Deployment.update({ active: true }, { where: { id: other.id } });
    const active = await driver.all('SELECT "id" FROM "deployments" WHERE "id" = $1 AND "active" = $2', [other.id, driver.bool(true)]);
    expect(active).toHaveLength(1);
  });

  test('parameters bind by number, reused and out of order', async () => {
    const driver = driverOf(ctx.sequelize);
    const run = await newRun();
    const rows = await driver.all<{ id: string }>('SELECT "id" FROM "runs" WHERE "submission_id" = $2 AND "id" = $1 AND ("id" = $1 OR "status" = $3)', [run.id, submission.id, 'none']);
    expect(rows.map((r) => r.id)).toEqual([run.id]);
  });

  test('a failing statement rejects with the database error; the same SQL then works and counts as executed', async () => {
    const driver = driverOf(ctx.sequelize);
    const key = `driver-dup:${randomUUID()}`;
    const insert = `INSERT INTO "runs" ("id", "deployment_id", "submission_id", "instance_id", "provider_id", "run_index", "idempotency_key", "instance_snapshot", "status", "attempts", "created_at", "updated_at")
VALUES ($1, $2, $3, $4, $4, 0, $5, $6, 'queued', 0, $7, $7)`;
    const params = (key: string) => [randomUUID(), deployment.id, submission.id, randomUUID(), key, driver.json({ name: 'I', providerId: 'p', model: 'm', params: {}, weight: 1 }), driver.date(new Date())];
    const before = driver.executed;
    expect(await driver.run(insert, params(key))).toBe(1);
    const duplicate = driver.run(insert, params(key));
    await expect(duplicate).rejects.toMatchObject({ code: isPostgres() ? '23505' : 'SQLITE_CONSTRAINT' });
    expect(await driver.run(insert, params(`${key}-2`))).toBe(1);
    expect(driver.executed - before).toBe(3);
    expect(await Run.count({ where: { idempotencyKey: [key, `${key}-2`] } })).toBe(2);
    // A read failing on its value is dropped the same way, and the same SQL then works.
    await expect(driver.all(BAD_JSON_READ, ['not json'])).rejects.toThrow(/json/i);
    expect(await driver.all(BAD_JSON_READ, ['{"a":"ok"}'])).toEqual([{ v: 'ok' }]);
  });

  test('runAfter writes the first always, the second after it; on PostgreSQL both commit together', async () => {
    const driver = driverOf(ctx.sequelize);
    const run = await newRun();
    const insert = (key: string) => ({
      sql: `INSERT INTO "runs" ("id", "deployment_id", "submission_id", "instance_id", "provider_id", "run_index", "idempotency_key", "instance_snapshot", "status", "attempts", "created_at", "updated_at")
VALUES ($1, $2, $3, $4, $4, 0, $5, $6, 'queued', 0, $7, $7)`,
      params: [randomUUID(), deployment.id, submission.id, randomUUID(), key, driver.json({ name: 'I', providerId: 'p', model: 'm', params: {}, weight: 1 }), driver.date(new Date())],
    });
    const touch = (id: string, status: string) => ({ sql: 'UPDATE "runs" SET "attempts" = "attempts" + 1 WHERE "id" = $1 AND "status" = $2', params: [id, status] });
    const key = `after:${randomUUID()}`;
    // Parameters of both statements land where they belong (on PostgreSQL they are renumbered into one).
    expect(await driver.runAfter(insert(key), touch(run.id, 'queued'))).toBe(1);
    expect((await Run.findByPk(run.id))!.attempts).toBe(1);
    expect(await Run.count({ where: { idempotencyKey: key } })).toBe(1);
    // The second matches nothing: the first is still written.
    expect(await driver.runAfter(insert(`${key}-2`), touch(run.id, 'succeeded'))).toBe(0);
    expect(await Run.count({ where: { idempotencyKey: `${key}-2` } })).toBe(1);
    // The first fails (a duplicate key): the second is not applied.
    await expect(driver.runAfter(insert(key), touch(run.id, 'queued'))).rejects.toMatchObject({ code: isPostgres() ? '23505' : 'SQLITE_CONSTRAINT' });
    expect((await Run.findByPk(run.id))!.attempts).toBe(1);
    // The second fails: one statement on PostgreSQL, so the first is not kept there either.
    await expect(driver.runAfter(insert(`${key}-3`), { sql: 'UPDATE "runs" SET "no_such_column" = 1 WHERE "id" = $1', params: [run.id] })).rejects.toThrow(/no_such_column/);
    expect(await Run.count({ where: { idempotencyKey: `${key}-3` } })).toBe(isPostgres() ? 0 : 1);
  });

  test('statements within a managed transaction commit and roll back with it; a duplicate key is recognised on both databases', async () => {
    const driver = driverOf(ctx.sequelize);
    const insert = `INSERT INTO "runs" ("id", "deployment_id", "submission_id", "instance_id", "provider_id", "run_index", "idempotency_key", "instance_snapshot", "status", "attempts", "created_at", "updated_at")
VALUES ($1, $2, $3, $4, $4, 0, $5, $6, 'queued', 0, $7, $7)`;
    const params = (key: string) => [randomUUID(), deployment.id, submission.id, randomUUID(), key, driver.json({ name: 'I', providerId: 'p', model: 'm', params: {}, weight: 1 }), driver.date(new Date())];
    const kept = `within:${randomUUID()}`;
    await ctx.sequelize.transaction(async (transaction) => {
      const statements = driver.within(transaction);
      expect(await statements.run(insert, params(kept))).toBe(1);
      // The transaction sees its own write; nobody else reads it before the commit.
      expect(await statements.all('SELECT "idempotency_key" FROM "runs" WHERE "idempotency_key" = $1', [kept])).toEqual([{ idempotency_key: kept }]);
    });
    expect(await Run.count({ where: { idempotencyKey: kept } })).toBe(1);

    const dropped = `within:${randomUUID()}`;
    // The second insert repeats a key: the transaction rolls back, taking the first with it.
    const duplicate = await ctx.sequelize
      .transaction(async (transaction) => {
        const statements = driver.within(transaction);
        await statements.run(insert, params(dropped));
        await statements.run(insert, params(kept));
      })
      .then(() => null, (err: unknown) => err);
    expect(isUniqueViolation(duplicate)).toBe(true);
    expect(await Run.count({ where: { idempotencyKey: dropped } })).toBe(0);
    // Other failures are not mistaken for one.
    const other = await driver.run('UPDATE "runs" SET "no_such_column" = 1').catch((err: unknown) => err);
    expect(isUniqueViolation(other)).toBe(false);
    expect(isUniqueViolation(new Error('UNIQUE constraint failed'))).toBe(false);
  });
});

/** A Sequelize of its own on this test's database (its close is what is tested). */
function ownSequelize(): Sequelize {
  const settings = parseDatabaseUrl(testDatabaseUrl(), process.cwd());
  if (typeof settings === 'string') throw new Error(settings);
  return createSequelize(settings);
}

describe('driver statements and closing the connection', () => {
  test('the database closes after prepared statements were used, failed and reused', async () => {
    const sequelize = ownSequelize();
    const driver = driverOf(sequelize);
    const table = `driver_close_${randomUUID().replace(/-/g, '').slice(0, 8)}`;
    await sequelize.query(`CREATE TABLE ${table} ("id" VARCHAR(20) PRIMARY KEY)`);
    try {
      for (const id of ['a', 'b', 'c']) expect(await driver.run(`INSERT INTO ${table} ("id") VALUES ($1)`, [id])).toBe(1);
      await expect(driver.run(`INSERT INTO ${table} ("id") VALUES ($1)`, ['a'])).rejects.toMatchObject({ code: isPostgres() ? '23505' : 'SQLITE_CONSTRAINT' });
      await expect(driver.all(BAD_JSON_READ, ['not json'])).rejects.toThrow(/json/i);
      for (let i = 0; i < 3; i += 1) expect(await driver.all(`SELECT "id" FROM ${table} WHERE "id" <> $1 ORDER BY "id"`, ['b'])).toEqual([{ id: 'a' }, { id: 'c' }]);
    } finally {
      await sequelize.query(`DROP TABLE ${table}`);
    }
    // SQLite refuses to close a connection with statements still prepared (SQLITE_BUSY).
    await expect(sequelize.close()).resolves.toBeUndefined();
  });
});

describeSqlite('SQLite prepared statements', () => {
  test('each statement is prepared once per connection and reused', async () => {
    const sequelize = ownSequelize();
    try {
      const driver = driverOf(sequelize);
      const manager = (sequelize as unknown as { connectionManager: { getConnection(): Promise<{ prepare(sql: string): unknown }> } }).connectionManager;
      const db = await manager.getConnection();
      const prepare = jest.spyOn(db, 'prepare');
      for (let i = 0; i < 5; i += 1) await driver.all('SELECT count(*) AS "n" FROM "runs" WHERE "status" = $1', [`s${i}`]);
      for (let i = 0; i < 3; i += 1) await driver.run('UPDATE "runs" SET "attempts" = "attempts" WHERE "id" = $1', [randomUUID()]);
      expect(prepare.mock.calls.map(([sql]) => sql)).toEqual([
        'SELECT count(*) AS "n" FROM "runs" WHERE "status" = ?1',
        'UPDATE "runs" SET "attempts" = "attempts" WHERE "id" = ?1',
      ]);
    } finally {
      await sequelize.close();
    }
  });
});

describe('a statement the database refuses', () => {
  test('rejects with the database error (it once hung), is not kept, and the connection still closes', async () => {
    const sequelize = ownSequelize();
    const driver = driverOf(sequelize);
    const missing = `driver_missing_${randomUUID().replace(/-/g, '').slice(0, 8)}`;
    await expect(driver.all(`SELECT "id" FROM ${missing} WHERE "id" = $1`, ['a'])).rejects.toThrow(/no such table|does not exist/);
    await expect(driver.run(`UPDATE ${missing} SET "id" = $1`, ['a'])).rejects.toThrow(/no such table|does not exist/);
    // Once the table exists, the same SQL is prepared afresh and works.
    await sequelize.query(`CREATE TABLE ${missing} ("id" VARCHAR(20) PRIMARY KEY)`);
    try {
      expect(await driver.run(`UPDATE ${missing} SET "id" = $1`, ['a'])).toBe(0);
      expect(await driver.all(`SELECT "id" FROM ${missing} WHERE "id" = $1`, ['a'])).toEqual([]);
    } finally {
      await sequelize.query(`DROP TABLE ${missing}`);
    }
    await expect(sequelize.close()).resolves.toBeUndefined();
  });
});
