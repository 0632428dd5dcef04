import type { Provider } from '../models';
import { recordProviderCall } from '../observability/metrics';
import { providerKindSpec } from '../providers/registry';
import { ProviderError, type ProviderAdapter, type ProviderKind } from '../providers/types';
import type { Keyring } from '../secrets/keyring';
import { providerBinding } from '../secrets/storedSecrets';
import { CredentialUnreadableError, reveal } from '../secrets/vault';

// The one place a key is revealed: right before a provider call, for that call only. The
// plaintext lives in the adapter this function builds and is dropped when `call` returns.

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
  let apiKey: string;
  try {
    apiKey = reveal(keyring, providerBinding(provider), provider.apiConfig.secret);
  } catch (err) {
    // Never fall back to another key: the call fails and says why.
    if (err instanceof CredentialUnreadableError) throw new ConnectionUnavailableError('credential_unreadable', 'The stored key cannot be read: enter the key again.');
    throw err;
  }
  const { baseUrl, organization, project } = provider.apiConfig;
  const adapter = providerKindSpec(provider.kind as ProviderKind).createAdapter({
    kind: provider.kind as ProviderKind,
    apiKey,
    baseUrl,
    organization,
    project,
    timeoutMs: opts.timeoutMs,
  });
  return call(metered(provider.kind, adapter));
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
