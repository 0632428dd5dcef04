import { fernetDecrypt, fernetEncrypt } from '../../src/secrets/fernet';
import { deriveFernetKey } from '../../src/secrets/kdf';
import { interopCases } from './fixtures';

const caseLabel = (c: { salt: string; iterations: number }): string => `salt ${JSON.stringify(c.salt)}, ${c.iterations} iterations`;

describe('deriveFernetKey matches Python (python-interop.json)', () => {
  test.each(interopCases.map((c) => [caseLabel(c), c] as const))('derives the same Fernet key: %s', (_label, interopCase) => {
    expect(deriveFernetKey(interopCase.secret, interopCase.salt, interopCase.iterations)).toBe(interopCase.fernet_key);
  });

  const tokenCases = interopCases.flatMap((c) =>
    c.tokens.map((t, i) => [`${caseLabel(c)}, token ${i} (${JSON.stringify(t.plaintext).slice(0, 24)})`, c.fernet_key, t] as const),
  );
  test.each(tokenCases)('decrypts a token made by Python: %s', (_label, fernetKey, { plaintext, token }) => {
    expect(fernetDecrypt(fernetKey, token).toString('utf8')).toBe(plaintext);
  });

  test.each(interopCases.map((c) => [caseLabel(c), c] as const))(
    'a token made with our derived key decrypts with the Python-derived key: %s',
    (_label, interopCase) => {
      const ourKey = deriveFernetKey(interopCase.secret, interopCase.salt, interopCase.iterations);
      const plaintext = interopCase.tokens[0]?.plaintext ?? 'sk-test';
      const ourToken = fernetEncrypt(ourKey, plaintext);
      expect(fernetDecrypt(interopCase.fernet_key, ourToken).toString('utf8')).toBe(plaintext);
    },
  );
});

describe('deriveFernetKey', () => {
  test('emits a padded url-safe key that depends on secret, salt and iterations', () => {
    const key = deriveFernetKey('a-secret', 'a-salt', 10);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(deriveFernetKey('a-secret', 'a-salt', 10)).toBe(key);
    expect(deriveFernetKey('b-secret', 'a-salt', 10)).not.toBe(key);
    expect(deriveFernetKey('a-secret', 'b-salt', 10)).not.toBe(key);
    expect(deriveFernetKey('a-secret', 'a-salt', 11)).not.toBe(key);
  });

  test('refuses an empty secret and a non-positive iteration count', () => {
    expect(() => deriveFernetKey('', 'salt', 10)).toThrow();
    expect(() => deriveFernetKey('secret', 'salt', 0)).toThrow();
    expect(() => deriveFernetKey('secret', 'salt', 1.5)).toThrow();
  });
});
