import { QueryTypes, Sequelize } from 'sequelize';
import type { Keyring } from './keyring';
import { forEachStoredSecret } from './storedSecrets';

const CHECK_ID = 'boot';
const CHECK_PLAINTEXT = 'feedforward-lti key check v1';

export class WrongSecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WrongSecretKeyError';
  }
}

type CheckRow = { kid: string; token: string };

/**
 * The boot check again, read-only and cheap (for /readyz): true when the stored check value exists
 * and the configured keys decrypt it. Never writes, never names a key.
 */
export async function secretKeyMatches(sequelize: Sequelize, keyring: Keyring): Promise<boolean> {
  const rows = await sequelize.query<CheckRow>('SELECT kid, token FROM key_checks WHERE id = :id', {
    replacements: { id: CHECK_ID },
    type: QueryTypes.SELECT,
    logging: false,
  });
  const check = rows[0];
  if (!check) return false;
  try {
    return keyring.hasKey(check.kid) && keyring.decrypt(check).toString('utf8') === CHECK_PLAINTEXT;
  } catch {
    return false;
  }
}

/**
 * Proves the configured keys can read this database before anything is written. Throws
 * WrongSecretKeyError naming key ids (fingerprints), never keys. Returns what it did.
 */
export async function verifySecretKey(sequelize: Sequelize, keyring: Keyring): Promise<'created' | 'verified' | 'upgraded'> {
  const rows = await sequelize.query<CheckRow>('SELECT kid, token FROM key_checks WHERE id = :id', {
    replacements: { id: CHECK_ID },
    type: QueryTypes.SELECT,
  });
  const check = rows[0];
  const configured = keyring.keyIds.join(', ');
  const fix =
    'Set SECRET_KEY to the key this database was created with (or keep it in SECRET_KEY_PREVIOUS while rotating), ' +
    'and make sure ENCRYPTION_SALT and KDF_ITERATIONS have not changed.';

  if (check) {
    let readable = false;
    try {
      readable = keyring.hasKey(check.kid) && keyring.decrypt(check).toString('utf8') === CHECK_PLAINTEXT;
    } catch {
      readable = false;
    }
    if (!readable) {
      throw new WrongSecretKeyError(
        `SECRET_KEY does not match this database: it was encrypted with key id ${check.kid}, the configured key ids are ${configured}. ${fix}`,
      );
    }
  }

  // A previous key may only be retired once no stored secret still needs it.
  const unknown = new Map<string, number>();
  await forEachStoredSecret(sequelize, 500, async ({ sealed }) => {
    if (!sealed || !keyring.hasKey(sealed.kid)) unknown.set(sealed?.kid ?? 'none', (unknown.get(sealed?.kid ?? 'none') ?? 0) + 1);
  });
  if (unknown.size > 0) {
    const detail = [...unknown].map(([kid, n]) => `${n} with key id ${kid}`).join(', ');
    throw new WrongSecretKeyError(
      `Stored API keys were encrypted with a key that is not configured (${detail}). Put that key back in SECRET_KEY_PREVIOUS and run \`npm run cli -- secrets rotate\` before retiring it.`,
    );
  }

  const token = () => keyring.encrypt(CHECK_PLAINTEXT);
  if (!check) {
    const sealed = token();
    await sequelize.query('INSERT INTO key_checks (id, kid, token, updated_at) VALUES (:id, :kid, :token, :now)', {
      replacements: { id: CHECK_ID, kid: sealed.kid, token: sealed.token, now: new Date() },
    });
    return 'created';
  }
  if (check.kid !== keyring.currentKeyId) {
    const sealed = token();
    await sequelize.query('UPDATE key_checks SET kid = :kid, token = :token, updated_at = :now WHERE id = :id AND kid = :old', {
      replacements: { id: CHECK_ID, kid: sealed.kid, token: sealed.token, now: new Date(), old: check.kid },
    });
    return 'upgraded';
  }
  return 'verified';
}
