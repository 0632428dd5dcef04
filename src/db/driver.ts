import type { Sequelize, Transaction } from 'sequelize';
import { writeGate } from './connection';

// Plain SQL on Sequelize's own connections, for the few statements every provider call makes (claim,
// run context, ledger row, result). The per-call benchmark measured ~1.5 ms of CPU per statement
// through Sequelize (query building, a stack trace per query, model instances, SQLite's PRAGMA
// table_info) against ~0.1 ms straight on the driver; Sequelize has no lighter path than
// `sequelize.query`, which still pays most of it. Everything else keeps using the models.
//
// Parameters are written `$1, $2, …` (PostgreSQL's form); on SQLite they become `?1, ?2, …`, which
// bind by number too. Values go through `value()` for the column types that differ between the two:
// dates (SQLite stores Sequelize's text form, which its comparisons rely on), JSON and booleans.

type Params = unknown[];

export interface Statement {
  sql: string;
  params: Params;
}

interface Statements {
  all<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T[]>;
  /** A write; returns the number of rows it changed. */
  run(sql: string, params?: Params): Promise<number>;
  /** A write with a RETURNING clause; returns its rows (on SQLite it waits its turn with the other writes). */
  returning<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T[]>;
  /**
   * Two writes, `first` (an INSERT, UPDATE or DELETE) always, then `then`, which runs only if `first`
   * succeeded; returns the rows `then` changed. On PostgreSQL one statement (`first` as a
   * data-modifying WITH): one round trip, one commit, atomic. On SQLite two statements, back to back
   * in the writer queue (a transaction would cost two more round trips through the threadpool).
   */
  runAfter(first: Statement, then: Statement): Promise<number>;
}

/** Reads and writes on a managed transaction's own connection. */
export type TransactionStatements = Pick<Statements, 'all' | 'run'>;

export interface Driver extends Statements {
  dialect: 'sqlite' | 'postgres';
  /**
   * Statements inside a managed Sequelize transaction, on its connection (Sequelize gives each
   * transaction its own). Not gated: the transaction already holds the write lock. Not prepared ahead
   * on SQLite: a transaction's connection may be closed after it, and SQLite refuses to close a
   * connection with statements still prepared.
   */
  within(transaction: Transaction): TransactionStatements;
  /** Statements sent so far (BEGIN and COMMIT included; runAfter is one on PostgreSQL), for the per-call benchmark's report. */
  readonly executed: number;
  date(value: Date | null): unknown;
  json(value: unknown): unknown;
  bool(value: boolean): unknown;
}

