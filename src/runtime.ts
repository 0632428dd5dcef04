import type { Sequelize } from 'sequelize';
import { Config, loadConfig } from './config';
import { connectDatabase, createSequelize } from './db/connection';
import { migrate } from './db/migrator';
import { createLogger, Logger } from './logger';
import { initModels } from './models';
import { verifySecretKey } from './secrets/bootCheck';
import { createKeyring, Keyring } from './secrets/keyring';

/** Everything a web process, a worker or the CLI needs, built once per process. */
export interface Runtime {
  config: Config;
  logger: Logger;
  sequelize: Sequelize;
  keyring: Keyring;
  close(): Promise<void>;
}

export interface OpenRuntimeOptions {
  config?: Config;
  logger?: Logger;
  /** Apply pending migrations (start does; the CLI's status commands do not need to). */
  migrate?: boolean;
  /** Verify SECRET_KEY against the database before anything is written. */
  checkKey?: boolean;
}

/** Loads config, connects, migrates and proves the secret key, in that order; throws on any failure. */
export async function openRuntime(opts: OpenRuntimeOptions = {}): Promise<Runtime> {
  const config = opts.config ?? loadConfig();
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  const sequelize = createSequelize(config.database, logger);
  try {
    await connectDatabase(sequelize, config.database);
    if (opts.migrate ?? true) {
      const applied = await migrate(sequelize);
      if (applied.length) logger.info({ applied }, 'migrations applied');
    }
    initModels(sequelize);
    // Derives the keys (slow PBKDF2) exactly once per process.
    const keyring = createKeyring(config.keyMaterial);
    if (opts.checkKey ?? true) await verifySecretKey(sequelize, keyring);
    return { config, logger, sequelize, keyring, close: () => sequelize.close() };
  } catch (err) {
    await sequelize.close().catch(() => undefined);
    throw err;
  }
}
