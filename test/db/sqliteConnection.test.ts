import { QueryTypes, Transaction } from 'sequelize';
import { createTestContext, TestContext } from '../support/context';
import { isPostgres } from '../support/paths';

// Sequelize 6's SQLite dialect never fires `afterConnect`, so PRAGMAs set there were silently
// skipped. Every connection, the default one and each transaction's, must run in WAL mode, wait on
// a locked database, and not fsync on every commit.

const describeSqlite = isPostgres() ? describe.skip : describe;

describeSqlite('SQLite connections', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => {
    await ctx.close();
  });

  const pragmas = async (transaction?: Transaction) => {
    const one = async (name: string) => Object.values((await ctx.sequelize.query<Record<string, unknown>>(`PRAGMA ${name}`, { type: QueryTypes.SELECT, transaction }))[0]!)[0];
    return { journal: await one('journal_mode'), busyTimeout: await one('busy_timeout'), synchronous: await one('synchronous'), foreignKeys: await one('foreign_keys') };
  };

  test('the default connection runs in WAL mode with a busy timeout and synchronous=NORMAL', async () => {
    expect(await pragmas()).toEqual({ journal: 'wal', busyTimeout: 5000, synchronous: 1, foreignKeys: 1 });
  });

  test("a transaction's own connection gets the same settings", async () => {
    const inside = await ctx.sequelize.transaction((transaction) => pragmas(transaction));
    expect(inside).toEqual({ journal: 'wal', busyTimeout: 5000, synchronous: 1, foreignKeys: 1 });
  });

  // Waiting transactions used to hold libuv's threads in SQLite's busy handler, starving the one
  // holding the lock (see serializeSqliteTransactions): they now run one at a time, all committing.
  test('concurrent managed transactions run one at a time and all commit', async () => {
    await ctx.sequelize.query('CREATE TABLE IF NOT EXISTS tx_probe (n INTEGER)');
    // Each SQLite transaction has its own connection, opened at BEGIN: count them while each runs.
    const connections = () => Object.keys((ctx.sequelize as unknown as { connectionManager: { connections: object } }).connectionManager.connections).filter((k) => k !== 'default').length;
    let most = 0;
    await Promise.all(
      Array.from({ length: 16 }, (_, n) =>
        ctx.sequelize.transaction(async (transaction) => {
          most = Math.max(most, connections());
          await ctx.sequelize.query('INSERT INTO tx_probe (n) VALUES (:n)', { replacements: { n }, transaction });
          await ctx.sequelize.query('SELECT count(*) FROM tx_probe', { type: QueryTypes.SELECT, transaction });
        }),
      ),
    );
    expect(most).toBe(1);
    const rows = await ctx.sequelize.query<{ c: number }>('SELECT count(*) AS c FROM tx_probe', { type: QueryTypes.SELECT });
    expect(rows[0]!.c).toBe(16);
  });

  test('a failing transaction rolls back and does not block the next one', async () => {
    await expect(ctx.sequelize.transaction(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    await expect(ctx.sequelize.transaction(async () => 'next')).resolves.toBe('next');
  });
});
