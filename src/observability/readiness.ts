import type { Sequelize } from 'sequelize';
import { isDatabaseReachable } from '../db/connection';
import { pendingMigrations } from '../db/migrator';
import { secretKeyMatches } from '../secrets/bootCheck';
import type { Keyring } from '../secrets/keyring';

// What /readyz checks: this process can serve traffic now. The reasons are fixed words, never a
// driver message (which could name a host or user) and never a key.

export type NotReadyReason = 'shutting_down' | 'database_unreachable' | 'migrations_pending' | 'secret_key_mismatch' | 'check_failed';

export type Readiness = { ready: true } | { ready: false; reason: NotReadyReason };

export interface ReadinessDeps {
  sequelize: Sequelize;
  keyring: Keyring;
  /** True once the process has started shutting down: the load balancer should stop sending traffic. */
  draining?: () => boolean;
}

const CHECK_TIMEOUT_MS = 3000;

/** Database reachable, every migration applied, the boot key check still passing, not shutting down. */
export async function checkReadiness(deps: ReadinessDeps): Promise<Readiness> {
  if (deps.draining?.()) return { ready: false, reason: 'shutting_down' };
  if (!(await isDatabaseReachable(deps.sequelize, CHECK_TIMEOUT_MS))) return { ready: false, reason: 'database_unreachable' };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Readiness>((resolve) => {
    timer = setTimeout(() => resolve({ ready: false, reason: 'check_failed' }), CHECK_TIMEOUT_MS);
  });
  const checks = (async (): Promise<Readiness> => {
    if ((await pendingMigrations(deps.sequelize)).length > 0) return { ready: false, reason: 'migrations_pending' };
    if (!(await secretKeyMatches(deps.sequelize, deps.keyring))) return { ready: false, reason: 'secret_key_mismatch' };
    return { ready: true };
  })().catch((): Readiness => ({ ready: false, reason: 'check_failed' }));
  try {
    return await Promise.race([checks, deadline]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
