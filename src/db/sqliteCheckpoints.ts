import type { Sequelize } from 'sequelize';

// SQLite checkpoints its WAL (copies it into the database file and syncs both) on the commit that
// takes the WAL past `wal_autocheckpoint` pages, so every few hundred writes one request's statement
// paid several milliseconds for it (~8 times a second in the per-call benchmark, whose p95 was
// 4.8–5.3 ms with automatic checkpoints and 3.8–4.6 ms with these). The tool's connections
// therefore never checkpoint (the PRAGMA below), and a connection of its own does it in the
// background, in two steps:
// 1. a PASSIVE checkpoint, which waits for no reader or writer: the bulk of the copying, while the
//    other connections keep appending to the WAL;
// 2. the frames appended meanwhile, with this process's writers held back in its writer queue
//    (writeGate), so that the checkpoint completes: only then does the next writer start the WAL from
//    its beginning again. Under a steady stream of writes, step 1 alone never completes, and the
//    WAL grew by every write (the per-call benchmark took it past 50 000 frames).
// The file stays about as large as one interval's writes. SQLite has no such background mode itself.

/** Added to the PRAGMAs of every connection that checkpoints elsewhere. */
export const NO_AUTOCHECKPOINT = 'PRAGMA wal_autocheckpoint=0';
/** How often; read when a checkpointer starts (tests lengthen it to checkpoint only when they ask). */
export const checkpointSchedule = { intervalMs: 1000 };

export interface CheckpointResult {
  /** 1 when a writer or reader kept it from copying everything (it tries again next time). */
  busy: number;
  /** Frames in the WAL, and how many of them are now in the database file. */
  log: number;
  checkpointed: number;
}

interface SqliteDatabase {
  get(sql: string, cb: (err: Error | null, row: Record<string, number>) => void): void;
  exec(sql: string, cb: (err: Error | null) => void): void;
  close(cb: (err: Error | null) => void): void;
}
interface SqliteModule {
  Database: new (file: string, mode: number, cb: (err: Error | null) => void) => SqliteDatabase;
  OPEN_READWRITE: number;
}
/** This process's writer queue (writeGate in connection.ts). */
type WriteQueue = <T>(write: () => Promise<T>, opts?: { first?: boolean }) => Promise<T>;
interface Manager {
  lib: SqliteModule;
  close(): Promise<void>;
}

const checkpointers = new WeakMap<Sequelize, { checkpoint(): Promise<CheckpointResult | null> }>();

/**
 * Checkpoints `storage` every `intervalMs` on a connection of its own, opened on the first tick with
 * the sqlite3 module Sequelize loaded, until `sequelize` closes. Failures are left for the next tick
 * (the WAL only grows meanwhile; SQLite checkpoints it anyway when its last connection closes).
 */
export function checkpointInBackground(sequelize: Sequelize, storage: string, writers: WriteQueue, intervalMs = checkpointSchedule.intervalMs): void {
  const manager = (sequelize as unknown as { connectionManager: Manager }).connectionManager;
  let db: Promise<SqliteDatabase> | null = null;
  let running: Promise<CheckpointResult | null> | null = null;
  let closed = false;
  const open = () =>
    new Promise<SqliteDatabase>((resolve, reject) => {
      const connection = new manager.lib.Database(storage, manager.lib.OPEN_READWRITE, (err) => {
        if (err) return reject(err);
        connection.exec('PRAGMA busy_timeout=5000', (pragmaErr) => (pragmaErr ? reject(pragmaErr) : resolve(connection)));
      });
    });
  const passive = (connection: SqliteDatabase) =>
    new Promise<CheckpointResult>((resolve, reject) =>
      connection.get('PRAGMA wal_checkpoint(PASSIVE)', (err, row) => (err ? reject(err) : resolve({ busy: row.busy!, log: row.log!, checkpointed: row.checkpointed! }))),
    );
  const dataVersion = (connection: SqliteDatabase) =>
    new Promise<number>((resolve, reject) => connection.get('PRAGMA data_version', (err, row) => (err ? reject(err) : resolve(row.data_version!))));
  // data_version (which changes when another connection commits) as of the last complete checkpoint.
  let settled: number | null = null;
  const once = async (): Promise<CheckpointResult | null> => {
    if (closed) return null;
    db ??= open();
    const connection = await db.catch((err: unknown) => {
      db = null;
      throw err;
    });
    // Nothing committed since the last complete checkpoint (an idle tool): nothing to do.
    if ((await dataVersion(connection)) === settled) return null;
    const bulk = await passive(connection);
    if (bulk.log <= 0 || closed) return bulk; // no WAL, or an empty one
    // Even a result saying it copied every frame (log = checkpointed) counts only the frames there
    // were when it began: writes made while it ran kept the WAL from starting over.
    return writers(async () => {
      const result = await passive(connection);
      if (result.checkpointed === result.log) settled = await dataVersion(connection);
      return result;
    }, { first: true });
  };
  // One at a time: a slow disk must not pile checkpoints up.
  const checkpoint = () => (running ??= once().finally(() => (running = null)));
  const timer = setInterval(() => void checkpoint().catch(() => undefined), intervalMs);
  timer.unref();
  checkpointers.set(sequelize, { checkpoint });

  const close = manager.close.bind(manager);
  manager.close = async () => {
    closed = true;
    clearInterval(timer);
    await running?.catch(() => undefined);
    const connection = await db?.catch(() => null);
    if (connection) await new Promise<void>((resolve) => connection.close(() => resolve()));
    await close();
  };
}

/** Runs one background checkpoint now (tests); null when nothing was written since the last one, or `sequelize` has none or has closed. */
export function checkpointNow(sequelize: Sequelize): Promise<CheckpointResult | null> {
  return checkpointers.get(sequelize)?.checkpoint() ?? Promise.resolve(null);
}
