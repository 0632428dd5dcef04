import { ConfigError } from '../config';
import { DatabaseUnreachableError } from '../db/connection';
import { createLogger } from '../logger';
import { openRuntime, OpenRuntimeOptions, Runtime } from '../runtime';
import { WrongSecretKeyError } from '../secrets/bootCheck';
import { loadConfig } from '../config';
import { printError } from './output';

/** Opens the runtime for one CLI command and always closes it; known failures become one line and exit 1. */
export async function withRuntime(opts: OpenRuntimeOptions, run: (runtime: Runtime) => Promise<void>): Promise<void> {
  let runtime: Runtime;
  try {
    const config = loadConfig();
    runtime = await openRuntime({ config, logger: createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }), ...opts });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof DatabaseUnreachableError || err instanceof WrongSecretKeyError) {
      printError(err.message);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
  try {
    await run(runtime);
  } finally {
    await runtime.close();
  }
}
