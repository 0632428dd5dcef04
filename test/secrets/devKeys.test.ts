import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadOrCreateDevKey } from '../../src/secrets/devKeys';

describe('loadOrCreateDevKey', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'feedforward-devkeys-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  test('creates a 0600 file of 32 random bytes in hex once, then returns the same value', () => {
    const dataDir = path.join(root, 'nested', 'data');
    const first = loadOrCreateDevKey(dataDir, 'secret_key');
    expect(first.created).toBe(true);
    expect(first.value).toMatch(/^[0-9a-f]{64}$/);
    const file = path.join(dataDir, 'secret_key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe(first.value);

    expect(loadOrCreateDevKey(dataDir, 'secret_key')).toEqual({ value: first.value, created: false });
  });

  test('each name gets its own key', () => {
    const secretKey = loadOrCreateDevKey(root, 'secret_key');
    const ltiKey = loadOrCreateDevKey(root, 'lti_key');
    expect(ltiKey.created).toBe(true);
    expect(ltiKey.value).not.toBe(secretKey.value);
  });

  test('reads an existing key, ignoring a trailing newline', () => {
    writeFileSync(path.join(root, 'lti_key'), 'existing-dev-key\n');
    expect(loadOrCreateDevKey(root, 'lti_key')).toEqual({ value: 'existing-dev-key', created: false });
  });

  test('an empty key file is an error, not a silent replacement', () => {
    writeFileSync(path.join(root, 'secret_key'), '');
    expect(() => loadOrCreateDevKey(root, 'secret_key')).toThrow(/empty/);
    expect(readFileSync(path.join(root, 'secret_key'), 'utf8')).toBe('');
  });

  test('refuses names other than the two known keys', () => {
    expect(() => loadOrCreateDevKey(root, '../escape' as 'secret_key')).toThrow('unknown development key name');
  });

  test('refuses to run in production', () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      expect(() => loadOrCreateDevKey(root, 'secret_key')).toThrow(/production/);
    } finally {
      process.env.NODE_ENV = previous;
    }
  });
});
