import type { Sequelize } from 'sequelize';
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

export interface Statements {
  all<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T[]>;
  /** A write; returns the number of rows it changed. */
  run(sql: string, params?: Params): Promise<number>;
}

export interface Driver extends Statements {
  dialect: 'sqlite' | 'postgres';
  /** Statements sent so far (BEGIN and COMMIT included), for the per-call benchmark's report. */
  readonly executed: number;
  /**
   * PostgreSQL only: several statements in one transaction on one pooled connection. (On SQLite the
   * plain connection is shared by every non-transactional query of the process, so a BEGIN there
   * would capture unrelated statements; SQLite callers use a single statement or a Sequelize transaction.)
   */
  transaction<T>(work: (tx: Statements) => Promise<T>): Promise<T>;
  date(value: Date | null): unknown;
  json(value: unknown): unknown;
  bool(value: boolean): unknown;
}

interface SqliteDatabase {
  serialize(cb: () => void): void;
  all(sql: string, params: Params, cb: (err: Error | null, rows: unknown[]) => void): void;
  run(sql: string, params: Params, cb: (this: { changes: number }, err: Error | null) => void): void;
}
interface PgClient {
  query(sql: string, params?: Params): Promise<{ rows: unknown[]; rowCount: number | null }>;
}
interface ConnectionManager {
  getConnection(options?: object): Promise<unknown>;
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
  return `${date.toISOString().replace('T', ' ').replace('Z', '')} +00:00`;
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
  // The default connection: the one Sequelize uses for every query outside a transaction. Statements
  // run one at a time on it (serialize), as Sequelize's do: one waiting for the write lock then holds
  // one libuv thread, not all four (which would starve the transaction holding the lock).
  const connection = () => manager.getConnection() as Promise<SqliteDatabase>;
  // Writes wait in this process's writer queue rather than in SQLite's busy handler (see writeGate).
  const gate = writeGate(sequelize);
  let executed = 0;
  const statements: Statements = {
    all: <T>(sql: string, params: Params = []) =>
      retryBusy(async () => {
        executed += 1;
        const db = await connection();
        return new Promise<T[]>((resolve, reject) => db.serialize(() => db.all(toSqlite(sql), params, (err, rows) => (err ? reject(err) : resolve(rows as T[])))));
      }),
    run: (sql, params = []) =>
      gate(() => retryBusy(async () => {
        executed += 1;
        const db = await connection();
        return new Promise<number>((resolve, reject) =>
          db.serialize(() =>
            db.run(toSqlite(sql), params, function done(err) {
              if (err) reject(err);
              else resolve(this.changes);
            }),
          ),
        );
      })),
  };
  return {
    dialect: 'sqlite',
    get executed() {
      return executed;
    },
    ...statements,
    transaction: () => Promise.reject(new Error('driver transactions are PostgreSQL-only; use sequelize.transaction on SQLite')),
    date: (value) => (value ? sqliteDate(value) : null),
    json: (value) => (value === null || value === undefined ? null : JSON.stringify(value)),
    bool: (value) => (value ? 1 : 0),
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
  const send = (client: PgClient, sql: string, params?: Params) => {
    executed += 1;
    return client.query(sql, params);
  };
  const on = (client: PgClient): Statements => ({
    all: async <T>(sql: string, params: Params = []) => (await send(client, sql, params)).rows as T[],
    run: async (sql, params = []) => (await send(client, sql, params)).rowCount ?? 0,
  });
  return {
    dialect: 'postgres',
    get executed() {
      return executed;
    },
    all: (sql, params) => withClient((client) => on(client).all(sql, params)),
    run: (sql, params) => withClient((client) => on(client).run(sql, params)),
    transaction: (work) =>
      withClient(async (client) => {
        await send(client, 'BEGIN');
        try {
          const result = await work(on(client));
          await send(client, 'COMMIT');
          return result;
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }),
    date: (value) => value,
    json: (value) => (value === null || value === undefined ? null : JSON.stringify(value)),
    bool: (value) => value,
  };
}
