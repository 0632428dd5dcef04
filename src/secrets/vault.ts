// Stored credentials: each secret is sealed together with the row it belongs to, so a
// ciphertext copied to another row, owner or deployment cannot be read there.
import { createHash } from 'node:crypto';
import type { Keyring } from './keyring';

export type SecretBinding = {
  deploymentId: string;
  ownerType: 'system' | 'instructor';
  ownerUserId: string | null;
  rowId: string;
};

export type SealedSecret = { v: 1; kid: string; token: string };

// One message for every failure: the user's remedy is the same, and no detail can leak the secret.
export class CredentialUnreadableError extends Error {
  readonly code = 'credential_unreadable';

  constructor() {
    super('credential unreadable, enter the key again');
    this.name = 'CredentialUnreadableError';
  }
}

type Envelope = { b: SecretBinding; s: string };

// Fixed key order, so the sealed bytes depend only on the binding's values.
function canonicalBinding(binding: SecretBinding): SecretBinding | null {
  if (typeof binding !== 'object' || binding === null) return null;
  const { deploymentId, ownerType, ownerUserId, rowId } = binding;
  if (typeof deploymentId !== 'string' || deploymentId === '') return null;
  if (typeof rowId !== 'string' || rowId === '') return null;
  if (ownerType !== 'system' && ownerType !== 'instructor') return null;
  // A system key has no owning user and an instructor key always has one; anything else is a bug upstream.
  if (ownerType === 'system' && ownerUserId !== null) return null;
  if (ownerType === 'instructor' && (typeof ownerUserId !== 'string' || ownerUserId === '')) return null;
  return { deploymentId, ownerType, ownerUserId, rowId };
}

function sameBinding(a: unknown, b: SecretBinding): boolean {
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return false;
  const keys = Object.keys(a);
  const expected = Object.keys(b);
  if (keys.length !== expected.length) return false;
  const record = a as Record<string, unknown>;
  return expected.every((key) => record[key] === b[key as keyof SecretBinding]);
}

// Returns true only for values shaped like something seal() produced.
export function isSealedSecret(x: unknown): x is SealedSecret {
  if (typeof x !== 'object' || x === null) return false;
  const candidate = x as Record<string, unknown>;
  return (
    candidate.v === 1 &&
    typeof candidate.kid === 'string' &&
    /^[0-9a-f]{16}$/.test(candidate.kid) &&
    typeof candidate.token === 'string' &&
    candidate.token.length > 0
  );
}

// Encrypts `plaintext` under the current key, bound to exactly this deployment, owner and row.
export function seal(keyring: Keyring, binding: SecretBinding, plaintext: string): SealedSecret {
  const b = canonicalBinding(binding);
  if (!b) throw new Error('invalid secret binding: needs deploymentId, rowId, and an ownerUserId exactly when the owner is an instructor');
  if (typeof plaintext !== 'string') throw new Error('the secret to seal must be a string');
  const envelope: Envelope = { b, s: plaintext };
  const { kid, token } = keyring.encrypt(JSON.stringify(envelope));
  return { v: 1, kid, token };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

// Returns the plaintext only if `sealed` is authentic and bound to exactly `binding`; otherwise throws
// CredentialUnreadableError. Call it at provider-call time and never keep the result.
export function reveal(keyring: Keyring, binding: SecretBinding, sealed: SealedSecret): string {
  try {
    const expected = canonicalBinding(binding);
    if (!expected || !isSealedSecret(sealed)) throw new CredentialUnreadableError();
    const envelope: unknown = JSON.parse(strictUtf8.decode(keyring.decrypt(sealed)));
    if (typeof envelope !== 'object' || envelope === null) throw new CredentialUnreadableError();
    const { b, s } = envelope as Partial<Envelope>;
    if (!sameBinding(b, expected) || typeof s !== 'string') throw new CredentialUnreadableError();
    return s;
  } catch {
    // No `cause`: a JSON.parse error message can quote the decrypted text.
    throw new CredentialUnreadableError();
  }
}

// Returns `sealed` re-encrypted under the current key (the same object if it already is), after
// checking it is readable and bound to `binding`; throws CredentialUnreadableError otherwise.
export function reseal(keyring: Keyring, binding: SecretBinding, sealed: SealedSecret): SealedSecret {
  const plaintext = reveal(keyring, binding, sealed);
  if (sealed.kid === keyring.currentKeyId) return sealed;
  return seal(keyring, binding, plaintext);
}

const HINT_LENGTH = 4;
// Below this, four characters would give away too much of the secret.
const MIN_LENGTH_FOR_HINT = 12;

// Returns the last 4 characters of a secret to show after saving, or '****' when the secret is too short to hint at.
export function keyHint(secret: string): string {
  const characters = Array.from(secret);
  if (characters.length < MIN_LENGTH_FOR_HINT) return '*'.repeat(HINT_LENGTH);
  return characters.slice(-HINT_LENGTH).join('');
}

// Returns "sha256:" plus 16 hex characters that identify a secret without revealing it.
export function keyFingerprint(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 16)}`;
}
