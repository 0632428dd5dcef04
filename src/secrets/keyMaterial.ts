// The raw SECRET_KEY values, wrapped so that logging or serialising the holder shows nothing.
import { inspect } from 'node:util';

export type RawKeyMaterial = {
  readonly current: string;
  readonly previous: readonly string[];
  readonly salt: string;
  readonly iterations: number;
};

const OPAQUE = '[KeyMaterial]';

// Kept outside the instance so no own property, enumerable or not, can carry a secret.
const rawByHolder = new WeakMap<KeyMaterial, RawKeyMaterial>();

export class KeyMaterial {
  toJSON(): string {
    return OPAQUE;
  }

  toString(): string {
    return OPAQUE;
  }

  [inspect.custom](): string {
    return OPAQUE;
  }
}

// Wraps the raw secrets in an opaque holder; throws (without echoing any value) when they are malformed.
export function createKeyMaterial(raw: {
  current: string;
  previous?: string[];
  salt: string;
  iterations: number;
}): KeyMaterial {
  if (typeof raw.current !== 'string' || raw.current.length === 0) throw new Error('the current secret key is empty');
  const previous = raw.previous ?? [];
  if (!Array.isArray(previous) || previous.some((value) => typeof value !== 'string' || value.length === 0)) {
    throw new Error('every previous secret key must be a non-empty string');
  }
  if (typeof raw.salt !== 'string' || raw.salt.length === 0) throw new Error('the encryption salt is empty');
  if (!Number.isSafeInteger(raw.iterations) || raw.iterations < 1) {
    throw new Error('the key derivation iteration count must be a positive integer');
  }
  const material = new KeyMaterial();
  rawByHolder.set(
    material,
    Object.freeze({ current: raw.current, previous: Object.freeze([...previous]), salt: raw.salt, iterations: raw.iterations }),
  );
  return material;
}

// Internal to src/secrets: only keyring.ts may call this, and index.ts must never re-export it.
export function unwrapKeyMaterial(material: KeyMaterial): RawKeyMaterial {
  const raw = rawByHolder.get(material);
  if (!raw) throw new Error('not a KeyMaterial made by createKeyMaterial');
  return raw;
}

const MIN_SECRET_LENGTH = 32;
const MIN_DISTINCT_CHARACTERS = 12;
// Long enough that random hex (the weakest alphabet we accept) almost never trips it (~2e-7).
const MAX_SEQUENTIAL_RUN = 7;
const PLACEHOLDER_WORDS = ['change', 'secret', 'password', 'example', 'default', 'development', 'production', 'placeholder'];
const FIX_HINT = 'generate one with `openssl rand -hex 32`';

// Returns why `value` is too weak to protect production secrets (a message that never contains it), or null.
export function secretStrengthProblem(value: string): string | null {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) {
    return `the secret is shorter than ${MIN_SECRET_LENGTH} characters; ${FIX_HINT}`;
  }
  if (new Set(value).size < MIN_DISTINCT_CHARACTERS) {
    return `the secret uses fewer than ${MIN_DISTINCT_CHARACTERS} distinct characters; ${FIX_HINT}`;
  }
  if (hasOnlyOneCharacterClass(value)) {
    return `the secret uses only one kind of character (only digits, or only lowercase or uppercase letters); ${FIX_HINT}`;
  }
  if (isRepeatedPattern(value)) return `the secret is a repeated pattern; ${FIX_HINT}`;
  if (longestSequentialRun(value) > MAX_SEQUENTIAL_RUN) {
    return `the secret contains a long run of consecutive characters (like "abcdefgh" or "12345678"); ${FIX_HINT}`;
  }
  const lower = value.toLowerCase();
  if (PLACEHOLDER_WORDS.some((word) => lower.includes(word))) {
    return `the secret looks like a placeholder, not a random value; ${FIX_HINT}`;
  }
  return null;
}

function hasOnlyOneCharacterClass(value: string): boolean {
  return /^[0-9]+$/.test(value) || /^[a-z]+$/.test(value) || /^[A-Z]+$/.test(value);
}

// True when some shift of at most half the length maps the string onto itself ("abcabcab...").
function isRepeatedPattern(value: string): boolean {
  for (let period = 1; period <= value.length / 2; period++) {
    let repeats = true;
    for (let i = period; i < value.length && repeats; i++) repeats = value[i] === value[i - period];
    if (repeats) return true;
  }
  return false;
}

function longestSequentialRun(value: string): number {
  let longest = 1;
  let ascending = 1;
  let descending = 1;
  for (let i = 1; i < value.length; i++) {
    const step = value.charCodeAt(i) - value.charCodeAt(i - 1);
    ascending = step === 1 ? ascending + 1 : 1;
    descending = step === -1 ? descending + 1 : 1;
    longest = Math.max(longest, ascending, descending);
  }
  return longest;
}
