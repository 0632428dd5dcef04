import { createLocalJWKSet, errors as joseErrors, JSONWebKeySet, JWSHeaderParameters, KeyLike } from 'jose';

// Platform keys, cached per JWKS URL. Hand-written around jose's local key set because jose's
// remote set ignores Cache-Control: here the platform's max-age is honoured within bounds, an
// unknown kid triggers at most one refetch per cool-down (random kids cannot flood the LMS), a
// hanging endpoint fails after the timeout, and concurrent launches share one fetch.

export class JwksError extends Error {
  constructor(readonly code: 'jwks_unreachable' | 'jwks_invalid' | 'unknown_kid', message: string) {
    super(message);
    this.name = 'JwksError';
  }
}

interface Entry {
  getKey: ReturnType<typeof createLocalJWKSet>;
  fetchedAt: number;
  expiresAt: number;
}

export interface JwksCacheOptions {
  timeoutMs?: number;
  cooldownMs?: number;
  minTtlMs?: number;
  maxTtlMs?: number;
  defaultTtlMs?: number;
  maxBytes?: number;
  now?: () => number;
}

export class JwksCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Entry>>();
  /** When an unknown kid last made us refetch, per JWKS URL (the cool-down runs from there). */
  private readonly kidRefetchedAt = new Map<string, number>();
  private readonly opts: Required<JwksCacheOptions>;
  /** How many HTTP fetches were made (for tests and metrics). */
  fetches = 0;

  constructor(opts: JwksCacheOptions = {}) {
    this.opts = {
      timeoutMs: 4000, // so a launch against a hanging endpoint fails within 5 s
      cooldownMs: 30000,
      minTtlMs: 60000,
      maxTtlMs: 24 * 3600 * 1000,
      defaultTtlMs: 10 * 60 * 1000,
      maxBytes: 256 * 1024,
      now: Date.now,
      ...opts,
    };
  }

  /** The verification key for this header from the platform's JWKS; refetches once for an unknown kid. */
  async getKey(jwksUrl: string, header: JWSHeaderParameters): Promise<KeyLike | Uint8Array> {
    let entry = this.entries.get(jwksUrl);
    const cached = !!entry && entry.expiresAt > this.opts.now();
    if (!entry || !cached) entry = await this.refresh(jwksUrl);
    try {
      return await entry.getKey(header, { payload: '', signature: '' } as never);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys)) throw err;
      // The platform may have rotated its key since we cached the set: refetch, unless this lookup
      // just fetched it or an unknown kid already caused a refetch within the cool-down.
      const lastRefetch = this.kidRefetchedAt.get(jwksUrl);
      if (!cached || (lastRefetch !== undefined && this.opts.now() - lastRefetch < this.opts.cooldownMs)) {
        throw new JwksError('unknown_kid', 'The signing key is not in the platform key set.');
      }
      this.kidRefetchedAt.set(jwksUrl, this.opts.now());
      const fresh = await this.refresh(jwksUrl);
      try {
        return await fresh.getKey(header, { payload: '', signature: '' } as never);
      } catch {
        throw new JwksError('unknown_kid', 'The signing key is not in the platform key set.');
      }
    }
  }

  /** Drops cached keys (e.g. when a platform is re-registered). */
  forget(jwksUrl: string): void {
    this.entries.delete(jwksUrl);
  }

  private refresh(jwksUrl: string): Promise<Entry> {
    const pending = this.inflight.get(jwksUrl);
    if (pending) return pending;
    const promise = this.fetchEntry(jwksUrl).finally(() => this.inflight.delete(jwksUrl));
    this.inflight.set(jwksUrl, promise);
    return promise;
  }

  private async fetchEntry(jwksUrl: string): Promise<Entry> {
    this.fetches += 1;
    let res: Response;
    try {
      res = await fetch(jwksUrl, { signal: AbortSignal.timeout(this.opts.timeoutMs), headers: { accept: 'application/json' }, redirect: 'error' });
    } catch {
      throw new JwksError('jwks_unreachable', 'The platform key set could not be fetched.');
    }
    if (!res.ok) throw new JwksError('jwks_unreachable', `The platform key set answered HTTP ${res.status}.`);
    const text = await res.text();
    if (text.length > this.opts.maxBytes) throw new JwksError('jwks_invalid', 'The platform key set is too large.');
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(text) as JSONWebKeySet;
      if (!Array.isArray(jwks.keys)) throw new Error('no keys');
    } catch {
      throw new JwksError('jwks_invalid', 'The platform key set is not valid JSON Web Key Set.');
    }
    const now = this.opts.now();
    const entry: Entry = { getKey: createLocalJWKSet(jwks), fetchedAt: now, expiresAt: now + this.ttl(res.headers.get('cache-control')) };
    this.entries.set(jwksUrl, entry);
    return entry;
  }

  private ttl(cacheControl: string | null): number {
    const match = cacheControl && /(?:^|,)\s*(?:s-)?max-age=(\d+)/i.exec(cacheControl);
    const requested = match ? Number(match[1]) * 1000 : this.opts.defaultTtlMs;
    if (cacheControl && /no-store|no-cache/i.test(cacheControl)) return this.opts.minTtlMs;
    return Math.min(this.opts.maxTtlMs, Math.max(this.opts.minTtlMs, requested));
  }
}
