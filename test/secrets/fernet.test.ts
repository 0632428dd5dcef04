import { randomBytes } from 'node:crypto';
import { fernetDecrypt, fernetEncrypt, InvalidTokenError } from '../../src/secrets/fernet';
import { generateVectors, invalidVectors, unixSeconds, verifyVectors } from './fixtures';

const SPEC_KEY = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';

function toBase64UrlPadded(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

describe('Fernet spec: generate', () => {
  test.each(generateVectors.map((v, i) => [i, v] as const))('vector %i produces the exact spec token', (_i, vector) => {
    const token = fernetEncrypt(vector.secret, vector.src, {
      iv: Buffer.from(vector.iv),
      now: unixSeconds(vector.now),
    });
    expect(token).toBe(vector.token);
  });
});

describe('Fernet spec: verify', () => {
  test.each(verifyVectors.map((v, i) => [i, v] as const))('vector %i decrypts to its source', (_i, vector) => {
    const plaintext = fernetDecrypt(vector.secret, vector.token, { ttl: vector.ttl_sec, now: unixSeconds(vector.now) });
    expect(plaintext.toString('utf8')).toBe(vector.src);
  });
});

describe('Fernet spec: invalid', () => {
  test.each(invalidVectors.map((v) => [v.desc, v] as const))('rejects a token with %s', (_desc, vector) => {
    expect(() => fernetDecrypt(vector.secret, vector.token, { ttl: vector.ttl_sec, now: unixSeconds(vector.now) })).toThrow(
      InvalidTokenError,
    );
  });
});

describe('fernetEncrypt / fernetDecrypt', () => {
  const key = toBase64UrlPadded(randomBytes(32));

  test('round-trips binary and text, including the empty string and whole blocks', () => {
    for (const plaintext of [Buffer.alloc(0), Buffer.from('exactly16bytes!!'), randomBytes(100)]) {
      expect(fernetDecrypt(key, fernetEncrypt(key, plaintext)).equals(plaintext)).toBe(true);
    }
    expect(fernetDecrypt(key, fernetEncrypt(key, 'héllo 🔑')).toString('utf8')).toBe('héllo 🔑');
  });

  test('emits url-safe base64 with = padding, as Python does', () => {
    const token = fernetEncrypt(key, '');
    expect(token).toMatch(/^[A-Za-z0-9_-]+={0,2}$/);
    expect(token.length % 4).toBe(0);
    expect(token.endsWith('==')).toBe(true); // 73 bytes encode to 100 characters, two of them padding
  });

  test('uses a fresh IV for every token', () => {
    expect(fernetEncrypt(key, 'same')).not.toBe(fernetEncrypt(key, 'same'));
  });

  test('a token made with one key is rejected by another', () => {
    const otherKey = toBase64UrlPadded(randomBytes(32));
    expect(() => fernetDecrypt(otherKey, fernetEncrypt(key, 'secret'))).toThrow(InvalidTokenError);
  });

  test('rejects tokens that differ only in encoding: missing padding, whitespace, standard base64 alphabet', () => {
    let token = fernetEncrypt(key, '');
    expect(fernetDecrypt(key, token).length).toBe(0);
    expect(() => fernetDecrypt(key, token.replace(/=+$/, ''))).toThrow(InvalidTokenError);
    expect(() => fernetDecrypt(key, ` ${token}`)).toThrow(InvalidTokenError);
    expect(() => fernetDecrypt(key, `${token}\n`)).toThrow(InvalidTokenError);
    while (!/[-_]/.test(token)) token = fernetEncrypt(key, '');
    expect(() => fernetDecrypt(key, token.replace(/-/g, '+').replace(/_/g, '/'))).toThrow(InvalidTokenError);
  });

  test('rejects non-string and empty tokens', () => {
    expect(() => fernetDecrypt(key, '')).toThrow(InvalidTokenError);
    expect(() => fernetDecrypt(key, undefined as unknown as string)).toThrow(InvalidTokenError);
  });

  test('checks the clock only when a TTL is given, like Python', () => {
    const madeAt = 1_000_000;
    const token = fernetEncrypt(key, 'x', { now: madeAt });
    expect(fernetDecrypt(key, token).toString()).toBe('x');
    expect(fernetDecrypt(key, token, { ttl: 60, now: madeAt + 60 }).toString()).toBe('x');
    expect(() => fernetDecrypt(key, token, { ttl: 60, now: madeAt + 61 })).toThrow(InvalidTokenError);
    expect(fernetDecrypt(key, token, { ttl: 60, now: madeAt - 60 }).toString()).toBe('x');
    expect(() => fernetDecrypt(key, token, { ttl: 60, now: madeAt - 61 })).toThrow(InvalidTokenError);
  });

  test('the error names neither the token nor the key', () => {
    const token = fernetEncrypt(key, 'x');
    const forged = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
    let caught: unknown;
    try {
      fernetDecrypt(key, forged);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidTokenError);
    const error = caught as Error;
    expect(error.message).toBe('invalid token');
    for (const text of [error.message, String(error.stack)]) {
      expect(text).not.toContain(forged);
      expect(text).not.toContain(key);
    }
  });

  test('refuses malformed keys and IVs with an error that does not echo the key', () => {
    for (const badKey of ['', 'too-short', SPEC_KEY.replace(/=$/, ''), SPEC_KEY.replace(/-/g, '+')]) {
      expect(() => fernetEncrypt(badKey, 'x')).toThrow('Fernet key must be 32 url-safe base64-encoded bytes');
    }
    expect(() => fernetEncrypt(SPEC_KEY, 'x', { iv: Buffer.alloc(8) })).toThrow('Fernet IV must be 16 bytes');
  });
});
