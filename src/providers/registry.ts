import { createAnthropicAdapter } from './anthropicAdapter';
import { createOpenAIAdapter } from './openaiAdapter';
import {
  ProviderError,
  type CompletionParams,
  type CompletionRequest,
  type ConnectionSettings,
  type ProviderAdapter,
  type ProviderKind,
} from './types';

// Everything that differs between provider kinds, as data: labels, key formats, parameter ranges and
// how to build an adapter. Routes validate against it; the worker builds adapters from it.

export interface ParamSpec {
  min: number;
  max: number;
  integer?: boolean;
  default: number;
}

export interface ProviderKindSpec {
  kind: ProviderKind;
  label: string;
  /** null: a base URL is required (openai_compatible). */
  defaultBaseUrl: string | null;
  keyHint: string;
  /** A sentence saying what is wrong with the key's format, or null. Never echoes the key. */
  keyProblem(key: string): string | null;
  params: { temperature: ParamSpec; topP: ParamSpec; maxTokens: ParamSpec };
  supportsOrganization: boolean;
  acceptsUserField: boolean;
  createAdapter(settings: ConnectionSettings): ProviderAdapter;
}

const MAX_KEY_LENGTH = 512;
const MIN_PREFIXED_KEY_LENGTH = 20;

// Checks every kind shares. Keys are rejected, not trimmed: a pasted key with a newline or a space
// is a copy mistake the admin should see, and a silently altered key would fail later, less clearly.
function basicKeyProblem(key: string): string | null {
  if (typeof key !== 'string' || key.length === 0) return 'Enter the API key.';
  if (key.length > MAX_KEY_LENGTH) return `The API key is longer than ${MAX_KEY_LENGTH} characters.`;
  if (/\s/.test(key)) return 'The API key contains spaces or line breaks; paste it again without them.';
  if (/[^\x21-\x7e]/.test(key)) return 'The API key contains characters that API keys do not use.';
  return null;
}

function prefixedKeyProblem(prefix: string, provider: string, otherPrefixes: Array<[string, string]> = []) {
  return (key: string): string | null => {
    const basic = basicKeyProblem(key);
    if (basic) return basic;
    for (const [other, owner] of otherPrefixes) {
      if (key.startsWith(other)) return `This looks like a ${owner} key; a ${provider} key starts with ${prefix}.`;
    }
    if (!key.startsWith(prefix) || !/^[A-Za-z0-9_-]+$/.test(key) || key.length < MIN_PREFIXED_KEY_LENGTH) {
      return `A ${provider} key starts with ${prefix} followed by letters, digits, - or _ (at least ${MIN_PREFIXED_KEY_LENGTH} characters in all).`;
    }
    return null;
  };
}

const maxTokens: ParamSpec = { min: 1, max: 128_000, integer: true, default: 4096 }; // the model's own cap is checked elsewhere
const topP: ParamSpec = { min: 0, max: 1, default: 1 };
const temperatureUpTo2: ParamSpec = { min: 0, max: 2, default: 0.3 };

