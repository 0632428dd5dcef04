import * as AnthropicErrors from '@anthropic-ai/sdk';
import * as OpenAIErrors from 'openai';
import { ProviderError, type ProviderErrorCode } from './types';

// One translator per SDK turns whatever a call threw into a ProviderError with a fixed sentence.
// Provider text is read only to classify (quota vs rate limit, a rejected sampling setting); it is
// never copied into the error.

/** Why our own signal fired, if it did: the deadline, or the caller's signal. */
export interface AbortCause {
  timedOut: boolean;
  cancelled: boolean;
}

const CANCELLED = 'The provider call was cancelled before it finished.';
const SAMPLING_REJECTED = 'The model does not accept the temperature or top_p setting; clear it for this model.';

// A caller's abort is reported as `timeout` (retryable, no provider at fault) with its own sentence:
// the caller already knows it aborted (its signal says so), and every other consumer keeps seeing
// one of the six codes instead of a bare AbortError.
function fromAbort(cause: AbortCause): ProviderError | null {
  if (cause.timedOut) return new ProviderError('timeout');
  if (cause.cancelled) return new ProviderError('timeout', { message: CANCELLED });
  return null;
}

/** Milliseconds from `retry-after-ms`, or `retry-after` as seconds or an HTTP date. */
export function retryAfterMs(headers: unknown): number | undefined {
  const get = (name: string): string | null =>
    headers && typeof (headers as Headers).get === 'function' ? (headers as Headers).get(name) : null;
  const ms = get('retry-after-ms')?.trim();
  if (ms) {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return Math.ceil(value);
  }
  const after = get('retry-after')?.trim();
  if (!after) return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.ceil(seconds * 1000) : undefined;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

// Reasoning models (OpenAI o-series, GPT-5) and the newest Claude models reject sampling settings
// with a plain 400; naming the cause lets an admin fix the model instance instead of guessing.
function samplingRejected(status: number): ProviderError {
  return new ProviderError('bad_request', { status, message: SAMPLING_REJECTED });
}

function fromStatus(status: number, headers: unknown, isQuota: boolean): ProviderError {
  const retryAfter = retryAfterMs(headers);
  const make = (code: ProviderErrorCode) =>
    new ProviderError(code, { status, ...(retryAfter !== undefined && code !== 'quota' && { retryAfterMs: retryAfter }) });
  if (isQuota || status === 402) return make('quota');
  if (status === 401 || status === 403) return make('auth');
  if (status === 408) return make('timeout');
  if (status === 429) return make('rate_limited');
  if (status >= 500) return make('unavailable'); // includes Anthropic's 529 "overloaded"
  return make('bad_request'); // 400, 404, 413, 422 and any other 4xx: retrying will not help
}

// OpenAI signals an exhausted account with a 429 whose error code (or type) says so.
const OPENAI_QUOTA_CODES = new Set(['insufficient_quota', 'billing_hard_limit_reached', 'billing_not_active']);

/** Normalises anything the openai SDK (or our call wrapper) threw. */
export function normaliseOpenAIError(err: unknown, cause: AbortCause = { timedOut: false, cancelled: false }): ProviderError {
  if (err instanceof ProviderError) return err;
  const aborted = fromAbort(cause);
  if (aborted) return aborted;
  if (err instanceof OpenAIErrors.APIConnectionTimeoutError || err instanceof OpenAIErrors.APIUserAbortError) {
    return new ProviderError('timeout');
  }
  if (err instanceof OpenAIErrors.APIError && typeof err.status === 'number') {
    const isQuota = OPENAI_QUOTA_CODES.has(String(err.code)) || OPENAI_QUOTA_CODES.has(String(err.type));
    if (err.status === 400 && (err.param === 'temperature' || err.param === 'top_p')) return samplingRejected(400);
    return fromStatus(err.status, err.headers, isQuota);
  }
  // APIConnectionError (reset, refused, DNS), a malformed body, or anything unexpected.
  return new ProviderError('unavailable');
}

// Anthropic reports billing trouble as `billing_error`, as spend-limit codes on a 429, or (older
// accounts) as a 400 saying the credit balance is too low.
const ANTHROPIC_QUOTA_CODES = new Set([
  'contract_spend_limit_reached',
  'enforced_spend_limit_reached',
  'linked_organization_spend_limit_reached',
  'linked_organization_billing_unavailable',
]);

function isAnthropicQuota(err: AnthropicErrors.APIError): boolean {
  if (err.type === 'billing_error') return true;
  if (err.errorCode && ANTHROPIC_QUOTA_CODES.has(err.errorCode)) return true;
  return err.status === 400 && /credit balance/i.test(err.apiMessage ?? '');
}

/** Normalises anything the @anthropic-ai/sdk (or our call wrapper) threw. */
export function normaliseAnthropicError(err: unknown, cause: AbortCause = { timedOut: false, cancelled: false }): ProviderError {
  if (err instanceof ProviderError) return err;
  const aborted = fromAbort(cause);
  if (aborted) return aborted;
  if (err instanceof AnthropicErrors.APIConnectionTimeoutError || err instanceof AnthropicErrors.APIUserAbortError) {
    return new ProviderError('timeout');
  }
  if (err instanceof AnthropicErrors.APIError && typeof err.status === 'number') {
    if (err.status === 400 && /\b(temperature|top_p)\b/.test(err.apiMessage ?? '')) return samplingRejected(400);
    return fromStatus(err.status, err.headers, isAnthropicQuota(err));
  }
  return new ProviderError('unavailable');
}

export const DEFAULT_TIMEOUT_MS = 60_000;
// The SDKs' own default; also keeps setTimeout below its 2^31 ms limit, past which it fires at once.
const MAX_TIMEOUT_MS = 600_000;

/** The whole-call deadline of a connection: its own when it is a positive number (at most 10 min), else 60 s. */
export function timeoutOf(settings: { timeoutMs?: number | undefined }): number {
  const ms = settings.timeoutMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? Math.min(ms, MAX_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS;
}

/**
 * Runs one provider call under a whole-call deadline and the caller's signal, and normalises any
 * failure. The SDKs' own timeout only covers the wait for response headers; this covers the body too.
 */
export async function callWithDeadline<T>(
  options: { timeoutMs: number; signal?: AbortSignal | undefined },
  normalise: (err: unknown, cause: AbortCause) => ProviderError,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (options.signal?.aborted) throw normalise(undefined, { timedOut: false, cancelled: true });
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  // Started from a promise so that even a synchronous throw is normalised.
  const call = Promise.resolve().then(() => run(signal));
  // Whichever promise loses the race must not surface as an unhandled rejection.
  call.catch(() => {});
  aborted.catch(() => {});
  try {
    return await Promise.race([call, aborted]);
  } catch (err) {
    const timedOut = deadline.signal.aborted;
    throw normalise(err, { timedOut, cancelled: !timedOut && options.signal?.aborted === true });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}
