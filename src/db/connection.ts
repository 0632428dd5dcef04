import fs from 'node:fs';
import path from 'node:path';
import { Sequelize, Transaction } from 'sequelize';
import type { DatabaseSettings } from '../config';
import type { Logger } from '../logger';
import { checkpointInBackground, NO_AUTOCHECKPOINT } from './sqliteCheckpoints';

export class DatabaseUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseUnreachableError';
  }
}

/** Creates a Sequelize instance for SQLite or PostgreSQL; does not connect yet. */
export function createSequelize(settings: DatabaseSettings, logger?: Logger): Sequelize {
  const logging = logger ? (sql: string) => logger.trace({ sql: sql.slice(0, 500) }, 'sql') : false;
  if (settings.dialect === 'sqlite') {
    if (settings.storage !== ':memory:') fs.mkdirSync(path.dirname(settings.storage), { recursive: true });
    const sequelize = new Sequelize({
      dialect: 'sqlite',
      storage: settings.storage,
      logging,
      define: { underscored: true },
      // SQLite has one writer. A transaction that reads and then writes must take the write lock at
      // BEGIN, or a concurrent writer makes its upgrade fail at once with SQLITE_BUSY.
      transactionType: Transaction.TYPES.IMMEDIATE,
      retry: { max: 5, match: [/SQLITE_BUSY/] },
    });
    // WAL lets the web process read while the worker writes; busy_timeout waits instead of failing.
    // Checkpoints run in the background, off every request's path (sqliteCheckpoints.ts).
    onSqliteConnect(sequelize, ['PRAGMA journal_mode=WAL', 'PRAGMA busy_timeout=5000', 'PRAGMA foreign_keys=ON', 'PRAGMA synchronous=NORMAL', NO_AUTOCHECKPOINT]);
    serializeSqliteTransactions(sequelize);
    // In memory, Sequelize has one connection for everything, transactions included: nothing to
    // reuse, and no WAL to checkpoint.
    if (settings.storage !== ':memory:') {
      reuseSqliteTransactionConnections(sequelize);
      checkpointInBackground(sequelize, settings.storage, writeGate(sequelize));
    }
    return sequelize;
  }
  return new Sequelize(settings.url, {
    dialect: 'postgres',
    logging,
    define: { underscored: true },
    pool: { max: 10, min: 0, idle: 10000, acquire: 10000 },
    dialectOptions: { connectionTimeoutMillis: 5000 },
  });
}

type SqliteConnection = { run: (sql: string, cb: (err: Error | null) => void) => void };

/**
 * Runs these PRAGMAs on every SQLite connection Sequelize opens (the default one and one per
 * transaction) before its first query. Sequelize 6's SQLite dialect never fires `afterConnect`, so
 * a hook there is silently skipped: the benchmarks found the database in rollback-journal mode with
 * synchronous=FULL, every write taking ~15 ms.
 */
export function onSqliteConnect(sequelize: Sequelize, pragmas: string[]): void {
  const manager = (sequelize as unknown as { connectionManager: { getConnection(options?: unknown): Promise<SqliteConnection> } }).connectionManager;
  const getConnection = manager.getConnection.bind(manager);
  const configured = new WeakMap<SqliteConnection, Promise<void>>();
  manager.getConnection = async (options?: unknown) => {
    const connection = await getConnection(options);
    let ready = configured.get(connection);
    if (!ready) {
      ready = (async () => {
        for (const pragma of pragmas) await new Promise<void>((resolve, reject) => connection.run(pragma, (err) => (err ? reject(err) : resolve())));
      })();
      configured.set(connection, ready);
    }
    await ready;
    return connection;
  };
}

type PooledConnection = SqliteConnection & { uuid?: string; close(cb?: (err: Error | null) => void): void };
interface SqliteManager {
  connections: Record<string, PooledConnection>;
  getConnection(options?: { uuid?: string }): Promise<PooledConnection>;
  releaseConnection(connection: PooledConnection, force?: boolean): unknown;
  close(): Promise<void>;
}

/**
 * Keeps up to `keep` SQLite connections of finished transactions open for the next ones. Sequelize
 * opens a new connection per transaction and closes it after COMMIT, so every transaction paid for
 * opening the file, reading the schema and the PRAGMAs above (every submission is one). A reused
 * connection is first rolled back, in case its last transaction could not end cleanly.
 */
