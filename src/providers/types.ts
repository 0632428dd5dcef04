// The contract between the feedback pipeline and the provider adapters. Other modules code against
// these exact names; keep them stable.

export type ProviderKind = 'openai' | 'anthropic' | 'huggingface' | 'openai_compatible';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Sampling parameters. Undefined means "the provider's default"; adapters send only what is set. */
export interface CompletionParams {
  temperature?: number;
  maxTokens?: number;
  topP?: number;
}

/** Ask for JSON that follows `schema` (a JSON Schema object). `name` must match /^[A-Za-z0-9_-]{1,64}$/. */
export interface StructuredOutput {
  name: string;
  schema: Record<string, unknown>;
}

export interface CompletionRequest {
  model: string;
  messages: ChatMessage[];
  params: CompletionParams;
  structuredOutput?: StructuredOutput;
  /** Pseudonymous end-user id for providers that accept it (never a name or an email). */
  user?: string;
  signal?: AbortSignal;
}

export interface CompletionResult {
  text: string;
  usage: { inputTokens: number; outputTokens: number };
  latencyMs: number;
  /** The model the provider says answered, or the requested one when it does not say. */
  model: string;
  /** The provider's own word (OpenAI: stop/length/…, Anthropic: end_turn/max_tokens/tool_use/…), or 'refusal'. */
  finishReason?: string;
}

export type ProviderErrorCode = 'auth' | 'rate_limited' | 'quota' | 'timeout' | 'bad_request' | 'unavailable';

export interface ConnectionSettings {
  kind: ProviderKind;
  apiKey: string;
  baseUrl?: string;
  organization?: string;
  project?: string;
  /** Whole-call deadline in milliseconds; 60 000 when unset. */
  timeoutMs?: number;
}

export interface VerifyResult {
  models?: string[];
}

export interface ProviderAdapter {
  /** Proves the connection works (lists models); throws ProviderError otherwise. */
  verify(signal?: AbortSignal): Promise<VerifyResult>;
  /**
   * One provider call, no retries; throws ProviderError on any failure. An abort through
   * `req.signal` also rejects with code 'timeout' (message: cancelled); check your own
   * `signal.aborted` to tell it from a deadline.
   */
  complete(req: CompletionRequest): Promise<CompletionResult>;
}

const MESSAGES: Record<ProviderErrorCode, string> = {
  auth: 'The provider rejected the API key.',
  rate_limited: 'The provider is rate limiting requests; try again later.',
  quota: 'The provider account has run out of quota or credit.',
  timeout: 'The provider did not answer in time.',
  bad_request: 'The provider rejected the request as invalid.',
  unavailable: 'The provider is unavailable right now.',
};

/**
 * The only error an adapter throws. Its message is one of our fixed sentences, never provider text
 * (a provider's 401 body echoes the key) and never a header; the original error is not attached.
 */
export class ProviderError extends Error {
  code: ProviderErrorCode;
  // `declare`: an absent hint stays absent instead of becoming an own property set to undefined.
  declare retryAfterMs?: number;
  declare status?: number;

  /** `message` is for our own fixed sentences only (e.g. a cancelled call); never pass provider text. */
  constructor(code: ProviderErrorCode, details: { status?: number; retryAfterMs?: number; message?: string } = {}) {
    super(details.message ?? MESSAGES[code]);
    this.name = 'ProviderError';
    this.code = code;
    if (details.status !== undefined) this.status = details.status;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }

  /** Logs and JSON see the same safe fields as the code does. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, status: this.status, retryAfterMs: this.retryAfterMs };
  }
}
