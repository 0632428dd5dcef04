import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import pino from 'pino';
import { createKeyMaterial, secretStrengthProblem } from '../../src/secrets/keyMaterial';
import { createKeyring } from '../../src/secrets/keyring';

const CURRENT = 'canary-current-7f3a9c1e5b2d4f6a8c0e2b4d6f8a0c2e';
const PREVIOUS = 'canary-previous-1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a';
const SALT = 'canary-salt-4e6a8c0b2d4f';

function material() {
  return createKeyMaterial({ current: CURRENT, previous: [PREVIOUS], salt: SALT, iterations: 10 });
}

function expectNoRawSecret(text: string): void {
  for (const raw of [CURRENT, PREVIOUS, SALT]) expect(text).not.toContain(raw);
}

function logThroughPino(value: unknown): string {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  logger.info({ value, nested: { value } }, 'configuration loaded');
  logger.debug(value as object);
  return lines.join('');
}

describe('KeyMaterial and Keyring never show raw secrets', () => {
  test('KeyMaterial is opaque to JSON.stringify, util.inspect, String, Object.keys and pino', () => {
    const km = material();
    expect(JSON.stringify(km)).toBe('"[KeyMaterial]"');
    expect(JSON.stringify({ config: km })).toBe('{"config":"[KeyMaterial]"}');
    expect(inspect(km)).toBe('[KeyMaterial]');
    expect(inspect({ km }, { showHidden: true, depth: Infinity })).not.toContain('canary');
    expect(`${km}`).toBe('[KeyMaterial]');
    expect(Object.keys(km)).toEqual([]);
    expect(Object.getOwnPropertyNames(km)).toEqual([]);
    expectNoRawSecret(logThroughPino(km));
  });

  test('Keyring shows only key ids through JSON.stringify, util.inspect and pino', () => {
    const keyring = createKeyring(material());
    const json = JSON.stringify(keyring);
    expect(JSON.parse(json)).toEqual({ currentKeyId: keyring.currentKeyId, keyIds: keyring.keyIds });
    const inspected = inspect(keyring, { showHidden: true, depth: Infinity });
    expect(inspected).toContain(keyring.currentKeyId);
    for (const text of [json, inspected, logThroughPino(keyring)]) {
      expectNoRawSecret(text);
      expect(text).not.toMatch(/[A-Za-z0-9_-]{43}=/); // no derived Fernet key either
    }
  });
});

describe('createKeyMaterial', () => {
  test('rejects malformed input without echoing any value', () => {
    const attempts = [
      { current: '', salt: SALT, iterations: 10 },
      { current: CURRENT, previous: [''], salt: SALT, iterations: 10 },
      { current: CURRENT, salt: '', iterations: 10 },
      { current: CURRENT, salt: SALT, iterations: 0 },
    ];
    for (const attempt of attempts) {
      expect(() => createKeyMaterial(attempt)).toThrow();
      try {
        createKeyMaterial(attempt);
      } catch (error) {
        expectNoRawSecret((error as Error).message);
      }
    }
  });
});

describe('secretStrengthProblem', () => {
  test.each([
    ['an empty value', ''],
    ['a short value', 'a1B2c3D4e5F6'],
    ['31 random-looking characters', 'x7Kp2Qm9Vr4Tz8Lw1Ns6Hb3Jd5Fg0Yc'],
    ['a single repeated character', 'a'.repeat(64)],
    ['a repeated pattern', '0123456789ab'.repeat(4)],
    ['a repeated pattern of random-looking chunks', 'q8Zr2Kx7Lm4Pw9Tb'.repeat(3)],
    ['only digits', '31415926535897932384626433832795028841971'],
    ['only lowercase letters', 'qwertyuiopasdfghjklzxcvbnmqwertyuiop'],
    ['only uppercase letters', 'QWERTYUIOPASDFGHJKLZXCVBNMQWERTYUIOP'],
    ['too few distinct characters', 'ab12ab21ba12ba21aabb1122ab12ba21ab'],
    ['a keyboard-order sequence', 'abcdefghijklmnopqrstuvwxyz0123456789'],
    ['the documented placeholder', 'change-me-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ'],
    ['a development default', 'development-key-please-change-in-production'],
    ['a password-like phrase', 'MySuperSecretPassword!2024-Correct-Horse'],
  ])('rejects %s', (_label, value) => {
    const problem = secretStrengthProblem(value);
    expect(problem).not.toBeNull();
    expect(problem).toContain('openssl rand -hex 32');
    if (value !== '') expect(problem).not.toContain(value);
  });

  test('accepts fresh `openssl rand -hex 32` and `openssl rand -base64 32` style values', () => {
    for (let i = 0; i < 2000; i++) {
      const hex = randomBytes(32).toString('hex');
      const base64 = randomBytes(32).toString('base64');
      expect([hex, secretStrengthProblem(hex)]).toEqual([hex, null]);
      expect([base64, secretStrengthProblem(base64)]).toEqual([base64, null]);
    }
  });
});
