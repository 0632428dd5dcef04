import { createHash } from 'node:crypto';

// Deterministic pseudo-randomness for the mock: the same seed, request number and text always give
// the same numbers, so benchmarks and tests can replay a run exactly.

/** 32-bit FNV-1a of a string. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small, fast generator of numbers in [0, 1). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One number in [0, 1) determined by its parts. */
export function unit(...parts: Array<string | number>): number {
  return prng(hash32(parts.join('\u0000')))();
}

/**
 * A short, stable name for an API key (the first 12 hex digits of its SHA-256), used to key the
 * per-key statistics so that the key itself is never stored or shown.
 */
export function keyHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 12);
}