const specs: Record<ProviderKind, ProviderKindSpec> = {
  openai: {
    kind: 'openai',
    label: 'OpenAI',
    defaultBaseUrl: 'https://api.openai.com/v1',
    keyHint: 'starts with sk- (or sk-proj-)',
    keyProblem: prefixedKeyProblem('sk-', 'OpenAI', [['sk-ant-', 'Anthropic']]),
    params: { temperature: temperatureUpTo2, topP, maxTokens },
    supportsOrganization: true,
    acceptsUserField: true,
    createAdapter: (settings) =>
      createOpenAIAdapter(settings, {
        defaultBaseUrl: 'https://api.openai.com/v1',
        structuredOutput: 'json_schema',
        maxTokensField: 'max_completion_tokens',
        sendsUser: true,
        sendsOrganization: true,
      }),
  },
  anthropic: {
    kind: 'anthropic',
    label: 'Anthropic',
    defaultBaseUrl: 'https://api.anthropic.com',
    keyHint: 'starts with sk-ant-',
    keyProblem: prefixedKeyProblem('sk-ant-', 'Anthropic'),
    params: { temperature: { min: 0, max: 1, default: 0.3 }, topP, maxTokens },
    supportsOrganization: false,
    acceptsUserField: true,
    createAdapter: (settings) =>
      createAnthropicAdapter(settings, { defaultBaseUrl: 'https://api.anthropic.com', defaultMaxTokens: maxTokens.default, sendsUser: true }),
  },
  huggingface: {
    kind: 'huggingface',
    label: 'Hugging Face',
    defaultBaseUrl: 'https://router.huggingface.co/v1',
    keyHint: 'starts with hf_',
    keyProblem: prefixedKeyProblem('hf_', 'Hugging Face'),
    params: { temperature: temperatureUpTo2, topP, maxTokens },
    supportsOrganization: false,
    // The router forwards to many backends; an unknown field is a needless risk of a 400.
    acceptsUserField: false,
    createAdapter: (settings) =>
      createOpenAIAdapter(settings, {
        defaultBaseUrl: 'https://router.huggingface.co/v1',
        structuredOutput: 'json_object',
        maxTokensField: 'max_tokens',
        sendsUser: false,
        sendsOrganization: false,
      }),
  },
  openai_compatible: {
    kind: 'openai_compatible',
    label: 'OpenAI-compatible endpoint (Azure OpenAI, OpenRouter, Ollama, vLLM)',
    defaultBaseUrl: null,
    keyHint: 'the key your endpoint expects (Ollama accepts any value)',
    keyProblem: basicKeyProblem,
    params: { temperature: temperatureUpTo2, topP, maxTokens },
    supportsOrganization: false,
    acceptsUserField: false,
    createAdapter: (settings) =>
      createOpenAIAdapter(settings, {
        defaultBaseUrl: null,
        structuredOutput: 'json_object',
        maxTokensField: 'max_tokens',
        sendsUser: false,
        sendsOrganization: false,
      }),
  },
};

/** A sentence naming the first out-of-range, non-finite or non-integer parameter, or null. */
export function paramsProblem(spec: ProviderKindSpec, params: CompletionParams): string | null {
  for (const name of ['temperature', 'topP', 'maxTokens'] as const) {
    const value = params[name];
    if (value === undefined) continue;
    const range = spec.params[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) return `${name} must be a number.`;
    if (range.integer && !Number.isInteger(value)) return `${name} must be a whole number.`;
    if (value < range.min || value > range.max) return `${name} must be between ${range.min} and ${range.max}.`;
  }
  return null;
}

// Both JSON-schema response formats and Anthropic tool names accept only this.
const STRUCTURED_OUTPUT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

// Refuses, before any HTTP call, what the provider would refuse anyway (or, for NaN, silently
// mangle): the caller gets bad_request, which is never retried.
function guarded(spec: ProviderKindSpec, adapter: ProviderAdapter): ProviderAdapter {
  return {
    verify: (signal) => adapter.verify(signal),
    complete: async (req: CompletionRequest) => {
      if (paramsProblem(spec, req.params ?? {})) throw new ProviderError('bad_request', { message: 'A model parameter is out of range.' });
      if (req.structuredOutput && !STRUCTURED_OUTPUT_NAME.test(req.structuredOutput.name)) {
        throw new ProviderError('bad_request', { message: 'The structured output name is not valid.' });
      }
      return adapter.complete(req);
    },
  };
}

function freezeSpec(spec: ProviderKindSpec): ProviderKindSpec {
  const createAdapter = spec.createAdapter;
  const frozen: ProviderKindSpec = {
    ...spec,
    params: Object.freeze({
      temperature: Object.freeze({ ...spec.params.temperature }),
      topP: Object.freeze({ ...spec.params.topP }),
      maxTokens: Object.freeze({ ...spec.params.maxTokens }),
    }),
    createAdapter: (settings) => guarded(frozen, createAdapter(settings)),
  };
  return Object.freeze(frozen);
}

export const PROVIDER_KINDS: Readonly<Record<ProviderKind, ProviderKindSpec>> = Object.freeze({
  openai: freezeSpec(specs.openai),
  anthropic: freezeSpec(specs.anthropic),
  huggingface: freezeSpec(specs.huggingface),
  openai_compatible: freezeSpec(specs.openai_compatible),
});

/** True only for the exact kind names; inherited keys ('__proto__', 'toString') and variants ('OpenAI') are not kinds. */
export function isProviderKind(value: unknown): value is ProviderKind {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(PROVIDER_KINDS, value);
}

/** The spec of a kind; throws for anything that is not one (validate with isProviderKind first). */
export function providerKindSpec(kind: ProviderKind): ProviderKindSpec {
  if (!isProviderKind(kind)) throw new TypeError('Unknown provider kind.');
  return PROVIDER_KINDS[kind];
}
