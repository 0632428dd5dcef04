// Turns SECRET_KEY into a Fernet key the same way the Python side does, so either can read the other's tokens.
import { pbkdf2Sync } from 'node:crypto';
import { encodeBase64UrlPadded } from './base64url';

// Returns base64url(PBKDF2-HMAC-SHA256(utf8(secret), utf8(salt), iterations, 32)) with '=' padding.
export function deriveFernetKey(secret: string, salt: string, iterations: number): string {
  if (typeof secret !== 'string' || secret.length === 0) throw new Error('the secret to derive a key from is empty');
  if (typeof salt !== 'string') throw new Error('the key derivation salt must be a string');
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new Error('the key derivation iteration count must be a positive integer');
  }
  // Strings are UTF-8 encoded and deliberately not Unicode-normalised: Python's
  // `secret.encode()` does not normalise either, and the keys must match byte for byte.
  const derived = pbkdf2Sync(Buffer.from(secret, 'utf8'), Buffer.from(salt, 'utf8'), iterations, 32, 'sha256');
  return encodeBase64UrlPadded(derived);
}