interface SqliteStatement {
  all(params: Params, cb: (err: Error | null, rows: unknown[]) => void): void;
  run(params: Params, cb: (this: { changes: number }, err: Error | null) => void): void;
  finalize(cb?: (err: Error | null) => void): void;
}
interface SqliteDatabase {
  prepare(sql: string, cb: (err: Error | null) => void): SqliteStatement;
  all(sql: string, params: Params, cb: (err: Error | null, rows: unknown[]) => void): void;
  run(sql: string, params: Params, cb: (this: { changes: number }, err: Error | null) => void): void;
}
interface PgClient {
  query(query: { name?: string; text: string; values: Params }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}
interface ConnectionManager {
  getConnection(options?: object): Promise<unknown>;
  close(): Promise<void>;
  releaseConnection(connection: unknown): Promise<void> | void;
}

const drivers = new WeakMap<Sequelize, Driver>();

export function driverOf(sequelize: Sequelize): Driver {
  let driver = drivers.get(sequelize);
  if (!driver) {
    driver = sequelize.getDialect() === 'postgres' ? postgresDriver(sequelize) : sqliteDriver(sequelize);
    drivers.set(sequelize, driver);
  }
  return driver;
}

function managerOf(sequelize: Sequelize): ConnectionManager {
  return (sequelize as unknown as { connectionManager: ConnectionManager }).connectionManager;
}

const sqliteSql = new Map<string, string>();
function toSqlite(sql: string): string {
  let converted = sqliteSql.get(sql);
  if (!converted) {
    converted = sql.replace(/\$(\d+)/g, '?$1');
    if (sqliteSql.size < 500) sqliteSql.set(sql, converted);
  }
  return converted;
}

/** Sequelize's text form of a date on SQLite ('2026-11-26 07:06:04.691 +00:00'): stored values compare as text. */
export function sqliteDate(date: Date): string {
  const iso = date.toISOString(); // 2026-11-26T07:06:04.691Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)} +00:00`;
}

/** SQLITE_BUSY comes only after busy_timeout (5 s) of waiting for the write lock: try again, as Sequelize does (createSequelize's retry). */
async function retryBusy<T>(statement: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await statement();
    } catch (err) {
      if (attempt >= attempts || (err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
    }
  }
}

function sqliteDriver(sequelize: Sequelize): Driver {
  const manager = managerOf(sequelize);
  // Writes wait in this process's writer queue rather than in SQLite's busy handler (see writeGate).
  const gate = writeGate(sequelize);
  // Reads wait in a queue of their own (one at a time: the connection runs one statement at a time
  // anyway, and a read queued in SQLite holds one of libuv's four threads while it waits).
  const readGate = queue();
  // Each statement is prepared once per connection and reused (SQLite parses and plans it only once).
  const prepared = new Map<SqliteDatabase, Map<string, Promise<SqliteStatement>>>();
  // SQLite refuses to close a connection with statements still prepared: finalise them first.
  const close = manager.close.bind(manager);
  manager.close = async () => {
    const all = [...prepared.values()].flatMap((cache) => [...cache.values()]);
    prepared.clear();
    const statements = await Promise.all(all.map((p) => p.catch(() => null)));
    await Promise.all(statements.map((statement) => statement && new Promise<void>((resolve) => statement.finalize(() => resolve()))));
    await close();
  };
  const prepare = (db: SqliteDatabase, sql: string) =>
    new Promise<SqliteStatement>((resolve, reject) => {
      const statement = db.prepare(toSqlite(sql), (err) => (err ? reject(err) : resolve(statement)));
    });
  /** Runs `use` with the statement for `sql`, prepared on the default connection (the one Sequelize uses outside transactions). */
  const withStatement = async <T>(sql: string, use: (statement: SqliteStatement) => Promise<T>): Promise<T> => {
    const db = (await manager.getConnection()) as SqliteDatabase;
    let cache = prepared.get(db);
    if (!cache) prepared.set(db, (cache = new Map()));
    const cached = cache.get(sql);
    if (cached) return use(await cached);
    if (cache.size >= 200) {
      // Not kept (a caller building endless SQL variants): finalised after its one use.
      const statement = await prepare(db, sql);
      try {
        return await use(statement);
      } finally {
        statement.finalize();
      }
    }
    const pending = prepare(db, sql);
    cache.set(sql, pending);
    // A statement SQLite refuses to prepare (bad SQL) is not kept: the error goes to the caller.
    pending.catch(() => cache.delete(sql));
    return use(await pending);
  };
  let executed = 0;
  const rowsOf = <T>(sql: string, params: Params) =>
    retryBusy(() => {
      executed += 1;
      return withStatement(sql, (statement) => new Promise<T[]>((resolve, reject) => statement.all(params, (err, rows) => (err ? reject(err) : resolve(rows as T[])))));
    });
  const write = (sql: string, params: Params) =>
    retryBusy(() => {
      executed += 1;
      return withStatement(
        sql,
        (statement) =>
          new Promise<number>((resolve, reject) =>
            statement.run(params, function done(err) {
              if (err) reject(err);
              else resolve(this.changes);
            }),
          ),
      );
    });
  const statements: Statements = {
    all: <T>(sql: string, params: Params = []) => readGate(() => rowsOf<T>(sql, params)),
    run: (sql, params = []) => gate(() => write(sql, params), { first: true }),
    returning: <T>(sql: string, params: Params = []) => gate(() => rowsOf<T>(sql, params), { first: true }),
    runAfter: (first, then) =>
      gate(async () => {
        await write(first.sql, first.params);
        return write(then.sql, then.params);
      }, { first: true }),
  };
  const within = (transaction: Transaction): TransactionStatements => {
    const db = connectionOf<SqliteDatabase>(transaction);
    return {
      all: <T>(sql: string, params: Params = []) => {
        executed += 1;
        return new Promise<T[]>((resolve, reject) => db.all(toSqlite(sql), params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
      },
      run: (sql, params = []) => {
        executed += 1;
        return new Promise<number>((resolve, reject) =>
          db.run(toSqlite(sql), params, function done(err) {
            if (err) reject(err);
            else resolve(this.changes);
          }),
        );
      },
    };
  };
  return {
    dialect: 'sqlite',
    get executed() {
      return executed;
    },
    ...statements,
    within,
    date: (value) => (value ? sqliteDate(value) : null),
    json: (value) => (value === null || value === undefined ? null : JSON.stringify(value)),
    bool: (value) => (value ? 1 : 0),
  };
}

function connectionOf<C>(transaction: Transaction): C {
  const connection = (transaction as unknown as { connection?: C }).connection;
  if (!connection) throw new Error('The transaction has no connection (it has not started or has ended).');
  return connection;
}

/** A unique or primary-key violation, as either driver reports it (Sequelize's UniqueConstraintError wraps these). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  if (e?.name === 'SequelizeUniqueConstraintError') return true;
  if (e?.code === '23505') return true; // PostgreSQL unique_violation
  return e?.code === 'SQLITE_CONSTRAINT' && typeof e.message === 'string' && /UNIQUE constraint failed/.test(e.message);
}

/** A promise chain: each task starts when the previous one settles. */
function queue(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>) => {
    const run = tail.then(task);
    tail = run.catch(() => undefined);
    return run;
  };
}

function postgresDriver(sequelize: Sequelize): Driver {
  const manager = managerOf(sequelize);
  const withClient = async <T>(work: (client: PgClient) => Promise<T>): Promise<T> => {
    const client = (await manager.getConnection({ type: 'write' })) as PgClient;
    try {
      return await work(client);
    } finally {
      await manager.releaseConnection(client);
    }
  };
  let executed = 0;
  // Named statements: each connection parses and plans a statement once, then only binds and runs it.
  const names = new Map<string, string>();
  const nameOf = (sql: string) => {
    let name = names.get(sql);
    if (!name) {
      name = `ff_${names.size + 1}`;
      if (names.size < 200) names.set(sql, name);
      else return undefined;
    }
    return name;
  };
  const statements: Statements = {
    all: <T>(sql: string, params: Params = []) => withClient(async (client) => (await send(client, sql, params)).rows as T[]),
    run: (sql, params = []) => withClient(async (client) => (await send(client, sql, params)).rowCount ?? 0),
    returning: <T>(sql: string, params: Params = []) => withClient(async (client) => (await send(client, sql, params)).rows as T[]),
    runAfter: (first, then) => {
      // `first`'s parameters follow `then`'s.
      const shifted = first.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + then.params.length}`);
      return statements.run(`WITH "first" AS (${shifted}) ${then.sql}`, [...then.params, ...first.params]);
    },
  };
  const send = (client: PgClient, sql: string, params: Params) => {
    executed += 1;
    return client.query({ name: nameOf(sql), text: sql, values: params });
  };
  const within = (transaction: Transaction): TransactionStatements => {
    const client = connectionOf<PgClient>(transaction);
    return {
      all: async <T>(sql: string, params: Params = []) => (await send(client, sql, params)).rows as T[],
      run: async (sql, params = []) => (await send(client, sql, params)).rowCount ?? 0,
    };
  };
  return {
    dialect: 'postgres',
    get executed() {
      return executed;
    },
    ...statements,
    within,
    date: (value) => value,
    json: (value) => (value === null || value === undefined ? null : JSON.stringify(value)),
    bool: (value) => value,
  };
}
