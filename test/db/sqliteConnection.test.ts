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
});
