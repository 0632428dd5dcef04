import { inspect } from 'node:util';
import { createKeyMaterial } from '../../src/secrets/keyMaterial';
import { createKeyring, Keyring } from '../../src/secrets/keyring';
import {
  CredentialUnreadableError,
  isSealedSecret,
  keyFingerprint,
  keyHint,
  reseal,
  reveal,
  seal,
  SealedSecret,
  SecretBinding,
} from '../../src/secrets/vault';

const SALT = 'test-salt';
const ITERATIONS = 10;
const KEY_A = 'key-a-9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const KEY_B = 'key-b-0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const CANARY = 'sk-canary-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lm';

function keyring(current: string, previous: string[] = []): Keyring {
  return createKeyring(createKeyMaterial({ current, previous, salt: SALT, iterations: ITERATIONS }));
}

const instructorRow: SecretBinding = { deploymentId: 'dep-1', ownerType: 'instructor', ownerUserId: 'user-7', rowId: 'prov-42' };
const systemRow: SecretBinding = { deploymentId: 'dep-1', ownerType: 'system', ownerUserId: null, rowId: 'prov-43' };

function revealError(ring: Keyring, binding: SecretBinding, sealed: unknown): unknown {
  try {
    reveal(ring, binding, sealed as SealedSecret);
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectUnreadable(ring: Keyring, binding: SecretBinding, sealed: unknown): void {
  const error = revealError(ring, binding, sealed);
  expect(error).toBeInstanceOf(CredentialUnreadableError);
  const unreadable = error as CredentialUnreadableError;
  expect(unreadable.message).toBe('credential unreadable, enter the key again');
  expect(unreadable.code).toBe('credential_unreadable');
  expect(inspect(unreadable, { showHidden: true, depth: Infinity })).not.toContain(CANARY);
  expect(JSON.stringify(unreadable)).not.toContain(CANARY);
}

describe('seal and reveal', () => {
  const ring = keyring(KEY_A);

  test('reveal returns the sealed secret for its own row', () => {
    const sealed = seal(ring, instructorRow, CANARY);
    expect(sealed).toEqual({ v: 1, kid: ring.currentKeyId, token: expect.any(String) });
    expect(isSealedSecret(sealed)).toBe(true);
    expect(reveal(ring, instructorRow, sealed)).toBe(CANARY);
    expect(reveal(ring, systemRow, seal(ring, systemRow, CANARY))).toBe(CANARY);
    expect(reveal(ring, instructorRow, seal(ring, instructorRow, ''))).toBe('');
  });

  test('the sealed form does not contain the secret', () => {
    const sealed = seal(ring, instructorRow, CANARY);
    expect(JSON.stringify(sealed)).not.toContain(CANARY);
    expect(Buffer.from(sealed.token, 'base64url').toString('latin1')).not.toContain(CANARY);
  });

  test('two seals of the same secret differ (fresh IV each time)', () => {
    const first = seal(ring, instructorRow, CANARY);
    const second = seal(ring, instructorRow, CANARY);
    expect(first.token).not.toBe(second.token);
    expect(Buffer.from(first.token, 'base64url').subarray(9, 25)).not.toEqual(Buffer.from(second.token, 'base64url').subarray(9, 25));
  });

  test('flipping any single bit of the token makes it unreadable', () => {
    const sealed = seal(ring, instructorRow, CANARY);
    const bytes = Buffer.from(sealed.token, 'base64url');
    let accepted = 0;
    let wrongError = 0;
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const flipped = Buffer.from(bytes);
      flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
      const token = flipped.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
      const error = revealError(ring, instructorRow, { ...sealed, token });
      if (error === undefined) accepted++;
      else if (!(error instanceof CredentialUnreadableError)) wrongError++;
    }
    expect(bytes.length * 8).toBeGreaterThan(1000);
    expect({ accepted, wrongError }).toEqual({ accepted: 0, wrongError: 0 });
  });

  test('a wrong SECRET_KEY cannot read it', () => {
    const sealed = seal(ring, instructorRow, CANARY);
    expectUnreadable(keyring(KEY_B), instructorRow, sealed);
    // Even when the kid is relabelled to the wrong key's id, the HMAC fails.
    const wrong = keyring(KEY_B);
    expectUnreadable(wrong, instructorRow, { ...sealed, kid: wrong.currentKeyId });
  });

  test.each([
    ['another row', { ...instructorRow, rowId: 'prov-99' }],
    ['another instructor', { ...instructorRow, ownerUserId: 'user-8' }],
    ['another deployment', { ...instructorRow, deploymentId: 'dep-2' }],
    ['the system owner of the same row', { ...instructorRow, ownerType: 'system', ownerUserId: null }],
  ] as const)('a sealed secret moved to %s is unreadable', (_label, otherBinding) => {
    const sealed = seal(ring, instructorRow, CANARY);
    expectUnreadable(ring, otherBinding as SecretBinding, sealed);
  });

  test('a system secret moved to an instructor is unreadable', () => {
    const sealed = seal(ring, systemRow, CANARY);
    expectUnreadable(ring, { ...systemRow, ownerType: 'instructor', ownerUserId: 'user-7' }, sealed);
  });

  test.each([
    ['null', null],
    ['a string', 'gAAAAA'],
    ['a wrong version', { v: 2, kid: '0123456789abcdef', token: 'gAAAAA' }],
    ['a missing token', { v: 1, kid: '0123456789abcdef' }],
    ['an unknown kid', { v: 1, kid: '0123456789abcdef', token: 'gAAAAA' }],
    ['an empty token', { v: 1, kid: 'KID', token: '' }],
  ])('a malformed sealed value (%s) is unreadable', (_label, value) => {
    const sealedValue = value !== null && typeof value === 'object' && value.kid === 'KID' ? { ...value, kid: ring.currentKeyId } : value;
    expectUnreadable(ring, instructorRow, sealedValue);
  });

  test('a token that is valid Fernet but not an envelope is unreadable', () => {
    const { kid, token } = ring.encrypt(CANARY);
    expectUnreadable(ring, instructorRow, { v: 1, kid, token });
    const { kid: kid2, token: token2 } = ring.encrypt(JSON.stringify({ b: instructorRow }));
    expectUnreadable(ring, instructorRow, { v: 1, kid: kid2, token: token2 });
  });

  test('an envelope whose binding has extra fields is unreadable', () => {
    const { kid, token } = ring.encrypt(JSON.stringify({ b: { ...instructorRow, extra: 1 }, s: CANARY }));
    expectUnreadable(ring, instructorRow, { v: 1, kid, token });
  });

  test('sealing refuses a binding that mixes up owners, without echoing the secret', () => {
    const bad: SecretBinding[] = [
      { ...instructorRow, ownerUserId: null },
      { ...systemRow, ownerUserId: 'user-7' },
      { ...instructorRow, rowId: '' },
      { ...instructorRow, deploymentId: '' },
    ];
    for (const binding of bad) {
      expect(() => seal(ring, binding, CANARY)).toThrow(/invalid secret binding/);
      try {
        seal(ring, binding, CANARY);
      } catch (error) {
        expect((error as Error).message).not.toContain(CANARY);
      }
    }
  });
});

describe('rotation', () => {
  test('a secret sealed under A is readable after rotating to B, resealed to B, then readable with B alone', () => {
    const ringA = keyring(KEY_A);
    const sealedA = seal(ringA, instructorRow, CANARY);

    const rotating = keyring(KEY_B, [KEY_A]);
    expect(rotating.currentKeyId).not.toBe(ringA.currentKeyId);
    expect(reveal(rotating, instructorRow, sealedA)).toBe(CANARY);

    const sealedB = reseal(rotating, instructorRow, sealedA);
    expect(sealedB.kid).toBe(rotating.currentKeyId);
    expect(sealedB.token).not.toBe(sealedA.token);

    const onlyB = keyring(KEY_B);
    expect(reveal(onlyB, instructorRow, sealedB)).toBe(CANARY);
    expectUnreadable(onlyB, instructorRow, sealedA);
  });

  test('reseal returns the same object when it is already under the current key', () => {
    const ring = keyring(KEY_B, [KEY_A]);
    const sealed = seal(ring, instructorRow, CANARY);
    expect(reseal(ring, instructorRow, sealed)).toBe(sealed);
  });

  test('reseal refuses a secret bound to another row instead of rebinding it', () => {
    const sealedA = seal(keyring(KEY_A), instructorRow, CANARY);
    expect(() => reseal(keyring(KEY_B, [KEY_A]), { ...instructorRow, rowId: 'prov-99' }, sealedA)).toThrow(
      CredentialUnreadableError,
    );
  });
});

describe('isSealedSecret', () => {
  test('accepts what seal produces and rejects other shapes', () => {
    const ring = keyring(KEY_A);
    expect(isSealedSecret(seal(ring, systemRow, CANARY))).toBe(true);
    for (const value of [null, undefined, 'x', {}, { v: 1, kid: 'short', token: 't' }, { v: '1', kid: ring.currentKeyId, token: 't' }]) {
      expect(isSealedSecret(value)).toBe(false);
    }
  });
});

describe('keyHint and keyFingerprint', () => {
  test('the hint is the last 4 characters', () => {
    expect(keyHint(CANARY)).toBe('k0Lm');
    expect(keyHint('sk-ant-api03-abcdefgh🔑xyz')).toBe('🔑xyz');
  });

  test('a secret too short to hint at shows no characters', () => {
    expect(keyHint('abc12345')).toBe('****');
  });

  test('the fingerprint is sha256: plus 16 hex characters, stable and distinct per secret', () => {
    expect(keyFingerprint(CANARY)).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(keyFingerprint(CANARY)).toBe(keyFingerprint(CANARY));
    expect(keyFingerprint(CANARY)).not.toBe(keyFingerprint(`${CANARY}x`));
    expect(keyFingerprint('abc')).toBe('sha256:ba7816bf8f01cfea');
  });
});