export function reuseSqliteTransactionConnections(sequelize: Sequelize, keep = 2): void {
  const manager = (sequelize as unknown as { connectionManager: SqliteManager }).connectionManager;
  const idle: PooledConnection[] = [];
  const getConnection = manager.getConnection.bind(manager);
  const releaseConnection = manager.releaseConnection.bind(manager);
  const close = manager.close.bind(manager);
  manager.getConnection = async (options) => {
    const uuid = options?.uuid;
    if (!uuid || uuid === 'default' || manager.connections[uuid] || idle.length === 0) return getConnection(options);
    const connection = idle.pop()!;
    await new Promise<void>((resolve) => connection.run('ROLLBACK', () => resolve()));
    manager.connections[uuid] = connection;
    return connection;
  };
  manager.releaseConnection = (connection, force) => {
    if (!connection.uuid || connection.uuid === 'default' || idle.length >= keep) return releaseConnection(connection, force);
    delete manager.connections[connection.uuid];
    idle.push(connection);
    return undefined;
  };
  manager.close = async () => {
    const open = idle.splice(0);
    await Promise.all(open.map((c) => new Promise<void>((resolve) => c.close(() => resolve()))));
    await close();
  };
}

/**
 * Runs this process's managed SQLite transactions one at a time. SQLite has one writer, so they
 * could never overlap anyway, but each one waiting for the write lock blocks a libuv threadpool
 * thread (4 of them) in SQLite's busy handler: the fan-out benchmark had 16 submissions waiting in
 * BEGIN IMMEDIATE while the transaction holding the lock had no thread left for its COMMIT, and
 * everything stalled for busy_timeout (5 s). Queued here, waiting costs no thread.
 */
export function serializeSqliteTransactions(sequelize: Sequelize): void {
  const original = sequelize.transaction.bind(sequelize) as (...args: unknown[]) => Promise<unknown>;
  const gate = writeGate(sequelize);
  (sequelize as unknown as { transaction: (...args: unknown[]) => Promise<unknown> }).transaction = (...args: unknown[]) => {
    if (!args.some((a) => typeof a === 'function')) return original(...args); // unmanaged: the caller commits
    return gate(() => original(...args));
  };
}

/** `first`: a single statement that goes ahead of the transactions waiting (never of the one running). */
type Gate = <T>(write: () => Promise<T>, opts?: { first?: boolean }) => Promise<T>;
const gates = new WeakMap<Sequelize, Gate>();

/**
 * This process's queue of SQLite writers: managed transactions (above) and the driver's single
 * write statements (src/db/driver.ts). A write outside a transaction runs on another connection
 * than the transaction's, so while a transaction held the lock it slept in SQLite's busy handler
 * (1, 2, 5, 10 … 100 ms steps): the fan-out benchmark spent a fifth of its time idle that way.
 * Queued here, it starts the moment the transaction ends. The driver's statements (a run's claim,
 * ledger row and result, a fraction of a millisecond each) go ahead of waiting transactions: with a
 * class submitting at once, sixteen queued submissions kept every connection slot idle for 200 ms.
 * Never call a gated write from inside a managed transaction (it would wait for that transaction).
 */
export function writeGate(sequelize: Sequelize): Gate {
  let gate = gates.get(sequelize);
  if (!gate) {
    const first: Array<() => void> = [];
    const rest: Array<() => void> = [];
    let busy = false;
    const next = () => {
      const start = first.shift() ?? rest.shift();
      busy = start !== undefined;
      start?.();
    };
    gate = <T>(write: () => Promise<T>, opts?: { first?: boolean }) =>
      new Promise<T>((resolve, reject) => {
        const start = () => {
          Promise.resolve().then(write).then(resolve, reject).finally(next);
        };
        if (!busy) {
          busy = true;
          start();
        } else (opts?.first ? first : rest).push(start);
      });
    gates.set(sequelize, gate);
  }
  return gate;
}

/** Connects once, turning driver errors into a one-line message that names the host, never the password. */
export async function connectDatabase(sequelize: Sequelize, settings: DatabaseSettings): Promise<void> {
  try {
    await sequelize.authenticate({ logging: false });
  } catch (err) {
    const reason = (err as { parent?: { code?: string }; original?: { code?: string } }).original?.code ?? (err as Error).name;
    const where = settings.dialect === 'postgres' ? `PostgreSQL at ${settings.host}:${settings.port} (database "${settings.database}")` : `SQLite file ${settings.storage}`;
    throw new DatabaseUnreachableError(`Cannot reach ${where}: ${describe(reason)}. Check DATABASE_URL and that the database is running.`);
  }
}

function describe(code: string): string {
  switch (code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ENOTFOUND': return 'host not found';
    case 'ETIMEDOUT': return 'connection timed out';
    case '3D000': return 'the database does not exist';
    case '28P01': case '28000': return 'authentication failed';
    case 'SQLITE_CANTOPEN': return 'the file cannot be opened';
    default: return code;
  }
}

/** True when a trivial query succeeds within the timeout. */
export async function isDatabaseReachable(sequelize: Sequelize, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      sequelize.query('SELECT 1', { logging: false }),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), timeoutMs); }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    if (timer) clearTimeout(timer);
  }
}
