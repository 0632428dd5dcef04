// The derived Fernet keys for the current SECRET_KEY and every previous one, each named by a key id.
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { decodeBase64UrlStrict } from './base64url';
import { fernetDecrypt, fernetEncrypt, InvalidTokenError } from './fernet';
import { deriveFernetKey } from './kdf';
import { KeyMaterial, unwrapKeyMaterial } from './keyMaterial';

// Separates key ids from any other hash of the same key, so a kid can never be replayed as something else.
const KEY_ID_DOMAIN = 'feedforward-lti/secrets/key-id/v1\0';

function keyIdOf(fernetKey: string): string {
  const keyBytes = decodeBase64UrlStrict(fernetKey);
  if (!keyBytes) throw new Error('derived key is not valid base64url');
  return createHash('sha256').update(KEY_ID_DOMAIN, 'utf8').update(keyBytes).digest('hex').slice(0, 16);
}

export class Keyring {
  readonly currentKeyId: string;
  readonly #fernetKeyById: ReadonlyMap<string, string>;
  readonly #keyIds: readonly string[];

  constructor(material: KeyMaterial) {
    const { current, previous, salt, iterations } = unwrapKeyMaterial(material);
    const fernetKeyById = new Map<string, string>();
    // PBKDF2 is slow on purpose, so this is the only place it runs: once per secret, at boot.
    for (const secret of [current, ...previous]) {
      const fernetKey = deriveFernetKey(secret, salt, iterations);
      const kid = keyIdOf(fernetKey);
      // A previous secret equal to the current one names the same key; keep the first (current) entry.
      if (!fernetKeyById.has(kid)) fernetKeyById.set(kid, fernetKey);
    }
    this.#fernetKeyById = fernetKeyById;
    this.#keyIds = Object.freeze([...fernetKeyById.keys()]);
    this.currentKeyId = this.#keyIds[0] as string;
  }

  // Key ids of every usable key, the current one first.
  get keyIds(): string[] {
    return [...this.#keyIds];
  }

  // True when this keyring can decrypt tokens made under `kid`.
  hasKey(kid: string): boolean {
    return this.#fernetKeyById.has(kid);
  }

  // Encrypts under the current key (fresh IV each call) and names that key.
  encrypt(plaintext: Buffer | string): { kid: string; token: string } {
    const fernetKey = this.#fernetKeyById.get(this.currentKeyId) as string;
    return { kid: this.currentKeyId, token: fernetEncrypt(fernetKey, plaintext) };
  }

  // Decrypts with the key named by `kid`; an unknown kid or an inauthentic token throws InvalidTokenError.
  decrypt(sealed: { kid: string; token: string }): Buffer {
    const fernetKey = typeof sealed?.kid === 'string' ? this.#fernetKeyById.get(sealed.kid) : undefined;
    if (fernetKey === undefined || typeof sealed.token !== 'string') throw new InvalidTokenError();
    return fernetDecrypt(fernetKey, sealed.token);
  }

  toJSON(): { currentKeyId: string; keyIds: string[] } {
    return { currentKeyId: this.currentKeyId, keyIds: this.keyIds };
  }

  [inspect.custom](): string {
    return `Keyring { currentKeyId: '${this.currentKeyId}', keyIds: [${this.#keyIds.map((kid) => `'${kid}'`).join(', ')}] }`;
  }
}

// Builds the keyring, deriving every key now so that encrypt and decrypt never run the KDF.
export function createKeyring(material: KeyMaterial): Keyring {
  return new Keyring(material);
}
