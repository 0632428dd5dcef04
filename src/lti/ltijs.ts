import { Provider as ltijsSingleton, Provider as LtijsProvider } from 'ltijs';
import Database from 'ltijs-sequelize';
import Auth from 'ltijs/dist/Utils/Auth';
import { DataTypes, Options } from 'sequelize';
import type { DatabaseSettings } from '../config';
import { onSqliteConnect } from '../db/connection';
import { NO_AUTOCHECKPOINT } from '../db/sqliteCheckpoints';

// ltijs 5.9 runs in serverless mode inside our Express app. It keeps what it does well (tool keys and
// JWKS, platform registry, AGS/NRPS/deep-linking clients); our launch validator replaces its token
// validation, which checks too little (see launchValidator.ts), and we issue the ltik (ltik.ts).

export type Ltijs = LtijsProvider;

/**
 * ltijs would validate an id_token posted to its launch route with its own (weaker) checks. Our
 * router handles every launch before ltijs sees it, so anything that still gets there is refused.
 */
let authPatched = false;
function patchTokenValidation(): void {
  if (authPatched) return;
  authPatched = true;
  Auth.validateToken = async () => {
    throw new Error('LAUNCH_NOT_VALIDATED');
  };
}

function ltijsDatabase(settings: DatabaseSettings): Database {
  const common: Options = { logging: false };
  if (settings.dialect === 'sqlite') {
    const db = new Database('ltijs', null, null, { ...common, dialect: 'sqlite', storage: settings.storage, retry: { max: 10, match: [/SQLITE_BUSY/] } });
    // Same file as ours: wait for the other connection instead of failing with SQLITE_BUSY; our own
    // connection checkpoints the file in the background (src/db/sqliteCheckpoints.ts).
    onSqliteConnect(db.db, ['PRAGMA busy_timeout=5000', 'PRAGMA synchronous=NORMAL', NO_AUTOCHECKPOINT]);
    return db;
  }
  const url = new URL(settings.url);
  return new Database(settings.database, decodeURIComponent(url.username) || null, decodeURIComponent(url.password) || null, {
    ...common,
    dialect: 'postgres',
    host: settings.host,
    port: settings.port,
    pool: { max: 5, min: 0, idle: 10000 },
  });
}

/** ltijs-sequelize logs its migrations through console.info; keep that out of our JSON logs. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const info = console.info;
  console.info = () => undefined;
  try {
    return await fn();
  } finally {
    console.info = info;
  }
}

/** Creates ltijs's tables (sync + its migrations) ahead of time; used by test setup and `db migrate`. */
export async function prepareLtijsTables(settings: DatabaseSettings): Promise<void> {
  const db = ltijsDatabase(settings);
  await quietly(() => db.setup());
  await db.Close();
}

export interface LtijsOptions {
  ltiKey: string;
  database: DatabaseSettings;
}

/** A fresh ltijs provider (not the module singleton, so several apps can live in one process). */
export async function createLtijs(opts: LtijsOptions): Promise<Ltijs> {
  patchTokenValidation();
  const ProviderClass = (ltijsSingleton as unknown as { constructor: new () => Ltijs }).constructor;
  const lti = new ProviderClass();
  const database = ltijsDatabase(opts.database);
  lti.setup(opts.ltiKey, { plugin: database }, {
    appRoute: '/launch',
    loginRoute: '/login',
    keysetRoute: '/keys',
    dynRegRoute: '/register',
    cors: false, // ltijs would reflect any Origin with credentials
    ltiaas: true, // the ltik alone authenticates; no third-party session cookie to lose in iframes
    tokenMaxAge: false, // checked (never disabled) by our validator
    cookies: { secure: true, sameSite: 'None' },
  });
  // deploy() calls process.exit() on failure; connect first so a bad database surfaces as an error.
  await database.db.authenticate();
  // deploy() also installs a SIGINT handler that exits the process; our server owns shutdown.
  const sigintBefore = new Set(process.listeners('SIGINT'));
  await quietly(() => lti.deploy({ serverless: true, silent: true }));
  for (const listener of process.listeners('SIGINT')) if (!sigintBefore.has(listener)) process.removeListener('SIGINT', listener);
  fixAuthorizationServerColumn(database);
  return lti;
}

/**
 * ltijs-sequelize's platform model lacks `authorizationServer` (its migration adds the column), so the
 * value is silently dropped and the client assertion's `aud` falls back to the token URL. Teaching
 * the model the column after deploy (before, its migration would fail) makes it round-trip.
 */
function fixAuthorizationServerColumn(database: Database): void {
  const model = database.db.models.platform as unknown as { rawAttributes: Record<string, unknown>; refreshAttributes(): void };
  if (!model.rawAttributes.authorizationServer) {
    model.rawAttributes.authorizationServer = { type: DataTypes.STRING, allowNull: true };
    model.refreshAttributes();
  }
}
