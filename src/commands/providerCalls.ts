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

export async function withProviderAdapter<T>(
  keyring: Keyring,
  provider: Provider,
  call: (adapter: ProviderAdapter) => Promise<T>,
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  if (provider.disabled) throw new ConnectionUnavailableError('disabled', 'This provider connection is disabled.');
  return call(adapterFor(keyring, provider, opts.timeoutMs));
}

// Building an SDK client per call cost more CPU than the rest of the call (per-call benchmark), so
// the adapter is kept per keyring and per connection *version*: the row, its binding, its settings,
// its timeout and its sealed secret (a new key or a re-encryption seals a new token, so the next
// call reveals afresh). The key is still revealed only here, is held only inside the SDK client, and
// an entry is dropped after ADAPTER_IDLE_MS unused or when the cache is full.
const ADAPTER_IDLE_MS = 10 * 60 * 1000;
const MAX_ADAPTERS = 256;
const adapters = new WeakMap<Keyring, Map<string, { adapter: ProviderAdapter; usedAt: number }>>();

function adapterFor(keyring: Keyring, provider: Provider, timeoutMs: number | undefined): ProviderAdapter {
  const { baseUrl, organization, project, secret } = provider.apiConfig;
  const version = JSON.stringify([provider.id, provider.kind, provider.deploymentId, provider.ownerType, provider.ownerUserId, baseUrl, organization, project, secret, timeoutMs]);
  let cache = adapters.get(keyring);
  if (!cache) adapters.set(keyring, (cache = new Map()));
  const now = Date.now();
  const hit = cache.get(version);
  if (hit && now - hit.usedAt < ADAPTER_IDLE_MS) {
    hit.usedAt = now;
    return hit.adapter;
  }
  cache.delete(version);
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
  for (const [key, entry] of cache) {
    if (cache.size < MAX_ADAPTERS && now - entry.usedAt < ADAPTER_IDLE_MS) break;
    cache.delete(key); // oldest first (Map keeps insertion order)
  }
  cache.set(version, { adapter, usedAt: now });
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
