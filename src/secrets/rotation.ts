import type { Sequelize } from 'sequelize';
import type { Keyring } from './keyring';
import { forEachStoredSecret } from './storedSecrets';
import { reseal } from './vault';

export interface KeyUsage {
  kid: string;
  count: number;
  state: 'current' | 'previous' | 'unknown';
}

export interface SecretsStatus {
  currentKeyId: string;
  total: number;
  keys: KeyUsage[];
  /** Rows still sealed with a key other than the current one. */
  remainingOnOldKeys: number;
}

/** Counts stored secrets per key id. */
export async function secretsStatus(sequelize: Sequelize, keyring: Keyring): Promise<SecretsStatus> {
  const counts = new Map<string, number>();
  await forEachStoredSecret(sequelize, 500, async ({ sealed }) => {
    counts.set(sealed.kid, (counts.get(sealed.kid) ?? 0) + 1);
  });
  const keys: KeyUsage[] = [...counts].map(([kid, count]) => ({
    kid,
    count,
    state: kid === keyring.currentKeyId ? 'current' : keyring.hasKey(kid) ? 'previous' : 'unknown',
  }));
  const total = keys.reduce((n, k) => n + k.count, 0);
  return { currentKeyId: keyring.currentKeyId, total, keys, remainingOnOldKeys: total - (counts.get(keyring.currentKeyId) ?? 0) };
}

export interface RotateOptions {
  batchSize?: number;
  onProgress?: (rotated: number) => void;
  /** Called before each row is rewritten; lets tests simulate a crash mid-way. */
  beforeRow?: (rowId: string) => void | Promise<void>;
}

/**
 * Re-encrypts every stored secret with the current key. Each row is rewritten in its own short
 * transaction, so a kill at any point leaves every row readable by either key; run it again to finish.
 */
export async function rotateSecrets(sequelize: Sequelize, keyring: Keyring, opts: RotateOptions = {}): Promise<{ rotated: number; failed: number; status: SecretsStatus }> {
  let rotated = 0;
  let failed = 0;
  await forEachStoredSecret(sequelize, opts.batchSize ?? 100, async (secret) => {
    if (secret.sealed.kid === keyring.currentKeyId) return;
    await opts.beforeRow?.(secret.rowId);
    let next;
    try {
      next = reseal(keyring, secret.binding, secret.sealed);
    } catch {
      failed += 1; // unreadable rows are reported by status, never overwritten
      return;
    }
    if (await secret.replace(next)) {
      rotated += 1;
      opts.onProgress?.(rotated);
    }
  });
  return { rotated, failed, status: await secretsStatus(sequelize, keyring) };
}
