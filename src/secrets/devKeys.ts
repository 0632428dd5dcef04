// Development convenience: a random secret kept in the data directory so `npm start` works with no setup.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DEV_KEY_NAMES = ['secret_key', 'lti_key'] as const;

// Duck-typed on purpose: fs errors may come from another realm (vm contexts, jest), where instanceof fails.
function isErrorWithCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

function readDevKey(path: string): string | null {
  try {
    const value = readFileSync(path, 'utf8').trim();
    // An empty file is a damaged setup; replacing it would silently orphan everything encrypted before.
    if (value === '') throw new Error(`the development key file ${path} is empty; delete it to generate a new key`);
    return value;
  } catch (error) {
    if (isErrorWithCode(error, 'ENOENT')) return null;
    throw error;
  }
}

// Returns the key stored in <dataDir>/<name>, creating it (32 random bytes as hex, mode 0600) on first use.
export function loadOrCreateDevKey(
  dataDir: string,
  name: 'secret_key' | 'lti_key',
): { value: string; created: boolean } {
  if (!DEV_KEY_NAMES.includes(name)) throw new Error('unknown development key name');
  // A generated key in production would vanish with the container and take every stored credential with it.
  if (process.env.NODE_ENV === 'production') throw new Error('development keys are not available in production');

  const path = join(dataDir, name);
  const existing = readDevKey(path);
  if (existing !== null) return { value: existing, created: false };

  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const value = randomBytes(32).toString('hex');
  try {
    // 'wx' never overwrites: if another process won the race, its key is the one to use.
    writeFileSync(path, value, { mode: 0o600, flag: 'wx' });
    return { value, created: true };
  } catch (error) {
    if (!isErrorWithCode(error, 'EEXIST')) throw error;
    const winner = readDevKey(path);
    if (winner === null) throw error;
    return { value: winner, created: false };
  }
}
