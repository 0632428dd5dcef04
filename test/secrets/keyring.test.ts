import crypto from 'node:crypto';
import { InvalidTokenError } from '../../src/secrets/fernet';
import { deriveFernetKey } from '../../src/secrets/kdf';
import { createKeyMaterial } from '../../src/secrets/keyMaterial';
import { createKeyring } from '../../src/secrets/keyring';
import { fernetDecrypt } from '../../src/secrets/fernet';

const SALT = 'test-salt';
const ITERATIONS = 10;
const KEY_A = 'key-a-9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const KEY_B = 'key-b-0a1b2c3d4e5f60718293a4b5c6d7e8f9';

function keyring(current: string, previous: string[] = []) {
  return createKeyring(createKeyMaterial({ current, previous, salt: SALT, iterations: ITERATIONS }));
}

describe('Keyring', () => {
  afterEach(() => jest.restoreAllMocks());

  test('key ids are 16 hex characters, stable, current first, and differ per key', () => {
    const ring = keyring(KEY_B, [KEY_A]);
    expect(ring.currentKeyId).toMatch(/^[0-9a-f]{16}$/);
    expect(ring.keyIds).toEqual([keyring(KEY_B).currentKeyId, keyring(KEY_A).currentKeyId]);
    expect(ring.keyIds[0]).toBe(ring.currentKeyId);
    expect(new Set(ring.keyIds).size).toBe(2);
    expect(ring.hasKey(keyring(KEY_A).currentKeyId)).toBe(true);
    expect(ring.hasKey('0000000000000000')).toBe(false);
  });

  test('a key id depends on the derived key, so a different salt gives a different id', () => {
    const other = createKeyring(createKeyMaterial({ current: KEY_A, salt: 'other-salt', iterations: ITERATIONS }));
    expect(other.currentKeyId).not.toBe(keyring(KEY_A).currentKeyId);
  });

  test('keyIds cannot be changed from outside', () => {
    const ring = keyring(KEY_B, [KEY_A]);
    ring.keyIds.pop();
    expect(ring.keyIds).toHaveLength(2);
  });

  test('a previous key equal to the current one is listed once', () => {
    expect(keyring(KEY_A, [KEY_A]).keyIds).toHaveLength(1);
  });

  test('encrypts with the current key into a standard Fernet token', () => {
    const ring = keyring(KEY_B, [KEY_A]);
    const sealed = ring.encrypt('sk-live-123');
    expect(sealed.kid).toBe(ring.currentKeyId);
    expect(fernetDecrypt(deriveFernetKey(KEY_B, SALT, ITERATIONS), sealed.token).toString()).toBe('sk-live-123');
    expect(ring.decrypt(sealed).toString()).toBe('sk-live-123');
  });

  test('decrypts with the key named by kid, including previous keys', () => {
    const old = keyring(KEY_A).encrypt('old secret');
    expect(keyring(KEY_B, [KEY_A]).decrypt(old).toString()).toBe('old secret');
  });

  test('an unknown kid, a mislabelled kid or a forged token throws InvalidTokenError', () => {
    const ring = keyring(KEY_B, [KEY_A]);
    const sealed = ring.encrypt('x');
    expect(() => keyring(KEY_A).decrypt(sealed)).toThrow(InvalidTokenError);
    const previousKid = ring.keyIds[1] as string;
    expect(() => ring.decrypt({ kid: previousKid, token: sealed.token })).toThrow(InvalidTokenError);
    expect(() => ring.decrypt({ kid: sealed.kid, token: sealed.token.slice(4) })).toThrow(InvalidTokenError);
    expect(() => ring.decrypt(null as unknown as { kid: string; token: string })).toThrow(InvalidTokenError);
  });

  test('derives each key once at construction, never per encrypt or decrypt', () => {
    const pbkdf2 = jest.spyOn(crypto, 'pbkdf2Sync');
    const ring = keyring(KEY_B, [KEY_A]);
    expect(pbkdf2).toHaveBeenCalledTimes(2);
    for (let i = 0; i < 20; i++) ring.decrypt(ring.encrypt(`secret ${i}`));
    expect(pbkdf2).toHaveBeenCalledTimes(2);
  });
});
