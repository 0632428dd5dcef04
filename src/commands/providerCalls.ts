import type { Provider } from '../models';
import { recordProviderCall } from '../observability/metrics';
import { providerKindSpec } from '../providers/registry';
import { ProviderError, type ProviderAdapter, type ProviderKind } from '../providers/types';
import type { Keyring } from '../secrets/keyring';
import { providerBinding } from '../secrets/storedSecrets';
import { CredentialUnreadableError, reveal } from '../secrets/vault';

// The one place a key is revealed: right before a provider call. The plaintext lives only in the
// adapter built here (kept for the next call on the same connection version, see adapterFor).

export class ConnectionUnavailableError extends Error {
  constructor(readonly code: 'credential_unreadable' | 'disabled', message: string) {
    super(message);
    this.name = 'ConnectionUnavailableError';
  }
}

/** What a call needs of a connection: a model instance or a plain row (the run context's). */
export type ProviderRow = Pick<Provider, 'id' | 'kind' | 'deploymentId' | 'ownerType' | 'ownerUserId' | 'apiConfig' | 'disabled'>;

export async function withProviderAdapter<T>(
  keyring: Keyring,
  provider: ProviderRow,
  call: (adapter: ProviderAdapter) => Promise<T>,
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  if (provider.disabled) throw new ConnectionUnavailableError('disabled', 'This provider connection is disabled.');
  return call(adapterFor(keyring, provider, opts.timeoutMs));
}

// Building an SDK client per call cost more CPU than the rest of the call (per-call benchmark), so
// the adapter is kept per keyring and per connection *version*: the row, its binding, its settings,
// its timeout and its sealed secret (a new key or a re-encryption seals a new token, so the next
// call reveals afresh). The key is still revealed only here and is held only inside the SDK client.
// The cache is least-recently-used: an entry leaves after ADAPTER_IDLE_MS unused (a timer sweeps even
// when no call comes), when the cache is full, or at once when its connection changes or is deleted
// in this process (forgetProviderAdapters).
const ADAPTER_IDLE_MS = 10 * 60 * 1000;
const MAX_ADAPTERS = 256;
interface CachedAdapter {
  providerId: string;
  adapter: ProviderAdapter;
  usedAt: number;
}
const adapters = new Map<Keyring, Map<string, CachedAdapter>>();

function evictIdle(now: number): void {
  for (const [keyring, cache] of adapters) {
    // Map order is least recently used first: stop at the first fresh entry.
    for (const [key, entry] of cache) {
      if (now - entry.usedAt < ADAPTER_IDLE_MS) break;
      cache.delete(key);
    }
    if (cache.size === 0) adapters.delete(keyring);
  }
}
setInterval(() => evictIdle(Date.now()), 60_000).unref();

/** Drops this connection's cached adapters (and with them its revealed key) after it changed or was deleted. */
export function forgetProviderAdapters(providerId: string): void {
  for (const cache of adapters.values()) {
    for (const [key, entry] of cache) if (entry.providerId === providerId) cache.delete(key);
  }
}

function adapterFor(keyring: Keyring, provider: ProviderRow, timeoutMs: number | undefined): ProviderAdapter {
  const { baseUrl, organization, project, secret } = provider.apiConfig;
  const version = JSON.stringify([provider.id, provider.kind, provider.deploymentId, provider.ownerType, provider.ownerUserId, baseUrl, organization, project, secret, timeoutMs]);
  const now = Date.now();
  evictIdle(now);
  let cache = adapters.get(keyring);
  if (!cache) adapters.set(keyring, (cache = new Map()));
  const hit = cache.get(version);
  if (hit) {
    cache.delete(version); // re-inserted below: most recently used last
    hit.usedAt = now;
    cache.set(version, hit);
    return hit.adapter;
  }
  let apiKey: string;
  try {
    apiKey = reveal(keyring, providerBinding(provider), secret);
  } catch (err) {
    // Never fall back to another key: the call fails and says why.
    if (err instanceof CredentialUnreadableError) throw new ConnectionUnavailableError('credential_unreadable', 'The stored key cannot be read: enter the key again.');
    throw err;
  }
  const adapter = metered(
    provider.kind,
    providerKindSpec(provider.kind as ProviderKind).createAdapter({ kind: provider.kind as ProviderKind, apiKey, baseUrl, organization, project, timeoutMs }),
  );
  // Older versions of this connection (a replaced key) and the least recently used beyond the cap go.
  forgetProviderAdapters(provider.id);
  for (const key of cache.keys()) {
    if (cache.size < MAX_ADAPTERS) break;
    cache.delete(key);
  }
  cache.set(version, { providerId: provider.id, adapter, usedAt: now });
  return adapter;
}

/** The same adapter, counting each call and its latency by outcome (ok or the normalised error code). */
function metered(kind: string, adapter: ProviderAdapter): ProviderAdapter {
  const measure = async <T>(operation: 'complete' | 'verify', fn: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      const result = await fn();
      recordProviderCall(kind, operation, 'ok', (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      recordProviderCall(kind, operation, err instanceof ProviderError ? err.code : 'error', (performance.now() - started) / 1000);
      throw err;
    }
  };
  return {
    verify: (signal) => measure('verify', () => adapter.verify(signal)),
    complete: (req) => measure('complete', () => adapter.complete(req)),
  };
}
