import { Writable } from 'node:stream';
import path from 'node:path';
import { createApp, ToolApp } from '../../src/app';
import { Config, loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { openRuntime, Runtime } from '../../src/runtime';
import { testDatabaseUrl } from './db';
import { runTmpDir } from './paths';

export interface TestContext extends Runtime {
  app: ToolApp;
  /** Every log line the app wrote, as JSON text (for leak checks). */
  logs: string[];
}

/** Config for tests: the given overrides on top of the test environment, with a private data dir. */
export function testConfig(overrides: Record<string, string | undefined> = {}, databaseUrl = testDatabaseUrl()): Config {
  return loadConfig({ ...process.env, DATABASE_URL: databaseUrl, ...overrides }, { dataDir: path.join(runTmpDir(), 'data') });
}

/** A real runtime (database, migrations, keyring, boot check) and the real Express app. */
export async function createTestContext(overrides: Record<string, string | undefined> = {}, databaseUrl?: string): Promise<TestContext> {
  const config = testConfig(overrides, databaseUrl);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ level: 'trace', destination: sink });
  const runtime = await openRuntime({ config, logger });
  const app = await createApp(runtime);
  return {
    ...runtime,
    app,
    logs,
    close: async () => {
      await app.close();
      await runtime.close();
    },
  };
}
