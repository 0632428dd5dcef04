import { randomUUID } from 'node:crypto';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { parseDatabaseUrl } from '../../src/config';
import { createSequelize } from '../../src/db/connection';
import { driverOf } from '../../src/db/driver';
import { testDatabaseUrl } from '../support/db';
import { isPostgres } from '../support/paths';

// SQLite (src/db/connection.ts): Sequelize opens a connection per transaction and closed it after
// COMMIT; reuseSqliteTransactionConnections keeps finished transactions' connections for the next
// ones (rolling back whatever a previous transaction left open). writeGate queues the driver's
// single writes behind managed transactions in this process instead of SQLite's busy handler.

const describeSqlite = isPostgres() ? describe.skip : describe;

type Connection = { open: boolean; run(sql: string, cb: (err: Error | null) => void): void };
const connectionOf = (t: Transaction) => (t as unknown as { connection: Connection }).connection;
const exec = (c: Connection, sql: string) => new Promise<void>((resolve, reject) => c.run(sql, (err) => (err ? reject(err) : resolve())));

describeSqlite('SQLite transaction connections', () => {
  let sequelize: Sequelize;
  let closed = false;
  const table = `tx_reuse_${randomUUID().replace(/-/g, '').slice(0, 8)}`;

  beforeEach(async () => {
    const settings = parseDatabaseUrl(testDatabaseUrl(), process.cwd());
    if (typeof settings === 'string') throw new Error(settings);
    sequelize = createSequelize(settings);
    closed = false;
    await sequelize.query(`CREATE TABLE IF NOT EXISTS ${table} ("id" TEXT PRIMARY KEY, "by" TEXT)`);
  });
  afterEach(async () => {
    if (!closed) await sequelize.close();
  });

  const insert = (id: string, by: string, transaction?: Transaction) => sequelize.query(`INSERT INTO ${table} ("id", "by") VALUES (:id, :by)`, { replacements: { id, by }, transaction });
  const ids = async () => (await sequelize.query<{ id: string }>(`SELECT "id" FROM ${table} ORDER BY "id"`, { type: QueryTypes.SELECT })).map((r) => r.id);

  test('consecutive managed transactions reuse one connection instead of opening one each', async () => {
    const used: Connection[] = [];
    for (let i = 0; i < 5; i += 1) {
      await sequelize.transaction(async (t) => {
        used.push(connectionOf(t));
        await insert(`row-${i}`, 'tx', t);
      });
    }
    expect(used.every((c) => c === used[0])).toBe(true);
    expect(used[0]!.open).toBe(true);
    expect(await ids()).toEqual(['row-0', 'row-1', 'row-2', 'row-3', 'row-4']);
    // The kept connection is closed with the rest.
    closed = true;
    await sequelize.close();
    expect(used[0]!.open).toBe(false);
  });

  test('a kept connection whose last transaction was left open is rolled back before reuse', async () => {
    let kept: Connection | undefined;
    await sequelize.transaction(async (t) => {
      kept = connectionOf(t);
    });
    // As if its last transaction had not ended cleanly: open, holding the write lock, with a write.
    await exec(kept!, 'BEGIN IMMEDIATE');
    await exec(kept!, `INSERT INTO ${table} ("id", "by") VALUES ('left-open', 'stale')`);

    let reused: Connection | undefined;
    await sequelize.transaction(async (t) => {
      reused = connectionOf(t);
      await insert('next', 'tx', t);
    });
    expect(reused).toBe(kept); // otherwise this test proves nothing
    expect(await ids()).toEqual(['next']);
  });

  test('a driver write issued while a managed transaction is open waits for its commit; both succeed', async () => {
    const driver = driverOf(sequelize);
    const events: string[] = [];
    let write: Promise<number> | undefined;
    await sequelize.transaction(async (t) => {
      t.afterCommit(() => {
        events.push('commit');
      });
      await insert('in-tx', 'tx', t);
      const sent = driver.executed;
      write = driver.run(`INSERT INTO ${table} ("id", "by") VALUES ($1, $2)`, ['by-driver', 'driver']).then((n) => {
        events.push('driver write');
        return n;
      });
      // The transaction goes on working; the driver's write has not even been sent to SQLite
      // (it waits in the process's writer queue, not in SQLite's busy handler holding a thread).
      await insert('in-tx-2', 'tx', t);
      await sequelize.query(`SELECT count(*) FROM ${table}`, { transaction: t, type: QueryTypes.SELECT });
      expect(driver.executed).toBe(sent);
      events.push('transaction done');
    });
    expect(await write).toBe(1);
    expect(events).toEqual(['transaction done', 'commit', 'driver write']);
    expect(await ids()).toEqual(['by-driver', 'in-tx', 'in-tx-2']);
  });
});
