// The provider layer's front door: the contract, the registry and one way to build an adapter.
import { providerKindSpec } from './registry';
import type { ConnectionSettings, ProviderAdapter } from './types';

export * from './types';
export { PROVIDER_KINDS, isProviderKind, paramsProblem, providerKindSpec } from './registry';
export type { ParamSpec, ProviderKindSpec } from './registry';
export { normaliseAnthropicError, normaliseOpenAIError, retryAfterMs } from './errors';

/** The adapter for a decrypted connection; build it per call so the plaintext key does not linger. */
export function createProviderAdapter(settings: ConnectionSettings): ProviderAdapter {
  return providerKindSpec(settings.kind).createAdapter(settings);
}
