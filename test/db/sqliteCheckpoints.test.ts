import fs from 'node:fs';
import { QueryTypes } from 'sequelize';
import { driverOf } from '../../src/db/driver';
import { checkpointNow, checkpointSchedule } from '../../src/db/sqliteCheckpoints';
import { createTestContext, TestContext } from '../support/context';
import { isPostgres } from '../support/paths';

// The tool's SQLite connections never checkpoint the WAL on a commit (that write would pay for
// copying the WAL into the database and syncing it); a connection of its own checkpoints in the
// background. The WAL must still stay bounded: after a checkpoint, the next writes start it over.

const describeSqlite = isPostgres() ? describe.skip : describe;

describeSqlite('SQLite WAL checkpoints in the background', () => {
  let ctx: TestContext;
  let wal: string;
  const everySecond = checkpointSchedule.intervalMs;
  /** A tool whose checkpointer runs every `intervalMs`: by default only when the test asks (checkpointNow). */
  const open = async (intervalMs = 3_600_000) => {
    checkpointSchedule.intervalMs = intervalMs;
    try {
      ctx = await createTestContext();
    } finally {
      checkpointSchedule.intervalMs = everySecond;
    }
    wal = `${(ctx.config.database as { storage: string }).storage}-wal`;
    await ctx.sequelize.query('CREATE TABLE IF NOT EXISTS wal_probe (n INTEGER, filler BLOB)');
  };
  afterEach(async () => {
    await ctx?.close();
    ctx = undefined as unknown as TestContext;
  });

  const setting = async (name: string) => Object.values((await ctx.sequelize.query<Record<string, unknown>>(`PRAGMA ${name}`, { type: QueryTypes.SELECT }))[0]!)[0];
  // ~1 500 pages of 4 KB in 30 small transactions: past SQLite's automatic checkpoint (1 000 pages),
  // which, were it on, would have started the WAL over midway.
  const writeBatch = async () => {
    for (let i = 0; i < 30; i += 1) await ctx.sequelize.query('INSERT INTO wal_probe (n, filler) SELECT value, randomblob(2000) FROM json_each(?)', { replacements: [JSON.stringify(Array.from({ length: 100 }, (_, n) => n))] });
  };
  const walPages = () => fs.statSync(wal).size / 4096;

  test("the tool's connections leave checkpoints to the background, and one checkpoint lets the WAL start over", async () => {
    await open();
    expect(await setting('wal_autocheckpoint')).toBe(0);
    expect(await ctx.sequelize.transaction(async (transaction) => Object.values((await ctx.sequelize.query<Record<string, unknown>>('PRAGMA wal_autocheckpoint', { type: QueryTypes.SELECT, transaction }))[0]!)[0])).toBe(0);

    await writeBatch();
    const afterFirst = walPages();
    expect(afterFirst).toBeGreaterThan(1400); // no commit checkpointed on the way

    const result = await checkpointNow(ctx.sequelize);
    expect(result).toEqual({ busy: 0, log: expect.any(Number), checkpointed: expect.any(Number) });
    expect(result!.log).toBeGreaterThan(1400);
    expect(result!.checkpointed).toBe(result!.log);

    // The same amount again fits in the same file: the WAL started over instead of growing.
    await writeBatch();
    expect(walPages()).toBeLessThanOrEqual(afterFirst * 1.05);
    const rows = await ctx.sequelize.query<{ c: number }>('SELECT count(*) AS c FROM wal_probe', { type: QueryTypes.SELECT });
    expect(rows[0]!.c).toBe(6000);
  });

  // A PASSIVE checkpoint alone never completes while writes keep coming (each one appends frames it
  // has not copied), and the WAL then never starts over: it grew past 50 000 frames in the per-call
  // benchmark. The checkpoint finishes with this process's writers held back.
  test('under a steady stream of writes, each checkpoint completes and the WAL starts over', async () => {
    await open();
    const driver = driverOf(ctx.sequelize);
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      while (writing) {
        await driver.run('INSERT INTO wal_probe (n, filler) VALUES ($1, randomblob(2000))', [writes]);
        writes += 1;
      }
    })();
    const results = [];
    try {
      for (let i = 0; i < 4; i += 1) {
        const until = writes + 300;
        while (writes < until) await new Promise((resolve) => setImmediate(resolve));
        results.push((await checkpointNow(ctx.sequelize))!);
      }
    } finally {
      writing = false;
      await writer;
    }
    for (const result of results) expect(result.checkpointed).toBe(result.log);
    // Each checkpoint saw about 300 writes' frames, not every write since the first.
    const [first, ...later] = results.map((r) => r.log);
    expect(Math.max(...later)).toBeLessThan(first! * 1.6);
  });

  test('an idle tool checkpoints nothing until something is written', async () => {
    await open();
    await writeBatch();
    expect(await checkpointNow(ctx.sequelize)).toMatchObject({ busy: 0 });
    expect(await checkpointNow(ctx.sequelize)).toBeNull();
    await ctx.sequelize.query('INSERT INTO wal_probe (n) VALUES (1)');
    const after = await checkpointNow(ctx.sequelize);
    expect(after).toMatchObject({ busy: 0 });
    expect(after!.checkpointed).toBe(after!.log);
  });

  test('the background checkpoint runs by itself, and closing the tool closes its connection', async () => {
    await open(everySecond);
    await writeBatch();
    const afterFirst = walPages();
    await new Promise((resolve) => setTimeout(resolve, everySecond * 2.5));
    await writeBatch();
    expect(walPages()).toBeLessThanOrEqual(afterFirst * 1.05);

    // SQLite removes the WAL when its last connection closes: none is left open.
    await ctx.close();
    ctx = undefined as unknown as TestContext;
    expect(fs.existsSync(wal)).toBe(false);
  });
});
